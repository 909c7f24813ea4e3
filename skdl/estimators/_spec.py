"""The engine's spec of a stack, from the estimators of its models.

A stack trains one network per model ``(estimator, seed, rows)``: the
``n_init`` restarts of one fit, or the candidates x folds of a fused search.
:func:`build_spec` reads each model's parameters into the plain per-model
arrays of :class:`~skdl.training.engine.StackSpec`; the engine never sees an
estimator.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.utils import check_random_state

from ..nn.activations import ACTIVATIONS
from ..training.engine import Resume, StackSpec
from ..training.loop import LoopSpec, LoopState
from ._config import FitConfig, penalty_split, solver_epsilon, solver_learning_rate


def seeds(random_state, n_init: int) -> list[int]:
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


def resume_of(est, ests) -> Resume:
    """Where fitted models ``ests`` continue: their weights and, when every one
    has it, the optimizer (same ``solver`` only), loop and generator state.
    Each is a fitted estimator, or what an ensemble keeps of a member (an
    object with ``coefs_``, ``intercepts_`` and ``_solver_state``)."""
    n_layers = len(ests[0].coefs_)
    coefs = [np.stack([e.coefs_[i] for e in ests]) for i in range(n_layers)]
    intercepts = [np.stack([e.intercepts_[i] for e in ests]) for i in range(n_layers)]
    saved = [getattr(e, "_solver_state", None) for e in ests]
    if any(s is None for s in saved):
        return Resume(coefs, intercepts)
    optimizer = None
    if all(s["solver"] == est.solver for s in saved):
        optimizer = {
            n: np.concatenate([s["optimizer"][n] for s in saved]) for n in saved[0]["optimizer"]
        }
    return Resume(
        coefs,
        intercepts,
        optimizer,
        LoopState.join([s["loop"] for s in saved]),
        [s["generator"] for s in saved],
        saved[0]["dropout_step"],
    )


def _warn_zeros(cfg, ests) -> None:
    if any(e.init == "zeros" for e in ests) and cfg.layout.n_layers > 1:
        warnings.warn(
            "init='zeros' makes every hidden unit compute the same function and "
            "receive the same gradient, so they stay identical and the network "
            "is no better than one unit per layer. Use init='auto'.",
            UserWarning,
            stacklevel=6,
        )


def build_spec(
    est, cfg: FitConfig, models, first_pass: bool, incremental: bool, n_train: int,
    resume_from=None,
):  # fmt: skip
    """The :class:`StackSpec` of ``models`` (``(estimator, seed, rows)``) for
    ``est``'s structure ``cfg``; ``n_train``: the most training rows of a model;
    ``resume_from``: what each model continues from (default: its estimator)."""
    ests = [m[0] for m in models]
    resume = None if first_pass else resume_of(est, resume_from or ests)
    if first_pass:
        _warn_zeros(cfg, ests)
    # a warm-start fit restarts the horizon-bound 'cosine' (partial_fit counts on)
    start = 0 if incremental or resume is None or resume.loop is None else resume.loop.epoch
    n_hidden = len(cfg.units) - 2
    default = ACTIVATIONS[est.activation].default_param
    pens = np.array([penalty_split(e) for e in ests], dtype=np.float64).reshape(len(ests), 2)
    return StackSpec(
        units=cfg.units,
        dtype=cfg.torch_dtype,
        solver=est.solver,
        activation=est.activation,
        loss=cfg.loss,
        loss_param=cfg.loss_param,
        precision=cfg.precision,
        nesterov=bool(est.nesterovs_momentum),
        seeds=[m[1] for m in models],
        init=[e.init for e in ests],
        learning_rate=np.array([solver_learning_rate(e) for e in ests], dtype=np.float64),
        momentum=_values(ests, "momentum"),
        beta_1=_values(ests, "beta_1"),
        beta_2=_values(ests, "beta_2"),
        epsilon=np.array([solver_epsilon(e) for e in ests], dtype=np.float64),
        alpha_l2=pens[:, 0],
        alpha_l1=pens[:, 1],
        act_param=None
        if default is None
        else np.array(
            [default if e.activation_param is None else e.activation_param for e in ests],
            dtype=np.float64,
        ),
        dropout=np.array([FitConfig.dropout_of(e, n_hidden) for e in ests]).reshape(
            len(ests), n_hidden
        ),
        loop=_loop_spec(est, cfg, ests, start, incremental, n_train),
        max_fun=est.max_fun,
        resume=resume,
    )


def _loop_spec(est, cfg, ests, start, incremental, n_train) -> LoopSpec:
    """The epoch loop's settings: ``est``'s, and each model's schedule from epoch ``start``."""
    return LoopSpec(
        batch_size=cfg.batch_size(n_train),
        max_iter=1 if incremental else est.max_iter,
        shuffle=est.shuffle,
        tol=est.tol,
        n_iter_no_change=est.n_iter_no_change,
        early_stopping=est.early_stopping and not incremental,
        schedule=[FitConfig.schedule_of(e, start) for e in ests],
        score_kind=est._score_kind(),
        stop_on_loss=est.early_stopping_metric == "loss",
    )


def _values(ests, name: str) -> np.ndarray:
    return np.array([float(getattr(e, name)) for e in ests], dtype=np.float64)
