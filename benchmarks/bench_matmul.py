"""The product shapes of a one-model training step: batched (K = 1) vs plain.

    python benchmarks/bench_matmul.py [--threads 1] [--quick]

The engine runs every fit as a stack of K models, so a single fit multiplies
``[1, B, n_in] x [1, n_in, n_out]`` with ``baddbmm`` / ``bmm``. This prints,
for the layer shapes of W1-W3 and one thread, the forward product, the weight
gradient and the backpropagated gradient with a batch of one against the
same products as 2-D ``addmm`` / ``mm``, in microseconds (best of 7 rounds),
to show whether K = 1 pays for the batch dimension it does not use.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import markdown_table  # noqa: E402

# (workload, batch, n_in, n_out): every layer of W1-W3
SHAPES = [
    ("W1 layer 1", 200, 64, 100),
    ("W1 layer 2", 200, 100, 10),
    ("W2 layer 1", 256, 100, 256),
    ("W2 layer 2", 256, 256, 256),
    ("W2 layer 3", 256, 256, 5),
    ("W3 layer 1", 128, 50, 128),
    ("W3 layer 2", 128, 128, 128),
    ("W3 layer 3", 128, 128, 1),
]


def best_us(fn, calls: int, rounds: int = 7) -> float:
    for _ in range(10):
        fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def _row(name: str, b: int, n_in: int, n_out: int, calls: int) -> list[str]:
    gen = torch.Generator().manual_seed(0)
    a, w = torch.randn(1, b, n_in, generator=gen), torch.randn(1, n_in, n_out, generator=gen)
    bias, dz = torch.randn(1, 1, n_out, generator=gen), torch.randn(1, b, n_out, generator=gen)
    z, g = torch.empty(1, b, n_out), torch.empty(1, n_in, n_out)
    pairs = [
        (
            lambda: torch.baddbmm(bias, a, w, out=z),
            lambda: torch.addmm(bias[0], a[0], w[0], out=z[0]),
        ),
        (
            lambda: torch.bmm(a.transpose(1, 2), dz, out=g),
            lambda: torch.mm(a[0].T, dz[0], out=g[0]),
        ),
        (lambda: torch.bmm(dz, w.transpose(1, 2)), lambda: torch.mm(dz[0], w[0].T)),
    ]
    cells = [name, f"[{b}, {n_in}] x [{n_in}, {n_out}]"]
    for batched, plain in pairs:
        tb, tp = best_us(batched, calls), best_us(plain, calls)
        cells.append(f"{tb:.1f} / {tp:.1f} ({tp / tb:.2f}×)")
    return cells


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="few calls, a smoke test")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    calls = 5 if args.quick else 200
    rows = [_row(name, b, n_in, n_out, calls) for name, b, n_in, n_out in SHAPES]
    header = [
        "layer",
        "shape",
        "forward: baddbmm / addmm µs",
        "weight grad: bmm / mm µs",
        "input grad: bmm / mm µs",
    ]
    print(f"### K = 1: batched vs 2-D products, {torch.get_num_threads()} thread(s)\n")
    print("(×: the 2-D product's time over the batched one's; above 1, batched is faster)\n")
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
