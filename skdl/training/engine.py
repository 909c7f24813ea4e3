"""The engine's one door: ``fit_stack(spec, data, rows, observers) -> StackResult``.

A :class:`StackSpec` is plain data: the shape shared by the K networks of a
stack and each model's own values as arrays of length K (learning rates,
penalties, betas, seeds, schedules...), with no estimator in it. The engine
builds the per-model tensors (:func:`step_context`, :func:`make_optimizer`),
draws or resumes the weights, trains with the spec's solver (a vectorized
stochastic optimizer through :func:`skdl.training.loop.train`, or L-BFGS
through :func:`skdl.training.lbfgs.fit`, one model at a time) and returns one
:class:`StackResult` either way. See docs/engine.md for the whole seam.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..nn.activations import ACTIVATIONS
from ..nn.init import initial_layers
from ..nn.losses import LOSSES
from ..nn.mlp import DropoutNoise, Layout
from ..optim import OPTIMIZERS
from . import lbfgs
from .amp import LossScaledOptimizer, low_dtype
from .data import DeviceData, StackRows
from .loop import LoopSpec, LoopState, train
from .observers import kept_model
from .steps import StepContext
from .threads import cpu_threads, step_flops


@dataclass
class Resume:
    """Where the models of a stack continue from (``warm_start``, ``partial_fit``,
    the rungs of a halving search).

    ``coefs`` / ``intercepts``: per layer, ``[K, n_in, n_out]`` / ``[K, n_out]``
    arrays. The rest is None to start a fresh optimizer and loop: the saved
    optimizer state (name -> ``[K, ...]`` array), the loop state, each model's
    shuffling generator state and the dropout step.
    """

    coefs: list
    intercepts: list
    optimizer: dict | None = None
    loop: LoopState | None = None
    generators: list | None = None
    dropout_step: int = 0


@dataclass
class StackSpec:
    """What the engine trains: K networks of ``units``, each with its own values.

    Arrays of length K hold the per-model values: ``learning_rate`` (the
    solver's step size before the schedule, float64), ``momentum``,
    ``beta_1``, ``beta_2``, ``epsilon``, ``alpha_l2``, ``alpha_l1``,
    ``act_param`` (None for an activation without one) and ``dropout``
    (``[K, n_hidden]`` drop probabilities); ``seeds`` and ``init`` are lists.
    ``loop`` holds the epoch loop's settings, the schedules among them.
    """

    units: tuple
    dtype: torch.dtype
    solver: str
    activation: str
    loss: str
    loss_param: float
    precision: str | None
    nesterov: bool
    seeds: list
    init: list
    learning_rate: np.ndarray
    momentum: np.ndarray
    beta_1: np.ndarray
    beta_2: np.ndarray
    epsilon: np.ndarray
    alpha_l2: np.ndarray
    alpha_l1: np.ndarray
    act_param: np.ndarray | None
    dropout: np.ndarray
    loop: LoopSpec
    max_fun: int = 15000
    resume: Resume | None = None

    @property
    def k(self) -> int:
        return len(self.seeds)

    @property
    def layout(self) -> Layout:
        return Layout(tuple(self.units))


@dataclass
class StackResult:
    """What happened to each of the K models of a stack.

    ``params`` ``[K, P]`` holds each model's final weights: its best epoch
    with early stopping, else the epoch it stopped at, or its last finite
    weights if it diverged. ``state`` is the loop state (``history[k]``,
    ``best_loss``, ``best_score``, epoch counters), ``loss`` each model's
    final training loss (L-BFGS: the objective at its solution; NaN without
    any epoch), ``diverged_at`` the 1-based epoch of a non-finite loss (0 if
    none). ``optimizer`` (its ``state_dict(rows=...)``), ``generators`` and
    ``dropout_step`` are what a stochastic model resumes from (None for L-BFGS).
    """

    params: Tensor
    layout: Layout
    state: LoopState
    n_iter: np.ndarray
    loss: np.ndarray
    converged: np.ndarray
    diverged_at: np.ndarray
    by_validation: bool
    interrupted: bool = False
    stopped: bool = False
    optimizer: object | None = None
    generators: list | None = None
    dropout_step: int = 0

    def kept(self, idx) -> int:
        """The model kept among ``idx`` (:func:`~skdl.training.observers.kept_model`)."""
        return kept_model(
            idx, self.loss, self.state.best_score, self.diverged_at, self.by_validation
        )

    def weights(self, k: int) -> tuple[list, list]:
        """Model ``k``'s weights and biases as numpy ``coefs_``, ``intercepts_``."""
        return model_weights(self.layout, self.params, k)

    def stop_reason(self, k: int) -> str:
        """Why model ``k`` stopped: 'interrupted', 'observer', 'diverged',
        'converged' or 'max_iter'."""
        if self.interrupted:
            return "interrupted"
        if self.diverged_at[k]:
            return "diverged"
        if self.converged[k]:
            return "converged"
        return "observer" if self.stopped else "max_iter"


def model_weights(layout: Layout, params: Tensor, k: int) -> tuple[list, list]:
    """Model ``k``'s weights and biases in ``params`` as lists of numpy arrays."""
    row = params[k : k + 1].detach().cpu()
    coefs = [w[0].numpy().copy() for w in layout.weights(row)]
    return coefs, [b[0, 0].numpy().copy() for b in layout.biases(row)]


def fit_stack(spec: StackSpec, data: DeviceData, rows: StackRows, observers=()) -> StackResult:
    """Train the K models of ``spec`` on their ``rows`` of ``data``.

    ``observers`` (:class:`~skdl.training.observers.Observer`) see every epoch
    (every L-BFGS iteration) and may stop the training.
    """
    params = initial_params(spec, data.device)
    if spec.solver == "lbfgs":
        with cpu_threads(data.device, step_flops(spec.units, data.X.shape[0], 1)):
            return _fit_lbfgs(spec, data, rows, params, observers)
    with cpu_threads(data.device, step_flops(spec.units, spec.loop.batch_size, spec.k)):
        return _fit_stochastic(spec, data, rows, params, observers)


def initial_params(spec: StackSpec, device) -> Tensor:
    """The ``[K, P]`` starting weights: resumed, or drawn per model from its seed
    (on the CPU, so a seed gives the same weights on every device and in any stack)."""
    layout, dtype = spec.layout, spec.dtype
    if spec.resume is not None:
        return layout.pack(spec.resume.coefs, spec.resume.intercepts, dtype, device)
    family = ACTIVATIONS[spec.activation].family
    models = [
        initial_layers(init, family, spec.activation, spec.units, seed, dtype)
        for init, seed in zip(spec.init, spec.seeds)
    ]
    n_layers = len(spec.units) - 1
    coefs = [torch.stack([m[0][i] for m in models]) for i in range(n_layers)]
    intercepts = [torch.stack([m[1][i] for m in models]) for i in range(n_layers)]
    return layout.pack(coefs, intercepts, dtype, device)


def _per_model(values, dtype, device) -> Tensor:
    """Per-model values as a ``[K, 1, 1]`` tensor."""
    return torch.as_tensor(np.asarray(values, dtype=np.float64)).to(device, dtype).view(-1, 1, 1)


def step_context(spec: StackSpec, params: Tensor) -> StepContext:
    """The per-model tensors of the training step (model ``k`` takes ``spec``'s values ``[k]``)."""
    dtype, device = params.dtype, params.device
    layout = spec.layout
    act = ACTIVATIONS[spec.activation]
    act_param = None if spec.act_param is None else _per_model(spec.act_param, dtype, device)
    drops = np.asarray(spec.dropout, dtype=np.float64).reshape(spec.k, len(spec.units) - 2)
    keep = [None if not d.any() else _per_model(1.0 - d, dtype, device) for d in drops.T]
    # AdamW decays the weights itself (decoupled): no L2 term in the gradient
    coupled = spec.alpha_l2.any() and spec.solver != "adamw"
    alpha_l2 = _per_model(spec.alpha_l2, dtype, device) if coupled else None
    alpha_l1 = _per_model(spec.alpha_l1, dtype, device)[:, :, 0] if spec.alpha_l1.any() else None
    noise = None
    if any(kp is not None for kp in keep):
        noise = DropoutNoise(
            torch.tensor(spec.seeds, dtype=torch.int64, device=device).view(-1, 1, 1)
        )
    penalized = alpha_l1 is not None or alpha_l2 is not None
    return StepContext(
        layout=layout,
        act=act,
        act_param=act_param,
        loss=LOSSES[spec.loss],
        loss_param=spec.loss_param,
        keep=keep,
        alpha_l2=alpha_l2,
        alpha_l1=alpha_l1,
        weight_mask=layout.weight_mask(dtype, device) if penalized else None,
        noise=noise,
        low=low_dtype(spec.precision),
    )


def make_optimizer(spec: StackSpec, params: Tensor):
    """The vectorized optimizer of ``spec.solver`` over ``params``, per-model hyperparameters."""
    name = "adam" if spec.solver == "amsgrad" else spec.solver
    hyper = {
        "momentum": spec.momentum,
        "beta_1": spec.beta_1,
        "beta_2": spec.beta_2,
        "epsilon": spec.epsilon,
        "weight_decay": spec.alpha_l2,
    }
    hyper = {
        n: torch.as_tensor(np.asarray(v, dtype=np.float64)).view(-1, 1) for n, v in hyper.items()
    }
    mask = spec.layout.weight_mask(params.dtype, params.device) if name == "adamw" else None
    optimizer = OPTIMIZERS[name](
        params, hyper, nesterov=spec.nesterov, amsgrad=spec.solver == "amsgrad", decay_mask=mask
    )
    # fp16: GradScaler's dynamic loss scale, one per model, around the optimizer
    return LossScaledOptimizer(optimizer) if spec.precision == "fp16" else optimizer


def _fit_stochastic(spec, data, rows, params, observers) -> StackResult:
    device = params.device
    ctx = step_context(spec, params)
    optimizer = make_optimizer(spec, params)
    state = LoopState(spec.k)
    generators = [torch.Generator().manual_seed(s + 7919) for s in spec.seeds]
    resume = spec.resume
    if resume is not None and resume.loop is not None:
        if resume.optimizer is not None:
            optimizer.load_state_dict(
                {n: torch.as_tensor(v).to(device) for n, v in resume.optimizer.items()}
            )
        state = resume.loop
        for gen, saved in zip(generators, resume.generators):
            gen.set_state(torch.as_tensor(saved))
        if ctx.noise is not None:
            ctx.noise.step = resume.dropout_step
    out = train(
        ctx, spec.loop, data, rows, params, optimizer, spec.learning_rate, state, generators,
        observers,
    )  # fmt: skip
    last = np.array([h[-1]["train_loss"] if h else np.nan for h in state.history])
    return StackResult(
        params, ctx.layout, state, out.n_iter, last, out.converged, out.diverged_at,
        spec.loop.early_stopping, out.interrupted, out.stopped, optimizer, generators,
        0 if ctx.noise is None else ctx.noise.step,
    )  # fmt: skip


def _fit_lbfgs(spec, data, rows, params, observers) -> StackResult:
    ctx = step_context(spec, params)
    out = lbfgs.fit(
        ctx, data, rows, params, max_iter=spec.loop.max_iter, max_fun=spec.max_fun,
        tol=spec.loop.tol, observers=observers,
    )  # fmt: skip
    curves = [[r["train_loss"] for r in h] for h in out.history]
    best_loss = np.array([min(c) if c else out.loss[i] for i, c in enumerate(curves)])
    state = LoopState(spec.k, best_loss=best_loss, history=out.history)
    return StackResult(
        params, ctx.layout, state, out.n_iter, out.loss, out.converged,
        np.zeros(spec.k, np.int64), False, out.interrupted, out.stopped,
    )  # fmt: skip
