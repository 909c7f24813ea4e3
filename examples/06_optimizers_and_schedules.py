"""Optimizers and learning-rate schedules on digits.

1. Optimizers, each at a usual learning rate, same network and epochs:
   plain SGD, SGD with momentum, Nesterov momentum, Adagrad, RMSprop, Adam,
   AdamW, Nadam.
2. Schedules for SGD with momentum: constant vs exponential decay vs cosine
   annealing (``learning_rate`` takes a name or a schedule object from
   :mod:`skdl.optim`), from a starting rate too high to keep for small
   batches (16): with the full data, the constant rate goes unstable
   midway while the decaying schedules settle.

Prints final training loss, train/test accuracy and seconds of each; saves
``06_optimizers_and_schedules.png`` (training loss per epoch of the
optimizers; of the schedules; and the schedules' learning rates).

Run::

    python examples/06_optimizers_and_schedules.py          # ~15 s on a laptop CPU
    python examples/06_optimizers_and_schedules.py --fast   # a few seconds (CI)
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
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skdl import MLPClassifier  # noqa: E402
from skdl.optim import CosineSchedule, ExponentialSchedule  # noqa: E402

OPTIMIZERS = {
    "sgd": {"solver": "sgd", "momentum": 0.0, "learning_rate_init": 0.05},
    "sgd + momentum 0.9": {
        "solver": "sgd",
        "nesterovs_momentum": False,
        "learning_rate_init": 0.05,
    },
    "sgd + nesterov 0.9": {"solver": "sgd", "learning_rate_init": 0.05},
    "adagrad": {"solver": "adagrad", "learning_rate_init": 0.05},
    "rmsprop": {"solver": "rmsprop", "learning_rate_init": 1e-3},
    "adam": {"solver": "adam", "learning_rate_init": 1e-3},
    "adamw": {"solver": "adamw", "learning_rate_init": 1e-3, "alpha": 1e-2},
    "nadam": {"solver": "nadam", "learning_rate_init": 1e-3},
}


def load(n_samples: int, seed: int = 0):
    """Digits, standardised on the training rows, split 70/30."""
    X, y = load_digits(return_X_y=True)
    idx = np.random.RandomState(seed).permutation(len(y))[:n_samples]
    X_tr, X_te, y_tr, y_te = train_test_split(
        X[idx], y[idx], test_size=0.3, random_state=seed, stratify=y[idx]
    )
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the PNG file (default: out)")
    parser.add_argument("--fast", action="store_true", help="smaller data, fewer epochs (CI)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n_samples, epochs = (500, 15) if args.fast else (1797, 40)
    tic = time.perf_counter()
    X_tr, X_te, y_tr, y_te = load(n_samples)
    base = {
        "depth": 2,
        "width": 64,
        "alpha": 1e-4,
        "max_iter": epochs,
        "tol": 0.0,
        "n_iter_no_change": epochs,
        "random_state": 0,
        "device": "cpu",
    }
    print(f"digits: {len(y_tr)} training rows, {len(y_te)} test rows; 2 x 64 ReLU, {epochs} epochs")

    def fit(params):
        clf = MLPClassifier(**{**base, **params})
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_tr, y_tr)
        return clf, time.perf_counter() - start

    def row(label, clf, seconds, extra=""):
        print(
            f"{label:<24}{clf.loss_:>11.4f}{clf.score(X_tr, y_tr):>11.3f}"
            f"{clf.score(X_te, y_te):>10.3f}{seconds:>9.2f}{extra}"
        )

    header = f"{'':<24}{'final loss':>11}{'train acc':>11}{'test acc':>10}{'seconds':>9}"
    print(f"\n1. Optimizers\n{header}{'lr':>9}")
    fig, (ax_opt, ax_sched, ax_lr) = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)
    colors = plt.cm.tab10(np.arange(len(OPTIMIZERS)))
    for (label, params), color in zip(OPTIMIZERS.items(), colors):
        clf, seconds = fit(params)
        row(label, clf, seconds, f"{params['learning_rate_init']:>9.0e}")
        ax_opt.plot(np.arange(1, clf.n_iter_ + 1), clf.loss_curve_, color=color, lw=2, label=label)

    # a starting rate too high to keep: constant goes unstable, decaying schedules settle
    schedules = {
        "constant": "constant",
        "exponential (0.9/epoch)": ExponentialSchedule(decay_rate=0.9),
        f"cosine (t_max={epochs})": CosineSchedule(t_max=epochs),
    }
    print(
        f"\n2. Schedules (SGD, Nesterov momentum 0.9, batch 16, eta0=0.06)\n{header}{'lr last':>9}"
    )
    for (label, schedule), color in zip(schedules.items(), ["tab:gray", "tab:blue", "tab:red"]):
        clf, seconds = fit(
            {
                "solver": "sgd",
                "batch_size": 16,
                "learning_rate_init": 0.06,
                "learning_rate": schedule,
            }
        )
        rates = [h["learning_rate"] for h in clf.history_]
        row(label, clf, seconds, f"{rates[-1]:>9.1e}")
        epoch_axis = np.arange(1, clf.n_iter_ + 1)
        ax_sched.plot(epoch_axis, clf.loss_curve_, color=color, lw=2, label=label)
        ax_lr.plot(epoch_axis, rates, color=color, lw=2, label=label)

    ax_opt.set_title("Optimizers (each at a usual learning rate)")
    ax_sched.set_title("Schedules: SGD + momentum, batch 16, eta0 = 0.06")
    ax_lr.set_title("The learning rate of each schedule")
    for ax in (ax_opt, ax_sched):
        ax.set_yscale("log")
        ax.set_ylabel("training loss (log scale)")
    ax_lr.set_ylabel("learning rate")
    for ax in (ax_opt, ax_sched, ax_lr):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    path = out / "06_optimizers_and_schedules.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"\nsaved {path}; done in {time.perf_counter() - tic:.1f} s")


if __name__ == "__main__":
    main()
