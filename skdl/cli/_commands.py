"""``skdl fit``, ``predict`` and ``diagnose``: the pipeline, the search, the commands."""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

from ._common import (
    UsageError,
    _check_writable,
    _convergence_warning,
    _one_line,
    _require,
    _write_atomic,
)
from ._data import (
    _is_numeric,
    _model_input,
    _numeric_features,
    check_typo_columns,
    infer_task,
    numeric_cells,
    read_table,
    split_target,
)
from ._modelfile import load_model, save_model


def make_model(X, task: str, max_iter: int, seed: int, verbose: int = 1, categorical=()):
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
    categorical : sequence of str, default=()
        Columns to one-hot encode even if they hold numbers.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Steps ``"prep"`` (a ColumnTransformer) and ``"mlp"``.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from ..estimators import MLPClassifier, MLPRegressor

    numeric = _numeric_features(X, categorical)
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


def make_search(pipe, kind: str, n_iter: int, seed: int):
    """skdl's fused search over learning rate, alpha, width and depth.

    ``kind='random'``: RandomizedSearchCV with ``n_iter`` candidates;
    ``kind='coarse-to-fine'``: CoarseToFineSearchCV, 3 rounds sharing ``n_iter``.
    """
    from scipy.stats import loguniform

    from ..model_selection import CoarseToFineSearchCV, RandomizedSearchCV

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


def _plot_loss(mlp, path) -> Path | None:
    """Save the loss curve(s) of ``mlp`` as a PNG, if matplotlib is installed.

    The figure is drawn on its own Agg canvas, not through pyplot: the command
    leaves matplotlib's backend (a process-wide setting) as it found it.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot(range(1, len(mlp.loss_curve_) + 1), mlp.loss_curve_, label="train loss")
    val = getattr(mlp, "validation_loss_curve_", None)
    if val:
        ax.plot(range(1, len(val) + 1), val, label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def fit(args) -> dict:
    """``skdl fit``: train, print the scores, save the model (and a loss-curve PNG)."""
    X, y, task, categorical = _fit_inputs(args)
    model = make_model(X, task, args.max_iter, args.seed, categorical=categorical)
    X = numeric_cells(X, _numeric_features(X, categorical), args.data)
    print(f"skdl fit: {len(X)} rows, {X.shape[1]} features, target {args.target!r} ({task})")
    search = (
        None if args.search == "none" else make_search(model, args.search, args.n_iter, args.seed)
    )
    seconds = _train(search or model, X, y)
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
    _save_fitted(args.out, model, info)
    png = _plot_loss(mlp, Path(args.out).with_suffix(".loss.png"))
    if png is not None:
        print(f"saved loss curve to {png}")
    return info


def _fit_inputs(args) -> tuple:
    """``(X, y, task, categorical)`` of ``skdl fit``, every check made before training."""
    frame = read_table(args.data)
    X, y = split_target(frame, args.target, args.data)
    task = infer_task(y) if args.task == "auto" else args.task
    if task == "regression" and not _is_numeric(y):
        raise UsageError(f"--task regression needs a numeric target; {args.target!r} is not")
    _check_writable(args.out, "the model")
    _require("skops.io", "writing the model file")  # before training, not after
    categorical = list(dict.fromkeys(args.categorical or ()))
    unknown = [c for c in categorical if c not in X.columns]
    if unknown:
        raise UsageError(f"--categorical {unknown[0]}: no such feature column in {args.data}")
    check_typo_columns(X, args.data, categorical)
    return X, y, task, categorical


def _train(model, X, y) -> float:
    """Fit ``model`` (a pipeline or a search) on ``X, y``; the seconds it took."""
    tic = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=_convergence_warning())
            model.fit(X, y)
    except ValueError as exc:
        raise UsageError(f"fit failed: {_one_line(exc)}") from None
    return time.perf_counter() - tic


def _save_fitted(out, model, info: dict) -> None:
    try:
        save_model(out, model, **info)
    except OSError as exc:
        raise UsageError(
            f"the model was trained but could not be written to {out}: "
            f"{exc.strerror or _one_line(exc)}"
        ) from None
    print(f"saved model to {out}")


def predict(args) -> None:
    """``skdl predict``: write predictions (and class probabilities) as CSV.

    The output file is written whole or not at all (a temporary file renamed
    over ``--out``), after every prediction has been made.
    """
    pd = _require("pandas", "skdl predict")
    if args.out != "-":
        _check_writable(args.out, "the predictions")
    saved = load_model(args.model)
    model = saved["model"]
    frame = read_table(args.data)
    X = _model_input(model, frame, saved.get("target"), args.data)
    try:
        out = pd.DataFrame({"prediction": model.predict(X)}, index=frame.index)
        if hasattr(model, "predict_proba") and hasattr(model, "classes_"):
            proba = model.predict_proba(X)
            for j, c in enumerate(model.classes_):
                out[f"proba_{c}"] = proba[:, j]
    except (ValueError, TypeError) as exc:
        raise UsageError(f"cannot predict on {args.data}: {_one_line(exc)}") from None
    if args.out == "-":
        out.to_csv(sys.stdout, index=False)
        return
    text = out.to_csv(index=False).encode()
    try:
        _write_atomic(args.out, lambda fh: fh.write(text))
    except OSError as exc:
        raise UsageError(
            f"cannot write the predictions to {args.out}: {exc.strerror or _one_line(exc)}"
        ) from None
    print(f"wrote {len(out)} predictions to {args.out}")


def diagnose(args) -> dict:
    """``skdl diagnose``: training score vs the score on DATA, the gap, and a verdict."""
    saved = load_model(args.model)
    model = saved["model"]
    frame = read_table(args.data)
    X, y = split_target(frame, args.target, args.data)
    X = _model_input(model, X, None, args.data)
    try:
        score = float(model.score(X, y))
    except (ValueError, TypeError) as exc:
        raise UsageError(f"cannot score the model on {args.data}: {_one_line(exc)}") from None
    train_score = saved.get("train_score")
    print(f"score on {args.data}: {score:.4f}")
    if train_score is None:
        print("training score: unknown (the model file was not written by `skdl fit`)")
        return {"score": score}
    print(f"training score: {train_score:.4f}")
    print(f"gap (train - data): {train_score - score:.4f}")
    try:
        from ..diagnostics import diagnose as verdict_of
    except ImportError:
        return {"score": score, "train_score": train_score}
    verdict = verdict_of(
        model,  # for its training curve's findings; the scores are the ones above
        train_score=train_score,
        val_score=score,
        val_label=f"score on {Path(args.data).name}",
    )
    print(verdict)
    return {"score": score, "train_score": train_score, "verdict": verdict}
