"""Test scores of the training workloads W1-W3, over seeds: where they differ and why.

    python benchmarks/scores.py [--seeds 3] [--quick]

``run.py`` reports one seed's test score next to each time. skdl's default
``init='auto'`` is scikit-learn's uniform Glorot rule (weights and biases,
drawn as scikit-learn draws them), ``init='lecture'`` draws ReLU layers'
weights by He's rule, and torch's ``nn.Linear`` by
``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``; on these few-epoch workloads the start
shows in the score. This script fits, on each seed's data, scikit-learn's MLP,
the hand-written torch loop, skdl by default, and skdl with ``init='lecture'``
(the lecture's He rule, everything else unchanged), and prints the mean test
score (accuracy, or R^2 for W3) with the per-seed values.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import make_data, markdown_table, workloads  # noqa: E402
from runners import fit_hand, fit_sklearn, score, sklearn_params  # noqa: E402

import skdl  # noqa: E402


def fit_skdl_with(init: str):
    def fit(w, d, seed, device):
        cls = skdl.MLPClassifier if w.task == "classification" else skdl.MLPRegressor
        est = cls(**sklearn_params(w, seed), device=device, init=init)
        est.fit(d.X_train, d.y_train)
        return score(w, d, est.predict(d.X_test))

    return fit


RUNS = {
    "scikit-learn": lambda w, d, seed, device: fit_sklearn(w, d, seed, device).score,
    "torch loop": lambda w, d, seed, device: fit_hand(w, d, seed, device).score,
    "skdl default (init='auto', scikit-learn's rule)": fit_skdl_with("auto"),
    "skdl (init='lecture', He)": fit_skdl_with("lecture"),
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one seed")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    seeds = 1 if args.quick else args.seeds
    rows = []
    for w in workloads(quick=args.quick).values():
        scores = {name: [] for name in RUNS}
        for seed in range(seeds):
            d = make_data(w, seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                for name, run in RUNS.items():
                    scores[name].append(run(w, d, seed, "cpu"))
        metric = "accuracy" if w.task == "classification" else "R^2"
        for name, values in scores.items():
            per_seed = " ".join(f"{v:.4f}" for v in values)
            rows.append([w.name, metric, name, f"{np.mean(values):.4f}", per_seed])
        print(f"  {w.name} done", file=sys.stderr)
    print(f"### Test scores of W1-W3, mean over {seeds} seed(s) (data split and model seed)\n")
    print(markdown_table(["workload", "metric", "run", "mean", "per seed"], rows))


if __name__ == "__main__":
    main()
