"""``predict_proba`` of many rows by a fitted digits classifier, one thread.

    python benchmarks/predict_rows.py [--rows 1437] [--calls 300]

A model fitted 3 epochs on standardized float32 digits; the median of 5
rounds of ``--calls`` calls on the first ``--rows`` rows, in microseconds per
call. Run it with ``PYTHONPATH`` set to two checkouts to compare them (e.g.
before and after a change to the prediction path).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

import skdl
from skdl import MLPClassifier


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1437)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifier(max_iter=3, random_state=0, device="cpu").fit(X, y)
    rows = X[: args.rows]
    model.predict_proba(rows)
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(args.calls):
            model.predict_proba(rows)
        rounds.append((time.perf_counter() - start) / args.calls * 1e6)
    print(f"skdl {skdl.__file__}: predict_proba of {len(rows)} rows, "
          f"{statistics.median(rounds):.0f} us per call (median of 5 rounds)")  # fmt: skip


if __name__ == "__main__":
    main()
