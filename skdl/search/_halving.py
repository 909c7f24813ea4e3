"""HalvingGridSearchCV and HalvingRandomSearchCV: successive halving, fused.

Each class is scikit-learn's class (same ``__init__``, attributes and
``cv_results_``: ``iter``, ``n_resources``, ``n_candidates_``,
``n_resources_``, ``n_iterations_``...) with the fused evaluation of
:class:`~skdl.search._base.FusedSearchMixin`. With ``resource='max_iter'``
the rungs continue each other: a candidate kept at a rung resumes its models
(one per fold) from where the previous rung left them, weights, optimizer
and loop state, shuffling generator and dropout step included, and trains
only the epochs it lacks, survivors of every group as one stack. Every
built-in schedule is indexed by epoch, so without early stopping
``e1`` epochs then ``e2 - e1`` more are a fresh fit of ``e2`` epochs, and
the search equals scikit-learn's over the same estimator (test:
``tests/search/test_halving.py``). A model that stopped by the
no-improvement rule before its budget is its own result at every larger
budget (a fresh fit stops at the same epoch). What cannot continue exactly
trains afresh at each rung, fused: early stopping (a fit keeps its best
epoch's weights, not its last), ``n_init > 1`` (a fit keeps its best
model), L-BFGS, a pipeline, and a fit that failed. Other resources
(``'n_samples'``...) are scikit-learn's rungs, each evaluated fused.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn import model_selection as _sk
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from .._compat import BaseSuccessiveHalving, _num_samples
from ..estimators import FitTooLargeError, OutOfMemoryError, continue_many, resume_point
from ._base import FusedSearchMixin, _Evaluator, _first_score
from ._fused import _score_fitted, _stack_size, _train, fitted_pairs, run_single, score_failed
from ._plan import _freeze, folds_fuse, group_candidates, stack_chunks
from ._scoring import batch_scores


class _NoCallbacks:
    """The callback context of a search without scikit-learn callbacks: does nothing."""

    def subcontext(self, *args, **kwargs):
        return self

    def call_on_fit_task_begin(self, *args, **kwargs):
        return self

    def call_on_fit_task_end(self, *args, **kwargs):
        return None


def _continues(estimator, params: dict) -> bool:
    """Whether a fit of this candidate can resume the previous rung's exactly."""
    est = clone(estimator).set_params(**params)
    return (
        est.solver != "lbfgs"
        and not est.early_stopping
        and int(est.n_init) == 1
        and not est.warm_start
        # 'cosine' by name anneals over max_iter: a rung's fit is not the last one's continued
        and not (isinstance(est.learning_rate, str) and est.learning_rate == "cosine")
    )


def _reuse(prev, budget: int) -> str:
    """How a candidate's fitted model ``prev`` serves a rung of ``budget`` epochs:
    ``'done'`` (it is that rung's fit: it trained exactly ``budget`` epochs, or
    stopped by the no-improvement rule within them, where a fresh fit stops
    too), ``'resume'`` (it trained fewer: continue it) or ``'fresh'`` (it
    trained more, as in a later round of ``CoarseToFineSearchCV``: fit anew)."""
    if prev.n_iter_ < prev.max_iter:  # stopped by the no-improvement rule
        return "done" if prev.n_iter_ <= budget else "fresh"
    if prev.n_iter_ == budget:
        return "done"
    return "resume" if prev.n_iter_ < budget else "fresh"


class _HalvingEvaluator(_Evaluator):
    """``evaluate_candidates`` whose rungs resume the models of the previous one."""

    def __init__(self, *args):
        super().__init__(*args)
        self.models = {}  # (candidate without the resource, split) -> fitted model

    def _evaluate(self, candidate_params, splits):
        search = self.search
        if (
            search.resource != "max_iter"
            or isinstance(self.estimator, Pipeline)
            or not folds_fuse(self.estimator, self.y, splits)
        ):
            return super()._evaluate(candidate_params, splits)
        cont = [i for i, p in enumerate(candidate_params) if _continues(self.estimator, p)]
        rest = [i for i in range(len(candidate_params)) if i not in set(cont)]
        n_splits = len(splits)
        out = [None] * (len(candidate_params) * n_splits)
        curves = [None] * len(candidate_params)
        if rest:
            rest_out, rest_curves = super()._evaluate([candidate_params[i] for i in rest], splits)
            for j, i in enumerate(rest):
                out[i * n_splits : (i + 1) * n_splits] = rest_out[j * n_splits : (j + 1) * n_splits]
                curves[i] = rest_curves[j]
        if cont:
            if search.verbose > 0:
                print(f"Resuming or fitting {len(cont) * n_splits} fits as stacks")
            pieces = self._resume([candidate_params[i] for i in cont], splits)
            for j, split, result, curve in pieces:
                i = cont[j]
                out[i * n_splits + split] = result
                if curves[i] is None:
                    curves[i] = [None] * n_splits
                curves[i][split] = curve
        return out, curves

    def _key(self, params: dict, split: int):
        own = {k: v for k, v in params.items() if k != self.search.resource}
        return _freeze(own), split

    def _resume(self, candidate_params, splits) -> list:
        """Fit (first rung) or resume (later rungs) every candidate x split; score them."""
        ctx = self._context(splits, len(candidate_params))
        groups, singles = group_candidates(self.estimator, candidate_params)
        out = []
        for c in singles:
            for s in range(len(splits)):
                out += run_single(ctx, c, candidate_params[c], s)
        for group in groups:
            out += self._run_group(ctx, group, len(splits))
        return out

    def _run_group(self, ctx, group, n_splits: int) -> list:
        budget = int(group.structural[self.search.resource])
        fresh, resume, done = [], {}, []
        for s in range(n_splits):  # split-major: a split's fits can share batches
            for m, (_, params, _) in enumerate(group.members):
                prev = self.models.get(self._key(params, s))
                how = "fresh" if prev is None else _reuse(prev, budget)
                if how == "fresh":
                    fresh.append((m, s))
                elif how == "done":
                    done.append(((m, s), prev))
                else:
                    key = resume_point(prev)
                    resume.setdefault(key, []).append(((m, s), prev))
        # the model-epochs this rung adds: a fresh fit's budget, a resumed one's
        # remainder (a fit that continues has n_init=1, see _continues)
        planned = len(fresh) * budget + sum(
            (budget - epochs) * len(items) for (epochs, _), items in resume.items()
        )
        with self._progress(planned) as bar:
            ctx.progress = bar
            base = 0 if bar is None else bar.done
            start = time.perf_counter()
            fitted = list(zip(fresh, _train(ctx, group, fresh))) if fresh else []
            for (epochs, _), items in resume.items():
                fitted += self._continue(ctx, group, items, budget - epochs)
            n_fits = max(len(fresh) + sum(len(v) for v in resume.values()), 1)
            fit_time = (time.perf_counter() - start) / n_fits
            if bar is not None:
                bar.advance_to(base + planned)  # early-stopped models' skipped epochs
        ctx.progress = None
        pieces = fitted + done
        scores = iter(
            batch_scores(ctx, fitted_pairs([k for k, _ in pieces], [m for _, m in pieces]))
        )
        out = []
        for (m, s), model in pieces:
            candidate, params, _ = group.members[m]
            if model is None or isinstance(model, Exception):
                self.models.pop(self._key(params, s), None)  # the next rung starts afresh
                if model is None:  # refused before training
                    out += run_single(ctx, candidate, params, s)
                else:
                    out.append(score_failed(ctx, candidate, s, model, fit_time))
                continue
            model.set_params(max_iter=budget)
            self.models[self._key(params, s)] = model
            out.append(_score_fitted(ctx, candidate, s, model, fit_time, next(scores)))
            self.note_best(_first_score(out[-1][2]))
        return out

    def _continue(self, ctx, group, items, extra: int) -> list:
        """``items`` ((member, split), model) trained ``extra`` more epochs, stacked."""
        final = clone(ctx.estimator).set_params(**{**group.structural, "max_iter": extra})
        out = []
        size = _stack_size(final, len(items))
        for chunk in stack_chunks([s for (_, s), _ in items], size):
            part = [items[i] for i in chunk]
            trained = _continue_splitting_on_oom(ctx, final, part)
            out += [(key, model) for (key, _), model in zip(part, trained)]
        return out


def _continue_splitting_on_oom(ctx, final, part: list) -> list:
    """``continue_many(final, ...)`` of ``part`` ((member, split), model); a stack that
    runs out of device memory, or would (the estimate), is split in two and each
    half resumed, as :func:`~skdl.search._fused.fit_splitting_on_oom` splits first
    fits. A single model's error is its result; a stack's other errors are raised."""
    models = [model for _, model in part]
    rows = [np.asarray(ctx.splits[s][0]) for (_, s), _ in part]
    try:
        return continue_many(
            final,
            ctx.X,
            ctx.y,
            models,
            rows,
            ctx.fit_params.get("sample_weight"),
            progress=ctx.progress,
        )
    except Exception as exc:
        if len(part) == 1:
            return [exc]
        if not isinstance(exc, (OutOfMemoryError, FitTooLargeError)):
            raise
        half = len(part) // 2
        return _continue_splitting_on_oom(ctx, final, part[:half]) + (
            _continue_splitting_on_oom(ctx, final, part[half:])
        )


class _HalvingMixin(FusedSearchMixin):
    _evaluator = _HalvingEvaluator

    def fit(self, X, y=None, **params):
        """Run fit with all sets of parameters, rung by rung.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training vectors.

        y : array-like of shape (n_samples, n_output) or (n_samples,), default=None
            Target relative to X for classification or regression.

        **params : dict of str -> object
            Parameters passed to the ``fit`` method of the estimator, the
            scorer and the CV splitter, as in scikit-learn.

        Returns
        -------
        self : object
            Instance of fitted estimator.
        """
        if not self._fuses(params):
            return BaseSuccessiveHalving.fit(self, X, y, **params)
        self._n_samples_orig = _num_samples(X)
        self._fit_fused(X, y, **params)
        self.best_score_ = self.cv_results_["mean_test_score"][self.best_index_]
        return self

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        """scikit-learn's rungs: evaluate, keep the best ``1 / factor``, add resources."""
        ctx = _NoCallbacks() if callback_ctx is None else callback_ctx
        return super()._run_search(evaluate_candidates, callback_ctx=ctx)


_DOC_NOTES = """
    Notes
    -----
    Fused as :class:`GridSearchCV` is (see its Notes). With
    ``resource='max_iter'`` a candidate kept at a rung resumes its fitted
    models (one per fold: weights, optimizer and loop state, shuffling and
    dropout streams) and trains only the epochs the new rung adds; the kept
    candidates of a group train as one stack. All of skdl's schedules are
    indexed by epoch, so without early stopping this equals
    scikit-learn's search over the same estimator (fresh fits of each rung's
    ``max_iter``), to floating-point rounding, at the cost of the last rung's
    epochs alone. Candidates with ``early_stopping=True`` (a fit keeps its
    best epoch, not its last), ``n_init > 1`` (it keeps its best model),
    ``solver='lbfgs'``, ``warm_start=True`` or ``learning_rate='cosine'`` (by
    name it anneals over ``max_iter``, so a rung is not the last one continued),
    a pipeline, and a fit that
    failed train afresh at each rung, fused. Other resources
    (``'n_samples'``, another parameter) are scikit-learn's rungs, each
    evaluated fused. Resumed and first-rung fits of ``resource='max_iter'``
    run in the calling process (``n_jobs`` applies to the restarted ones).
    ``verbose`` prints scikit-learn's rung summaries.
"""


class HalvingGridSearchCV(_HalvingMixin, _sk.HalvingGridSearchCV):
    __doc__ = (
        _sk.HalvingGridSearchCV.__doc__.split("    Notes\n    -----")[0].replace(
            "Search over specified parameter values with successive halving.",
            "Search over a grid with successive halving, rungs resumed as stacks.",
            1,
        )
        + _DOC_NOTES
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdl import MLPClassifier
    >>> from skdl.model_selection import HalvingGridSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = HalvingGridSearchCV(
    ...     MLPClassifier(random_state=0, device="cpu"),
    ...     {"learning_rate_init": [0.001, 0.003, 0.01, 0.03]},
    ...     resource="max_iter", max_resources=30, factor=2, cv=3,
    ... ).fit(X, y)
    >>> search.n_resources_, search.n_candidates_
    ([7, 14, 28], [4, 2, 1])
    """
    )


class HalvingRandomSearchCV(_HalvingMixin, _sk.HalvingRandomSearchCV):
    __doc__ = (
        _sk.HalvingRandomSearchCV.__doc__.split("    Notes\n    -----")[0].replace(
            "Randomized search on hyper parameters.",
            "Randomized search with successive halving, rungs resumed as stacks.",
            1,
        )
        + _DOC_NOTES
    )
