"""FusedSearchMixin: scikit-learn's search, with candidates x folds trained as stacks.

The mixin keeps scikit-learn's protocol: ``_run_search`` hands lists of
candidates to an ``evaluate_candidates`` callback, which returns the results
so far formatted as ``cv_results_``. Its ``fit`` is scikit-learn's
``BaseSearchCV.fit`` step for step, with one difference: the callback sorts
the candidates into groups (:mod:`._plan`) and trains each group's
candidates x folds as stacks (:mod:`._fused`), one joblib task per group,
next to scikit-learn's per-fit tasks for whatever cannot fuse. A search that
cannot fuse at all (a non-skdl estimator, fit parameters other than
``sample_weight``, scikit-learn callbacks) is scikit-learn's ``fit`` itself.
"""

from __future__ import annotations

import time
import warnings
from contextlib import nullcontext

import numpy as np
from joblib import effective_n_jobs
from sklearn import get_config
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import indexable

from .._compat import (
    _check_method_params,
    _fit_context,
    _insert_error_scores,
    _MultimetricScorer,
    _warn_or_raise_about_fit_failures,
)
from ..training.progress import SearchProgress
from ._fused import Context, counting_convergence, run_group_counted, run_single_counted
from ._plan import final_step, folds_fuse, group_candidates, task_pairs


def _object_array(values: list) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _model_epochs(estimator, params: dict) -> int:
    """Epochs a fit of this candidate may run: ``max_iter x n_init`` of its skdl
    estimator (0 when the candidate replaces it with another estimator)."""
    name, final = final_step(estimator)
    prefix = "" if name is None else f"{name}__"
    if name is not None and name in params:
        final = params[name]
        prefix = None
    if not hasattr(final, "max_iter") or not hasattr(final, "n_init"):
        return 0
    if prefix is None:
        return int(final.max_iter) * int(final.n_init)
    max_iter = params.get(f"{prefix}max_iter", final.max_iter)
    n_init = params.get(f"{prefix}n_init", final.n_init)
    try:
        return int(max_iter) * int(n_init)
    except (TypeError, ValueError):  # an invalid value: its fit fails, scikit-learn's way
        return 0


def _first_score(result: dict) -> float:
    """The (first metric's) test score of one fit's result, -inf if it failed."""
    score = result.get("test_scores", np.nan)
    if isinstance(score, dict):
        score = next(iter(score.values()), np.nan)
    try:
        score = float(score)
    except (TypeError, ValueError):
        return -np.inf
    return score if np.isfinite(score) else -np.inf


def _has_callbacks(search) -> bool:
    """Whether scikit-learn callbacks are set on the search, its estimator or a step.

    They expect every fit of every candidate to report its own task tree, which
    only scikit-learn's one-fit-at-a-time evaluation gives them.
    """
    est = search.estimator
    steps = [step for _, step in est.steps] if isinstance(est, Pipeline) else []
    return any(getattr(obj, "_skl_callbacks", None) for obj in (search, est, *steps))


class _Evaluator:
    """The ``evaluate_candidates`` callback of one fused ``fit``; accumulates its results."""

    def __init__(self, search, estimator, X, y, scorers, routed, parallel):
        self.search, self.estimator, self.X, self.y = search, estimator, X, y
        self.routed, self.parallel = routed, parallel
        self.score_kwargs = dict(
            scorer=scorers,
            score_params=routed.scorer.score,
            return_train_score=search.return_train_score,
            error_score=search.error_score,
            verbose=search.verbose,
        )
        self.params, self.out, self.curves, self.more = [], [], [], {}
        self.results = {}
        self.unconverged = []  # the ConvergenceWarning messages of the CV fits
        self.bar = None  # the search's one bar (verbose >= 1), opened by the first batch

    def __call__(self, candidate_params, cv=None, more_results=None, callback_ctx=None):
        """scikit-learn's ``evaluate_candidates``; ``callback_ctx`` is unused (no callbacks)."""
        search = self.search
        cv = cv or search._checked_cv_orig
        candidate_params = list(candidate_params)
        n_splits = search.n_splits_
        splits = list(cv.split(self.X, self.y, **self.routed.splitter.split))
        if len(splits) != n_splits:
            raise ValueError(
                f"cv.split and cv.get_n_splits return inconsistent results. "
                f"Expected {n_splits} splits, got {len(splits)}"
            )
        out, curves = self._evaluate(candidate_params, splits)
        if len(out) < 1:
            raise ValueError(
                "No fits were performed. Was the CV iterator empty? Were there no candidates?"
            )
        _warn_or_raise_about_fit_failures(out, search.error_score)
        if callable(search.scoring):
            _insert_error_scores(out, search.error_score)
        self.params.extend(candidate_params)
        self.out.extend(out)
        self.curves.extend(curves)
        for key, value in (more_results or {}).items():
            self.more.setdefault(key, []).extend(value)
        self.results = search._format_results(self.params, n_splits, self.out, self.more)
        self.results["epoch_curves"] = _object_array(self.curves)
        n_iter = np.array([r.get("n_iter", np.nan) for r in self.out], dtype=float)
        for split, column in enumerate(n_iter.reshape(-1, n_splits).T):
            self.results[f"split{split}_n_iter"] = column
        return self.results

    def _evaluate(self, candidate_params, splits) -> tuple[list, list]:
        """Results in scikit-learn's order (candidate-major), and each candidate's curves."""
        n_candidates, n_splits = len(candidate_params), len(splits)
        groups, singles = [], list(range(n_candidates))
        if folds_fuse(self.estimator, self.y, splits):
            groups, singles = group_candidates(self.estimator, candidate_params)
        if self.search.verbose > 0:
            fused = n_splits * sum(len(g.members) for g in groups)
            print(
                f"Fitting {n_splits} folds for each of {n_candidates} candidates, "
                f"totalling {n_candidates * n_splits} fits ({fused} of them in "
                f"{len(groups)} fused groups)"
            )
        ctx = self._context(splits, n_candidates)
        n_workers = effective_n_jobs(self.search.n_jobs)
        by_fold = isinstance(self.estimator, Pipeline)
        tasks = [
            delayed(run_group_counted)(ctx, group, pairs)
            for group in groups
            for pairs in task_pairs(group, n_splits, n_workers, by_fold)
        ]
        tasks += [
            delayed(run_single_counted)(ctx, c, candidate_params[c], s)
            for c in singles
            for s in range(n_splits)
        ]
        out = [None] * (n_candidates * n_splits)
        curves = [[None] * n_splits for _ in range(n_candidates)]
        epochs = [_model_epochs(self.estimator, p) for p in candidate_params]
        with self._progress(sum(epochs) * n_splits) as bar:
            # stacks trained in this process advance the bar epoch by epoch
            ctx.progress = bar if n_workers == 1 else None
            finished = 0 if bar is None else bar.done  # this batch's fits start here
            best = self.best
            for piece, unconverged in self.parallel(tasks):
                self.unconverged += unconverged
                for candidate, split, result, curve in piece:
                    out[candidate * n_splits + split] = result
                    curves[candidate][split] = curve
                    finished += epochs[candidate]
                    best = max(best, _first_score(result))
                if bar is not None:
                    bar.advance_to(finished)  # fits run elsewhere: counted on return
                    self.note_best(best)
        return out, curves

    best = -np.inf  # the best test score of a single fit so far, shown on the bar

    def note_best(self, score: float) -> None:
        """Show the best single-fit test score so far on the bar."""
        self.best = max(self.best, score)
        if self.bar is not None and np.isfinite(self.best):
            self.bar.note(best_split_score=f"{self.best:.4f}")

    def _context(self, splits, n_candidates: int) -> Context:
        """What every task of this ``evaluate_candidates`` call shares."""
        fit_params = self.routed.estimator.fit
        return Context(
            self.estimator, self.X, self.y, splits, n_candidates, fit_params, self.score_kwargs
        )

    def _progress(self, total: int):
        """A context giving the search's bar (``verbose >= 1``; else None), its
        total grown by this batch's ``total`` model-epochs. The bar stays open
        across batches (halving rungs, coarse-to-fine rounds) until :meth:`close`."""
        if self.search.verbose <= 0:
            return nullcontext()
        if self.bar is None:
            self.bar = SearchProgress(total, desc=type(self.search).__name__).__enter__()
        else:
            self.bar.extend(total)
        return nullcontext(self.bar)

    def close(self) -> None:
        """Finish the search's bar (its last line, or tqdm's closing)."""
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _warn_unconverged(cv_messages: list, n_cv_fits: int, refit_messages: list, refit) -> None:
    """One ConvergenceWarning for the whole search: how many of its fits did not converge."""
    messages = cv_messages + refit_messages
    if not messages:
        return
    n_fits = n_cv_fits + bool(refit)
    where = f"{len(cv_messages)} of the {n_cv_fits} cross-validation fits"
    if refit:
        where += ", and the refit" if refit_messages else ", not the refit"
    warnings.warn(
        f"{len(messages)} of the search's {n_fits} fits did not converge ({where}); "
        f"the first said: {messages[0]} cv_results_['split<k>_n_iter'] has each fit's "
        "number of epochs.",
        ConvergenceWarning,
        stacklevel=5,  # the user's search.fit(...)
    )


class FusedSearchMixin:
    """Fused evaluation for subclasses of scikit-learn's ``BaseSearchCV``."""

    _evaluator = _Evaluator  # the ``evaluate_candidates`` callback's class

    def fit(self, X, y=None, **params):
        """Run fit with all sets of parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training vectors.

        y : array-like of shape (n_samples, n_output) or (n_samples,), default=None
            Target relative to X for classification or regression.

        **params : dict of str -> object
            Parameters passed to the ``fit`` method of the estimator, the
            scorer and the CV splitter, as in scikit-learn. Fit parameters
            other than ``sample_weight`` (for a bare skdl estimator) make
            the search run scikit-learn's way, without fusion.

        Returns
        -------
        self : object
            Instance of fitted estimator.
        """
        if not self._fuses(params):
            return super().fit(X, y, **params)
        return self._fit_fused(X, y, **params)

    def _fuses(self, params) -> bool:
        """Whether this search may train candidates as stacks (else: sklearn's ``fit``)."""
        if final_step(self.estimator) is None or _has_callbacks(self):
            return False
        allowed = {"groups"}
        if not isinstance(self.estimator, Pipeline) and not get_config().get(
            "enable_metadata_routing", False
        ):
            allowed.add("sample_weight")
        return set(params) <= allowed

    @_fit_context(prefer_skip_nested_validation=False)
    def _fit_fused(self, X, y=None, **params):
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        self._checked_cv_orig = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        if hasattr(self, "_check_input_parameters"):
            self._check_input_parameters(X=X, y=y, split_params=routed.splitter.split)
        self.n_splits_ = self._checked_cv_orig.get_n_splits(X, y, **routed.splitter.split)
        base_estimator = clone(self.estimator)
        parallel = Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch)
        evaluate = self._evaluator(self, base_estimator, X, y, scorers, routed, parallel)
        with parallel:
            try:
                self._run_search(evaluate)
            finally:
                evaluate.close()
            first_test_score = evaluate.out[0]["test_scores"]
            self.multimetric_ = isinstance(first_test_score, dict)
            if callable(self.scoring) and self.multimetric_:
                self._check_refit_for_multimetric(first_test_score)
                refit_metric = self.refit
        _, refit_unconverged = counting_convergence(
            self._select_and_refit, evaluate.results, refit_metric, base_estimator, X, y, routed
        )
        _warn_unconverged(evaluate.unconverged, len(evaluate.out), refit_unconverged, self.refit)
        self.scorer_ = scorers._scorers if isinstance(scorers, _MultimetricScorer) else scorers
        self.cv_results_ = evaluate.results
        return self

    def _select_and_refit(self, results, refit_metric, base_estimator, X, y, routed):
        """The best candidate and its refitted estimator, as scikit-learn sets them."""
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(self.refit, refit_metric, results)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]
        if not self.refit:
            return
        # clone the parameters too: they may be estimators (scikit-learn PR #26786)
        self.best_estimator_ = clone(base_estimator).set_params(
            **clone(self.best_params_, safe=False)
        )
        start = time.time()
        if y is not None:
            self.best_estimator_.fit(X, y, **routed.estimator.fit)
        else:
            self.best_estimator_.fit(X, **routed.estimator.fit)
        self.refit_time_ = time.time() - start
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_
