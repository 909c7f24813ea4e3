"""Where the fused halving search's time goes: training, scoring, the rest.

    python benchmarks/halving_breakdown.py [--dataset digits|diabetes] [--quick] [--gc-freeze]

One fused ``HalvingRandomSearchCV`` of ``benchmarks/bench_halving.py``'s H1
(or H2) setup, one thread, after a warm-up, with the evaluator's steps timed:
the first rung's fresh stacks, each later rung's resumed stacks, each rung's
batched scoring, and the whole search; and the time Python's cyclic garbage
collector took during it (``gc.callbacks``), with ``--gc-freeze`` after
``gc.freeze()`` (the objects that exist before the search are then left out of
its collections; ``gc.unfreeze()`` after it).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import warnings

import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_halving as bh  # noqa: E402

from skdl import MLPClassifier, MLPRegressor  # noqa: E402
from skdl.model_selection import HalvingRandomSearchCV  # noqa: E402
from skdl.search import _halving  # noqa: E402


def _timed(owner, name: str, key: str, times: dict) -> None:
    real = getattr(owner, name)

    def timed(*args, **kwargs):
        start = time.perf_counter()
        out = real(*args, **kwargs)
        times.setdefault(key, []).append(time.perf_counter() - start)
        return out

    setattr(owner, name, timed)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="digits", choices=("digits", "diabetes"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--gc-freeze", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = bh._data(args.dataset, 300 if args.quick else None)
    classify = args.dataset == "digits"
    est = (MLPClassifier if classify else MLPRegressor)(
        hidden_layer_sizes=(100,), random_state=0, device="cpu"
    )
    cv = (StratifiedKFold if classify else KFold)(5, shuffle=True, random_state=0)
    kw = dict(n_candidates=9 if args.quick else 64, resource="max_iter",
              max_resources=9 if args.quick else 81, factor=3, cv=cv, random_state=0,
              n_jobs=1)  # fmt: skip
    times: dict = {}
    for owner, name, key in [
        (_halving, "_train", "training: first rung (fresh stacks)"),
        (_halving._HalvingEvaluator, "_continue", "training: later rungs (resumed stacks)"),
        (_halving, "batch_scores", "scoring (per rung)"),
    ]:
        _timed(owner, name, key, times)
    with threadpool_limits(1):
        HalvingRandomSearchCV(est, bh.DISTRIBUTIONS, **{**kw, "n_candidates": 2}).fit(
            X[:100], y[:100]
        )  # warm-up
        times.clear()
        collections = {"seconds": 0.0, "oldest": 0}

        def on_gc(phase, info):
            if phase == "start":
                collections["since"] = time.perf_counter()
            else:
                collections["seconds"] += time.perf_counter() - collections["since"]
                collections["oldest"] += info["generation"] == 2

        if args.gc_freeze:
            gc.freeze()
        gc.callbacks.append(on_gc)
        try:
            start = time.perf_counter()
            HalvingRandomSearchCV(est, bh.DISTRIBUTIONS, **kw).fit(X, y)
            total = time.perf_counter() - start
        finally:
            gc.callbacks.remove(on_gc)
            if args.gc_freeze:
                gc.unfreeze()
    print(f"## Fused halving search, {args.dataset}: {total:.3f} s in all")
    print(f"- Python's cyclic GC{' (after gc.freeze())' if args.gc_freeze else ''}: "
          f"{collections['seconds']:.3f} s, {collections['oldest']} collection(s) of the "
          "oldest generation")  # fmt: skip
    for key, values in times.items():
        parts = ", ".join(f"{v:.3f}" for v in values)
        print(f"- {key}: {sum(values):.3f} s ({parts})")


if __name__ == "__main__":
    main()
