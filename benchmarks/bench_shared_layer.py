"""The first layer of K models that read the same batch: three ways to compute it.

    python benchmarks/bench_shared_layer.py [--quick] [--threads T]

Issue 15, section 1. K models on one fold with one ``random_state`` read the
same rows in the same order. Their first layer's forward product, weight
gradient, the hidden layer's activation and its gradient, and the (narrow)
output layer's products, three ways, one thread, float32 and float64:

- ``gathered``: each model's batch gathered ([K*B, F]), batched products
  (skdl before the shared batches);
- ``shared``: the batch gathered once and broadcast as a stride-0
  ``[K, B, F]`` view to the same batched products (what skdl does now);
- ``wide``: one ``[B, F] x [F, K*h]`` product forward and one
  ``[F, B] x [B, K*h]`` for the weight gradient, the weights and gradients
  permuted to and from ``[F, K, h]`` (the issue's proposal).

Each cell is the median of the per-call time over interleaved repeats, in
microseconds; the ratio columns are ``gathered / shared`` and
``gathered / wide`` (above 1: faster than gathering per model).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import env_lines, markdown_table  # noqa: E402


def _time(fn, n: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def _cases(k, b, f, h, dtype):
    o = 10
    X = torch.randn(1500, f, dtype=dtype)
    idx = torch.randperm(1500)[:b]
    W1 = torch.randn(k, f, h, dtype=dtype) * 0.1
    b1 = torch.randn(k, 1, h, dtype=dtype)
    W2 = torch.randn(k, h, o, dtype=dtype) * 0.1
    b2 = torch.randn(k, 1, o, dtype=dtype)
    dz2 = torch.randn(k, b, o, dtype=dtype)
    gW1, gb1 = torch.empty(k, f, h, dtype=dtype), torch.empty(k, 1, h, dtype=dtype)
    z_buf, da_buf = torch.empty(k, b, h, dtype=dtype), torch.empty(k, b, h, dtype=dtype)
    x_buf = torch.empty(k * b, f, dtype=dtype)
    rep = idx.repeat(k)

    def rest(xs, z):
        a = z.clamp_min_(0)
        torch.baddbmm(b2.transpose(1, 2), W2.transpose(1, 2), a.transpose(1, 2))
        da = torch.bmm(dz2, W2.transpose(1, 2), out=da_buf)
        torch.ops.aten.threshold_backward.grad_input(da, a, 0.0, grad_input=da)
        torch.bmm(xs.transpose(1, 2), da, out=gW1)
        torch.sum(da, 1, keepdim=True, out=gb1)

    def gathered():
        xs = torch.index_select(X, 0, rep, out=x_buf).view(k, b, f)
        rest(xs, torch.baddbmm(b1, xs, W1, out=z_buf))

    def shared():
        xs = X.index_select(0, idx).unsqueeze(0).expand(k, b, f)
        rest(xs, torch.baddbmm(b1, xs, W1, out=z_buf))

    wz = torch.empty(b, k * h, dtype=dtype)
    wda = torch.empty(b, k, h, dtype=dtype)
    wg = torch.empty(f, k * h, dtype=dtype)
    ww = torch.empty(f, k, h, dtype=dtype)

    def wide():
        x = X.index_select(0, idx)
        ww.copy_(W1.permute(1, 0, 2))
        bias = b1.permute(1, 0, 2).reshape(1, k * h)
        z = torch.addmm(bias, x, ww.view(f, k * h), out=wz)
        a = z.clamp_min_(0).view(b, k, h).permute(1, 0, 2)
        torch.baddbmm(b2.transpose(1, 2), W2.transpose(1, 2), a.transpose(1, 2))
        da = wda.permute(1, 0, 2)
        torch.bmm(dz2, W2.transpose(1, 2), out=da)
        torch.ops.aten.threshold_backward.grad_input(da, a, 0.0, grad_input=da)
        torch.mm(x.T, wda.view(b, k * h), out=wg)
        gW1.copy_(wg.view(f, k, h).permute(1, 0, 2))
        torch.sum(da, 1, keepdim=True, out=gb1)

    return gathered, shared, wide


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        grid, calls, repeats = [(torch.float32, 4, 32, 8, 16)], 2, 1
    else:
        grid = [(torch.float32, 32, 200, 64, 100), (torch.float64, 32, 200, 64, 100)] + list(
            itertools.product((torch.float32,), (8, 32), (32, 200), (8, 256), (16, 256))
        )
        calls, repeats = 20, 5
    rows = []
    for dtype, k, b, f, h in grid:
        fns = _cases(k, b, f, h, dtype)
        times = [[] for _ in fns]
        for _ in range(repeats):
            for i, fn in enumerate(fns):
                times[i].append(_time(fn, calls))
        g, s, w = (statistics.median(t) for t in times)
        name = str(dtype).replace("torch.", "")
        rows.append([name, str(k), str(b), str(f), str(h), f"{g:.0f}", f"{s:.0f}", f"{w:.0f}",
                     f"{g / s:.2f}×", f"{g / w:.2f}×"])  # fmt: skip
    header = ["dtype", "K", "batch", "n_in", "hidden", "gathered us", "shared us", "wide us",
              "shared speed-up", "wide speed-up"]  # fmt: skip
    lines = ["## First layer of K models on one batch", "", *env_lines(args.threads, "cpu")]
    print("\n".join([*lines, "", markdown_table(header, rows)]))


if __name__ == "__main__":
    main()
