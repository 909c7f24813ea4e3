"""Initialisation: zeros vs He vs Xavier, training curves on digits.

Trains the same deep MLP (digits, 8x8 images, 10 classes) from three
initialisations, with ReLU and with tanh:

- ``zeros``: every hidden unit starts identical and gets the same gradient
  (with ReLU, no gradient at all), so the network stays stuck;
- ``he_normal``: N(0, 2/fan_in), the lecture's rule for ReLUs;
- ``xavier_normal``: N(0, 2/(fan_in + fan_out)), the rule for tanh/logistic.

Prints final training loss, train/test accuracy and the number of distinct
hidden units in the first layer; saves ``02_initialisation.png`` (training
loss per epoch, one panel per activation).

Run::

    python examples/02_initialisation.py          # ~10 s on a laptop CPU
    python examples/02_initialisation.py --fast   # a few seconds (CI)
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

INITS = {"zeros": "tab:gray", "he_normal": "tab:red", "xavier_normal": "tab:blue"}


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
    n_samples, epochs = (500, 20) if args.fast else (1797, 60)
    tic = time.perf_counter()
    X_tr, X_te, y_tr, y_te = load(n_samples)
    print(f"digits: {len(y_tr)} training rows, {len(y_te)} test rows; 4 x 64 hidden units")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True, constrained_layout=True)
    header = f"{'activation':<12}{'init':<15}{'final loss':>11}{'train acc':>11}"
    print(f"\n{header}{'test acc':>10}{'distinct units':>16}")
    for ax, activation in zip(axes, ["relu", "tanh"]):
        for init, color in INITS.items():
            clf = MLPClassifier(
                depth=4,
                width=64,
                activation=activation,
                init=init,
                solver="sgd",
                learning_rate_init=0.05,
                alpha=0.0,
                max_iter=epochs,
                tol=0.0,
                n_iter_no_change=epochs,
                random_state=0,
                device="cpu",
            )
            with warnings.catch_warnings():
                # init='zeros' warns (that is the point), and max_iter is short
                warnings.simplefilter("ignore", UserWarning)
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(X_tr, y_tr)
            distinct = len(np.unique(np.round(clf.coefs_[0], 6), axis=1).T)
            print(
                f"{activation:<12}{init:<15}{clf.loss_:>11.3f}{clf.score(X_tr, y_tr):>11.3f}"
                f"{clf.score(X_te, y_te):>10.3f}{distinct:>16d}"
            )
            epochs_axis = np.arange(1, len(clf.loss_curve_) + 1)
            ax.plot(epochs_axis, clf.loss_curve_, color=color, lw=2, label=init)
        ax.set_title(f"{activation}, 4 x 64, SGD (lr 0.05, momentum 0.9)")
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(title="init")
    axes[0].set_ylabel("training loss (log scale)")
    fig.suptitle("Initialisation: zeros stays stuck at log(10) = 2.30; He and Xavier train")
    path = out / "02_initialisation.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"\nsaved {path}; done in {time.perf_counter() - tic:.1f} s")


if __name__ == "__main__":
    main()
