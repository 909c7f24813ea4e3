"""Mini-batch size: batch 1 (pure SGD) vs 32 vs n (full batch) on digits.

The same MLP and the same learning rate (plain SGD), with three batch sizes.
An epoch is one pass over the data, so batch 1 makes n updates per epoch,
batch 32 makes n/32 and full batch makes one. Each run gets about the same
wall-time budget (full batch gets many more epochs, batch 1 fewer):

- per epoch, small batches make far more progress;
- per second, each tiny update costs nearly as much overhead as a big one:
  batch 1 spends ~30x longer per epoch than batch 32, full batch is cheap
  per epoch but barely moves. Mini-batches of 32 lead early on; with the
  same learning rate, batch 1's many noisy steps catch up later (a bigger
  batch can take a bigger learning rate, which this comparison forbids).

Prints the final loss, accuracy, updates and seconds of each; saves
``03_mini_batches.png`` (training loss vs epochs and vs wall time).

Run::

    python examples/03_mini_batches.py          # ~15 s on a laptop CPU
    python examples/03_mini_batches.py --fast   # a few seconds (CI)
"""

from __future__ import annotations

import argparse
import math
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
    n_samples, epochs = (400, 4) if args.fast else (1797, 20)
    tic = time.perf_counter()
    X_tr, X_te, y_tr, y_te = load(n_samples)
    n = len(y_tr)
    print(f"digits: {n} training rows; 1 x 64 ReLU, plain SGD lr=0.01 (no momentum)")

    # label -> (batch size, epochs): about the same wall time for each
    batches = {
        "batch 1": (1, epochs),
        "batch 32": (32, 15 * epochs),
        f"batch n={n}": (n, 60 * epochs),
    }
    colors = ["tab:orange", "tab:blue", "tab:green"]
    fig, (ax_epoch, ax_time) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    header = (
        f"{'':<14}{'epochs':>7}{'updates':>9}{'final loss':>12}{'train acc':>11}{'test acc':>10}"
    )
    print(f"\n{header}{'seconds':>9}{'s/epoch':>9}")
    for (label, (batch_size, max_iter)), color in zip(batches.items(), colors):
        clf = MLPClassifier(
            hidden_layer_sizes=(64,),
            solver="sgd",
            batch_size=batch_size,
            learning_rate_init=0.01,
            momentum=0.0,
            alpha=0.0,
            max_iter=max_iter,
            tol=0.0,
            n_iter_no_change=max_iter,
            random_state=0,
            device="cpu",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_tr, y_tr)
        seconds = np.cumsum([h["seconds"] for h in clf.history_])
        updates = clf.n_iter_ * math.ceil(n / batch_size)
        print(
            f"{label:<14}{clf.n_iter_:>7d}{updates:>9d}{clf.loss_:>12.3f}"
            f"{clf.score(X_tr, y_tr):>11.3f}"
            f"{clf.score(X_te, y_te):>10.3f}{seconds[-1]:>9.2f}{seconds[-1] / clf.n_iter_:>9.3f}"
        )
        epochs_axis = np.arange(1, len(clf.loss_curve_) + 1)
        ax_epoch.plot(epochs_axis, clf.loss_curve_, "-", lw=2, color=color, label=label)
        ax_time.plot(seconds, clf.loss_curve_, "-", lw=2, color=color, label=label)

    ax_epoch.set_xlabel("epoch (one pass over the data, log scale)")
    ax_epoch.set_xscale("log")
    ax_time.set_xlabel("wall time (s, log scale)")
    ax_time.set_xscale("log")
    for ax in (ax_epoch, ax_time):
        ax.set_ylabel("training loss (mean over the epoch)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    ax_epoch.set_title("per epoch: batch 1 makes n updates, full batch one")
    ax_time.set_title("per second: batch 32 leads early, full batch lags")
    fig.suptitle("Mini-batch size (same model, same learning rate, about the same wall time)")
    path = out / "03_mini_batches.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"\nsaved {path}; done in {time.perf_counter() - tic:.1f} s")


if __name__ == "__main__":
    main()
