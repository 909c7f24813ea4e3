"""Coarse-to-fine search vs random search with the same number of fits.

    python benchmarks/bench_coarse_to_fine.py [--quick] [--seeds N] [--threads T] [--out FILE]

On digits, breast_cancer (skdl ``MLPClassifier``, accuracy) and diabetes
(``MLPRegressor`` on a standardized target, R²), each standardized and split
75/25: ``CoarseToFineSearchCV(n_iter=8, n_rounds=3, top_k=3, shrink=0.5)``
against ``RandomizedSearchCV(n_iter=24)``, both skdl's fused searches over the
same wide space (``learning_rate_init`` and ``alpha`` log-uniform over 5 and 7
decades, ``dropout`` uniform in [0, 0.5]) with the same 3 folds, so both make
24 x 3 fits. The first round of the coarse-to-fine search is the first 8
candidates of the random search (same ``random_state``); its other 16 are
sampled around the best so far instead of from the whole space. A third
search, ``CoarseToFineSearchCV(halving=True, factor=3, n_iter=24, n_rounds=3)``,
makes each round a successive halving over the epochs: 24 candidates for 3
epochs, the best 8 for 10, the best 3 for 30, about the model-epochs of
8 full fits a round, so about the same budget as the other two (its best CV
score is among its 9 full fits).

Reported per data set, averaged over ``--seeds`` seeds (search, folds and
network seeds): the best cross-validated score (the quantity each search
maximizes), how often coarse-to-fine was better / equal / worse on it, the
held-out score of the refitted best model, and the wall time. ``--quick``
shrinks epochs, candidates and seeds to a smoke test of a few seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch
from scipy.stats import loguniform, uniform
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import env_lines, fmt_s, markdown_table  # noqa: E402

from skdl import MLPClassifier, MLPRegressor  # noqa: E402
from skdl.model_selection import CoarseToFineSearchCV, RandomizedSearchCV  # noqa: E402

SPACE = {
    "learning_rate_init": loguniform(1e-5, 1),
    "alpha": loguniform(1e-6, 10),
    "dropout": uniform(0.0, 0.5),
}
DATASETS = {
    "digits": (load_digits, "classification"),
    "breast_cancer": (load_breast_cancer, "classification"),
    "diabetes": (load_diabetes, "regression"),
}


def _data(name: str, seed: int):
    loader, task = DATASETS[name]
    X, y = loader(return_X_y=True)
    stratify = y if task == "classification" else None
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=stratify
    )
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    if task == "regression":
        mean, std = y_tr.mean(), y_tr.std()
        y_tr, y_te = (y_tr - mean) / std, (y_te - mean) / std
    return X_tr.astype(np.float32), X_te.astype(np.float32), y_tr, y_te


def _run(search, X_tr, y_tr, X_te, y_te) -> tuple[float, float, float]:
    """(best CV score, held-out score of the refitted best model, seconds)."""
    start = time.perf_counter()
    search.fit(X_tr, y_tr)
    seconds = time.perf_counter() - start
    return search.best_score_, search.score(X_te, y_te), seconds


def bench_dataset(name: str, seeds: int, n_iter: int, n_rounds: int, epochs: int, device: str):
    task = DATASETS[name][1]
    est_cls, cv_cls = (
        (MLPClassifier, StratifiedKFold) if task == "classification" else (MLPRegressor, KFold)
    )
    rows = {"rs": [], "ctf": [], "half": []}
    for seed in range(seeds):
        X_tr, X_te, y_tr, y_te = _data(name, seed)
        est = est_cls(hidden_layer_sizes=(64,), max_iter=epochs, device=device, random_state=seed)
        cv = cv_cls(3, shuffle=True, random_state=seed)
        common = dict(cv=cv, random_state=seed)
        rs = RandomizedSearchCV(est, SPACE, n_iter=n_iter * n_rounds, **common)
        ctf = CoarseToFineSearchCV(est, SPACE, n_iter=n_iter, n_rounds=n_rounds, **common)
        half = CoarseToFineSearchCV(
            est, SPACE, n_iter=n_iter * n_rounds, n_rounds=n_rounds, halving=True, **common
        )
        rows["rs"].append(_run(rs, X_tr, y_tr, X_te, y_te))
        rows["ctf"].append(_run(ctf, X_tr, y_tr, X_te, y_te))
        rows["half"].append(_run(half, X_tr, y_tr, X_te, y_te))
    rs, ctf, half = (np.array(rows[k]) for k in ("rs", "ctf", "half"))
    diff = ctf[:, 0] - rs[:, 0]
    wins = f"{(diff > 1e-12).sum()} / {(abs(diff) <= 1e-12).sum()} / {(diff < -1e-12).sum()}"
    metric = "accuracy" if task == "classification" else "R²"
    return [
        f"{name} ({metric})",
        f"{rs[:, 0].mean():.4f}",
        f"{ctf[:, 0].mean():.4f}",
        f"{diff.mean():+.4f}",
        wins,
        f"{rs[:, 1].mean():.4f}",
        f"{ctf[:, 1].mean():.4f}",
        fmt_s(rs[:, 2].mean()),
        fmt_s(ctf[:, 2].mean()),
        f"{half[:, 0].mean():.4f}",
        f"{half[:, 1].mean():.4f}",
        fmt_s(half[:, 2].mean()),
    ], diff.mean() >= 0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test of a few seconds")
    parser.add_argument("--seeds", type=int, default=10, help="seeds averaged (default 10)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads(T)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.simplefilter("ignore", FitFailedWarning)  # a diverged lr scores nan, as it should
    warnings.filterwarnings("ignore", message="One or more of the test scores are non-finite")
    if args.quick:
        seeds, n_iter, n_rounds, epochs = 1, 2, 2, 3
    else:
        seeds, n_iter, n_rounds, epochs = args.seeds, 8, 3, 30
    start = time.perf_counter()
    rows, better = [], 0
    with threadpool_limits(args.threads):
        for name in DATASETS:
            row, ok = bench_dataset(name, seeds, n_iter, n_rounds, epochs, args.device)
            rows.append(row)
            better += ok
    header = [
        "data set",
        "random: best CV",
        "coarse-to-fine: best CV",
        "difference",
        "c2f better / equal / worse",
        "random: test",
        "coarse-to-fine: test",
        "random: s",
        "coarse-to-fine: s",
        "c2f halving: best CV",
        "c2f halving: test",
        "c2f halving: s",
    ]
    lines = [
        "## Coarse-to-fine vs random search" + (" (--quick)" if args.quick else ""),
        "",
        *env_lines(torch.get_num_threads(), args.device),
        f"- {n_iter * n_rounds} candidates x 3 folds each: RandomizedSearchCV(n_iter="
        f"{n_iter * n_rounds}) vs CoarseToFineSearchCV(n_iter={n_iter}, n_rounds={n_rounds}, "
        f"top_k=3, shrink=0.5); hidden (64,), {epochs} epochs; mean over {seeds} seed(s)",
        "",
        markdown_table(header, rows),
        "",
        f"Coarse-to-fine's mean best CV score >= random search's on {better} of "
        f"{len(DATASETS)} data sets; total {time.perf_counter() - start:.1f} s.",
    ]
    report = "\n".join(lines)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report + "\n")


if __name__ == "__main__":
    main()
