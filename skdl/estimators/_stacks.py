"""Stacked fits for other layers: the door the searches use into the estimators.

A search trains many copies of one estimator as one stack (its candidates x
folds). These functions are that door, public so that ``skdl.search`` needs
nothing private: :func:`stack_refusals` says, before any training, which
fits a stack cannot take (scikit-learn's per-fit path then runs them);
:func:`fit_many` and :func:`continue_many` train the others.
An error raised while a stack trains is not a refusal: it belongs to the
fits of that stack (see ``skdl/search/_fused.py``).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import clone

from . import _fitting
from ._config import FitConfig
from ._spec import seeds


def fit_many(estimator, X, y, jobs, sample_weight=None, progress=None) -> list:
    """Fit one copy of ``estimator`` per job, all as one stack.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        The unfitted template; every job shares its structural parameters
        (those not in :data:`PER_MODEL_PARAMS`).
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The whole data set.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    jobs : list of (params, rows)
        Each job is ``clone(estimator).set_params(**params)`` fitted on
        ``X[rows], y[rows]`` (e.g. a search candidate on a CV fold).
    sample_weight : array-like of shape (n_samples,), default=None
    progress : SearchProgress, default=None
        A search's bar (:class:`skdl.training.progress.SearchProgress`),
        advanced by the stack's model-epochs as it trains.

    Returns
    -------
    estimators : list, one per job
        The fitted estimator, equal to a fit of its own up to floating-point
        rounding, or the ``ValueError`` its training raised (a diverged
        training) when the stack holds several jobs.
    """
    return estimator._fit_many(X, y, jobs, sample_weight=sample_weight, progress=progress)


def continue_many(estimator, X, y, models, rows, sample_weight=None, progress=None) -> list:
    """Train fitted models ``estimator.max_iter`` more epochs, all as one stack.

    Each model resumes from its own weights, optimizer and loop state,
    shuffling generator and dropout step, so with a schedule indexed by epoch
    and no early stopping, ``e1`` epochs then ``e2 - e1`` more equal a fresh
    fit of ``e2`` epochs.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        The template: its ``max_iter`` is the number of epochs to add.
    X, y : the whole data set.
    models : list of fitted estimators
        Each has ``n_init=1``, was fitted by a stochastic solver on
        ``X[rows[i]]`` and stands at the same :func:`resume_point`.
    rows : list of index arrays, one per model.
    sample_weight : array-like of shape (n_samples,), default=None
    progress : SearchProgress, default=None
        As in :func:`fit_many`.

    Returns
    -------
    estimators : list, one per model
        The model trained further (in place), or the ``ValueError`` its
        training raised (a diverged training).
    """
    return estimator._continue_many(X, y, models, rows, sample_weight, progress=progress)


def resume_point(model) -> tuple[int, int]:
    """``(epochs trained, dropout step)`` of a model fitted by a stochastic solver.

    Models at the same point can be resumed together by :func:`continue_many`.
    """
    return model.n_iter_, model._solver_state["dropout_step"]


def params_refusal(estimator) -> str | None:
    """Why ``estimator``'s parameters cannot be fitted (the validation error's
    message), or None when they are valid."""
    try:
        estimator._validate_params()
    except (ValueError, TypeError) as exc:  # InvalidParameterError is both
        return str(exc)
    return None


def stack_refusals(estimator, X, y, jobs, sample_weight=None) -> list[str | None]:
    """Why each job of ``fit_many(estimator, X, y, jobs)`` cannot train in the stack.

    Decided before any training, by the checks a fit makes first: the
    parameters, the data (validated as a whole, as the stack takes it), each
    job's data-dependent rules and its early-stopping validation split. A
    refused job is to be fitted on its own, where the same check reports
    the error on its own rows. The warnings of the checks are left to
    :func:`fit_many`.

    Parameters
    ----------
    estimator, X, y, jobs, sample_weight
        As for :func:`fit_many`.

    Returns
    -------
    refusals : list, one per job
        None for a job the stack can train, else the reason (the error's message).
    """
    template = clone(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        why = params_refusal(template)
        if why is not None:
            return [why] * len(jobs)
        try:
            X, Y, _, cfg = _fitting.prepare(template, X, y, sample_weight, False, True, set())
        except (ValueError, TypeError) as exc:
            return [str(exc)] * len(jobs)
        return [_job_refusal(template, X, Y, cfg, params, rows) for params, rows in jobs]


_FROM_DATA = ("n_features_in_", "feature_names_in_", "classes_", "_label_binarizer")


def _job_refusal(template, X, Y, cfg, params, rows) -> str | None:
    est = clone(template).set_params(**params)
    for name in _FROM_DATA:  # what validating the data set on the template
        if hasattr(template, name):
            setattr(est, name, getattr(template, name))
    rows = np.asarray(rows)
    try:
        _fitting.validate_changed(est, params)
        job_cfg = FitConfig.from_estimator(est, X.shape[1], Y.shape[1], cfg.torch_dtype)
        job_cfg.check_data(est, n_samples=len(rows), incremental=False, warned=set())
        members = [(est, seed, rows) for seed in seeds(est.random_state, est.n_init)]
        _fitting.split_rows(template, Y, members, False)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None
