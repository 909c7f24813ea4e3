"""Pictures and a bias/variance diagnosis of MLPs on the digits data set.

Fits an MLPClassifier with early stopping on digits (8x8 images, 10 classes),
saves the figures of :mod:`skdl.plotting` as PNG files and prints the
diagnoses of :mod:`skdl.diagnostics`:

- ``history.png``: training/validation loss, validation score and learning
  rate per epoch, the kept epoch marked (TrainingHistoryDisplay);
- ``schedules.png``: the learning-rate schedules of the lecture, no training
  (ScheduleDisplay);
- ``activations.png``: the activation functions and their derivatives
  (ActivationDisplay);
- ``search.png``: mean cross-validated accuracy against ``alpha`` from a grid
  search (SearchResultsDisplay);

then diagnoses three models the way the lecture's table does: the digits
model, a one-unit network (high bias) and a huge unregularised network on 50
samples (high variance).

Run::

    python examples/plots_and_diagnosis.py               # ~10 s on a laptop CPU
    python examples/plots_and_diagnosis.py --fast        # a few seconds (CI)
    python examples/plots_and_diagnosis.py --out figures
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no window, works headless

import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skdl import MLPClassifier  # noqa: E402
from skdl.diagnostics import diagnose  # noqa: E402
from skdl.optim import CosineSchedule, ExponentialSchedule, StepSchedule  # noqa: E402
from skdl.plotting import (  # noqa: E402
    ActivationDisplay,
    ScheduleDisplay,
    SearchResultsDisplay,
    TrainingHistoryDisplay,
)


def load(seed: int = 0):
    """Digits, standardised on the training rows, split 70/30."""
    X, y = load_digits(return_X_y=True)
    X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_val), y_tr, y_val


def fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def save(display, path: Path) -> None:
    display.figure_.savefig(path, dpi=100)
    plt.close(display.figure_)
    print(f"saved {path}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the PNG files (default: out)")
    parser.add_argument("--fast", action="store_true", help="fewer epochs and candidates (CI)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    epochs = 30 if args.fast else 150
    tic = time.perf_counter()
    X_tr, X_val, y_tr, y_val = load()

    # 1. one model with early stopping; its history
    clf = MLPClassifier(
        hidden_layer_sizes=(64,),
        early_stopping=True,
        learning_rate=CosineSchedule(t_max=epochs),
        max_iter=epochs,
        random_state=0,
    )
    fit(clf, X_tr, y_tr)
    save(TrainingHistoryDisplay.from_estimator(clf), out / "history.png")

    # 2. the lecture's schedules, no training
    display = ScheduleDisplay.from_schedule("constant", epochs=epochs)
    for schedule in (
        ExponentialSchedule(decay_rate=0.97),
        "inverse_time",
        StepSchedule(step_size=max(epochs // 5, 1)),
        CosineSchedule(t_max=epochs, warmup_epochs=max(epochs // 10, 1)),
    ):
        ScheduleDisplay.from_schedule(schedule, epochs=epochs, ax=display.ax_)
    save(display, out / "schedules.png")

    # 3. activation functions and their derivatives
    save(ActivationDisplay.from_names(params={"leaky_relu": 0.1}), out / "activations.png")

    # 4. a grid search over the L2 penalty (any sklearn search works)
    alphas = [1e-4, 1e-2, 1.0, 10.0] if args.fast else [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
    search = GridSearchCV(
        MLPClassifier(hidden_layer_sizes=(32,), max_iter=epochs // 3, random_state=0),
        {"alpha": alphas},
        cv=3,
    )
    fit(search, X_tr, y_tr)
    save(SearchResultsDisplay.from_search(search, param="alpha"), out / "search.png")

    # 5. diagnoses, after the lecture's table
    print("\n== digits, 64 hidden units, early stopping ==")
    print(diagnose(clf, X_tr, y_tr, X_val, y_val))

    print("\n== digits, 1 hidden unit, 10 epochs: expect high bias ==")
    tiny = fit(MLPClassifier(hidden_layer_sizes=(1,), max_iter=10, random_state=0), X_tr, y_tr)
    print(diagnose(tiny, X_tr, y_tr, X_val, y_val))

    print("\n== digits, 50 training samples, 2 x 512 units, alpha=0: expect high variance ==")
    huge = MLPClassifier(hidden_layer_sizes=(512, 512), alpha=0.0, max_iter=100, random_state=0)
    fit(huge, X_tr[:50], y_tr[:50])
    print(diagnose(huge, X_tr[:50], y_tr[:50], X_val, y_val))
    print(f"\ndone in {time.perf_counter() - tic:.1f} s; figures in {out}/")


if __name__ == "__main__":
    main()
