"""Deep ensembles (issue 16): test scores and fit times of one network vs ensembles.

    python benchmarks/ensembles.py [--quick] [--seeds 5] [--members 8] [--threads 1]
                                   [--dtype auto|float32] [--only NAME ...] [--out FILE]

On six small datasets (digits, breast_cancer, wine, diabetes,
``make_friedman1(n_samples=2000, noise=1.0)`` and ``make_classification(
n_samples=3000, n_features=20, n_informative=8, flip_y=0.05)``), each seed's
75/25 split (stratified for classification) and StandardScaler: the test
score (accuracy, or R^2) and fit time of scikit-learn's MLP,
HistGradientBoosting, skdl with one network, skdl ``ensemble=True`` with
``n_init=members`` (8) and skdl bagging (``bootstrap=True``) of as many, and
pytabkit's ``RealMLP_TD_*`` where installed (``pip install -e ".[bench]"``;
the row is skipped with a note otherwise). Default parameters except
``random_state=seed`` (and ``device='cpu'`` for skdl). For the regression
datasets the MLPs of scikit-learn and skdl learn a standardized y
(``TransformedTargetRegressor(..., transformer=StandardScaler())``, predictions
mapped back): diabetes' y is in the hundreds, which 200 epochs of Adam at
lr=0.001 from a near-zero output do not reach (R^2 < 0 for both libraries).
RealMLP-TD standardizes y itself and HistGradientBoosting does not need it.
Every fit runs with ``--threads`` threads (torch and BLAS). StandardScaler
returns float64, so skdl (``dtype='auto'``) and scikit-learn train in float64;
``--dtype float32`` casts the scaled X to float32 for every model.

Prints one table per dataset (mean over seeds; fit time as the mean and as a
ratio to skdl's single network) and a summary: on how many datasets the
ensemble beats one network, its fit-time ratio, and the gap to RealMLP-TD.
``--quick`` is a smoke test of a few seconds (300 rows, 1 seed, 10 epochs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch
from sklearn import datasets
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import env_lines, markdown_table  # noqa: E402

from skdl import MLPClassifier, MLPRegressor  # noqa: E402

DATASETS = {
    "digits": lambda: datasets.load_digits(return_X_y=True),
    "breast_cancer": lambda: datasets.load_breast_cancer(return_X_y=True),
    "wine": lambda: datasets.load_wine(return_X_y=True),
    "diabetes": lambda: datasets.load_diabetes(return_X_y=True),
    "friedman1": lambda: datasets.make_friedman1(n_samples=2000, noise=1.0, random_state=0),
    "make_classification": lambda: datasets.make_classification(
        n_samples=3000, n_features=20, n_informative=8, flip_y=0.05, random_state=0
    ),
}
REGRESSION = {"diabetes", "friedman1"}
SINGLE, ENSEMBLE, BAGGING = "skdl single", "skdl ensemble", "skdl bagging"


def realmlp(classify: bool, seed: int):
    """pytabkit's RealMLP-TD with its defaults, or None when not installed."""
    try:
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor
    except ImportError:
        return None
    cls = RealMLP_TD_Classifier if classify else RealMLP_TD_Regressor
    return cls(random_state=seed, n_threads=1, device="cpu", verbosity=0)


def models(classify: bool, seed: int, members: int, epochs: int | None) -> dict:
    """The estimators of one row each (None: not installed)."""
    it = {} if epochs is None else {"max_iter": epochs}
    sk = SkMLPClassifier if classify else SkMLPRegressor
    hgb = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
    mlp = MLPClassifier if classify else MLPRegressor
    common = dict(random_state=seed, device="cpu", **it)

    def scaled_y(est):
        if classify:
            return est
        return TransformedTargetRegressor(est, transformer=StandardScaler())

    return {
        "sklearn MLP": scaled_y(sk(random_state=seed, **it)),
        "HistGradientBoosting": hgb(random_state=seed),
        SINGLE: scaled_y(mlp(**common)),
        f"{ENSEMBLE} of {members}": scaled_y(mlp(n_init=members, ensemble=True, **common)),
        f"{BAGGING} of {members}": scaled_y(
            mlp(n_init=members, ensemble=True, bootstrap=True, **common)
        ),
        "RealMLP_TD": realmlp(classify, seed),
    }


def bench(
    name: str, seeds: int, members: int, rows: int | None, epochs: int | None, dtype: str = "auto"
) -> dict:
    """``{model: (scores over seeds, fit seconds over seeds)}`` on one dataset."""
    X, y = DATASETS[name]()
    if rows is not None:
        X, y = X[:rows], y[:rows]
    classify = name not in REGRESSION
    out: dict = {}
    for seed in range(seeds):
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.25, random_state=seed, stratify=y if classify else None
        )
        for model, est in models(classify, seed, members, epochs).items():
            scores, times = out.setdefault(model, ([], []))
            if est is None:
                continue
            steps = [StandardScaler()]
            if dtype == "float32":  # StandardScaler returns float64; skdl trains in X's dtype
                steps.append(FunctionTransformer(np.float32, check_inverse=False))
            pipe = make_pipeline(*steps, est)
            tic = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                pipe.fit(X_tr, y_tr)
            times.append(time.perf_counter() - tic)
            scores.append(pipe.score(X_te, y_te))
            print(f"  {name} seed {seed} {model}: {scores[-1]:.4f} {times[-1]:.2f} s",
                  file=sys.stderr)  # fmt: skip
    return out


def table(name: str, results: dict) -> str:
    single_time = np.mean(results[SINGLE][1])
    metric = "R^2" if name in REGRESSION else "accuracy"
    rows = []
    for model, (scores, times) in results.items():
        if not scores:
            rows.append([model, "—", "—", 'not installed (pip install -e ".[bench]"): skipped'])
            continue
        ratio = np.mean(times) / single_time
        rows.append(
            [model, f"{np.mean(scores):.4f} ± {np.std(scores):.4f}", f"{np.mean(times):.3f}",
             f"{ratio:.2f}× skdl single"]
        )  # fmt: skip
    header = ["model", f"test {metric} (mean ± std over seeds)", "fit s (mean)", "fit time"]
    return f"### {name}\n\n" + markdown_table(header, rows)


def summary(all_results: dict, members: int) -> list[str]:
    ens, bag = f"{ENSEMBLE} of {members}", f"{BAGGING} of {members}"
    lines = ["### Summary", ""]
    rows = []
    for name, res in all_results.items():
        single = np.mean(res[SINGLE][0])
        real = res["RealMLP_TD"][0]
        rows.append(
            [
                name,
                f"{np.mean(res[ens][0]) - single:+.4f}",
                f"{np.mean(res[bag][0]) - single:+.4f}",
                f"{np.mean(res[ens][1]) / np.mean(res[SINGLE][1]):.2f}×",
                "—" if not real else f"{np.mean(real) - np.mean(res[ens][0]):+.4f}",
            ]
        )
    wins = sum(float(r[1]) > 0 for r in rows)
    header = ["dataset", "ensemble - single", "bagging - single", "ensemble fit time / single",
              "RealMLP_TD - ensemble"]  # fmt: skip
    lines.append(markdown_table(header, rows))
    lines += ["", f"The ensemble beats one network on {wins} of {len(rows)} datasets."]
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test of a few seconds")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--dtype",
        choices=("auto", "float32"),
        default="auto",
        help="auto: the scaled X as StandardScaler gives it (float64); float32: cast after scaling",
    )
    parser.add_argument("--only", nargs="*", default=None, help="a subset of the datasets")
    parser.add_argument("--out", default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    sizes = dict(seeds=args.seeds, members=args.members, rows=None, epochs=None, dtype=args.dtype)
    if args.quick:
        sizes = dict(seeds=1, members=args.members, rows=300, epochs=10, dtype=args.dtype)
    names = args.only or list(DATASETS)
    with threadpool_limits(args.threads):
        results = {name: bench(name, **sizes) for name in names}
    lines = [
        "## Deep ensembles benchmark" + (" (--quick)" if args.quick else ""),
        "",
        *env_lines(torch.get_num_threads(), "cpu"),
        f"- Seeds: {sizes['seeds']}; members: {sizes['members']}; command: "
        f"python benchmarks/ensembles.py {' '.join(argv if argv is not None else sys.argv[1:])}",
        "",
    ]
    for name, res in results.items():
        lines += [table(name, res), ""]
    lines += summary(results, sizes["members"])
    if realmlp(True, 0) is None:
        lines += ["", "RealMLP_TD rows skipped: pytabkit is not installed "
                  "(pip install -e '.[bench]')."]  # fmt: skip
    report = "\n".join(lines)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report + "\n")


if __name__ == "__main__":
    main()
