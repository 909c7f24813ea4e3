"""Evaluate candidates on CV splits: a group as one stack, or one fit at a time.

Both tasks return ``(candidate, split, result, curve)`` tuples, where
``result`` is the dict scikit-learn's ``_fit_and_score`` returns, so the
search formats fused and per-fit results the same way. A task's fused fits
are scored in one pass where that gives ``_fit_and_score``'s very numbers
(:mod:`._scoring`: each split's rows validated once, the default score or
'accuracy' / 'r2'); every other fused fit is scored by ``_fit_and_score``
itself, through a :class:`~sklearn.frozen.FrozenEstimator` (its ``fit`` does
nothing): the scorers, score parameters, error handling and messages are
scikit-learn's. A fit's ``fit_time`` is its task's wall time divided by the
number of fits in the task; a batch's ``score_time``, its time divided by
the number of fits it scored.

A fit goes to scikit-learn's path only for a reason decided before training
(:func:`~skdl.estimators.stack_refusals`, and the grouping of ``_plan``).
A fit that fails in training is not run again: its error is scored as
scikit-learn scores a failed fit (``error_score``, ``FitFailedWarning``),
and an error of a stack of several fits, which no one fit owns, is raised.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from .._compat import _fit_and_score, _safe_indexing
from ..estimators import (
    FitTooLargeError,
    OutOfMemoryError,
    fit_many,
    resolve_device,
    stack_refusals,
)
from ._plan import Group, final_step, stack_chunks
from ._scoring import batch_scores

_CURVE_KEYS = ("train_loss", "val_loss", "val_score")

MAX_CPU_STACK = 32
"""Most models per ``fit_many`` call on the CPU. There, beyond a few models,
a stack's per-model work dominates its per-step overhead, so bigger stacks
gain nothing while their ``[K, batch, units]`` temporaries fall out of the
cache: digits, hidden (100,), dropout, one thread: 190 model-epochs/s in one
stack of 160, 360 in stacks of 32. On a GPU a task trains its fits as one stack."""


@dataclass
class Context:
    """What every task of one ``evaluate_candidates`` call shares."""

    estimator: object  # the search's (unfitted) estimator
    X: object
    y: object
    splits: list  # (train, test) index arrays
    n_candidates: int
    fit_params: dict
    score_kwargs: dict  # scorer, score_params, return_train_score, error_score, verbose
    # the search's bar, advanced epoch by epoch by stacks trained in this process;
    # None when the tasks run elsewhere (they are counted as their results return)
    progress: object = None

    def __getstate__(self) -> dict:
        """A context sent to another process leaves the bar behind."""
        return {**self.__dict__, "progress": None}

    def __sizeof__(self) -> int:
        """The data's size, so joblib's dask backend scatters a context once, not per task
        (it only scatters arguments it measures above 1 kB)."""
        return object.__sizeof__(self) + sum(
            max(getattr(a, "nbytes", 0), sys.getsizeof(a)) for a in (self.X, self.y)
        )


def epoch_curve(model) -> dict | None:
    """Per-epoch training loss, validation loss and validation score of a fitted model."""
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    history = getattr(final, "history_", None)
    if history is None:
        return None
    return {key: [record[key] for record in history] for key in _CURVE_KEYS}


def n_iter_of(model) -> float:
    """The epochs (or L-BFGS iterations) a fitted model trained; NaN when unknown."""
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    n_iter = getattr(final, "n_iter_", None)
    return float(n_iter) if isinstance(n_iter, (int, np.integer)) else np.nan


def counting_convergence(task, *args):
    """``(task(*args), messages)``: the task's ConvergenceWarnings collected, not shown.

    A search reports its fits that did not converge in one warning (see
    ``FusedSearchMixin``); every other warning is shown as usual. Returns the
    task's value and the collected warnings' messages (one per unconverged fit).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        value = task(*args)
    messages = []
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            messages.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return value, messages


def run_single(ctx: Context, candidate: int, params: dict, split: int) -> list[tuple]:
    """One candidate on one split, scikit-learn's way (``_fit_and_score``)."""
    train, test = ctx.splits[split]
    result = _fit_and_score(
        clone(ctx.estimator),
        ctx.X,
        ctx.y,
        train=train,
        test=test,
        parameters=params,
        fit_params=ctx.fit_params,
        split_progress=(split, len(ctx.splits)),
        candidate_progress=(candidate, ctx.n_candidates),
        return_n_test_samples=True,
        return_times=True,
        return_estimator=True,
        **ctx.score_kwargs,
    )
    model = result.pop("estimator", None)
    ok = result["fit_error"] is None
    curve = epoch_curve(model) if ok else None
    result["n_iter"] = n_iter_of(model) if ok else np.nan
    return [(candidate, split, result, curve)]


def _score_fitted(
    ctx: Context, candidate: int, split: int, model, fit_time: float, scores=None
) -> tuple:
    """The result of a fitted model: its batched ``scores`` (see
    :func:`~._scoring.batch_scores`), or without them ``_fit_and_score``'s."""
    if scores is not None:
        result = {"fit_error": None, **scores, "fit_time": fit_time}
        result["score_time"] = result.pop("score_time")  # _fit_and_score's order of keys
        result["n_iter"] = n_iter_of(model)
        return candidate, split, result, epoch_curve(model)
    train, test = ctx.splits[split]
    result = _fit_and_score(
        FrozenEstimator(model),
        ctx.X,
        ctx.y,
        train=train,
        test=test,
        parameters=None,
        fit_params=None,
        split_progress=(split, len(ctx.splits)),
        candidate_progress=(candidate, ctx.n_candidates),
        return_n_test_samples=True,
        return_times=True,
        **ctx.score_kwargs,
    )
    result["fit_time"] = fit_time
    result["n_iter"] = n_iter_of(model)
    return candidate, split, result, epoch_curve(model)


class _Failed(BaseEstimator):
    """Stands for a fit that failed in a stack: its ``fit`` raises that fit's error,
    so ``_fit_and_score`` reports it as it reports any failed fit."""

    def __init__(self, error=None):
        self.error = error

    def fit(self, X, y=None, **fit_params):
        raise self.error


def score_failed(ctx: Context, candidate: int, split: int, error: Exception, fit_time: float):
    """The result of a fit that raised ``error`` in training, as scikit-learn
    records a failed fit: ``error_score`` (or the error raised, with
    ``error_score='raise'``) and the traceback in ``fit_error``."""
    train, test = ctx.splits[split]
    result = _fit_and_score(
        _Failed(error),
        ctx.X,
        ctx.y,
        train=train,
        test=test,
        parameters=None,
        fit_params=None,
        split_progress=(split, len(ctx.splits)),
        candidate_progress=(candidate, ctx.n_candidates),
        return_n_test_samples=True,
        return_times=True,
        **ctx.score_kwargs,
    )
    result["fit_time"] = fit_time
    result["n_iter"] = np.nan
    return candidate, split, result, None


def run_group(ctx: Context, group: Group, pairs: list[tuple[int, int]]) -> list[tuple]:
    """``pairs`` (member index, split) of ``group``, trained as stacks, then scored.

    A fit the stack refuses before training runs on scikit-learn's path; a fit
    that failed in training (a diverged one) gets ``error_score`` from its
    own error (:func:`score_failed`).
    """
    start = time.perf_counter()
    models = _train(ctx, group, pairs)
    fit_time = (time.perf_counter() - start) / len(pairs)
    scores = iter(batch_scores(ctx, fitted_pairs(pairs, models)))
    out = []
    for (member, split), model in zip(pairs, models):
        candidate, params, _ = group.members[member]
        if model is None:
            out += run_single(ctx, candidate, params, split)
        elif isinstance(model, Exception):
            out.append(score_failed(ctx, candidate, split, model, fit_time))
        else:
            out.append(_score_fitted(ctx, candidate, split, model, fit_time, next(scores)))
    return out


def fitted_pairs(pairs: list[tuple[int, int]], models: list) -> list[tuple[int, object]]:
    """``(split, model)`` of the fitted ``models`` of ``pairs`` (not a refusal, not an error)."""
    return [
        (split, model)
        for (_, split), model in zip(pairs, models)
        if model is not None and not isinstance(model, Exception)
    ]


def _stack_size(final, n_models: int) -> int:
    if resolve_device(final.device).type == "cpu":
        return MAX_CPU_STACK
    return max(n_models, 1)


def _train(ctx: Context, group: Group, pairs: list[tuple[int, int]]) -> list:
    """Fitted models of ``pairs``, in their order; for a fit that failed in
    training, its error; None for one the stack refuses (:func:`stack_refusals`)."""
    name, _ = final_step(ctx.estimator)
    template = clone(ctx.estimator).set_params(**group.prep_params)
    final = template if name is None else template.steps[-1][1]
    final = clone(final).set_params(**group.structural)
    splits = sorted({s for _, s in pairs})
    preps, batches = _design(ctx, template if name is not None else None, splits)
    sample_weight = ctx.fit_params.get("sample_weight")
    models = {(m, s): preps[s] for m, s in pairs if isinstance(preps[s], Exception)}
    for X, y, rows in batches:
        keys = [(m, s) for m, s in pairs if s in rows]
        jobs = [(clone(group.members[m][2], safe=False), rows[s]) for m, s in keys]
        refusals = stack_refusals(final, X, y, jobs, sample_weight)
        models.update((key, None) for key, why in zip(keys, refusals) if why is not None)
        kept = [i for i, why in enumerate(refusals) if why is None]
        size = _stack_size(final, len(kept))
        for chunk in stack_chunks([keys[i][1] for i in kept], size) if kept else ():
            chunk = [kept[i] for i in chunk]
            part = [jobs[i] for i in chunk]
            fitted = fit_splitting_on_oom(
                final, X, y, part, sample_weight, keep_errors=True, progress=ctx.progress
            )
            models.update(zip([keys[i] for i in chunk], fitted))
    if name is None:
        return [models[key] for key in pairs]
    return [_assemble(template, preps[s], models[(m, s)]) for m, s in pairs]


def fit_splitting_on_oom(
    final, X, y, jobs: list, sample_weight=None, keep_errors=False, progress=None
) -> list:
    """``fit_many(final, X, y, jobs)``; a stack that runs out of device memory (or
    would, by the estimate) is split in two and each half tried again, down to
    single fits. A single fit's error (the estimator's out-of-memory message...)
    is raised, or with ``keep_errors`` returned as that fit's result. Any other
    error of a stack of several fits is raised: it belongs to no one fit.
    ``progress`` (a search's bar) is advanced by the stacks' model-epochs."""
    try:
        return fit_many(final, X, y, jobs, sample_weight=sample_weight, progress=progress)
    except Exception as exc:
        if len(jobs) == 1 and keep_errors:
            return [exc]
        if len(jobs) == 1 or not isinstance(exc, (OutOfMemoryError, FitTooLargeError)):
            raise
        half = len(jobs) // 2
        args = (sample_weight, keep_errors, progress)
        return fit_splitting_on_oom(final, X, y, jobs[:half], *args) + (
            fit_splitting_on_oom(final, X, y, jobs[half:], *args)
        )


def _design(ctx: Context, pipeline, splits: list[int]) -> tuple[dict, list]:
    """Fitted preprocessing of each split, and the stacks' training data.

    Returns ``(preps, batches)``; each batch is ``(X, y, rows)`` with ``rows``
    mapping a split to its training rows in that ``X``. A bare estimator (or a
    pipeline without preprocessing) trains on the search's ``X`` directly.
    Otherwise each split's preprocessing is fitted once, on its training rows,
    and the transformed training sets are stacked into one matrix (one batch
    per output width, should the width depend on the fold). A split whose
    preprocessing raises has the error in place of its fitted preprocessing.
    """
    if pipeline is None or len(pipeline.steps) == 1:
        rows = {s: np.asarray(ctx.splits[s][0]) for s in splits}
        return dict.fromkeys(splits), [(ctx.X, ctx.y, rows)]
    preps, parts = {}, {}
    for s in splits:
        train = ctx.splits[s][0]
        X_train = _safe_indexing(ctx.X, train)
        y_train = _safe_indexing(ctx.y, train)
        preps[s] = clone(pipeline[:-1])
        try:
            parts[s] = (preps[s].fit_transform(X_train, y_train), np.asarray(y_train))
        except Exception as exc:  # as in _fit_and_score: the split's fits failed
            preps[s] = exc
    batches = []
    for width in sorted({Xt.shape[1] for Xt, _ in parts.values()}):
        same = [s for s in splits if s in parts and parts[s][0].shape[1] == width]
        offsets = np.cumsum([0] + [parts[s][0].shape[0] for s in same])
        rows = {s: np.arange(offsets[i], offsets[i + 1]) for i, s in enumerate(same)}
        X = _concat([parts[s][0] for s in same])
        y = np.concatenate([parts[s][1] for s in same])
        batches.append((X, y, rows))
    return preps, batches


def _concat(blocks):
    """Stack row blocks of one kind: arrays, sparse matrices or DataFrames."""
    if all(sp.issparse(b) for b in blocks):
        return sp.vstack(blocks, format="csr")
    if all(hasattr(b, "iloc") for b in blocks):
        import pandas as pd

        return pd.concat(blocks, ignore_index=True)
    return np.concatenate([np.asarray(b) for b in blocks])


def _assemble(template: Pipeline, prep: Pipeline | None, final) -> Pipeline | Exception | None:
    """The fitted pipeline: this split's fitted preprocessing, then the fitted final step."""
    if final is None or isinstance(final, Exception):
        return final
    steps = ([] if prep is None else list(prep.steps)) + [(template.steps[-1][0], final)]
    return type(template)(**{**template.get_params(deep=False), "steps": steps})


def run_group_counted(ctx: Context, group: Group, pairs: list[tuple[int, int]]):
    """``run_group``, its ConvergenceWarnings collected (see ``counting_convergence``)."""
    return counting_convergence(run_group, ctx, group, pairs)


def run_single_counted(ctx: Context, candidate: int, params: dict, split: int):
    """``run_single``, its ConvergenceWarnings collected (see ``counting_convergence``)."""
    return counting_convergence(run_single, ctx, candidate, params, split)
