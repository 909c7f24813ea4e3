"""Scoring a task's fitted models in one pass, with ``_fit_and_score``'s results.

A fused fit is scored as scikit-learn scores one (see :mod:`._fused`):
``_fit_and_score`` of a :class:`~sklearn.frozen.FrozenEstimator`, which for
every fit indexes the split's rows, validates them in ``predict``, and
validates the targets again in the metric (``_check_targets``,
``type_of_target``): most of a fused search's time, on small models. Here,
where that gives the same numbers, each split's test (and train) rows are
indexed and validated once (:func:`~skdl.estimators.check_predict_input`),
each model predicts them through its own forward pass and decoding
(:func:`~skdl.estimators.predict_checked`: ``model.predict``'s labels or
values, bit for bit), and the metric is computed by scikit-learn's own
numpy operations, its checks made once per split where they depend on the
targets alone and per model where they depend on the predictions:

- ``accuracy_score`` of single-output labels: ``np.average(y_true == y_pred)``;
- ``r2_score``: the same sums in the same floating dtype, and the same rule
  for a zero numerator or denominator (``force_finite``).

They score the default ``score`` of a classifier (accuracy) or a regressor
(R²) and the 'accuracy' and 'r2' scorers (``make_scorer`` of those metrics
without options), alone or several of them (a list or dict ``scoring``:
one prediction per model and side, as scikit-learn caches it), with no
score parameters (no ``sample_weight``), at a
``verbose`` below 2 (``_fit_and_score`` prints nothing), on a numpy or
sparse ``X`` and a numpy ``y``, for a bare skdl estimator fitted without
feature names. For anything else, and for any fit whose predictions the
metric would refuse or warn about (another target type, a non-finite
prediction, fewer than two rows for R²) or whose scoring raises, the answer
is None: that fit is scored by ``_fit_and_score``, so its errors, warnings
and ``error_score`` are scikit-learn's. :func:`exact_scoring` turns the
batch off (the reference the tests compare it to).
"""

from __future__ import annotations

import numbers
import time
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array

from .._compat import _MultimetricScorer, _PassthroughScorer, _safe_indexing, _Scorer
from ..estimators import BaseMLP, check_predict_input, predict_checked

_BATCHED = True  # see exact_scoring


@contextmanager
def exact_scoring():
    """Within this context, every fused fit is scored by ``_fit_and_score``, one by one.

    The batched scoring of this module is meant to give that path's numbers;
    this switch gives the reference to compare it to. It acts on the
    searches that score in this process (``n_jobs=1``, or joblib's threading
    backend).
    """
    global _BATCHED
    previous, _BATCHED = _BATCHED, False
    try:
        yield
    finally:
        _BATCHED = previous


def batchable(ctx) -> bool:
    """Whether the fits of this search context may be scored in a batch.

    The conditions that hold for every fit of the context: the scorer
    (the default score, a ``make_scorer`` of a metric or several of them, not
    a callable), no score parameters, a verbosity at which ``_fit_and_score``
    prints nothing per fit, a valid ``error_score``, numpy or sparse ``X``,
    numpy ``y`` of numbers or strings, and no array API dispatch.
    """
    kw = ctx.score_kwargs
    error_score = kw["error_score"]
    return bool(
        _BATCHED
        and not kw["verbose"] > 1
        and not kw["score_params"]
        and (isinstance(error_score, numbers.Number) or error_score == "raise")
        and isinstance(kw["scorer"], (_PassthroughScorer, _Scorer, _MultimetricScorer))
        and (isinstance(ctx.X, np.ndarray) or sp.issparse(ctx.X))
        and isinstance(ctx.y, np.ndarray)
        and ctx.y.dtype.kind in "biufUS"
        and not get_config().get("array_api_dispatch", False)
    )


def _metric(scorer, model):
    """The batched metric that ``scorer`` computes for ``model``, or None."""
    if not isinstance(model, BaseMLP):
        return None
    if isinstance(scorer, _MultimetricScorer):
        metrics = {name: _metric(one, model) for name, one in scorer._scorers.items()}
        return None if None in metrics.values() else _several(metrics)
    if isinstance(scorer, _PassthroughScorer):
        score = type(model).score
        if score is ClassifierMixin.score:
            return _accuracy
        return _r2 if score is RegressorMixin.score else None
    if (
        type(scorer) is _Scorer
        and scorer._sign == 1
        and not scorer._kwargs
        and scorer._response_method == "predict"
    ):
        # (accuracy of a regressor's values, R² of a classifier's labels: not batched)
        if scorer._score_func is accuracy_score and isinstance(model, ClassifierMixin):
            return _accuracy
        if scorer._score_func is r2_score and isinstance(model, RegressorMixin):
            return _r2
    return None


def _several(metrics: dict):
    """The metric of a ``_MultimetricScorer``: each of ``metrics`` on the same
    predictions, a dict in the scorer's order; None if one of them is."""

    def several(rows, y_pred) -> dict | None:
        scores = {name: metric(rows, y_pred) for name, metric in metrics.items()}
        return None if None in scores.values() else scores

    return several


class _Rows:
    """One side of a split (its test or its train rows), indexed and validated once."""

    def __init__(self, X, y, rows):
        # as _fit_and_score's _safe_split, then predict's validation
        self.X = check_predict_input(_safe_indexing(X, rows))
        self.y = _safe_indexing(y, rows)
        self.n = self.X.shape[0]
        self._kept = {}

    def takes(self, model) -> bool:
        """Whether ``predict`` of ``model`` accepts these rows without a check failing."""
        return getattr(model, "n_features_in_", None) == self.X.shape[1] and not hasattr(
            model, "feature_names_in_"
        )

    def target_type(self) -> str | None:
        """``type_of_target`` of the true labels; None where it raises."""
        if "type" not in self._kept:
            try:
                self._kept["type"] = type_of_target(self.y, input_name="y_true")
            except Exception:
                self._kept["type"] = None
        return self._kept["type"]

    def r2_truth(self, dtype) -> tuple | None:
        """``r2_score``'s 2-D true values in ``dtype`` and its denominator; None
        where its ``check_array`` refuses them (non-finite values)."""
        if dtype not in self._kept:
            try:
                y = check_array(self.y, ensure_2d=False, dtype=dtype)
            except Exception:
                self._kept[dtype] = None
            else:
                y = y.reshape((-1, 1)) if y.ndim == 1 else y
                denominator = np.sum(1.0 * (y - np.average(y, axis=0)) ** 2, axis=0)
                self._kept[dtype] = (y, denominator)
        return self._kept[dtype]


def _accuracy(rows: _Rows, y_pred) -> float | None:
    """``accuracy_score(rows.y, y_pred)`` of single-output labels; None for other targets.

    ``_check_targets`` accepts binary or multiclass labels of one kind (numbers,
    or strings) and compares them as they are: predictions are a fitted
    classifier's ``classes_``, taken from the same ``y``, so their type is binary
    or multiclass whenever the true labels' is.
    """
    y_true = rows.y
    if (
        rows.target_type() not in ("binary", "multiclass")
        or y_true.ndim != 1
        or y_pred.shape != y_true.shape
        or y_pred.dtype.kind != y_true.dtype.kind
        or rows.n < 1
    ):
        return None
    # np.average of the matches, bit for bit: their count is an exact float64
    # sum, and both divide it by n once, correctly rounded
    return float(np.count_nonzero(y_true == y_pred) / rows.n)


def _r2(rows: _Rows, y_pred) -> float | None:
    """``r2_score(rows.y, y_pred)`` (uniform average over outputs, ``force_finite``);
    None where scikit-learn would warn or refuse (fewer than two rows, a
    non-finite value)."""
    y_true = rows.y
    if y_pred.dtype.kind != "f" or y_pred.shape != y_true.shape or rows.n < 2:
        return None
    floats = [d for d in (y_true.dtype, y_pred.dtype) if d.kind == "f"]
    truth = rows.r2_truth(np.result_type(*floats))
    if truth is None:
        return None
    y_true, denominator = truth
    y_pred = np.asarray(y_pred, dtype=y_true.dtype)
    if not np.isfinite(y_pred).all():
        return None
    y_pred = y_pred.reshape((-1, 1)) if y_pred.ndim == 1 else y_pred
    numerator = np.sum(1.0 * (y_true - y_pred) ** 2, axis=0)
    return _explained(numerator, denominator)


def _explained(numerator, denominator) -> float:
    """scikit-learn's ``_assemble_fraction_of_explained_deviance`` (``force_finite=True``,
    ``multioutput='uniform_average'``)."""
    if numerator.shape == (1,):  # one output: the same operations on scalars of its dtype
        num, den = numerator[0], denominator[0]
        if num != 0:
            return float(1 - num / den) if den != 0 else 0.0
        return 1.0
    nonzero_denominator = denominator != 0
    nonzero_numerator = numerator != 0
    scores = np.ones([numerator.shape[0]], dtype=numerator.dtype)
    valid = nonzero_denominator & nonzero_numerator
    scores[valid] = 1 - (numerator[valid] / denominator[valid])
    scores[nonzero_numerator & ~nonzero_denominator] = 0.0
    return float(np.average(scores))


class _Batch:
    """The rows of a context's splits, validated on first use, and the models' scores."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._rows = {}

    def rows(self, split: int, side: int) -> _Rows | None:
        """The test (``side=1``) or train (``side=0``) rows of ``split``; None
        where indexing or validating them raises."""
        if (split, side) not in self._rows:
            try:
                rows = _Rows(self.ctx.X, self.ctx.y, self.ctx.splits[split][side])
            except Exception:
                rows = None
            self._rows[split, side] = rows
        return self._rows[split, side]

    def score(self, metric, model, split: int, side: int) -> float | None:
        """``metric`` of ``model``'s predictions on one side of ``split``, or None."""
        rows = self.rows(split, side)
        if rows is None or not rows.takes(model):
            return None
        try:
            return metric(rows, predict_checked(model, rows.X))
        except Exception:  # _fit_and_score will raise it, or warn, as scikit-learn
            return None


def batch_scores(ctx, fitted: list[tuple[int, object]]) -> list[dict | None]:
    """Scores of fitted ``(split, model)`` pairs of ``ctx``, in their order.

    Each is the part of ``_fit_and_score``'s result that scoring gives
    (``test_scores``, ``train_scores`` with ``return_train_score``,
    ``n_test_samples`` and ``score_time``, the time of the test scores divided
    among the pair scored), or None for a pair to score by ``_fit_and_score``.
    """
    if not fitted or not batchable(ctx):
        return [None] * len(fitted)
    batch, scorer = _Batch(ctx), ctx.score_kwargs["scorer"]
    start = time.perf_counter()
    metrics = [_metric(scorer, model) for _, model in fitted]
    tests = [
        None if metric is None else batch.score(metric, model, split, 1)
        for (split, model), metric in zip(fitted, metrics)
    ]
    score_time = (time.perf_counter() - start) / max(sum(t is not None for t in tests), 1)
    out = []
    for (split, model), metric, test in zip(fitted, metrics, tests):
        scores = None if test is None else {"test_scores": test}
        if scores is not None and ctx.score_kwargs["return_train_score"]:
            train = batch.score(metric, model, split, 0)
            scores = None if train is None else {**scores, "train_scores": train}
        if scores is not None:
            scores.update(n_test_samples=batch.rows(split, 1).n, score_time=score_time)
        out.append(scores)
    return out
