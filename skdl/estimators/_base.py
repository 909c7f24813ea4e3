"""BaseMLP: the scikit-learn contract around the K-model training engine.

``fit`` and ``partial_fit`` are thin wrappers over :meth:`BaseMLP._fit`, which
validates, builds the stack (``n_init`` models), trains it, and keeps the best
model's weights as scikit-learn's fitted attributes (numpy arrays on the CPU,
so a model trained on a GPU pickles and loads anywhere).
"""

from __future__ import annotations

import contextlib
import functools
import warnings
import weakref
from abc import ABCMeta, abstractmethod

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.validation import validate_data

from .._compat import _check_sample_weight
from ..nn.activations import ACTIVATIONS
from ..nn.init import initial_layers
from ..nn.losses import LOSSES
from ..nn.mlp import FEW_ROWS, forward_rows
from ..nn.rows import NUMPY_ROWS, ROW_ACTIVATIONS, ROW_OUTPUTS, forward_numpy
from ..training import lbfgs
from ..training.data import DeviceData, Members
from ..training.history import History
from ..training.loop import LoopSpec, LoopState, train
from ..training.progress import search_progress
from ..training.threads import cpu_threads, step_flops
from . import _ensemble
from ._callbacks import CallbackSupportMixin, FitTasks
from ._config import (
    FitConfig,
    build_optimizer,
    build_step_context,
    check_fit_memory,
    prediction_device,
    resolve_device,
    resolve_dtype,
    solver_learning_rate,
)
from ._faults import oom_guard, predict_in_chunks
from ._params import BASE_CONSTRAINTS, STOCHASTIC_SOLVERS

_PREDICT_CHUNK = 65536


def _seeds(random_state, n_init: int) -> list[int]:
    """Seed of each of the ``n_init`` models: ``random_state + j`` for an int.

    So ``fit(n_init=3, random_state=0)`` trains exactly the models that
    ``random_state=0, 1, 2`` train alone.
    Seeds wrap around at ``2**32`` (what ``train_test_split`` accepts), so any
    ``n_init`` draws valid seeds.
    """
    if isinstance(random_state, (int, np.integer)):
        base = int(random_state)
    else:
        base = int(check_random_state(random_state).randint(0, 2**31 - 1))
    return [(base + j) % 2**32 for j in range(n_init)]


def _join_loop_states(states: list) -> LoopState:
    """One stack's loop state from its models' states (all at the same epoch)."""
    if len(states) == 1:
        return states[0]
    return LoopState(
        sum(s.k for s in states),
        epoch=states[0].epoch,
        t=states[0].t,
        lr_factor=np.concatenate([s.lr_factor for s in states]),
        best_loss=np.concatenate([s.best_loss for s in states]),
        best_score=np.concatenate([s.best_score for s in states]),
        no_improve=np.concatenate([s.no_improve for s in states]),
        history=[list(h) for s in states for h in s.history],
    )


def _to_dense(X) -> np.ndarray:
    return X.toarray() if sp.issparse(X) else X


def _model_epochs(bar):
    """An ``on_epoch`` report advancing a search's bar by the models that trained."""

    def report(state, active):
        bar.advance(sum(1 for h in state.history if h and h[-1]["epoch"] == state.epoch))

    return report


_INFERENCE_TENSORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Each fitted estimator's weights as tensors, kept by ``_inference_weights``
between predict calls. Outside the estimator: predict must leave its
``__dict__`` unchanged (scikit-learn's ``check_dict_unchanged``), and a pickle
or clone never carries tensors."""


def _validate_changed(est, params) -> None:
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


NONFINITE_WEIGHTS = (
    "Solver produced non-finite parameter weights. The input data may contain large "
    "values and need to be preprocessed."
)
"""scikit-learn's message for a fit that ends with non-finite weights; skdl's own
advice (the epoch, the learning rate) follows it."""


def _last_finite(diverged_at: int) -> str:
    if diverged_at <= 1:
        return "its initial weights"
    return f"the weights of epoch {diverged_at - 1}, the last finite one"


def _unpack(cfg, params, k) -> tuple[list, list]:
    """Model ``k``'s weights and biases as scikit-learn's ``coefs_``, ``intercepts_``."""
    row = params[k : k + 1].detach().cpu()
    coefs = [w[0].numpy().copy() for w in cfg.layout.weights(row)]
    return coefs, [b[0, 0].numpy().copy() for b in cfg.layout.biases(row)]


@functools.cache
def _param_names(cls) -> list:
    return BaseEstimator._get_param_names.__func__(cls)


class BaseMLP(CallbackSupportMixin, BaseEstimator, metaclass=ABCMeta):
    """Shared machinery of :class:`MLPClassifier` and :class:`MLPRegressor`."""

    _parameter_constraints: dict = BASE_CONSTRAINTS

    @classmethod
    def _get_param_names(cls):
        # scikit-learn reads the signature of __init__ on every get_params /
        # clone / set_params (about 0.4 ms each, four per clone-and-fit): read
        # it once per class. A fused search clones once per candidate and fold.
        return list(_param_names(cls))

    # ---------------------------------------------------------------- hooks
    @abstractmethod
    def _validate_input(self, X, y, incremental: bool, reset: bool):
        """Return validated ``X`` and the encoded 2-D float target."""

    @abstractmethod
    def _loss_name(self) -> str:
        """Key of :data:`skdl.nn.losses.LOSSES` for this target."""

    @abstractmethod
    def _score_kind(self) -> str:
        """'multiclass', 'binary' or 'r2': the validation score."""

    def _stratify(self, Y):
        return None

    def _check_solver(self):
        """``partial_fit`` exists only for the stochastic solvers (as scikit-learn)."""
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} "
                "is not stochastic."
            )
        return True

    def _check_target(self, Y, cfg, n_samples) -> None:
        """Refuse a target the training dtype cannot hold (the regressor's)."""

    def _row_weights(self, y_encoded, sample_weight):
        return sample_weight

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, sample_weight=None, incremental=False):
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y, w, cfg = self._prepare(X, y, sample_weight, incremental, first_pass)
        if not first_pass and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs but the model was fitted with {self.n_outputs_}. "
                "Fit from scratch (warm_start=False) to change the number of outputs."
            )
        if self.ensemble and (incremental or not first_pass):
            raise ValueError(
                "ensemble=True does not support partial_fit or warm_start yet; fit "
                "from scratch (warm_start=False) or use ensemble=False."
            )
        if not first_pass:
            self._check_fitted_layout(cfg, incremental)
        n_init = 1 if not first_pass else self.n_init
        all_rows = np.arange(X.shape[0])  # one array shared by the n_init members
        members = [(self, seed, all_rows) for seed in _seeds(self.random_state, n_init)]
        if self.solver == "lbfgs":  # a task per iteration, and one left open at the end
            leaves, leaf_name = n_init * self.max_iter + 1, "lbfgs-iter"
        else:
            leaves, leaf_name = 1 if incremental else self.max_iter, "epoch"
        tasks = FitTasks.start(self, X, y, sample_weight, leaves, leaf_name)
        with oom_guard(self):
            self._train_stack(cfg, X, Y, w, members, [self], first_pass, incremental, tasks)
        if tasks is not None:
            tasks.finish()
        return self

    def _check_fitted_layout(self, cfg, incremental) -> None:
        """``warm_start`` / ``partial_fit`` continue the fitted weights: the layer
        sizes of the parameters now must be those of ``coefs_``.

        scikit-learn trains on with the old weights when only the widths changed
        (ignoring the new ``hidden_layer_sizes``) and fails with an AttributeError
        when the number of layers changed; skdl refuses both, naming the fix.
        """
        fitted = (*(c.shape[0] for c in self.coefs_), self.coefs_[-1].shape[1])
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
            f"(hidden_layer_sizes={self.hidden_layer_sizes!r}, depth={self.depth!r}, "
            f"width={self.width!r}). Set them back to the fitted sizes, or {fix}."
        )

    def _prepare(self, X, y, sample_weight, incremental, first_pass, warned=None):
        """Validate the data; returns X, the 2-D encoded target, row weights and the config."""
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        cfg = FitConfig.from_estimator(
            self, X.shape[1], Y.shape[1], torch_dtype=self._training_dtype(X, first_pass)
        )
        cfg.check_data(
            self, n_samples=X.shape[0], incremental=incremental, warned=warned, knobs=first_pass
        )
        self._check_target(Y, cfg, X.shape[0])
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        w = self._row_weights(Y, sample_weight)
        w = np.ones(X.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
        return X, Y, w, cfg

    def _training_dtype(self, X, first_pass) -> torch.dtype:
        """The dtype this fit trains in (``dtype``, :func:`resolve_dtype`); with
        'auto', a warm start or ``partial_fit`` continues in the fitted weights' dtype."""
        if self.dtype == "auto" and not first_pass and hasattr(self, "coefs_"):
            return torch.float64 if self.coefs_[0].dtype == np.float64 else torch.float32
        return resolve_dtype(self.dtype, X.dtype, resolve_device(self.device), self.precision)

    def _fit_many(self, X, y, jobs, sample_weight=None) -> list:
        """Fit one copy of this estimator per job, all as one stack.

        Parameters
        ----------
        X, y : the whole data set.
        jobs : list of (params, rows)
            Each job is a clone of ``self`` with ``params`` set, fitted on
            ``X[rows], y[rows]`` (e.g. a search candidate on a CV fold). Every
            job must share this estimator's structure (:data:`STRUCTURAL`).
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        estimators : list, one per job
            The fitted estimator, identical to ``clone(self).set_params(**params)
            .fit(X[rows], y[rows])`` up to floating-point rounding, or the
            ``ValueError`` its fit raised (a diverged training).
        """
        from sklearn.base import clone

        self._validate_params()  # once; each job then checks what it changes
        warned = set()  # each knob warning once for the whole stack
        X, Y, w, cfg = self._prepare(X, y, sample_weight, False, True, warned)
        ests, members = [], []
        for params, rows in jobs:
            est = clone(self).set_params(**params)
            _validate_changed(est, params)
            for name in ("n_features_in_", "feature_names_in_", "classes_", "_label_binarizer"):
                if hasattr(self, name):
                    setattr(est, name, getattr(self, name))
            FitConfig.from_estimator(est, X.shape[1], Y.shape[1], cfg.torch_dtype).check_data(
                est, n_samples=len(rows), incremental=False, warned=warned
            )
            ests.append(est)
            members += [
                (est, seed, np.asarray(rows)) for seed in _seeds(est.random_state, est.n_init)
            ]
        with oom_guard(self):
            stacked = self._train_stack(cfg, X, Y, w, members, ests, True, False)
        errors = {id(est): exc for est, exc in stacked}
        return [errors.get(id(est), est) for est in ests]

    def _continue_many(self, X, y, models, rows, sample_weight=None) -> list:
        """Train fitted models further, all as one stack, by ``self.max_iter`` epochs.

        Each model continues from its own weights, optimizer and loop state,
        shuffling generator and dropout step (what ``warm_start=True`` keeps),
        so with a schedule indexed by epoch and no early stopping, ``e1`` epochs
        then ``e2 - e1`` more equal a fresh fit of ``e2`` epochs.

        Parameters
        ----------
        X, y : the whole data set.
        models : list of fitted estimators with ``n_init=1``, each fitted by a
            stochastic solver on ``X[rows[i]]``, all at the same epoch (and
            dropout step), sharing this estimator's structure.
        rows : list of index arrays, one per model.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        estimators : list, one per model
            The model trained further (in place), or the ``ValueError`` its
            training raised (a diverged training).
        """
        X, Y, w, cfg = self._prepare(X, y, sample_weight, False, True)
        members = [
            (m, seed, np.asarray(r))
            for m, r in zip(models, rows)
            for seed in _seeds(m.random_state, 1)
        ]
        with oom_guard(self):
            stacked = self._train_stack(cfg, X, Y, w, members, models, False, False)
        errors = {id(m): exc for m, exc in stacked}
        for m in models:
            m.n_iter_ = len(m.history_)
        return [errors.get(id(m), m) for m in models]

    def _train_stack(self, cfg, X, Y, w, members, jobs, first_pass, incremental, tasks=None):
        """Train one model per member ``(estimator, seed, rows)``; store each job's best.

        ``tasks`` (a plain fit only) reports each epoch to scikit-learn's callbacks.
        """
        device, dtype = resolve_device(self.device), cfg.torch_dtype
        n_rows = max(len(m[2]) for m in members)
        check_fit_memory(self, cfg, len(members), n_rows, cfg.batch_size(n_rows), device)
        # L-BFGS takes every training row at each iteration: its data stays on the device
        stream = False if self.solver == "lbfgs" else None
        # sparse X stays sparse (densified per batch), except for L-BFGS's full batches
        X = _to_dense(X) if stream is False else X
        data = DeviceData.from_arrays(X, Y, w, dtype, device, stream=stream)
        ests = [m[0] for m in members]
        seeds = [m[1] for m in members]
        rows = self._member_rows(Y, members, incremental)
        rows.weights, drawn = _ensemble.member_weights(members, Y, w)  # bagging (issue 16)
        params = self._initial_params(cfg, ests, seeds, first_pass, dtype, device)
        for est in jobs:
            if first_pass:
                est.n_outputs_ = Y.shape[1]
                est.n_layers_ = len(cfg.units)
                est.out_activation_ = LOSSES[cfg.loss].out_activation
        groups = [[i for i, m in enumerate(members) if m[0] is est] for est in jobs]
        if self.solver == "lbfgs":
            with cpu_threads(device, step_flops(cfg.units, X.shape[0], 1)):
                ctx = build_step_context(cfg, params, device, seeds, ests)
                result = lbfgs.fit(cfg, ctx, data, rows, params, self._iteration_hooks(cfg, tasks))
            if search_progress() is not None:
                search_progress().advance(len(members) * self.max_iter)
            for est, idx in zip(jobs, groups):
                est._store_lbfgs(cfg, params, result, idx)
                est._store_members(cfg, params, idx, [list(result.curves[i]) for i in idx])
                _ensemble.store_job(est, X, Y, members, idx, drawn)  # bagging (issue 16)
            return []
        stack = self._run_stochastic(
            cfg, data, rows, params, ests, seeds, first_pass, incremental, tasks
        )
        errors = []
        for est, idx in zip(jobs, groups):
            best = est._select(stack[1], stack[2], idx)
            est._store_members(cfg, stack[0], idx, [stack[1].history[i] for i in idx])
            try:
                est._store_stochastic(cfg, *stack, best, incremental)
                _ensemble.store_job(est, X, Y, members, idx, drawn)  # bagging (issue 16)
            except ValueError as exc:  # divergence: the job is still stored
                if len(jobs) == 1:
                    raise
                errors.append((est, exc))
        return errors

    def _member_rows(self, Y, members, incremental) -> Members:
        """Training (and early-stopping validation) rows of every member."""
        if not self.early_stopping or incremental:
            return Members([rows for _, _, rows in members])
        train, val = [], []
        for est, seed, rows in members:
            try:
                tr, va = train_test_split(
                    np.arange(len(rows)),
                    test_size=est.validation_fraction,
                    random_state=seed,
                    stratify=est._stratify(Y[rows]),
                )
            except ValueError as exc:  # a stratified split that cannot hold every class
                raise ValueError(
                    f"early_stopping=True cannot split off validation_fraction="
                    f"{est.validation_fraction} of {len(rows)} samples: {exc}. Increase "
                    "validation_fraction or use more data."
                ) from exc
            if len(va) < 2:
                raise ValueError(
                    f"The validation set is too small ({len(va)} samples with "
                    f"validation_fraction={est.validation_fraction} of {len(rows)} "
                    "samples). Increase validation_fraction or the size of the dataset."
                )
            train.append(rows[np.sort(tr)])
            val.append(rows[np.sort(va)])
        return Members(train, val)

    def _initial_params(self, cfg, ests, seeds, first_pass, dtype, device):
        layout = cfg.layout
        if not first_pass:  # each model continues from its estimator's weights
            n_layers = len(ests[0].coefs_)
            return layout.pack(
                [np.stack([e.coefs_[i] for e in ests]) for i in range(n_layers)],
                [np.stack([e.intercepts_[i] for e in ests]) for i in range(n_layers)],
                dtype,
                device,
            )
        if any(e.init == "zeros" for e in ests) and cfg.layout.n_layers > 1:
            warnings.warn(
                "init='zeros' makes every hidden unit compute the same function and "
                "receive the same gradient, so they stay identical and the network "
                "is no better than one unit per layer. Use init='auto'.",
                UserWarning,
                stacklevel=5,
            )
        family = ACTIVATIONS[self.activation].family
        # Drawn on the CPU from one generator per model: the same seed gives the
        # same initial weights on every device and in any stack.
        models = [
            initial_layers(e.init, family, self.activation, cfg.units, s, dtype)
            for e, s in zip(ests, seeds)
        ]
        n_layers = len(cfg.units) - 1
        coefs = [torch.stack([m[0][i] for m in models]) for i in range(n_layers)]
        intercepts = [torch.stack([m[1][i] for m in models]) for i in range(n_layers)]
        return layout.pack(coefs, intercepts, dtype, device)

    def _run_stochastic(
        self, cfg, data, rows, params, ests, seeds, first_pass, incremental, tasks=None
    ):
        device = params.device
        k = params.shape[0]
        ctx = build_step_context(cfg, params, device, seeds, ests)
        optimizer = build_optimizer(cfg, params, ests)
        state = LoopState(k)
        generators = [torch.Generator().manual_seed(s + 7919) for s in seeds]
        saved = [getattr(e, "_solver_state", None) for e in ests]
        if not first_pass and all(s is not None for s in saved):
            if all(s["solver"] == self.solver for s in saved):
                optimizer.load_state_dict(
                    {
                        n: torch.as_tensor(np.concatenate([s["optimizer"][n] for s in saved])).to(
                            device
                        )
                        for n in saved[0]["optimizer"]
                    }
                )
            state = _join_loop_states([s["loop"] for s in saved])
            for gen, s in zip(generators, saved):
                gen.set_state(torch.as_tensor(s["generator"]))
            if ctx.noise is not None:
                ctx.noise.step = saved[0]["dropout_step"]
        # a warm-start fit restarts the horizon-bound 'cosine' (partial_fit counts on)
        start = 0 if incremental else state.epoch
        schedules = [FitConfig.schedule_of(e, start) for e in ests]
        spec = LoopSpec(
            batch_size=cfg.batch_size(int(rows.n_train.max())),
            max_iter=1 if incremental else self.max_iter,
            shuffle=self.shuffle,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            early_stopping=self.early_stopping and not incremental,
            schedule=schedules,
            score_kind=self._score_kind(),
            stop_on_loss=self.early_stopping_metric == "loss",
        )
        lr_init = np.array([solver_learning_rate(e) for e in ests])
        with (
            cpu_threads(device, step_flops(cfg.units, spec.batch_size, k)),
            self._verbose_printer(k, spec.max_iter) as progress,
        ):
            bar = search_progress()
            reports = [r for r in (progress, None if bar is None else _model_epochs(bar)) if r]
            on_epoch = None
            if reports or tasks is not None:

                def on_epoch(state, active):
                    for report in reports:
                        report(state, active)
                    if tasks is None:
                        return False
                    return tasks.end(lambda: self._epoch_attributes(cfg, params, state))

            result = train(
                ctx,
                spec,
                data,
                rows,
                params,
                optimizer,
                lr_init,
                state,
                generators,
                on_epoch=on_epoch,
                on_epoch_begin=None if tasks is None else tasks.begin,
            )
        if bar is not None:  # the epochs that models stopped early did not run
            bar.advance(k * spec.max_iter - int(result.n_iter.sum()))
        return params, state, result, optimizer, generators, ctx.noise

    def _epoch_attributes(self, cfg, params, state) -> dict:
        """The fitted attributes of the model training now, for a callback's
        ``fitted_estimator``: its current weights (of the ``n_init`` models, the
        one :meth:`_select` would keep now), epochs run and last loss."""
        last = [h[-1] if h else None for h in state.history]
        if self.early_stopping:
            key = [-np.inf if r is None else r["val_score"] for r in last]
            best = int(np.nanargmax(np.where(np.isnan(key), -np.inf, key)))
        else:
            key = [np.inf if r is None else r["train_loss"] for r in last]
            best = int(np.argmin(np.where(np.isnan(key), np.inf, key)))
        coefs, intercepts = _unpack(cfg, params, best)
        return {
            "coefs_": coefs,
            "intercepts_": intercepts,
            "n_iter_": len(state.history[best]),
            "loss_": np.nan if last[best] is None else last[best]["train_loss"],
        }

    def _iteration_hooks(self, cfg, tasks):
        """``(begin, end)`` of each L-BFGS iteration for scikit-learn's callbacks, or None;
        ``end(row, loss, n_iter)`` gets the iterate's weights and returns True to stop."""
        if tasks is None:
            return None

        def end(row, loss, n_iter):
            def attributes():
                coefs, intercepts = _unpack(cfg, row, 0)
                return {
                    "coefs_": coefs,
                    "intercepts_": intercepts,
                    "n_iter_": n_iter,
                    "loss_": loss,
                }

            return tasks.end(attributes)

        return tasks.begin, end

    def _select(self, state, result, idx) -> int:
        """Index of the model to keep among this job's members (its ``n_init`` restarts).

        The best validation score with early stopping, else the lowest training loss.
        """
        idx = np.asarray(idx)
        if len(idx) == 1:
            return int(idx[0])
        ok = result.diverged_at[idx] == 0
        if self.early_stopping:
            return int(idx[np.argmax(np.where(ok, state.best_score[idx], -np.inf))])
        loss = np.array(
            [state.history[i][-1]["train_loss"] if state.history[i] else np.inf for i in idx]
        )
        return int(idx[np.argmin(np.where(ok, loss, np.inf))])

    def _store_members(self, cfg, params, idx, histories):
        """With ``ensemble=True``, keep every member of this job (``members_``)."""
        if not self.ensemble:
            for name in ("members_", "members_history_"):
                self.__dict__.pop(name, None)
            return
        self.members_ = [_unpack(cfg, params, int(i)) for i in idx]
        self.members_history_ = [
            History(
                h
                if not h or isinstance(h[0], dict)
                else (
                    {
                        "epoch": j + 1,
                        "train_loss": v,
                        "val_loss": None,
                        "val_score": None,
                        "learning_rate": None,
                        "seconds": None,
                    }
                    for j, v in enumerate(h)
                )
            )
            for h in histories
        ]

    def _members_forward(self, X) -> np.ndarray:
        """Every member's outputs (after the output activation), ``[M, n, O]``."""
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], reset=False, dtype=(np.float32, np.float64)
        )
        return np.stack([self._forward(X, check_input=False, weights=m) for m in self.members_])

    def _ensemble_forward(self, X) -> np.ndarray:
        """The network outputs, averaged over the members of an ensemble."""
        if getattr(self, "members_", None) is None:
            return self._forward(X)
        return self._members_forward(X).mean(0)

    def _store_weights(self, cfg, params, k):
        self.coefs_, self.intercepts_ = _unpack(cfg, params, k)

    def _store_stochastic(
        self, cfg, params, state, result, optimizer, generators, noise, best, incremental
    ):
        self._store_weights(cfg, params, best)
        history = state.history[best]
        self.history_ = History(history)
        self.n_iter_ = int(result.n_iter[best])
        self.t_ = int(state.t)
        self.loss_curve_ = [r["train_loss"] for r in self.history_]
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else np.nan
        vals = [r["val_loss"] for r in self.history_ if r["val_loss"] is not None]
        self.validation_loss_curve_ = vals if vals else None
        if self.early_stopping and not incremental:
            self.validation_scores_ = [r["val_score"] for r in self.history_]
            # a diverged epoch (nan scores, recorded last) is never the best
            finite = [r for r in self.history_ if np.isfinite(r["val_score"])]
            if not finite:
                best_rec = {"val_score": -np.inf}
            elif self.early_stopping_metric == "loss":
                best_rec = min(finite, key=lambda r: r["val_loss"])
            else:
                best_rec = max(finite, key=lambda r: r["val_score"])
            self.best_validation_score_ = float(best_rec["val_score"])
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = float(state.best_loss[best])
        keep = slice(best, best + 1)
        loop_state = LoopState(
            1,
            epoch=state.epoch,
            t=state.t,
            lr_factor=state.lr_factor[keep].copy(),
            best_loss=state.best_loss[keep].copy(),
            best_score=state.best_score[keep].copy(),
            no_improve=state.no_improve[keep].copy(),
            history=[list(history)],
        )
        self._solver_state = {
            "solver": self.solver,
            "optimizer": {n: v.cpu().numpy() for n, v in optimizer.state_dict(rows=keep).items()},
            "loop": loop_state,
            "generator": generators[best].get_state().numpy(),
            # the dropout masks continue across partial_fit / warm_start calls
            "dropout_step": 0 if noise is None else noise.step,
        }
        self._raise_or_warn(result, best, incremental)

    def _store_lbfgs(self, cfg, params, result, idx):
        idx = np.asarray(idx)
        loss = result.loss[idx]
        best = int(idx[np.argmin(np.where(np.isfinite(loss), loss, np.inf))])
        self._store_weights(cfg, params, best)
        self.n_iter_ = int(result.n_iter[best])
        self.t_ = 0
        self.loss_ = float(result.loss[best])
        self.loss_curve_ = list(result.curves[best])
        self.history_ = History(
            {
                "epoch": i + 1,
                "train_loss": v,
                "val_loss": None,
                "val_score": None,
                "learning_rate": None,
                "seconds": None,
            }
            for i, v in enumerate(self.loss_curve_)
        )
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else self.loss_
        self.validation_scores_ = None
        self.best_validation_score_ = None
        self.validation_loss_curve_ = None
        self._solver_state = None
        if result.interrupted:
            warnings.warn(
                f"Training interrupted by user after {self.n_iter_} L-BFGS iterations; the "
                "model keeps the weights of the last completed iteration.",
                UserWarning,
                stacklevel=4,
            )
        elif not result.converged[best] and not result.stopped:
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iterations "
                f"(max_iter={self.max_iter}, max_fun={self.max_fun}). Increase max_iter "
                "or scale the data, e.g. with StandardScaler.",
                ConvergenceWarning,
                stacklevel=4,
            )

    def _raise_or_warn(self, result, best, incremental):
        if result.interrupted:
            warnings.warn(
                f"Training interrupted by user after {self.n_iter_} epochs; the model "
                "keeps the weights of the last completed epoch.",
                UserWarning,
                stacklevel=5,
            )
            return
        if result.diverged_at[best]:
            advice = (
                f"Lower learning_rate_init (currently {self.learning_rate_init}) or "
                "scale X, e.g. with StandardScaler."
            )
            if self.early_stopping and not incremental:
                # scikit-learn's contract: no error, the best validation epoch's
                # weights are kept and validation_scores_ ends in nan
                warnings.warn(
                    f"Training diverged at epoch {result.diverged_at[best]} (non-finite "
                    "loss); the model keeps the weights of its best validation epoch "
                    f"(validation score {self.best_validation_score_:.6g}). {advice}",
                    ConvergenceWarning,
                    stacklevel=5,
                )
                return
            raise ValueError(
                f"{NONFINITE_WEIGHTS} Training diverged at epoch {result.diverged_at[best]} "
                "(the loss or the weights became non-finite); the model keeps "
                f"{_last_finite(result.diverged_at[best])}. {advice}"
            )
        if result.stopped:  # a callback's request, not a failure to converge
            return
        if not incremental and not result.converged[best] and self.n_iter_ == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=5,
            )

    def _verbose_printer(self, k, total):
        """Context manager yielding the ``on_epoch`` callback of ``verbose`` (None if 0)."""
        from ..training.progress import Progress

        return Progress(self.verbose, total, desc=type(self).__name__, n_models=k)

    # -------------------------------------------------------------- predict
    def _forward(self, X, check_input=True, weights=None) -> np.ndarray:
        """Network outputs (after the output activation), numpy ``[n, O]`` in the
        common dtype of X and the weights (as scikit-learn's).

        ``weights``: ``(coefs, intercepts)`` of an ensemble member to use instead
        of ``coefs_`` / ``intercepts_``."""
        if check_input:
            X = validate_data(
                self, X, accept_sparse=["csr", "csc"], reset=False, dtype=(np.float32, np.float64)
            )
        device = prediction_device(self.device, owner=self)
        # The outputs have scikit-learn's dtype: X's and the weights' common one.
        # On the CPU, compute in it too (float64 X: no extra rounding, and results
        # independent of how rows are chunked, as scikit-learn's subset-invariance
        # check requires; float32: half the memory traffic); on an accelerator,
        # in the weights' dtype.
        out_dtype = np.result_type(X.dtype, self.coefs_[0].dtype)
        wide = self.coefs_[0].dtype == np.float64 or (
            device.type == "cpu" and out_dtype == np.float64
        )
        if device.type == "cpu" and X.shape[0] < NUMPY_ROWS and self.activation in ROW_ACTIVATIONS:
            return self._forward_few(X, weights, np.float64 if wide else np.float32, out_dtype)
        dtype = torch.float64 if wide else torch.float32
        member = weights
        if member is None:
            weights, biases = self._inference_weights(dtype, device)
        else:
            coefs, intercepts = member
            weights = [torch.as_tensor(c).to(device=device, dtype=dtype) for c in coefs]
            biases = [
                torch.as_tensor(b).to(device=device, dtype=dtype).view(-1) for b in intercepts
            ]
        act = ACTIVATIONS[self.activation]
        act_param = self._act_param_tensor(dtype, device)
        act_param = None if act_param is None else act_param.view(1, 1)
        output = LOSSES[self._loss_name()].output
        out = np.empty((X.shape[0], self.n_outputs_), dtype=out_dtype)
        units = [c.shape[0] for c in self.coefs_] + [self.n_outputs_]
        if X.shape[0] < FEW_ROWS:
            # no tensor here requires a gradient, and a few rows never start
            # a parallel region: the modes' switches would cost more than the
            # rest of a few-row call's arithmetic
            modes = contextlib.nullcontext()
        else:
            modes = contextlib.ExitStack()
            modes.enter_context(torch.inference_mode())
            modes.enter_context(
                cpu_threads(device, step_flops(units, min(X.shape[0], _PREDICT_CHUNK)) / 3)
            )
        with modes:

            def run(start, stop):
                chunk = _to_dense(X[start:stop])
                x = torch.as_tensor(np.require(chunk, requirements=["C", "W"]))
                sums = []
                z = forward_rows(
                    weights, biases, x.to(device=device, dtype=dtype), act, act_param, sums
                )
                # a pre-activation that is not finite is an overflow: in the
                # outputs (sigmoid/softmax may hide it) or in a hidden layer
                # (tanh, logistic, ReLU at -inf would hide it)
                probe = torch.cat([z, *sums], 1) if sums else z
                if not bool(torch.isfinite(probe).all()):
                    ok = torch.isfinite(probe).all(1)
                    result = np.empty(tuple(z.shape), dtype=np.float64)
                    ok_rows = ok.cpu().numpy()
                    result[ok_rows] = output(z[ok].double()).cpu().numpy()
                    result[~ok_rows] = self._forward_wide(chunk[~ok_rows], member)
                else:
                    result = output(z.double()).cpu().numpy()
                out[start:stop] = result

            predict_in_chunks(run, X.shape[0], _PREDICT_CHUNK, est=self)
        return out

    def _forward_few(self, X, weights, dtype, out_dtype) -> np.ndarray:
        """:meth:`_forward` of fewer than ``NUMPY_ROWS`` rows, in numpy (see
        :mod:`skdl.nn.rows`): ``coefs_`` already are arrays, and a numpy
        operation costs a fraction of a torch one on a row."""
        coefs, intercepts = (self.coefs_, self.intercepts_) if weights is None else weights
        coefs = [np.asarray(c, dtype=dtype) for c in coefs]
        intercepts = [np.asarray(b, dtype=dtype).reshape(-1) for b in intercepts]
        x = np.asarray(_to_dense(X), dtype=dtype)
        param = self._act_param_value()
        z, finite = forward_numpy(coefs, intercepts, x, self.activation, param)
        output = ROW_OUTPUTS[LOSSES[self._loss_name()].out_activation]
        if finite:
            return output(z.astype(np.float64)).astype(out_dtype, copy=False)
        _, ok = forward_numpy(coefs, intercepts, x, self.activation, param, per_row=True)
        result = np.empty(z.shape, dtype=np.float64)
        result[ok] = output(z[ok].astype(np.float64))
        result[~ok] = self._forward_wide(x[~ok], weights)
        return result.astype(out_dtype)

    def _forward_wide(self, x, weights=None) -> np.ndarray:
        """The float64 outputs of rows ``x`` (numpy) whose forward pass overflowed:
        a pre-activation, in a hidden layer or the outputs, is not finite.

        Finite X near the largest float32 makes a float32 pass overflow to inf,
        and inf - inf or inf * 0 to NaN; tanh, the logistic or ReLU turn an inf
        into a finite value that may be wrong (scikit-learn, computing the same
        network in float64 sums, returns the right one). The rows are computed
        again in float64 on the CPU; a NaN left then is refused, never returned.
        """
        coefs, intercepts = (self.coefs_, self.intercepts_) if weights is None else weights
        coefs = [np.asarray(c, dtype=np.float64) for c in coefs]
        intercepts = [np.asarray(b, dtype=np.float64).reshape(-1) for b in intercepts]
        x = np.asarray(x, dtype=np.float64)
        loss = LOSSES[self._loss_name()]
        if self.activation in ROW_ACTIVATIONS:
            z, _ = forward_numpy(coefs, intercepts, x, self.activation, self._act_param_value())
            result = ROW_OUTPUTS[loss.out_activation](z)
        else:
            act_param = self._act_param_tensor(torch.float64, torch.device("cpu"))
            act_param = None if act_param is None else act_param.view(1, 1)
            tensors = [torch.as_tensor(a) for a in (*coefs, *intercepts)]
            n = len(coefs)
            with torch.inference_mode():
                z = forward_rows(
                    tensors[:n],
                    tensors[n:],
                    torch.as_tensor(x),
                    ACTIVATIONS[self.activation],
                    act_param,
                )
                result = loss.output(z).numpy()
        if np.isnan(result).any():
            finite = all(np.isfinite(a).all() for a in (*coefs, *intercepts))
            why = (
                "the activations overflow even in float64"
                if finite
                else "the fitted coefs_/intercepts_ hold NaN or infinite values"
            )
            weight = max((float(np.abs(a).max()) for a in coefs if a.size), default=0.0)
            raise ValueError(
                f"{type(self).__name__} cannot predict these rows: {why} (X has values "
                f"up to {float(np.abs(x).max()):.3g} in magnitude, the largest weight is "
                f"{weight:.3g}). Scale X as the training data (e.g. StandardScaler in a "
                "Pipeline), or refit the model (e.g. with a lower learning_rate_init or alpha)."
            )
        return result

    def _inference_weights(self, dtype, device) -> tuple[list, list]:
        """``coefs_`` / ``intercepts_`` as ``[n_in, n_out]`` / ``[n_out]`` tensors
        of ``dtype`` on ``device``, kept between predict calls.

        Converting them took about a tenth of a single-row ``predict``. The
        kept tensors are used again only while ``coefs_`` and ``intercepts_``
        hold the same arrays (not reassigned, not refitted) with the same
        values: tensors that share the arrays' memory (same dtype, on the CPU)
        see in-place edits by themselves; converted copies are checked against
        a snapshot of the arrays, so an edit in place is never missed.
        """
        arrays = (*self.coefs_, *self.intercepts_)
        kept = _INFERENCE_TENSORS.get(self)
        if (
            kept is not None
            and kept["key"] == (dtype, device)
            and len(kept["arrays"]) == len(arrays)
            and all(a is b for a, b in zip(arrays, kept["arrays"]))
            and all(
                snap is None
                or (a.dtype == snap[0] and a.shape == snap[1] and a.tobytes() == snap[2])
                for a, snap in zip(arrays, kept["snapshots"])
            )
        ):
            return kept["weights"], kept["biases"]
        tensors, snapshots = [], []
        for a in arrays:
            t = torch.as_tensor(a).to(device=device, dtype=dtype)
            shares = t.device.type == "cpu" and t.data_ptr() == np.asarray(a).ctypes.data
            tensors.append(t)
            # the bytes: comparing them is one memcmp, several times faster
            # than np.array_equal on small arrays
            snapshots.append(None if shares else (a.dtype, a.shape, a.tobytes()))
        n = len(self.coefs_)
        weights, biases = tensors[:n], [t.view(-1) for t in tensors[n:]]
        _INFERENCE_TENSORS[self] = {
            "key": (dtype, device),
            "arrays": arrays,
            "snapshots": snapshots,
            "weights": weights,
            "biases": biases,
        }
        return weights, biases

    # ---------------------------------------------------------- persistence
    def to_onnx(self, path=None):
        """This fitted model as an ONNX graph (see :func:`skdl.export.to_onnx`).

        Parameters
        ----------
        path : str or path-like, default=None
            Where to write the ``.onnx`` file.

        Returns
        -------
        model : onnx.ModelProto
        """
        from ._io import registered

        return registered("to_onnx")(self, path)

    def save(self, path):
        """Save the fitted model to ``path`` without pickle (see :func:`skdl.save`).

        Parameters
        ----------
        path : str or path-like
            The file to write: a zip of ``params.json`` and ``weights.safetensors``.
        """
        from ._io import registered

        registered("save")(self, path)

    @classmethod
    def load(cls, path, device=None):
        """Load a model written by :meth:`save` (see :func:`skdl.load`).

        Parameters
        ----------
        path : str or path-like
            The file written by :meth:`save`.
        device : str or torch.device, default=None
            The ``device`` to set (e.g. ``'cpu'``); None keeps the saved one.

        Returns
        -------
        estimator : an instance of this class, fitted.
        """
        from ._io import registered

        return registered("load_as")(cls, path, device=device)

    def _act_param_value(self) -> float | None:
        """The slope of ``leaky_relu`` or alpha of ``elu`` (None for the others)."""
        default = ACTIVATIONS[self.activation].default_param
        if default is None:
            return None
        return float(default if self.activation_param is None else self.activation_param)

    def _act_param_tensor(self, dtype, device):
        value = self._act_param_value()
        if value is None:
            return None
        return torch.full((1, 1, 1), value, dtype=dtype, device=device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


__all__ = ["BaseMLP"]
