"""Where a stack's training time goes: the matrix products against the rest.

    python benchmarks/step_profile.py [--quick] [--threads T]

Two stacks on digits (standardized, float32, hidden (100,), batch 200, 10
epochs, no early stop), trained by ``MLPClassifier()._fit_many`` under
``torch.profiler``: S2's stack (64 models, a seed and 80% of the rows each:
nothing shared) and S1's (32 models on one fold with one ``random_state`` and
dropout 0.25: batches shared). For each: model-epochs per second (without
the profiler, best of 3), the share of the operators' time spent in the
batched matrix products (``bmm``/``baddbmm``), their GFLOP/s, and the bound
this sets: if every other operator took no time, the stack would be at most
``1 / share`` times faster. The search targets of issue 15 (S1 >= 6x, S2 >=
5x the separate fits) are weighed against that bound in RESULTS_search.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import env_lines, markdown_table  # noqa: E402

from skdl import MLPClassifier  # noqa: E402

MATMULS = ("aten::bmm", "aten::baddbmm", "aten::mm", "aten::addmm")


def _jobs(kind: str, k: int, n: int):
    rng = np.random.default_rng(0)
    if kind == "S2":
        return [
            ({"alpha": float(10 ** rng.uniform(-6, -2)), "random_state": j},
             np.sort(rng.choice(n, int(0.8 * n), replace=False)))
            for j in range(k)
        ]  # fmt: skip
    rows = np.sort(rng.choice(n, int(0.8 * n), replace=False))
    return [
        ({"alpha": float(10 ** rng.uniform(-6, -2)), "dropout": 0.25,
          "learning_rate_init": float(10 ** rng.uniform(-4, -2)), "random_state": 0}, rows)
        for _ in range(k)
    ]  # fmt: skip


def _flops(k: int, n_rows: int, epochs: int) -> float:
    """Matrix-product FLOPs of the stack: forward, weight gradients, and the
    hidden layer's input gradient (64 -> 100 -> 10)."""
    per_row = 2 * (64 * 100 + 100 * 10) * 2 + 2 * 100 * 10
    return float(per_row) * n_rows * epochs * k


def profile_stack(kind: str, k: int, epochs: int) -> list[str]:
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    jobs = _jobs(kind, k, len(y))
    est = MLPClassifier(hidden_layer_sizes=(100,), max_iter=epochs, device="cpu",
                        tol=0.0, n_iter_no_change=epochs + 1)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est._fit_many(X, y, jobs[:2])  # warm-up
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            est._fit_many(X, y, jobs)
            best = min(best, time.perf_counter() - start)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            est._fit_many(X, y, jobs)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    mm = sum(e.self_cpu_time_total for e in events if e.key in MATMULS)
    share = mm / total
    gflops = _flops(k, int(0.8 * len(y)), epochs) / (mm * 1e-6) / 1e9
    return [
        f"{kind} ({k} models{', shared batches' if kind == 'S1' else ''})",
        f"{k * epochs / best:.0f}",
        f"{100 * share:.0f}%",
        f"{gflops:.0f}",
        f"{1 / share:.2f}×",
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    epochs = 2 if args.quick else 10
    with threadpool_limits(args.threads):
        rows = [profile_stack("S2", 8 if args.quick else 64, epochs),
                profile_stack("S1", 4 if args.quick else 32, epochs)]  # fmt: skip
    header = [
        "stack",
        "model-epochs/s",
        "matrix products' share of operator time",
        "their GFLOP/s",
        "bound: at most × faster if the rest were free",
    ]
    print("\n".join(["## Stack time profile", "", *env_lines(args.threads, "cpu"), "",
                     markdown_table(header, rows)]))  # fmt: skip


if __name__ == "__main__":
    main()
