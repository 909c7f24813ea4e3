"""Fused hyperparameter search vs scikit-learn's search, and stack-size scaling.

    python benchmarks/bench_search.py [--quick] [--repeats N] [--threads T] [--out FILE]

S1. ``RandomizedSearchCV``: 32 candidates x 5 folds on digits (standardized),
    hidden (100,), 30 epochs, per-model hyperparameters only
    (``learning_rate_init``, ``alpha``, ``dropout``, ``beta_1``, ``beta_2``):
    ``skdl.model_selection.RandomizedSearchCV`` (160 fits in stacks) vs
    ``sklearn.model_selection.RandomizedSearchCV`` over the same
    ``skdl.MLPClassifier``, each with ``n_jobs=1`` and ``n_jobs=2``. The
    candidates and folds are identical, so the scores agree up to float32
    rounding.
S2. Stack scaling: ``MLPClassifier()._fit_many`` with K jobs (K = 1, 4, 16, 32, 64, 128;
    each job its own ``alpha`` and 80% of the rows) vs K separate fits of the
    same jobs, in model-epochs per second.

Everything is measured in one run, after a warm-up; S1 keeps the best of
``--repeats`` interleaved repeats (default 2), S2 likewise (fused and
separate alternating). Ratios are "how many times faster". ``--threads``
(default 1) is torch's intra-op thread count in this process: on a shared
2-core machine two OpenMP threads per process made the fused search up to
30x slower, and ``n_jobs=2`` is how every row uses the second core (joblib's
workers run one thread each). ``--quick`` shrinks epochs and counts to a
smoke test of a few seconds.
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
from sklearn import model_selection as sk
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import env_lines, fmt_s, markdown_table  # noqa: E402

from skdl import MLPClassifier  # noqa: E402
from skdl.model_selection import RandomizedSearchCV  # noqa: E402

DISTRIBUTIONS = {
    "learning_rate_init": loguniform(1e-4, 1e-2),
    "alpha": loguniform(1e-6, 1e-2),
    "dropout": uniform(0.0, 0.5),
    "beta_1": uniform(0.8, 0.15),
    "beta_2": uniform(0.99, 0.0099),
}


def _digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _warm_up(est, X, y) -> None:
    """First calls pay one-time costs (torch's first ops, starting joblib's two
    worker processes, which every n_jobs=2 row then reuses); keep them out of the rows."""
    small = clone(est).set_params(max_iter=2)
    for n_jobs in (1, 2):
        search = RandomizedSearchCV(small, DISTRIBUTIONS, n_iter=2, cv=2, n_jobs=n_jobs)
        search.fit(X[:300], y[:300])


def bench_search(n_iter: int, n_splits: int, epochs: int, device: str, repeats: int) -> str:
    """S1: the fused search (n_jobs=1, 2) vs scikit-learn's (n_jobs=1, 2)."""
    X, y = _digits()
    est = MLPClassifier(hidden_layer_sizes=(100,), max_iter=epochs, random_state=0, device=device)
    _warm_up(est, X, y)
    kwargs = dict(
        n_iter=n_iter, cv=StratifiedKFold(n_splits, shuffle=True, random_state=0), random_state=0
    )
    runs = [
        ("skdl RandomizedSearchCV (fused), n_jobs=1", RandomizedSearchCV, 1),
        ("skdl RandomizedSearchCV (fused), n_jobs=2", RandomizedSearchCV, 2),
        ("sklearn RandomizedSearchCV, n_jobs=1", sk.RandomizedSearchCV, 1),
        ("sklearn RandomizedSearchCV, n_jobs=2", sk.RandomizedSearchCV, 2),
    ]
    times = {name: [] for name, _, _ in runs}
    searches = {}
    for r in range(repeats):
        k = r % len(runs)  # rotate the order so no run always goes first
        for name, cls, n_jobs in runs[k:] + runs[:k]:
            search = cls(est, DISTRIBUTIONS, n_jobs=n_jobs, **kwargs)
            seconds, _ = _timed(lambda search=search: search.fit(X, y))
            times[name].append(seconds)
            searches[name] = search
            print(f"  {name}: {seconds:.1f} s", file=sys.stderr)
    # the least-disturbed repeat of each run (the machine may be shared)
    results = [(name, min(times[name]), searches[name]) for name, _, _ in runs]
    ref = results[0][2].cv_results_["mean_test_score"]
    sk1, sk2 = results[2][1], results[3][1]
    rows = []
    for name, seconds, search in results:
        diff = np.nanmax(np.abs(search.cv_results_["mean_test_score"] - ref))
        rows.append(
            [
                name,
                fmt_s(seconds),
                f"{sk1 / seconds:.2f}×",
                f"{sk2 / seconds:.2f}×",
                f"{search.best_score_:.4f}",
                f"{diff:.1e}",
                "yes" if search.best_params_ == results[0][2].best_params_ else "no",
            ]
        )
    header = [
        "search",
        "time (s)",
        "speed-up vs sklearn n_jobs=1",
        "speed-up vs sklearn n_jobs=2",
        "best_score_",
        "max |Δ mean_test_score| vs first row",
        "same best_params_",
    ]
    title = (
        f"### S1 — RandomizedSearchCV, {n_iter} candidates × {n_splits} folds, digits, "
        f"hidden (100,), {epochs} epochs, per-model hyperparameters only "
        f"(best of {repeats} interleaved repeats)"
    )
    return title + "\n\n" + markdown_table(header, rows)


def bench_scaling(ks: list[int], epochs: int, device: str, repeats: int = 1) -> str:
    """S2: model-epochs per second of one stack of K jobs vs K separate fits
    (each the best of ``repeats``, fused and separate interleaved)."""
    X, y = _digits()
    est = MLPClassifier(hidden_layer_sizes=(100,), max_iter=epochs, random_state=0, device=device)
    est.set_params(tol=0.0, n_iter_no_change=epochs + 1)  # every model runs every epoch
    rng = np.random.default_rng(0)
    rows = []
    for k in ks:
        jobs = [
            (
                {"alpha": float(10 ** rng.uniform(-6, -2)), "random_state": j},
                np.sort(rng.choice(len(y), int(0.8 * len(y)), replace=False)),
            )
            for j in range(k)
        ]

        def separate(jobs=jobs):
            for params, rows_ in jobs:
                clone(est).set_params(**params).fit(X[rows_], y[rows_])

        fused_s = sep_s = float("inf")
        for _ in range(repeats):
            fused_s = min(fused_s, _timed(lambda jobs=jobs: est._fit_many(X, y, jobs))[0])
            sep_s = min(sep_s, _timed(separate)[0])
        print(f"  K={k}: fused {fused_s:.2f} s, separate {sep_s:.2f} s", file=sys.stderr)
        rows.append(
            [
                str(k),
                fmt_s(fused_s),
                f"{k * epochs / fused_s:.0f}",
                fmt_s(sep_s),
                f"{k * epochs / sep_s:.0f}",
                f"{sep_s / fused_s:.2f}×",
            ]
        )
    header = [
        "K",
        "_fit_many (s)",
        "model-epochs/s",
        "K separate fits (s)",
        "model-epochs/s",
        "stack is ×faster",
    ]
    title = (
        f"### S2 — one stack of K models vs K separate fits, digits (80% rows per model), "
        f"hidden (100,), {epochs} epochs (best of {repeats}, interleaved)"
    )
    return title + "\n\n" + markdown_table(header, rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test of a few seconds")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch.set_num_threads(T) in this process (default 1; n_jobs gives the parallelism)",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--repeats", type=int, default=2, help="S1 and S2 repeats (the best is kept)"
    )
    parser.add_argument("--out", default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.quick:
        s1 = bench_search(n_iter=4, n_splits=3, epochs=3, device=args.device, repeats=1)
        s2 = bench_scaling([1, 4], epochs=3, device=args.device)
    else:
        s1 = bench_search(32, 5, epochs=30, device=args.device, repeats=args.repeats)
        ks = [1, 4, 16, 32, 64, 128]
        s2 = bench_scaling(ks, epochs=10, device=args.device, repeats=args.repeats)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        "## Fused search benchmark" + (" (--quick)" if args.quick else ""),
        "",
        *env_lines(threads, args.device),
        f"- Load average at the end (1, 5, 15 min): {load}",
        "",
        s1,
        "",
        s2,
    ]
    report = "\n".join(lines)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report + "\n")


if __name__ == "__main__":
    main()
