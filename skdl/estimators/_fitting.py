"""A fit's orchestration: validate, build the stack, call the engine, store each job.

A *model* of a stack is ``(estimator, seed, rows)``: one network the engine
trains, on ``rows`` of the data, with that estimator's parameters. A *job* is
an estimator whose models are its ``n_init`` restarts and which keeps one of
them. A plain ``fit`` is one job; :func:`fit_many` (a fused search) is many.
"""

from __future__ import annotations

import contextlib

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from .._compat import _check_sample_weight, validate_parameter_constraints
from ..nn.losses import LOSSES
from ..training.data import DeviceData, StackRows
from ..training.engine import fit_stack
from ..training.progress import Progress, StackBar
from . import _ensemble
from ._callbacks import CallbackObserver, FitTasks
from ._config import FitConfig, check_fit_memory, resolve_device, resolve_dtype
from ._faults import oom_guard
from ._spec import build_spec, seeds
from ._store import store_job


def fit(est, X, y, sample_weight, incremental):
    """``fit`` / ``partial_fit``: one job, its ``n_init`` models in one stack."""
    first_pass = not hasattr(est, "coefs_") or (not est.warm_start and not incremental)
    X, Y, w, cfg = prepare(est, X, y, sample_weight, incremental, first_pass)
    if not first_pass and Y.shape[1] != est.n_outputs_:
        raise ValueError(
            f"y has {Y.shape[1]} outputs but the model was fitted with {est.n_outputs_}. "
            "Fit from scratch (warm_start=False) to change the number of outputs."
        )
    if not first_pass:
        check_fitted_layout(est, cfg, incremental)
    if est.ensemble:
        _ensemble.check_continuation(est, incremental)
    # a continued ensemble resumes every member; a continued single model, the kept one
    resume_from = _ensemble.resume_sources(est) if est.ensemble and not first_pass else None
    n_init = est.n_init if first_pass or resume_from else 1
    all_rows = np.arange(X.shape[0])  # one array shared by the n_init models
    models = [(est, seed, all_rows) for seed in seeds(est.random_state, n_init)]
    if est.solver == "lbfgs":  # a task per iteration, and one left open at the end
        leaves, leaf_name = n_init * est.max_iter + 1, "lbfgs-iter"
    else:
        leaves, leaf_name = 1 if incremental else est.max_iter, "epoch"
    tasks = FitTasks.start(est, X, y, sample_weight, leaves, leaf_name)
    with oom_guard(est):
        train_models(
            est,
            cfg,
            X,
            Y,
            w,
            models,
            [est],
            first_pass,
            incremental,
            tasks,
            resume_from=resume_from,
        )
    if tasks is not None:
        tasks.finish()
    return est


def fit_many(est, X, y, jobs, sample_weight=None, bar=None) -> list:
    """:meth:`BaseMLP._fit_many`: a clone of ``est`` per ``(params, rows)`` job, one stack."""
    est._validate_params()  # once; each job then checks what it changes
    warned = set()  # each knob warning once for the whole stack
    X, Y, w, cfg = prepare(est, X, y, sample_weight, False, True, warned)
    ests, models = [], []
    for params, rows in jobs:
        job = clone(est).set_params(**params)
        validate_changed(job, params)
        for name in ("n_features_in_", "feature_names_in_", "classes_", "_label_binarizer"):
            if hasattr(est, name):
                setattr(job, name, getattr(est, name))
        FitConfig.from_estimator(job, X.shape[1], Y.shape[1], cfg.torch_dtype).check_data(
            job, n_samples=len(rows), incremental=False, warned=warned
        )
        ests.append(job)
        rows = np.asarray(rows)
        models += [(job, seed, rows) for seed in seeds(job.random_state, job.n_init)]
    with oom_guard(est):
        failed = train_models(est, cfg, X, Y, w, models, ests, True, False, bar=bar)
    errors = {id(job): exc for job, exc in failed}
    return [errors.get(id(job), job) for job in ests]


def continue_many(est, X, y, fitted, rows, sample_weight=None, bar=None) -> list:
    """:meth:`BaseMLP._continue_many`: ``fitted`` estimators trained further, one stack."""
    X, Y, w, cfg = prepare(est, X, y, sample_weight, False, True)
    models = [
        (m, seed, np.asarray(r)) for m, r in zip(fitted, rows) for seed in seeds(m.random_state, 1)
    ]
    with oom_guard(est):
        failed = train_models(est, cfg, X, Y, w, models, fitted, False, False, bar=bar)
    errors = {id(m): exc for m, exc in failed}
    for m in fitted:
        m.n_iter_ = len(m.history_)
    return [errors.get(id(m), m) for m in fitted]


def validate_changed(est, params) -> None:
    """``est._validate_params()`` for a clone of a validated estimator: only the
    parameters set on it (all of them when one is nested, ``step__name``)."""
    if any("__" in name for name in params):
        est._validate_params()
        return
    constraints = est._parameter_constraints
    validate_parameter_constraints(
        {name: constraints[name] for name in params if name in constraints},
        {name: getattr(est, name) for name in params},
        caller_name=type(est).__name__,
    )


def prepare(est, X, y, sample_weight, incremental, first_pass, warned=None):
    """Validate the data; returns X, the 2-D encoded target, row weights and the config."""
    X, Y = est._validate_input(X, y, incremental, reset=first_pass)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)
    cfg = FitConfig.from_estimator(
        est, X.shape[1], Y.shape[1], torch_dtype=training_dtype(est, X, first_pass)
    )
    cfg.check_data(
        est, n_samples=X.shape[0], incremental=incremental, warned=warned, knobs=first_pass
    )
    est._check_target(Y, cfg, X.shape[0])
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
    w = est._row_weights(Y, sample_weight)
    w = np.ones(X.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    return X, Y, w, cfg


def training_dtype(est, X, first_pass):
    """The dtype this fit trains in (``dtype``, :func:`resolve_dtype`); with
    'auto', a warm start or ``partial_fit`` continues in the fitted weights' dtype."""
    import torch

    if est.dtype == "auto" and not first_pass and hasattr(est, "coefs_"):
        return torch.float64 if est.coefs_[0].dtype == np.float64 else torch.float32
    return resolve_dtype(est.dtype, X.dtype, resolve_device(est.device), est.precision)


def check_fitted_layout(est, cfg, incremental) -> None:
    """``warm_start`` / ``partial_fit`` continue the fitted weights: the layer
    sizes of the parameters now must be those of ``coefs_``.

    scikit-learn trains on with the old weights when only the widths changed
    (ignoring the new ``hidden_layer_sizes``) and fails with an AttributeError
    when the number of layers changed; skdl refuses both, naming the fix.
    """
    fitted = (*(c.shape[0] for c in est.coefs_), est.coefs_[-1].shape[1])
    if tuple(fitted) == tuple(cfg.units):
        return
    how = "partial_fit" if incremental else "warm_start=True"
    fix = (
        "call fit (a fresh start) to train the new layout"
        if incremental
        else "set warm_start=False to train the new layout from scratch"
    )
    raise ValueError(
        f"{how} continues the fitted weights, whose hidden layer sizes are "
        f"{tuple(fitted[1:-1])}, but the parameters now ask for {tuple(cfg.units[1:-1])} "
        f"(hidden_layer_sizes={est.hidden_layer_sizes!r}, depth={est.depth!r}, "
        f"width={est.width!r}). Set them back to the fitted sizes, or {fix}."
    )


def train_models(
    est, cfg, X, Y, w, models, jobs, first_pass, incremental, tasks=None, bar=None,
    resume_from=None,
) -> list:  # fmt: skip
    """Train one network per model ``(estimator, seed, rows)`` as one stack and
    store each job's kept model; returns ``(job, error)`` of the jobs whose
    training diverged (a lone job raises instead).

    ``tasks`` (a plain fit only) reports each epoch to scikit-learn's callbacks;
    ``bar``, a search's :class:`~skdl.training.progress.SearchProgress`, counts
    the stack's model-epochs. ``resume_from`` (a continued ensemble): what each
    model resumes from, in the order of ``models`` (else each model's estimator).
    """
    device, dtype = resolve_device(est.device), cfg.torch_dtype
    n_rows = max(len(m[2]) for m in models)
    check_fit_memory(est, cfg, len(models), n_rows, cfg.batch_size(n_rows), device)
    lbfgs = est.solver == "lbfgs"
    # L-BFGS takes every training row at each iteration: its data stays on the
    # device, dense; sparse X stays sparse otherwise (densified per batch)
    if lbfgs and sp.issparse(X):
        X = X.toarray()
    data = DeviceData.from_arrays(X, Y, w, dtype, device, stream=False if lbfgs else None)
    rows = split_rows(est, Y, models, incremental)
    rows.weights, drawn = _ensemble.member_weights(models, Y, w)  # bagging (issue 16)
    n_train = int(rows.n_train.max())
    spec = build_spec(est, cfg, models, first_pass, incremental, n_train, resume_from)
    for job in jobs:
        if first_pass:
            job.n_outputs_ = Y.shape[1]
            job.n_layers_ = len(cfg.units)
            job.out_activation_ = LOSSES[cfg.loss].out_activation
    stack_bar = None if bar is None else StackBar(bar, spec.k * spec.loop.max_iter)
    printer = (
        contextlib.nullcontext()
        if lbfgs
        else Progress(est.verbose, spec.loop.max_iter, desc=type(est).__name__, n_models=spec.k)
    )
    with printer as progress:
        observers = [o for o in (progress, stack_bar) if o is not None]
        if tasks is not None:
            observers.append(CallbackObserver(tasks))
        result = fit_stack(spec, data, rows, observers)
    if stack_bar is not None:  # the epochs that models stopped early did not run
        stack_bar.finish(result.n_iter)
    return _store_jobs(X, Y, models, jobs, result, drawn, incremental)


def _store_jobs(X, Y, models, jobs, result, drawn, incremental) -> list:
    errors = []
    for job in jobs:
        idx = [i for i, m in enumerate(models) if m[0] is job]
        try:
            store_job(job, result, idx, incremental)
            _ensemble.store_job(job, X, Y, models, idx, drawn)  # bagging (issue 16)
        except ValueError as exc:  # divergence: the job is still stored
            if len(jobs) == 1:
                raise
            errors.append((job, exc))
    return errors


def split_rows(est, Y, models, incremental) -> StackRows:
    """Training (and early-stopping validation) rows of every model."""
    if not est.early_stopping or incremental:
        return StackRows([rows for _, _, rows in models])
    train, val = [], []
    for job, seed, rows in models:
        try:
            tr, va = train_test_split(
                np.arange(len(rows)),
                test_size=job.validation_fraction,
                random_state=seed,
                stratify=job._stratify(Y[rows]),
            )
        except ValueError as exc:  # a stratified split that cannot hold every class
            raise ValueError(
                f"early_stopping=True cannot split off validation_fraction="
                f"{job.validation_fraction} of {len(rows)} samples: {exc}. Increase "
                "validation_fraction or use more data."
            ) from exc
        if len(va) < 2:
            raise ValueError(
                f"The validation set is too small ({len(va)} samples with "
                f"validation_fraction={job.validation_fraction} of {len(rows)} "
                "samples). Increase validation_fraction or the size of the dataset."
            )
        train.append(rows[np.sort(tr)])
        val.append(rows[np.sort(va)])
    return StackRows(train, val)
