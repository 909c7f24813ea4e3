"""From McCulloch-Pitts threshold units to a perceptron failing XOR to an MLP solving it.

1. AND, OR and NOT as fixed-weight threshold units (numpy, no learning):
   ``y = 1 if w . x + b >= 0 else 0``; XOR needs two layers of them.
2. A perceptron (scikit-learn's ``Perceptron``) learns AND and OR but not XOR:
   no straight line separates XOR's classes.
3. An skdl ``MLPClassifier`` with one small hidden layer learns XOR.

Saves ``01_mcculloch_pitts_to_mlp.png``: the decision regions of the
perceptron and of the MLP on XOR.

Run::

    python examples/01_mcculloch_pitts_to_mlp.py           # a few seconds
    python examples/01_mcculloch_pitts_to_mlp.py --fast    # CI
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
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import Perceptron  # noqa: E402

from skdl import MLPClassifier  # noqa: E402

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
TARGETS = {
    "AND": np.array([0, 0, 0, 1]),
    "OR": np.array([0, 1, 1, 1]),
    "XOR": np.array([0, 1, 1, 0]),
}


def threshold_unit(w, b):
    """A McCulloch-Pitts neuron: fires (1) when the weighted sum reaches the threshold."""
    w = np.asarray(w, dtype=float)
    return lambda x: (np.asarray(x, dtype=float) @ w + b >= 0).astype(int)


AND = threshold_unit([1, 1], -2)  # both inputs needed
OR = threshold_unit([1, 1], -1)  # one input is enough
NOT = threshold_unit([-1], 0)  # fires when the input is silent


def XOR(x):
    """Two layers of fixed units: (x1 OR x2) AND NOT (x1 AND x2)."""
    hidden = np.column_stack([OR(x), NOT(AND(x)[:, None])])
    return AND(hidden)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the PNG file (default: out)")
    parser.add_argument("--fast", action="store_true", help="fewer epochs (CI)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tic = time.perf_counter()

    print("1. McCulloch-Pitts units (fixed weights, numpy)")
    print("   x1 x2 | AND OR NOT(x1) XOR(two layers)")
    for x, a, o, n, xo in zip(X.astype(int), AND(X), OR(X), NOT(X[:, :1]), XOR(X)):
        print(f"   {x[0]:>2} {x[1]:>2} | {a:>3} {o:>2} {n:>6} {xo:>8}")
    assert np.array_equal(XOR(X), TARGETS["XOR"])

    print("\n2. Perceptron (one learned threshold unit) vs 3. skdl MLP (one hidden layer)")
    print(f"   {'target':<8}{'perceptron acc':>16}{'MLP acc':>10}")
    epochs = 300 if args.fast else 1000
    models = {}
    for name, y in TARGETS.items():
        perceptron = Perceptron(max_iter=1000, tol=None, random_state=0).fit(X, y)
        mlp = MLPClassifier(
            hidden_layer_sizes=(8,),
            activation="tanh",
            solver="adam",
            learning_rate_init=0.05,
            batch_size=4,
            alpha=0.0,
            max_iter=epochs,
            tol=0.0,
            n_iter_no_change=epochs,
            random_state=0,
            device="cpu",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(X, y)
        models[name] = (perceptron, mlp)
        print(f"   {name:<8}{perceptron.score(X, y):>16.2f}{mlp.score(X, y):>10.2f}")

    # the figure: decision regions on XOR
    grid = np.linspace(-0.5, 1.5, 201)
    gx, gy = np.meshgrid(grid, grid)
    points = np.column_stack([gx.ravel(), gy.ravel()])
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), constrained_layout=True)
    y = TARGETS["XOR"]
    for ax, model, title in zip(
        axes,
        models["XOR"],
        ["Perceptron on XOR: one line, at most 3/4 right", "skdl MLP (8 tanh units) on XOR"],
    ):
        z = model.predict(points).reshape(gx.shape)
        ax.contourf(gx, gy, z, levels=[-0.5, 0.5, 1.5], colors=["#cfe2f3", "#f4cccc"])
        ax.scatter(X[y == 0, 0], X[y == 0, 1], s=120, c="tab:blue", edgecolor="k", label="0")
        ax.scatter(X[y == 1, 0], X[y == 1, 1], s=120, c="tab:red", edgecolor="k", label="1")
        ax.set_title(f"{title}\naccuracy {model.score(X, y):.2f}", fontsize=10)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax.set_aspect("equal")
        ax.legend(title="XOR", loc="center")
    path = out / "01_mcculloch_pitts_to_mlp.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"\nsaved {path}; done in {time.perf_counter() - tic:.1f} s")


if __name__ == "__main__":
    main()
