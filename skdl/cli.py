"""The ``skdl`` command line: ``python -m skdl {demo,fit,predict,diagnose}``.

``demo`` is the README's main job: train skdl's MLPClassifier on a dataset
that ships with scikit-learn, show progress, and print its test accuracy and
fit time next to scikit-learn's MLPClassifier on the same split.

``fit DATA.csv --target COL --out model.skdl`` trains a pipeline (one-hot
encoding of the categorical columns, scaling of the numeric ones, an MLP with
early stopping) on a CSV or Parquet table, ``predict`` writes its predictions,
and ``diagnose`` compares its training score with its score on new data.

User errors (a missing file or column, an empty table, an unreadable model)
end with one line ``skdl: error: ...`` on stderr and exit status 2, as
argparse's own errors do.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

DATASETS = ("digits", "breast_cancer", "wine", "iris")
_MODEL_FORMAT = "skdl-cli-model/1"
# An integer target with at most this many distinct values is taken as class labels.
_MAX_CLASSES = 20


def _pandas():
    """pandas, or a one-line error naming the ``cli`` extra (fit, predict, diagnose read tables)."""
    from ._optional import optional_import

    return optional_import("pandas", "cli", "skdl fit/predict/diagnose")


class UsageError(Exception):
    """A user error: reported as ``skdl: error: <message>`` with exit status 2."""


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


# ------------------------------------------------------------------ data
def read_table(path):
    """Read a CSV or Parquet file (by its suffix) into a DataFrame.

    Parameters
    ----------
    path : str or Path
        ``.parquet``/``.pq`` files are read with :func:`pandas.read_parquet`,
        anything else with :func:`pandas.read_csv`.

    Returns
    -------
    frame : pandas.DataFrame
        At least one row and one column.

    Raises
    ------
    UsageError
        If the file is missing, empty, or cannot be parsed.
    """
    pd = _pandas()

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            from ._optional import optional_import

            optional_import("pyarrow", "cli", f"reading Parquet ({path.name})")
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise UsageError(f"{path} is empty") from None
    except ImportError as exc:
        raise UsageError(f"cannot read {path}: {_one_line(exc)}") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise UsageError(f"cannot read {path}: {_one_line(exc)}") from None
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise UsageError(f"{path} is empty (no data rows)")
    return frame


def split_target(frame, target: str, path):
    """Return ``(X, y)``: the table without ``target``, and ``target`` (rows with a value)."""
    if target not in frame.columns:
        available = ", ".join(map(str, frame.columns))
        raise UsageError(f"column {target!r} not found in {path}; available columns: {available}")
    if frame.shape[1] < 2:
        raise UsageError(f"{path} has no feature columns besides the target {target!r}")
    frame = frame[frame[target].notna()]
    if frame.shape[0] == 0:
        raise UsageError(f"column {target!r} of {path} has no values")
    return frame.drop(columns=[target]), frame[target]


def infer_task(y) -> str:
    """'classification' or 'regression' for the target column ``y``.

    Labels that are not numbers (strings, booleans, categories) are classes; so
    are integer values (also written as floats, ``1.0``) with at most
    ``_MAX_CLASSES`` distinct values. Anything else is a regression target.

    Examples
    --------
    >>> import pandas as pd
    >>> infer_task(pd.Series(["a", "b", "a"])), infer_task(pd.Series([0.0, 1.0, 1.0]))
    ('classification', 'classification')
    >>> infer_task(pd.Series([0.5, 1.25, 3.0]))
    'regression'
    """
    pd = _pandas()

    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return "classification"
    values = y.to_numpy(dtype=float)
    integral = bool((values == values.round()).all())
    return "classification" if integral and y.nunique() <= _MAX_CLASSES else "regression"


def make_model(X, task: str, max_iter: int, seed: int, verbose: int = 1):
    """The pipeline ``fit`` trains: encode and scale the columns of ``X``, then an MLP.

    Parameters
    ----------
    X : pandas.DataFrame
        The features; object, category, string and boolean columns are
        one-hot encoded (unknown categories ignored at predict time), numeric
        columns get missing values filled with the median and are standardised.
    task : {'classification', 'regression'}
    max_iter : int
        Epochs of the MLP (with early stopping on a 10% validation split).
    seed : int
        ``random_state`` of the MLP.
    verbose : int, default=1

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Steps ``"prep"`` (a ColumnTransformer) and ``"mlp"``.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from . import MLPClassifier, MLPRegressor

    numeric = [c for c in X.columns if _is_numeric(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    prep = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ]
    )
    cls = MLPClassifier if task == "classification" else MLPRegressor
    mlp = cls(early_stopping=True, max_iter=max_iter, random_state=seed, verbose=verbose)
    return Pipeline([("prep", prep), ("mlp", mlp)])


def _is_numeric(column) -> bool:
    pd = _pandas()

    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def make_search(pipe, kind: str, n_iter: int, seed: int):
    """skdl's fused search over learning rate, alpha, width and depth.

    ``kind='random'``: RandomizedSearchCV with ``n_iter`` candidates;
    ``kind='coarse-to-fine'``: CoarseToFineSearchCV, 3 rounds sharing ``n_iter``.
    """
    from scipy.stats import loguniform

    from .model_selection import CoarseToFineSearchCV, RandomizedSearchCV

    space = {
        "mlp__learning_rate_init": loguniform(1e-4, 3e-2),
        "mlp__alpha": loguniform(1e-6, 1e-2),
        "mlp__width": [32, 64, 128, 256],
        "mlp__depth": [1, 2, 3],
    }
    pipe.set_params(mlp__verbose=0)
    if kind == "coarse-to-fine":
        per_round = max(1, n_iter // 3)
        return CoarseToFineSearchCV(
            pipe, space, n_iter=per_round, n_rounds=3, cv=3, random_state=seed, verbose=1
        )
    return RandomizedSearchCV(pipe, space, n_iter=n_iter, cv=3, random_state=seed, verbose=1)


# ----------------------------------------------------------------- model file
def save_model(path, model, **info) -> None:
    """Pickle ``model`` and ``info`` (target, task, scores) to ``path`` with joblib.

    A pickle runs code when loaded: load only files you trust.
    """
    import joblib

    joblib.dump({"format": _MODEL_FORMAT, "model": model, **info}, path)


def load_model(path) -> dict:
    """Load a file written by :func:`save_model`, or any pickled fitted estimator.

    Returns
    -------
    saved : dict
        ``"model"`` and whatever :func:`save_model` stored with it.

    Raises
    ------
    UsageError
        If the file is missing or does not hold a model.
    """
    import joblib

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    try:
        saved = joblib.load(path)
    except Exception as exc:  # any unpickling failure means "not a model file"
        raise UsageError(
            f"cannot read model file {path}: {type(exc).__name__}: {_one_line(exc)}"
        ) from None
    if not isinstance(saved, dict) or saved.get("format") != _MODEL_FORMAT:
        saved = {"model": saved}
    if not hasattr(saved["model"], "predict"):
        raise UsageError(f"model file {path} holds a {type(saved['model']).__name__}, not a model")
    return saved


def _plot_loss(mlp, path) -> Path | None:
    """Save the loss curve(s) of ``mlp`` as a PNG, if matplotlib is installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(1, len(mlp.loss_curve_) + 1), mlp.loss_curve_, label="train loss")
    val = getattr(mlp, "validation_loss_curve_", None)
    if val:
        ax.plot(range(1, len(val) + 1), val, label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


# ----------------------------------------------------------------- commands
def fit(args) -> dict:
    """``skdl fit``: train, print the scores, save the model (and a loss-curve PNG)."""
    frame = read_table(args.data)
    X, y = split_target(frame, args.target, args.data)
    task = infer_task(y) if args.task == "auto" else args.task
    if task == "regression" and not _is_numeric(y):
        raise UsageError(f"--task regression needs a numeric target; {args.target!r} is not")
    _check_writable(args.out, "the model")
    print(f"skdl fit: {len(X)} rows, {X.shape[1]} features, target {args.target!r} ({task})")
    model = make_model(X, task, args.max_iter, args.seed)
    search = (
        None if args.search == "none" else make_search(model, args.search, args.n_iter, args.seed)
    )
    tic = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=_convergence_warning())
            (search or model).fit(X, y)
    except ValueError as exc:
        raise UsageError(f"fit failed: {_one_line(exc)}") from None
    seconds = time.perf_counter() - tic
    if search is not None:
        model = search.best_estimator_
        best = ", ".join(f"{k[5:]}={v:.3g}" for k, v in sorted(search.best_params_.items()))
        print(f"best parameters: {best}")
    mlp = model.named_steps["mlp"]
    train_score = float(model.score(X, y))
    val_score = float(search.best_score_) if search is not None else mlp.best_validation_score_
    metric = "accuracy" if task == "classification" else "R2"
    val_name = "cross-validation" if search is not None else "validation"
    print(f"train {metric}: {train_score:.4f}  {val_name} {metric}: {val_score:.4f}")
    print(f"epochs: {mlp.n_iter_}  fit seconds: {seconds:.2f}")
    info = dict(target=args.target, task=task, train_score=train_score, val_score=val_score)
    try:
        save_model(args.out, model, **info)
    except OSError as exc:
        raise UsageError(
            f"the model was trained but could not be written to {args.out}: "
            f"{exc.strerror or _one_line(exc)}"
        ) from None
    print(f"saved model to {args.out}")
    png = _plot_loss(mlp, Path(args.out).with_suffix(".loss.png"))
    if png is not None:
        print(f"saved loss curve to {png}")
    return info


def predict(args) -> None:
    """``skdl predict``: write predictions (and class probabilities) as CSV."""
    pd = _pandas()

    saved = load_model(args.model)
    model = saved["model"]
    frame = read_table(args.data)
    X = _features(model, frame, saved.get("target"), args.data)
    out = pd.DataFrame({"prediction": model.predict(X)}, index=frame.index)
    if hasattr(model, "predict_proba") and hasattr(model, "classes_"):
        proba = model.predict_proba(X)
        for j, c in enumerate(model.classes_):
            out[f"proba_{c}"] = proba[:, j]
    out.to_csv(sys.stdout if args.out == "-" else args.out, index=False)
    if args.out != "-":
        print(f"wrote {len(out)} predictions to {args.out}")


def diagnose(args) -> dict:
    """``skdl diagnose``: training score vs the score on DATA, the gap, and a verdict."""
    saved = load_model(args.model)
    model = saved["model"]
    frame = read_table(args.data)
    X, y = split_target(frame, args.target, args.data)
    X = _features(model, X, None, args.data)
    score = float(model.score(X, y))
    train_score = saved.get("train_score")
    print(f"score on {args.data}: {score:.4f}")
    if train_score is None:
        print("training score: unknown (the model file was not written by `skdl fit`)")
        return {"score": score}
    print(f"training score: {train_score:.4f}")
    print(f"gap (train - data): {train_score - score:.4f}")
    try:
        from .diagnostics import diagnose as verdict_of
    except ImportError:
        return {"score": score, "train_score": train_score}
    verdict = verdict_of(train_score=train_score, val_score=score)
    print(verdict)
    return {"score": score, "train_score": train_score, "verdict": verdict}


def _features(model, frame, target, path):
    """The columns of ``frame`` the model was fitted on (the target dropped)."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return frame.drop(columns=[target]) if target in frame.columns else frame
    missing = [str(c) for c in names if c not in frame.columns]
    if missing:
        raise UsageError(f"{path} lacks the model's columns: {', '.join(missing)}")
    return frame[list(names)]


def _check_writable(path, what: str) -> None:
    """Raise UsageError unless ``path`` can be created or overwritten (checked before work)."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise UsageError(f"cannot write {what} to {path}: it is a directory")
    if not folder.is_dir():
        raise UsageError(f"cannot write {what} to {path}: directory {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"cannot write {what} to {path}: permission denied")


def _convergence_warning():
    from sklearn.exceptions import ConvergenceWarning

    return ConvergenceWarning


def _one_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ----------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``skdl`` and its subcommands."""
    parser = argparse.ArgumentParser(prog="skdl", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="train on a bundled dataset and compare with scikit-learn")
    p.add_argument("--dataset", choices=DATASETS, default="digits")
    p.add_argument("--max-iter", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-compare", action="store_true", help="skip scikit-learn's MLP")

    p = sub.add_parser("fit", help="train a model on a CSV or Parquet table")
    p.add_argument("data", help="CSV or Parquet (.parquet) file")
    p.add_argument("--target", required=True, help="column to predict")
    p.add_argument("--task", choices=("auto", "classification", "regression"), default="auto")
    p.add_argument("--search", choices=("none", "random", "coarse-to-fine"), default="none")
    p.add_argument("--n-iter", type=int, default=10, help="candidates of the search (in all)")
    p.add_argument("--max-iter", type=int, default=200, help="epochs (early stopping on)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="model.skdl", help="model file (a pickle: trusted use only)")

    p = sub.add_parser("predict", help="write a model's predictions as CSV")
    p.add_argument("model", help="file written by `skdl fit`")
    p.add_argument("data", help="CSV or Parquet file with the model's feature columns")
    p.add_argument("--out", default="-", help="CSV file to write ('-': standard output)")

    p = sub.add_parser("diagnose", help="training score vs the score on new data")
    p.add_argument("model", help="file written by `skdl fit`")
    p.add_argument("data", help="CSV or Parquet file with the target column")
    p.add_argument("--target", required=True, help="column with the true values")
    return parser


def main(argv=None) -> int:
    """Run the command line; returns 0, or exits with status 2 on a user error."""
    from ._optional import MissingOptionalDependency

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            demo(args.dataset, args.max_iter, args.seed, compare=not args.no_compare)
        elif args.command == "fit":
            fit(args)
        elif args.command == "predict":
            predict(args)
        elif args.command == "diagnose":
            diagnose(args)
    except (UsageError, MissingOptionalDependency) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
