"""Turn an estimator's parameters into the engine's objects.

:class:`FitConfig` resolves everything structural (layer sizes, loss, dtype,
schedule, dropout per layer); :func:`build_step_context` and
:func:`build_optimizer` make the per-model tensors. Cross-parameter and
data-dependent rules live in :meth:`FitConfig.check_data`, called by ``fit``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from ..nn.activations import ACTIVATIONS
from ..nn.losses import LOSSES
from ..nn.mlp import Layout
from ..optim import OPTIMIZERS, resolve_schedule
from ..training.steps import StepContext


def resolve_device(device) -> torch.device:
    """``'auto'`` picks CUDA, then MPS, then the CPU; anything else goes to torch."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"The 'device' parameter must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'. "
            f"Got {device!r} instead."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine. Use device='auto' or device='cpu'."
        )
    return dev


def hidden_sizes(est) -> tuple[int, ...]:
    """Hidden layer sizes from ``hidden_layer_sizes``, overridden by ``depth``/``width``."""
    sizes = est.hidden_layer_sizes
    sizes = [sizes] if np.ndim(sizes) == 0 else list(sizes)
    if any(int(s) != s or s <= 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {est.hidden_layer_sizes}.")
    sizes = [int(s) for s in sizes]
    if est.depth is None and est.width is None:
        return tuple(sizes)
    depth = len(sizes) if est.depth is None else int(est.depth)
    width = est.width if est.width is not None else (sizes[0] if sizes else 100)
    return (int(width),) * depth


@dataclass
class FitConfig:
    """Everything structural about one fit, resolved from the estimator."""

    units: tuple[int, ...]
    layout: Layout
    loss: str
    loss_param: float
    torch_dtype: torch.dtype
    schedule: object
    dropout: tuple[float, ...]
    alpha_l2: float
    alpha_l1: float
    solver: str
    est: object

    @classmethod
    def from_estimator(cls, est, n_features, n_outputs) -> FitConfig:
        hidden = hidden_sizes(est)
        units = (n_features, *hidden, n_outputs)
        dropout = est.dropout
        if np.ndim(dropout) == 0:
            dropout = (float(dropout),) * len(hidden)
        else:
            dropout = tuple(float(d) for d in dropout)
            if len(dropout) != len(hidden) or any(not 0 <= d < 1 for d in dropout):
                raise ValueError(
                    f"dropout={est.dropout!r} must be a float in [0, 1) or one such value "
                    f"per hidden layer ({len(hidden)} here)."
                )
        l1 = {"l1": 1.0, "elasticnet": est.l1_ratio, "l2": 0.0, None: 0.0}[est.penalty]
        alpha = 0.0 if est.penalty is None else float(est.alpha)
        return cls(
            units=units,
            layout=Layout(units),
            loss=est._loss_name(),
            loss_param=float(getattr(est, "huber_delta", 1.0)),
            torch_dtype=torch.float64 if est.dtype == "float64" else torch.float32,
            schedule=resolve_schedule(
                est.learning_rate, power_t=est.power_t, decay_rate=est.decay_rate
            ),
            dropout=dropout,
            alpha_l2=alpha * (1.0 - l1),
            alpha_l1=alpha * l1,
            solver=est.solver,
            est=est,
        )

    def check_data(self, est, n_samples, incremental) -> None:
        """Rules that involve several parameters or the data."""
        if est.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if est.early_stopping and est.validation_fraction == 0:
            raise ValueError(
                "early_stopping=True needs a validation split, but validation_fraction=0.0. "
                "Set validation_fraction in (0, 1) or early_stopping=False."
            )
        if est.batch_size != "auto" and est.batch_size > n_samples and est.solver != "lbfgs":
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going "
                "to be clipped",
                UserWarning,
                stacklevel=4,
            )

    def batch_size(self, n_samples: int) -> int:
        bs = self.est.batch_size
        return min(200, n_samples) if bs == "auto" else int(np.clip(bs, 1, n_samples))


def _column(value, k, dtype, device):
    return torch.full((k, 1, 1), float(value), dtype=dtype, device=device)


def build_step_context(cfg: FitConfig, params, device, seeds) -> StepContext:
    """Per-model tensors for the training step (all K models share the estimator's values)."""
    est, k, dtype = cfg.est, params.shape[0], params.dtype
    act = ACTIVATIONS[est.activation]
    act_param = None
    if act.default_param is not None:
        value = act.default_param if est.activation_param is None else est.activation_param
        act_param = _column(value, k, dtype, device)
    keep = [None if d == 0 else _column(1.0 - d, k, dtype, device) for d in cfg.dropout]
    decoupled = cfg.solver == "adamw"
    alpha_l2 = None if cfg.alpha_l2 == 0 or decoupled else _column(cfg.alpha_l2, k, dtype, device)
    alpha_l1 = None if cfg.alpha_l1 == 0 else _column(cfg.alpha_l1, k, dtype, device)[:, :, 0]
    gen = None
    if any(kp is not None for kp in keep):
        gen = torch.Generator(device=device).manual_seed(seeds[0] + 104729)
    return StepContext(
        layout=cfg.layout,
        act=act,
        act_param=act_param,
        loss=LOSSES[cfg.loss],
        loss_param=cfg.loss_param,
        keep=keep,
        alpha_l2=alpha_l2,
        alpha_l1=alpha_l1,
        weight_mask=cfg.layout.weight_mask(dtype, device) if alpha_l1 is not None else None,
        generator=gen,
    )


def build_optimizer(cfg: FitConfig, params):
    """The vectorized optimizer for ``solver`` over the flat ``params``."""
    est = cfg.est
    name = "adam" if cfg.solver == "amsgrad" else cfg.solver
    hyper = {
        "momentum": est.momentum,
        "beta_1": est.beta_1,
        "beta_2": est.beta_2,
        "epsilon": est.epsilon,
        "weight_decay": cfg.alpha_l2,
    }
    mask = cfg.layout.weight_mask(params.dtype, params.device) if name == "adamw" else None
    return OPTIMIZERS[name](
        params,
        hyper,
        nesterov=bool(est.nesterovs_momentum),
        amsgrad=cfg.solver == "amsgrad",
        decay_mask=mask,
    )
