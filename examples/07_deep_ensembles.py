"""Deep ensembles: one network vs an ensemble vs bagging, and the uncertainty band.

The lecture trains a network several times from different random
initialisations and keeps the best ("number of retrains"). A deep ensemble
(Lakshminarayanan et al., 2017) keeps them all and averages their
predictions: the members make different errors, so the average makes fewer.
Bagging (Breiman, 1996) also gives each member its own bootstrap sample of
the rows. skdl trains the ``n_init`` members as one batched stack, so the
ensemble costs far less than ``n_init`` separate fits.

On a small noisy regression problem (a sine with noise, 1 feature) and on a
noisy classification problem, the script prints train and test scores of one
network, an ensemble of 8 and a bagging of 8 (with its out-of-bag score, an
estimate of the test score from the training data alone), and plots the
regressor ensemble's mean with a band of +-2 standard deviations of the
members (``predict(X, return_std=True)``): wide where there is no data.

Saves ``07_deep_ensembles.png``.

Run::

    python examples/07_deep_ensembles.py          # ~5 s on a laptop CPU
    python examples/07_deep_ensembles.py --fast   # a few seconds (CI)
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no window, works headless

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skdl import MLPClassifier, MLPRegressor  # noqa: E402


def noisy_sine(n: int, seed: int = 0):
    """y = sin(x) + noise, with x in two clusters (a gap in the middle)."""
    rng = np.random.RandomState(seed)
    x = np.concatenate([rng.uniform(-4, -1, n // 2), rng.uniform(1, 4, n - n // 2)])
    return x.reshape(-1, 1), np.sin(x) + rng.normal(0, 0.3, n)


def compare(make, X_train, y_train, X_test, y_test, n: int):
    """Train and test scores (and fit seconds) of one network, an ensemble, a bagging."""
    models = {
        "one network": make(),
        f"ensemble of {n}": make(n_init=n, ensemble=True),
        f"bagging of {n}": make(n_init=n, ensemble=True, bootstrap=True, oob_score=True),
    }
    print(f"  {'model':<16} {'train':>7} {'test':>7} {'oob':>7} {'fit s':>6}")
    for name, model in models.items():
        tic = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - tic
        oob = getattr(model, "oob_score_", None)
        print(
            f"  {name:<16} {model.score(X_train, y_train):7.3f} {model.score(X_test, y_test):7.3f}"
            f" {'' if oob is None else f'{oob:7.3f}':>7} {seconds:6.2f}"
        )
    return models


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the PNG file (default: out)")
    parser.add_argument("--fast", action="store_true", help="fewer epochs and members (CI)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore", ConvergenceWarning)
    # with few members some rows are in every bootstrap sample (no OOB estimate)
    warnings.filterwarnings("ignore", "Some inputs do not have OOB scores")
    epochs, n = (60, 4) if args.fast else (400, 8)
    common = dict(max_iter=epochs, random_state=0, device="cpu")

    print("Regression: a noisy sine, 80 training rows (R^2)")
    X, y = noisy_sine(160)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0)

    def regressor(**kw):
        return MLPRegressor(hidden_layer_sizes=(32, 32), learning_rate_init=0.01, **common, **kw)

    regs = compare(regressor, X_train, y_train, X_test, y_test, n)

    print("Classification: 300 rows, 10% flipped labels (accuracy)")
    Xc, yc = make_classification(
        n_samples=300, n_features=10, n_informative=4, flip_y=0.1, random_state=0
    )
    Xc_train, Xc_test, yc_train, yc_test = train_test_split(Xc, yc, test_size=0.5, random_state=0)

    def classifier(**kw):
        return MLPClassifier((64,), **common, **kw)

    clfs = compare(classifier, Xc_train, yc_train, Xc_test, yc_test, n)
    disagree = clfs[f"ensemble of {n}"].predict_proba_members(Xc_test).std(axis=0)[:, 1]
    print(f"  members' spread of P(class 1) on the test rows: mean {disagree.mean():.3f}")

    grid = np.linspace(-6, 6, 300).reshape(-1, 1)
    mean, std = regs[f"ensemble of {n}"].predict(grid, return_std=True)
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    ax.scatter(X_train[:, 0], y_train, s=10, color="0.4", label="training rows")
    ax.plot(grid[:, 0], np.sin(grid[:, 0]), color="0.7", ls=":", label="sin(x)")
    ax.plot(grid[:, 0], regs["one network"].predict(grid), label="one network")
    ax.plot(grid[:, 0], mean, label=f"ensemble of {n}: mean")
    ax.fill_between(grid[:, 0], mean - 2 * std, mean + 2 * std, alpha=0.25, label="mean +- 2 std")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("A deep ensemble's uncertainty grows away from the data")
    ax.legend(loc="lower left", fontsize="small")
    path = out / "07_deep_ensembles.png"
    fig.savefig(path, dpi=100)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
