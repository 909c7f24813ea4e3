"""Fused successive halving vs scikit-learn's, over skdl's MLP and scikit-learn's.

    python benchmarks/bench_halving.py [--quick] [--repeats N] [--threads T] [--out FILE]
        [--candidates 64] [--folds 5] [--epochs 81]

H1 (digits, classification) and H2 (diabetes, regression; standardized X and
y): ``HalvingRandomSearchCV(resource='max_iter', factor=3)`` over 64
sampled candidates (per-model hyperparameters: ``learning_rate_init``,
``alpha``, ``beta_1``, ``beta_2``), 5 folds, hidden (100,), rungs of 3, 9, 27
and 81 epochs (``max_resources=81``, ``min_resources='exhaust'``), three ways:

- ``skdl.model_selection.HalvingRandomSearchCV``: a rung's candidates x
  folds train as stacks, and a kept candidate resumes its models, training
  only the epochs the next rung adds;
- ``sklearn.model_selection.HalvingRandomSearchCV`` over the same
  ``skdl`` estimator: every rung refits each kept candidate from scratch, one
  fit at a time. Same candidates, same folds: the rungs must keep the same
  candidates ("same kept" compares every rung's parameters);
- ``sklearn.model_selection.HalvingRandomSearchCV`` over
  ``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor`` (its own
  engine, so its kept candidates differ).

Every search has ``n_jobs=1``; each row is the best of ``--repeats``
interleaved repeats (default 1) after a warm-up. ``--threads`` (default 1) is
torch's and BLAS's thread count. ``--quick`` is a smoke test: 9 candidates,
3 folds, rungs of 1, 3 and 9 epochs, 300 rows.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch
from scipy.stats import loguniform, uniform
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV as SkHalvingRandomSearchCV
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import env_lines, fmt_s, markdown_table  # noqa: E402

from skdl import MLPClassifier, MLPRegressor  # noqa: E402
from skdl.model_selection import HalvingRandomSearchCV  # noqa: E402

DISTRIBUTIONS = {
    "learning_rate_init": loguniform(1e-4, 1e-2),
    "alpha": loguniform(1e-6, 1e-2),
    "beta_1": uniform(0.8, 0.15),
    "beta_2": uniform(0.99, 0.0099),
}


def _data(name: str, n_rows: int | None):
    if name == "digits":
        X, y = load_digits(return_X_y=True)
    else:
        X, y = load_diabetes(return_X_y=True)
        y = (y - y.mean()) / y.std()
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return (X, y) if n_rows is None else (X[:n_rows], y[:n_rows])


def _kept(search) -> list:
    """Each rung's candidates (their sampled parameters, the resource left out)."""
    res = search.cv_results_
    return [
        sorted(
            repr(sorted((k, v) for k, v in p.items() if k != "max_iter"))
            for p, it in zip(res["params"], res["iter"])
            if it == rung
        )
        for rung in range(search.n_iterations_)
    ]


def bench(dataset: str, n_candidates: int, n_splits: int, epochs: int, rows, repeats) -> str:
    X, y = _data(dataset, rows)
    classify = dataset == "digits"
    common = dict(hidden_layer_sizes=(100,), random_state=0)
    skdl_est = (MLPClassifier if classify else MLPRegressor)(device="cpu", **common)
    sk_est = (SkMLPClassifier if classify else SkMLPRegressor)(**common)
    splitter = (StratifiedKFold if classify else KFold)(n_splits, shuffle=True, random_state=0)
    kwargs = dict(
        n_candidates=n_candidates,
        resource="max_iter",
        max_resources=epochs,
        factor=3,
        cv=splitter,
        random_state=0,
        n_jobs=1,
    )
    runs = [
        ("skdl HalvingRandomSearchCV (fused, resumed), skdl MLP", HalvingRandomSearchCV, skdl_est),
        ("sklearn HalvingRandomSearchCV, skdl MLP", SkHalvingRandomSearchCV, skdl_est),
        ("sklearn HalvingRandomSearchCV, sklearn MLP", SkHalvingRandomSearchCV, sk_est),
    ]
    HalvingRandomSearchCV(skdl_est, DISTRIBUTIONS, **{**kwargs, "n_candidates": 2}).fit(
        X[:100], y[:100]
    )  # warm-up: torch's first calls
    times = {name: [] for name, _, _ in runs}
    searches = {}
    for r in range(repeats):
        k = r % len(runs)
        for name, cls, est in runs[k:] + runs[:k]:
            search = cls(est, DISTRIBUTIONS, **kwargs)
            start = time.perf_counter()
            search.fit(X, y)
            times[name].append(time.perf_counter() - start)
            searches[name] = search
            print(f"  {dataset} {name}: {times[name][-1]:.1f} s", file=sys.stderr)
    fused = searches[runs[0][0]]
    ref = min(times[runs[1][0]])
    table = []
    for name, _, _ in runs:
        search, seconds = searches[name], min(times[name])
        table.append(
            [
                name,
                fmt_s(seconds),
                f"{ref / seconds:.2f}×",
                f"{search.best_score_:.4f}",
                "yes" if _kept(search) == _kept(fused) else "no",
            ]
        )
    header = [
        "search",
        "time (s)",
        "speed-up vs sklearn's over skdl",
        "best_score_",
        "same kept candidates as fused (every rung)",
    ]
    title = (
        f"### {'H1' if classify else 'H2'} — {dataset}, {n_candidates} candidates, factor 3, "
        f"{n_splits} folds, rungs {fused.n_resources_} epochs, "
        f"candidates {fused.n_candidates_} (best of {repeats})"
    )
    return title + "\n\n" + markdown_table(header, table)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test of a few seconds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--candidates", type=int, default=64)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=81, help="max_resources (last rung)")
    parser.add_argument("--out", default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.quick:
        sizes = dict(n_candidates=9, n_splits=3, epochs=9, rows=300, repeats=1)
    else:
        sizes = dict(
            n_candidates=args.candidates,
            n_splits=args.folds,
            epochs=args.epochs,
            rows=None,
            repeats=args.repeats,
        )
    with threadpool_limits(args.threads):
        tables = [bench(name, **sizes) for name in ("digits", "diabetes")]
    lines = [
        "## Successive halving benchmark" + (" (--quick)" if args.quick else ""),
        "",
        *env_lines(torch.get_num_threads(), "cpu"),
        "",
        *sum(([t, ""] for t in tables), []),
    ]
    report = "\n".join(lines)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report + "\n")


if __name__ == "__main__":
    main()
