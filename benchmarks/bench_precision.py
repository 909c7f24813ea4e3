"""Fit time and test score of skdl's ``precision`` options (None, 'bf16', 'fp16').

    python benchmarks/bench_precision.py [--device cpu|cuda] [--repeats N] [--epochs E]
                                         [--workload W1|W2] [--threads T]

W1 of ``common.py`` (digits, hidden (100,), batch 200) for ``--epochs`` epochs
(default 20; every epoch runs: ``n_iter_no_change=inf``), ``alpha=0``, Adam,
``random_state=0``. The three precisions are run interleaved, after one discarded
warm-up round, and the median of ``--repeats`` (default 3) fit times is reported
with the held-out accuracy. Prints a Markdown table.

Mixed precision only pays on hardware with bfloat16 / float16 matrix units (GPU
tensor cores, CPUs with AMX or AVX512-BF16); elsewhere the casts and the
emulated low-precision products make it slower than float32.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import env_lines, fmt_s, make_data, markdown_table, workloads  # noqa: E402

from skdl import MLPClassifier  # noqa: E402

PRECISIONS = (None, "bf16", "fp16")


def fit_once(data, w, precision, device, epochs):
    est = MLPClassifier(
        hidden_layer_sizes=w.hidden,
        batch_size=w.batch_size,
        max_iter=epochs,
        alpha=0.0,
        n_iter_no_change=np.inf,
        random_state=0,
        device=device,
        precision=precision,
    )
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    tic = time.perf_counter()
    est.fit(data.X_train, data.y_train)  # reads the losses back every epoch: synced
    seconds = time.perf_counter() - tic
    return seconds, est.score(data.X_test, data.y_test), est


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--workload", default="W1", choices=["W1", "W2"])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    w = workloads()[args.workload]
    data = make_data(w)
    times = {p: [] for p in PRECISIONS}
    scores, scales = {}, {}
    with warnings.catch_warnings(), threadpool_limits(args.threads):
        warnings.simplefilter("ignore", ConvergenceWarning)
        for rnd in range(args.repeats + 1):
            for p in PRECISIONS:
                seconds, score, est = fit_once(data, w, p, args.device, args.epochs)
                if rnd:  # round 0 is the warm-up
                    times[p].append(seconds)
                scores[p] = score
                state = est._solver_state["optimizer"]
                scales[p] = state["loss_scale"].item() if "loss_scale" in state else None
    base = statistics.median(times[None])
    rows = []
    for p in PRECISIONS:
        med = statistics.median(times[p])
        rows.append(
            [
                "None (float32)" if p is None else repr(p),
                fmt_s(med),
                f"{min(times[p]):.3f}–{max(times[p]):.3f}",
                f"{med / base:.2f}×",
                f"{scores[p]:.4f}",
                "—" if scales[p] is None else f"{scales[p]:g}",
            ]
        )
    print(f"{args.workload} with {args.epochs} epochs, device={args.device}")
    print("\n".join(env_lines(args.threads, args.device)))
    print()
    header = ["precision", "fit s (median)", "min–max", "× float32", "test score", "loss scale"]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
