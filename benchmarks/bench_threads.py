"""One CPU thread or two, by the size of a training step.

    python benchmarks/bench_threads.py [--quick] [--repeats N] [--load N]

``skdl.training.threads.SMALL_STEP_FLOPS`` decides which fits run on one
thread. This times fits on both sides of it, each with one thread and with
two (``torch.set_num_threads(2)``, the threshold patched to 0 so every step
may use both), best of ``--repeats`` interleaved repeats: single fits and
ensembles of 4 and 8 (``n_init``, ``ensemble=True``) on the standardized
float64 data of ``benchmarks/ensembles.py`` (friedman1, breast_cancer,
digits), hidden (100,), default ``max_iter``. The speed-up column is one
thread's time over two threads'. Run it on an idle machine: with other
processes on the cores, two OpenMP threads can be many times slower; that
is what ``--load N`` measures: N busy processes (each a pure-Python loop on
one core) run beside the fits for the whole run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
import warnings

import torch
from sklearn.datasets import load_breast_cancer, load_digits, make_friedman1
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import env_lines, markdown_table  # noqa: E402

import skdl.training.threads as threads  # noqa: E402
from skdl import MLPClassifier, MLPRegressor  # noqa: E402


def _data(name: str):
    if name == "friedman1":
        X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
        return StandardScaler().fit_transform(X), (y - y.mean()) / y.std(), MLPRegressor
    X, y = (load_digits if name == "digits" else load_breast_cancer)(return_X_y=True)
    return StandardScaler().fit_transform(X), y, MLPClassifier


def _fit_seconds(cls, X, y, n_threads: int, **params) -> float:
    torch.set_num_threads(n_threads)
    default = threads.SMALL_STEP_FLOPS
    threads.SMALL_STEP_FLOPS = default if n_threads == 1 else 0.0
    try:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cls(random_state=0, device="cpu", **params).fit(X, y)
        return time.perf_counter() - start
    finally:
        threads.SMALL_STEP_FLOPS = default


def _spin() -> None:
    while True:
        pass


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--load", type=int, default=0, help="busy processes beside the fits")
    args = parser.parse_args(argv)
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.load)]
    for proc in spinners:
        proc.start()
    try:
        _run(args)
    finally:
        for proc in spinners:
            proc.terminate()


def _run(args) -> None:
    extra = {"max_iter": 3} if args.quick else {}
    cases = [(name, k) for name in ("friedman1", "breast_cancer", "digits") for k in (1, 4, 8)]
    if args.quick:
        cases = cases[:2]
    rows = []
    for name, k in cases:
        X, y, cls = _data(name)
        params = {**extra, **({"n_init": k, "ensemble": True} if k > 1 else {})}
        _fit_seconds(cls, X[:200], y[:200], 1, max_iter=2)  # warm-up
        best = {1: float("inf"), 2: float("inf")}
        for _ in range(args.repeats):
            for n in (1, 2):
                with threadpool_limits(n):
                    best[n] = min(best[n], _fit_seconds(cls, X, y, n, **params))
        flops = threads.step_flops((X.shape[1], 100, 10 if name == "digits" else 1), 200, k)
        rows.append([name, str(k), f"{flops:.1e}", f"{best[1]:.3f}", f"{best[2]:.3f}",
                     f"{best[1] / best[2]:.2f}×"])  # fmt: skip
    header = ["data", "models", "step FLOPs", "1 thread s", "2 threads s", "speed-up"]
    lines = ["## One thread or two, by step size", "", *env_lines(2, "cpu"), "",
             f"- SMALL_STEP_FLOPS = {threads.SMALL_STEP_FLOPS:.0e}; busy processes beside"
             f" the fits: {args.load}; load average "
             + ", ".join(f"{x:.2f}" for x in os.getloadavg()), ""]  # fmt: skip
    print("\n".join([*lines, markdown_table(header, rows)]))


if __name__ == "__main__":
    main()
