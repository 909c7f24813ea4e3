"""A/B of two checkouts of skdl on the training step, in CPU seconds.

    python benchmarks/ab_step.py OLD_DIR NEW_DIR [--rounds 3]

Each round runs, in a fresh process per checkout (``PYTHONPATH=<dir>``),
alternating old and new: (a) one fit of digits (1,347 rows, hidden (100,),
batch 200, 50 epochs, no early stop), (b) one stack of 32 models
(``_fit_many``, 80% of digits each, per-model learning rate / alpha / beta_1,
30 epochs) without and (c) with dropout, (d) with dropout and a seed per
model. One torch thread; each process keeps its best CPU time of several
repeats, and the table shows the best over rounds
(CPU time, not wall time: other processes on a shared machine inflate wall
time much more). Make a checkout of an older commit with
``git worktree add /tmp/old <commit>`` or ``git archive <commit> | tar -x -C /tmp/old``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

CHILD = r"""
import sys, time, warnings
assert __import__("skdl").__file__.startswith(sys.argv[2]), "imported the wrong skdl"
import numpy as np, torch
warnings.simplefilter("ignore")
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
import skdl
torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X).astype(np.float32)
case = sys.argv[1]
def best_of(fn, n):
    fn()
    best = 1e9
    for _ in range(n):
        t = time.process_time(); fn(); best = min(best, time.process_time() - t)
    return best
if case == "fit":
    est = skdl.MLPClassifier((100,), max_iter=50, batch_size=200, random_state=0, device="cpu",
                             tol=0, n_iter_no_change=1000)
    print(best_of(lambda: est.fit(X[:1347], y[:1347]), 5))
else:
    rng = np.random.RandomState(0)
    drop = case.startswith("stack-dropout")
    jobs = [({"learning_rate_init": 10 ** rng.uniform(-4, -2), "alpha": 10 ** rng.uniform(-6, -2),
              "dropout": rng.uniform(0, 0.5) if drop else 0.0, "beta_1": rng.uniform(0.8, 0.95)},
             np.sort(rng.choice(len(X), int(0.8 * len(X)), replace=False))) for _ in range(32)]
    if case == "stack-dropout-seeds":  # every model its own seed: its own dropout masks
        jobs = [({**params, "random_state": j}, rows) for j, (params, rows) in enumerate(jobs)]
    est = skdl.MLPClassifier((100,), max_iter=30, random_state=0, device="cpu")
    print(best_of(lambda: est._fit_many(X, y, jobs), 3))
"""

CASES = {
    "fit": "one fit, digits, 50 epochs",
    "stack": "stack of 32, 30 epochs",
    "stack-dropout": "stack of 32 with dropout, 30 epochs",
    "stack-dropout-seeds": "stack of 32 with dropout, a seed per model, 30 epochs",
}


def run(src: str, case: str) -> float:
    src = os.path.abspath(src)
    env = {**os.environ, "PYTHONPATH": src}
    # cwd=src too: ``python -c`` puts the working directory first on sys.path
    out = subprocess.run(
        [sys.executable, "-c", CHILD, case, src],
        env=env,
        cwd=src,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cases", default=",".join(CASES), help="comma-separated: " + ",".join(CASES))
    a = p.parse_args()
    cases = [c for c in a.cases.split(",") if c]
    best = {(c, s): float("inf") for c in cases for s in ("old", "new")}
    for _ in range(a.rounds):
        for case in cases:
            for side, src in (("old", a.old), ("new", a.new)):
                best[case, side] = min(best[case, side], run(src, case))
    print(f"| case | old CPU s | new CPU s | new is ×faster |  (old: {a.old}, new: {a.new})")
    print("|---|---|---|---|")
    for case in cases:
        title = CASES[case]
        old, new = best[case, "old"], best[case, "new"]
        print(f"| {title} | {old:.3f} | {new:.3f} | {old / new:.2f}× |")


if __name__ == "__main__":
    main()
