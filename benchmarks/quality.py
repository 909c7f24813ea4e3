"""Default-parameter test scores of skdl vs scikit-learn's MLP on four datasets.

    python benchmarks/quality.py [--seeds 5]

Same split, same scaling (StandardScaler), default parameters except
``random_state``; prints accuracy (classification) or R^2 (diabetes), the
mean over seeds with the standard error of skdl's mean, and the difference
skdl - scikit-learn with its standard error (paired by seed: the standard
deviation of the per-seed differences over sqrt(seeds)).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkC
from sklearn.neural_network import MLPRegressor as SkR
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdl import MLPClassifier, MLPRegressor

TASKS = [
    ("digits", datasets.load_digits, SkC, MLPClassifier),
    ("breast_cancer", datasets.load_breast_cancer, SkC, MLPClassifier),
    ("wine", datasets.load_wine, SkC, MLPClassifier),
    ("diabetes", datasets.load_diabetes, SkR, MLPRegressor),
]


def run(seeds: int) -> None:
    print(
        "| dataset | metric | scikit-learn | skdl | SE of skdl's mean | skdl - sklearn "
        "| SE of difference | sklearn fit s | skdl fit s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, load, sk_cls, skdl_cls in TASKS:
        X, y = load(return_X_y=True)
        clf = sk_cls is SkC
        scores = {"sk": [], "skdl": []}
        times = {"sk": [], "skdl": []}
        for seed in range(seeds):
            X_tr, X_te, y_tr, y_te = train_test_split(
                X, y, test_size=0.25, random_state=seed, stratify=y if clf else None
            )
            for key, cls in (("sk", sk_cls), ("skdl", skdl_cls)):
                pipe = make_pipeline(StandardScaler(), cls(random_state=seed))
                tic = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    pipe.fit(X_tr, y_tr)
                times[key].append(time.perf_counter() - tic)
                scores[key].append(pipe.score(X_te, y_te))
        sk, sd = np.mean(scores["sk"]), np.mean(scores["skdl"])
        diff = np.subtract(scores["skdl"], scores["sk"])
        se = diff.std(ddof=1) / np.sqrt(seeds) if seeds > 1 else float("nan")
        se_mean = np.std(scores["skdl"], ddof=1) / np.sqrt(seeds) if seeds > 1 else float("nan")
        metric = "accuracy" if clf else "R^2"
        print(
            f"| {name} | {metric} | {sk:.4f} | {sd:.4f} | {se_mean:.4f} | "
            f"{sd - sk:+.4f} | {se:.4f} | "
            f"{np.median(times['sk']):.2f} | {np.median(times['skdl']):.2f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    run(parser.parse_args().seeds)
