"""The lecture's hyperparameters, one small comparison table each.

Walks the components of a multi-layer perceptron on the digits data set
(8x8 images, 10 classes), changing one knob at a time from a common baseline:

1. depth vs width (same parameter budget, different shapes)
2. activations
3. initialisation (zeros vs the lecture's rule, init='lecture', and scikit-learn's, the default)
4. regularisation (L2, L1 with its exact zeros, dropout, early stopping)
5. optimizers and learning-rate schedules
6. n_init (restarts trained together; the best one is kept)

Run::

    python examples/lecture_hyperparameters.py          # ~20 s on a laptop CPU
    python examples/lecture_hyperparameters.py --fast   # a few seconds (CI)
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skdl import MLPClassifier
from skdl.optim import CosineSchedule, ExponentialSchedule


def load(n_samples: int, seed: int = 0):
    """Digits, standardised on the training rows, split 70/30."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(seed)
    idx = rng.permutation(len(y))[:n_samples]
    X_tr, X_te, y_tr, y_te = train_test_split(
        X[idx], y[idx], test_size=0.3, random_state=seed, stratify=y[idx]
    )
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def n_params(clf: MLPClassifier) -> int:
    return sum(c.size for c in clf.coefs_) + sum(b.size for b in clf.intercepts_)


def run(data, base: dict, **params) -> dict:
    """Fit the baseline with ``params`` changed; return the row of a table."""
    X_tr, X_te, y_tr, y_te = data
    clf = MLPClassifier(**{**base, **params})
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_tr, y_tr)
    return {
        "train acc": clf.score(X_tr, y_tr),
        "test acc": clf.score(X_te, y_te),
        "epochs": clf.n_iter_,
        "loss": clf.loss_,
        "params": n_params(clf),
        "seconds": time.perf_counter() - tic,
        "model": clf,
    }


def table(title: str, rows: dict[str, dict], extra: tuple[str, ...] = ()) -> None:
    """Print ``rows`` (label -> row) as a fixed-width table."""
    columns = ("train acc", "test acc", "loss", "epochs", "params", "seconds", *extra)
    width = max(len(label) for label in rows) + 2
    sizes = [max(11, len(c) + 2) for c in columns]
    print(f"\n{title}\n{'-' * len(title)}")
    print(" " * width + "".join(f"{c:>{n}}" for c, n in zip(columns, sizes)))
    for label, row in rows.items():
        cells = []
        for c, n in zip(columns, sizes):
            v = row[c]
            if isinstance(v, (int, np.integer)):
                cells.append(f"{v:>{n}d}")
            else:
                cells.append(f"{v:>{n}.2e}" if c.startswith("lr") else f"{v:>{n}.3f}")
        print(f"{label:<{width}}" + "".join(cells))


def depth_vs_width(data, base):
    # about the same number of weights, spent on width or on depth
    shapes = {"depth=0 (linear)": (0, 1), "1 x 64": (1, 64), "2 x 40": (2, 40), "4 x 26": (4, 26)}
    rows = {label: run(data, base, depth=d, width=w) for label, (d, w) in shapes.items()}
    table("1. Depth vs width (hidden layers with about the same number of weights)", rows)


def activations(data, base):
    names = ["identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu"]
    lecture = {"init": "lecture", "depth": 3, "width": 32}
    rows = {name: run(data, base, activation=name, **lecture) for name in names}
    rows["leaky_relu (slope 0.2)"] = run(
        data, base, activation="leaky_relu", activation_param=0.2, **lecture
    )
    table("2. Activations (3 x 32, init='lecture': He for ReLUs, N(0, 1/N) otherwise)", rows)


def initialisation(data, base):
    rows = {}
    for init in ["zeros", "auto", "xavier_normal", "orthogonal", "lecture"]:
        with warnings.catch_warnings():
            # init='zeros' warns, which is the point of this row
            warnings.simplefilter("ignore", UserWarning)
            row = run(data, base, init=init, activation="tanh", depth=2, width=32)
        w0 = row["model"].coefs_[0]
        row["distinct units"] = len(np.unique(np.round(w0, 8), axis=1).T)
        rows[f"init={init}"] = row
    table(
        "3. Initialisation (tanh, 2 x 32): zeros keeps every hidden unit identical",
        rows,
        extra=("distinct units",),
    )


def regularisation(data, base):
    # SGD: the L1 proximal step shrinks each weight by lr * alpha / batch_size
    big = {"depth": 2, "width": 128, "solver": "sgd", "learning_rate_init": 0.05}
    rows = {
        "none": run(data, base, penalty=None, **big),
        "l2 alpha=1": run(data, base, penalty="l2", alpha=1.0, **big),
        "l1 alpha=1": run(data, base, penalty="l1", alpha=1.0, **big),
        "l1 alpha=10": run(data, base, penalty="l1", alpha=10.0, **big),
        "elasticnet alpha=10": run(
            data, base, penalty="elasticnet", alpha=10.0, l1_ratio=0.5, **big
        ),
        "dropout 0.3": run(data, base, dropout=0.3, **big),
        "dropout [0.5, 0.2]": run(data, base, dropout=[0.5, 0.2], **big),
        "early stopping (score)": run(data, base, early_stopping=True, **big),
        "early stopping (loss)": run(
            data, base, early_stopping=True, early_stopping_metric="loss", **big
        ),
    }
    for row in rows.values():
        row["zeros in W1"] = float(np.mean(row["model"].coefs_[0] == 0))
    table(
        "4. Regularisation (2 x 128, SGD): L1 by soft-thresholding gives exact zeros "
        "(the loss includes the penalty)",
        rows,
        extra=("zeros in W1",),
    )


def optimizers_and_schedules(data, base, n_epochs):
    solvers = {
        "sgd (momentum 0.9)": {"solver": "sgd", "learning_rate_init": 0.05},
        "adam": {"solver": "adam"},
        "adamw": {"solver": "adamw", "alpha": 1e-2},
        "nadam": {"solver": "nadam"},
        "radam": {"solver": "radam"},
        "rmsprop": {"solver": "rmsprop"},
        "adagrad": {"solver": "adagrad", "learning_rate_init": 0.05},
        "adadelta": {"solver": "adadelta", "learning_rate_init": 1.0},
        "lbfgs": {"solver": "lbfgs"},
    }
    rows = {label: run(data, base, **p) for label, p in solvers.items()}
    table("5a. Optimizers (1 x 64)", rows)

    sgd = {"solver": "sgd", "learning_rate_init": 0.1, "tol": 0.0, "n_iter_no_change": n_epochs}
    schedules = {
        "constant": "constant",
        "invscaling": "invscaling",
        "adaptive": "adaptive",
        "inverse_time (decay 0.1)": "inverse_time",
        "exponential (decay 0.9)": ExponentialSchedule(decay_rate=0.9),
        "exp. 0.9 + 3 warm-up": ExponentialSchedule(decay_rate=0.9, warmup_epochs=3),
        "step": "step",
        f"cosine (t_max={n_epochs})": CosineSchedule(t_max=n_epochs),
    }
    rows = {}
    for label, lr in schedules.items():
        # 'adaptive' needs its plateau rule: divide by 5 after 3 epochs without progress
        plateau = {"tol": 1e-3, "n_iter_no_change": 2} if lr == "adaptive" else {}
        row = run(data, base, learning_rate=lr, **{**sgd, **plateau})
        history = row["model"].history_
        row["lr first"] = history[0]["learning_rate"]
        row["lr last"] = history[-1]["learning_rate"]
        rows[label] = row
    table("5b. Learning-rate schedules (SGD, eta0=0.1)", rows, extra=("lr first", "lr last"))


def restarts(data, base):
    rows = {}
    for n_init in (1, 3, 5):
        row = run(data, base, n_init=n_init, depth=1, width=8, learning_rate_init=0.01)
        rows[f"n_init={n_init}"] = row
    table("6. n_init: restarts trained as one stack, the lowest training loss kept", rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small sizes, a few seconds")
    args = parser.parse_args(argv)
    n_samples, n_epochs = (400, 15) if args.fast else (1797, 60)
    data = load(n_samples)
    base = {
        "depth": 1,
        "width": 64,
        "max_iter": n_epochs,
        "learning_rate_init": 0.003,
        "random_state": 0,
        "device": "cpu",
    }
    print(
        f"digits: {len(data[2])} training rows, {len(data[3])} test rows, "
        f"64 features, 10 classes; up to {n_epochs} epochs per model"
    )
    tic = time.perf_counter()
    depth_vs_width(data, base)
    activations(data, base)
    initialisation(data, base)
    regularisation(data, base)
    optimizers_and_schedules(data, base, n_epochs)
    restarts(data, base)
    print(f"\ntotal: {time.perf_counter() - tic:.1f} s")


if __name__ == "__main__":
    main()
