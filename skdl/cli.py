"""The ``skdl`` command line: ``python -m skdl demo``.

``demo`` is the README's main job: train skdl's MLPClassifier on a dataset
that ships with scikit-learn, show progress, and print its test accuracy and
fit time next to scikit-learn's MLPClassifier on the same split.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

DATASETS = ("digits", "breast_cancer", "wine", "iris")


def _load(name):
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)


def demo(dataset: str = "digits", max_iter: int = 200, seed: int = 0, compare: bool = True) -> dict:
    """Train on ``dataset``, print a small report, and return the numbers."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from . import MLPClassifier

    X, y = _load(dataset)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    print(
        f"skdl demo: {dataset} ({X.shape[0]} samples, {X.shape[1]} features, "
        f"{len(set(y))} classes), 75/25 stratified split"
    )
    results = {}
    models = [("skdl", MLPClassifier(max_iter=max_iter, random_state=seed, verbose=1))]
    if compare:
        models.append(("scikit-learn", SkMLPClassifier(max_iter=max_iter, random_state=seed)))
    for name, clf in models:
        pipe = make_pipeline(StandardScaler(), clf)
        tic = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pipe.fit(X_tr, y_tr)
        seconds = time.perf_counter() - tic
        acc = pipe.score(X_te, y_te)
        results[name] = {"accuracy": acc, "seconds": seconds, "epochs": clf.n_iter_}
    print()
    print(f"{'model':<14}{'test accuracy':>15}{'fit seconds':>13}{'epochs':>8}")
    for name, r in results.items():
        print(f"{name:<14}{r['accuracy']:>15.4f}{r['seconds']:>13.2f}{r['epochs']:>8d}")
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="skdl", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="train on a bundled dataset and compare with scikit-learn")
    p_demo.add_argument("--dataset", choices=DATASETS, default="digits")
    p_demo.add_argument("--max-iter", type=int, default=200)
    p_demo.add_argument("--seed", type=int, default=0)
    p_demo.add_argument("--no-compare", action="store_true", help="skip scikit-learn's MLP")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.dataset, args.max_iter, args.seed, compare=not args.no_compare)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
