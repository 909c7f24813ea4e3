"""Fit times of this checkout against another, interleaved: one-unit layers.

    python benchmarks/bench_single_output.py --baseline DIR [--quick] [--repeats N]

A regressor's output layer and a binary classifier's have one unit, so their
batched products are matrix-vector products, which torch's CPU ``bmm`` runs
on a slow path once a stack has two models or more (``skdl.nn.mlp._single``).
This times whole fits in two worker processes, one importing skdl from this
checkout and one from ``--baseline`` (another checkout, e.g. a ``git
worktree`` of the commit before a change), the same fit in each in turn, best
of ``--repeats`` (default 3), one thread: friedman1 (``MLPRegressor``,
standardized y) and breast_cancer (binary ``MLPClassifier``: one output unit),
single fits and ensembles of 8 (``n_init=8, ensemble=True``), float64
(StandardScaler's output, as ``benchmarks/ensembles.py`` trains) and float32;
digits (10 outputs) as a control. Each row also says whether both checkouts
predicted alike (``np.allclose``, rtol 1e-4). Without ``--baseline`` it
compares this checkout with itself. ``--quick`` is a smoke test (3 epochs,
two cases).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import env_lines, markdown_table  # noqa: E402

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORKER = r"""
import json, sys, time, warnings
import numpy as np, torch
import skdl
print(json.dumps({"skdl": skdl.__file__}), flush=True)
from sklearn.datasets import load_breast_cancer, load_digits, make_friedman1
from sklearn.preprocessing import StandardScaler
from skdl import MLPClassifier, MLPRegressor

torch.set_num_threads(1)

def data(name):
    if name == "friedman1":
        X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
        return StandardScaler().fit_transform(X), (y - y.mean()) / y.std(), MLPRegressor
    X, y = (load_digits if name == "digits" else load_breast_cancer)(return_X_y=True)
    return StandardScaler().fit_transform(X), y, MLPClassifier

for line in sys.stdin:
    case = json.loads(line)
    X, y, cls = data(case["data"])
    X = X.astype(case["dtype"])
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cls(random_state=0, device="cpu", **case["params"]).fit(X, y)
    seconds = time.perf_counter() - start
    pred = model.predict(X[:50]).astype(float).tolist()
    print(json.dumps({"seconds": seconds, "pred": pred}), flush=True)
"""


class Worker:
    def __init__(self, checkout: str):
        env = {**os.environ, "PYTHONPATH": checkout, "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=env, text=True, cwd=checkout,  # python -c puts the cwd first on sys.path
        )  # fmt: skip

        self.skdl = json.loads(self.proc.stdout.readline())["skdl"]

    def fit(self, case: dict) -> dict:
        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def main(argv=None) -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=HERE, help="the other checkout")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    extra = {"max_iter": 3} if args.quick else {}
    cases = [
        (name, dtype, k)
        for name in ("friedman1", "breast_cancer", "digits")
        for dtype in ("float64", "float32")
        for k in (1, 8)
    ]
    if args.quick:
        cases = cases[:2]
    workers = {"baseline": Worker(os.path.abspath(args.baseline)), "this": Worker(HERE)}
    rows = []
    try:
        for w in workers.values():  # warm-up
            w.fit({"data": "friedman1", "dtype": "float64", "params": {"max_iter": 2}})
        for name, dtype, k in cases:
            params = {**extra, **({"n_init": k, "ensemble": True} if k > 1 else {})}
            case = {"data": name, "dtype": dtype, "params": params}
            best = dict.fromkeys(workers, float("inf"))
            preds = {}
            for _ in range(args.repeats):
                for key, w in workers.items():
                    out = w.fit(case)
                    best[key] = min(best[key], out["seconds"])
                    preds[key] = out["pred"]
            same = np.allclose(preds["this"], preds["baseline"], rtol=1e-4, atol=1e-5)
            rows.append([name, dtype, str(k), f"{best['baseline']:.3f}", f"{best['this']:.3f}",
                         f"{best['baseline'] / best['this']:.2f}×",
                         "yes" if same else "no"])  # fmt: skip
    finally:
        for w in workers.values():
            w.close()
    header = ["data", "dtype", "models", "baseline s", "this s", "speed-up", "same predictions"]
    lines = ["## Fit times, this checkout against the baseline", "", *env_lines(1, "cpu"), "",
             f"- skdl from: baseline {workers['baseline'].skdl}, this {workers['this'].skdl}",
             f"- best of {args.repeats} interleaved repeats; load average "
             + ", ".join(f"{x:.2f}" for x in os.getloadavg()), ""]  # fmt: skip
    print("\n".join([*lines, markdown_table(header, rows)]))


if __name__ == "__main__":
    main()
