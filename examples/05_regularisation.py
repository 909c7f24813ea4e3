"""Regularisation: L2, L1 (sparsity), dropout and early stopping, train vs validation.

A network far too big for its data (2 x 256 ReLU units, a few hundred digits
rows, SGD) fits its training set perfectly; each regulariser of the lecture
trades some of that for validation accuracy:

- L2 (``penalty='l2'``, ``alpha``): weight decay, all weights shrink;
- L1 (``penalty='l1'``): soft-thresholding, many weights become exactly zero;
- dropout: random units silenced in training;
- early stopping: stop after ``n_iter_no_change`` epochs without progress on
  a held-out validation split, keep the best epoch. It costs the rows it
  holds out (20% here) and stops at the lowest validation *loss*, which on
  this small set comes before the best validation *accuracy*.

Prints train/validation accuracy, the gap, the epochs and the share of exact
zeros in the first layer; saves ``05_regularisation.png`` (accuracies, the
first-layer weights under L2 vs L1, and the train/validation loss curves of
the unregularised network with the early-stopping epoch).

Run::

    python examples/05_regularisation.py          # ~10 s on a laptop CPU
    python examples/05_regularisation.py --fast   # a few seconds (CI)
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


def load(n_train: int, seed: int = 0):
    """Digits, half held out for validation; ``n_train`` rows of the other half to train."""
    X, y = load_digits(return_X_y=True)
    X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=0.5, random_state=seed, stratify=y)
    X_tr, y_tr = X_tr[:n_train], y_tr[:n_train]
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_val), y_tr, y_val


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the PNG file (default: out)")
    parser.add_argument("--fast", action="store_true", help="smaller data, fewer epochs (CI)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n_train, epochs = (200, 40) if args.fast else (300, 150)
    tic = time.perf_counter()
    X_tr, X_val, y_tr, y_val = load(n_train)
    print(
        f"digits: {len(y_tr)} training rows, {len(y_val)} validation rows; "
        f"2 x 256 ReLU, SGD lr=0.05, {epochs} epochs"
    )
    base = {
        "depth": 2,
        "width": 256,
        "solver": "sgd",
        "learning_rate_init": 0.05,
        "alpha": 0.0,
        "max_iter": epochs,
        "tol": 0.0,
        "n_iter_no_change": epochs,
        "random_state": 0,
        "device": "cpu",
    }
    # stop after 10 epochs without a lower validation loss (20% of the rows held out)
    stopping = {
        "early_stopping": True,
        "early_stopping_metric": "loss",
        "validation_fraction": 0.2,
        "tol": 1e-4,
        "n_iter_no_change": 10,
    }
    variants = {
        "none": {},
        "L2 alpha=3": {"penalty": "l2", "alpha": 3.0},
        "L1 alpha=3": {"penalty": "l1", "alpha": 3.0},
        "dropout 0.5": {"dropout": 0.5},
        "early stopping": stopping,
        # the same split, never stopping: its curves show where stopping cuts in
        "(watch: no stopping)": {**stopping, "n_iter_no_change": epochs},
    }
    models = {}
    header = f"{'':<22}{'train acc':>10}{'val acc':>9}{'gap':>8}{'epochs':>8}"
    print(f"\n{header}{'zeros in W1':>13}{'mean |W1|':>11}")
    for label, params in variants.items():
        clf = MLPClassifier(**{**base, **params})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_tr, y_tr)
        models[label] = clf
        train, val = clf.score(X_tr, y_tr), clf.score(X_val, y_val)
        w1 = clf.coefs_[0]
        print(
            f"{label:<22}{train:>10.3f}{val:>9.3f}{train - val:>8.3f}{clf.n_iter_:>8d}"
            f"{np.mean(w1 == 0):>13.1%}{np.mean(np.abs(w1)):>11.4f}"
        )

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)
    ax_bar, ax_w, ax_es = axes
    labels = [label for label in variants if not label.startswith("(")]
    x = np.arange(len(labels))
    train = [models[label].score(X_tr, y_tr) for label in labels]
    val = [models[label].score(X_val, y_val) for label in labels]
    ax_bar.bar(x - 0.2, train, 0.4, label="training", color="tab:blue")
    ax_bar.bar(x + 0.2, val, 0.4, label="validation", color="tab:orange")
    for xi, v in zip(x, val):
        ax_bar.text(xi + 0.2, v + 0.005, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
    ax_bar.set_xticks(x, [label.replace(" ", "\n", 1) for label in labels], fontsize=9)
    ax_bar.set_ylim(min(val) - 0.1, 1.03)
    ax_bar.set_ylabel("accuracy")
    ax_bar.set_title("Train vs validation accuracy")
    ax_bar.legend(loc="lower right")

    bins = np.logspace(-5, 0, 40)
    for label, color in zip(["none", "L2 alpha=3", "L1 alpha=3"], ["gray", "tab:blue", "tab:red"]):
        w1 = np.abs(models[label].coefs_[0]).ravel()
        zeros = np.mean(w1 == 0)
        ax_w.hist(
            w1[w1 > 0],
            bins=bins,
            histtype="step",
            lw=2,
            color=color,
            label=f"{label} ({zeros:.0%} exactly 0, not drawn)",
        )
    ax_w.set_xscale("log")
    ax_w.set_xlabel("|weight|, first layer (log scale)")
    ax_w.set_ylabel("count")
    ax_w.set_title("L2 shrinks every weight, L1 zeroes most of them")
    ax_w.legend(fontsize=8, loc="upper left")

    watch = models["(watch: no stopping)"].history_
    stopped = models["early stopping"]
    epoch_axis = [h["epoch"] for h in watch]
    ax_es.plot(epoch_axis, [h["train_loss"] for h in watch], color="tab:blue", label="training")
    ax_es.plot(epoch_axis, [h["val_loss"] for h in watch], color="tab:orange", label="validation")
    best = min(watch, key=lambda h: h["val_loss"])["epoch"]
    ax_es.axvline(best, color="k", ls=":", label=f"lowest validation loss (epoch {best})")
    ax_es.axvline(
        stopped.n_iter_,
        color="tab:red",
        ls="--",
        label=f"early stopping ends (epoch {stopped.n_iter_})",
    )
    ax_es.set_yscale("log")
    ax_es.set_xlabel("epoch")
    ax_es.set_ylabel("loss (log scale)")
    ax_es.set_title("No regularisation: validation loss turns up")
    ax_es.legend(fontsize=8)
    fig.suptitle(f"Regularisation of a 2 x 256 network on {len(y_tr)} digits")
    path = out / "05_regularisation.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"\nsaved {path}; done in {time.perf_counter() - tic:.1f} s")


if __name__ == "__main__":
    main()
