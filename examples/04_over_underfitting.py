"""Over- and underfitting on digits, diagnosed with the lecture's table.

The lecture reads bias from the training accuracy and variance from the gap
between training and validation accuracy:

============ ========== ===================================
training     validation verdict
============ ========== ===================================
99 %         89 %       high variance (overfitting)
90 %         89 %       high bias (underfitting)
89 %         78 %       high bias and high variance
============ ========== ===================================

Four models on digits (8x8 images, 10 classes) land in the four cells
(good fit included); :func:`skdl.diagnostics.diagnose` prints each verdict
with its remedies. Then learning curves check two remedies: more data closes
the gap of the big network (high variance) but leaves the tiny one on a low
plateau (high bias: "taking more data won't help!").

Saves ``04_over_underfitting.png``: training vs validation accuracy of the
four models, and the two learning curves.

Run::

    python examples/04_over_underfitting.py          # ~10 s on a laptop CPU
    python examples/04_over_underfitting.py --fast   # a few seconds (CI)
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
from skdl.diagnostics import diagnose  # noqa: E402


def load(seed: int = 0):
    """Digits, standardised on the training rows, split 70/30 (train/validation)."""
    X, y = load_digits(return_X_y=True)
    X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_val), y_tr, y_val


def fit(X, y, epochs, **params):
    # L-BFGS trains each model to (near) convergence whatever the number of rows,
    # so what differs between models is capacity and data, not the number of steps
    clf = MLPClassifier(solver="lbfgs", max_iter=epochs, random_state=0, device="cpu", **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the PNG file (default: out)")
    parser.add_argument("--fast", action="store_true", help="fewer epochs and sizes (CI)")
    parser.add_argument("--verbose", action="store_true", help="print each full diagnosis")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    epochs = 50 if args.fast else 300
    tic = time.perf_counter()
    X_tr, X_val, y_tr, y_val = load()
    n = len(y_tr)

    # label -> (training rows, parameters)
    models = {
        "64 units, alpha=1": (n, {"hidden_layer_sizes": (64,), "alpha": 1.0}),
        "2 units": (n, {"hidden_layer_sizes": (2,)}),
        "256 units, 100 rows, alpha=0": (100, {"hidden_layer_sizes": (256,), "alpha": 0.0}),
        "2 units, 100 rows": (100, {"hidden_layer_sizes": (2,)}),
    }
    print(
        f"digits: up to {n} training rows, {len(y_val)} validation rows, "
        f"up to {epochs} L-BFGS iterations"
    )
    print(
        f"\n{'model':<31}{'rows':>6}{'train acc':>11}{'val acc':>9}{'bias':>8}"
        f"{'variance':>10}  verdict"
    )
    results = {}
    for label, (rows, params) in models.items():
        clf = fit(X_tr[:rows], y_tr[:rows], epochs, **params)
        d = diagnose(clf, X_tr[:rows], y_tr[:rows], X_val, y_val)
        results[label] = d
        print(
            f"{label:<31}{rows:>6d}{d.train_score:>11.3f}{d.val_score:>9.3f}"
            f"{d.bias:>+8.3f}{d.gap:>+10.3f}  {d.verdict}"
        )
        if args.verbose:
            print(d)
    print("\nremedies for the last one (lecture):")
    for remedy in results["2 units, 100 rows"].remedies:
        print(f"  - {remedy}")

    # learning curves: validation accuracy against the number of training rows
    sizes = [50, n] if args.fast else [50, 100, 200, 400, 800, n]
    curves = {
        "256 units, alpha=0 (high variance)": {"hidden_layer_sizes": (256,), "alpha": 0.0},
        "2 units (high bias)": {"hidden_layer_sizes": (2,)},
    }
    print(f"\nlearning curves (train / val accuracy) for {sizes} training rows")
    learning = {}
    for label, params in curves.items():
        scores = []
        for rows in sizes:
            clf = fit(X_tr[:rows], y_tr[:rows], epochs, **params)
            scores.append((clf.score(X_tr[:rows], y_tr[:rows]), clf.score(X_val, y_val)))
        learning[label] = np.array(scores)
        cells = "  ".join(f"{a:.2f}/{b:.2f}" for a, b in scores)
        print(f"  {label:<36}{cells}")

    fig, (ax_bar, ax_curve) = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True)
    x = np.arange(len(results))
    train = [d.train_score for d in results.values()]
    val = [d.val_score for d in results.values()]
    ax_bar.bar(x - 0.2, train, 0.4, label="training", color="tab:blue")
    ax_bar.bar(x + 0.2, val, 0.4, label="validation", color="tab:orange")
    ax_bar.set_xticks(
        x,
        [
            label.replace(", ", "\n") + "\n" + d.verdict.split(" (")[0].replace(" and ", "\n+ ")
            for label, d in results.items()
        ],
        fontsize=8,
    )
    ax_bar.set_ylim(0, 1.05)
    ax_bar.set_ylabel("accuracy")
    ax_bar.set_title("The lecture's table: bias from training, variance from the gap")
    ax_bar.legend(loc="upper right")
    for label, color in zip(learning, ["tab:red", "tab:gray"]):
        scores = learning[label]
        ax_curve.plot(sizes, scores[:, 0], "o--", color=color, label=f"{label}: training")
        ax_curve.plot(sizes, scores[:, 1], "o-", color=color, label=f"{label}: validation")
    ax_curve.set_xscale("log")
    ax_curve.set_xlabel("training rows (log scale)")
    ax_curve.set_ylabel("accuracy")
    ax_curve.set_ylim(0, 1.05)
    ax_curve.set_title(
        "Learning curves: more data closes the gap,\nit does not lift a high-bias plateau"
    )
    ax_curve.grid(alpha=0.3)
    ax_curve.legend(fontsize=8, loc="lower right")
    path = out / "04_over_underfitting.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"\nsaved {path}; done in {time.perf_counter() - tic:.1f} s")


if __name__ == "__main__":
    main()
