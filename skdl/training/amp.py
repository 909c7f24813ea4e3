"""Mixed precision: the matmul dtypes of ``precision`` and fp16's dynamic loss scale.

With ``precision='bf16'`` or ``'fp16'`` the training step casts the operands of
its matrix products (forward and backward) to the low dtype and the products
back to float32; everything else (activations, loss, penalties, the weights,
the optimizer state and the update) stays in float32, the master weights of
standard mixed precision. See :func:`skdl.nn.mlp.forward_train`.

float16 has 5 exponent bits: gradients below about ``6e-8`` flush to zero.
:class:`LossScaledOptimizer` is ``torch.amp.GradScaler``'s dynamic loss
scale, with one scale per model of the stack and no host synchronisation:
the training step multiplies ``dLoss/dz`` by the scale before the backward
pass, and the wrapped optimizer divides the gradient by it, skips (per
model, through the optimizer's ``active`` mask) every model whose gradient
is not finite and halves that model's scale, and doubles a model's scale
after ``growth_interval`` finite steps in a row.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..optim import SCALER_STATE

LOW_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
"""The matmul dtype of each ``precision``."""

INIT_SCALE = 2.0**16
GROWTH_FACTOR = 2.0
BACKOFF_FACTOR = 0.5
GROWTH_INTERVAL = 2000
"""``torch.amp.GradScaler``'s defaults."""


def low_dtype(precision: str | None) -> torch.dtype | None:
    """The matmul dtype of ``precision`` (None: the training dtype itself)."""
    return None if precision is None else LOW_DTYPES[precision]


class LossScaledOptimizer:
    """A vectorized optimizer behind a dynamic loss scale, one scale per model.

    Parameters
    ----------
    optimizer : skdl.optim.Optimizer
        The optimizer of the stack; its ``params`` is ``[K, P]``.
    init_scale, growth_factor, backoff_factor, growth_interval : default=None
        As in ``torch.amp.GradScaler``; None takes :data:`INIT_SCALE`, ... (its defaults).

    Attributes
    ----------
    scale : Tensor of shape (K, 1)
        The current loss scale of each model (a power of two).
    growth_tracker : Tensor of shape (K, 1), int32
        Finite steps in a row since the scale last changed.
    finite : Tensor of shape (K, 1), bool
        Whether each model's last gradient was finite (False: the step was skipped).
    """

    def __init__(
        self,
        optimizer,
        init_scale: float | None = None,
        growth_factor: float | None = None,
        backoff_factor: float | None = None,
        growth_interval: int | None = None,
    ) -> None:
        self.optimizer = optimizer
        params = optimizer.params
        k = params.shape[0]
        # None: the module's constants, read now (so a test may change them)
        init_scale = INIT_SCALE if init_scale is None else init_scale
        self.growth_factor = GROWTH_FACTOR if growth_factor is None else growth_factor
        self.backoff_factor = BACKOFF_FACTOR if backoff_factor is None else backoff_factor
        self.growth_interval = GROWTH_INTERVAL if growth_interval is None else growth_interval
        self.scale = torch.full((k, 1), init_scale, dtype=params.dtype, device=params.device)
        self.growth_tracker = torch.zeros((k, 1), dtype=torch.int32, device=params.device)
        self.finite = torch.ones((k, 1), dtype=torch.bool, device=params.device)

    @property
    def params(self) -> Tensor:
        return self.optimizer.params

    @property
    def scalar_dtype(self) -> torch.dtype:
        return self.optimizer.scalar_dtype

    def step(self, grad: Tensor, lr: Tensor, active: Tensor | None = None) -> None:
        """Unscale ``grad`` (computed from a loss scaled by :attr:`scale`), step the
        models whose gradient is finite, and update the scales; no host sync.

        ``active`` (``[K, 1]`` bool or None) marks the models that saw this batch;
        the others keep their weights, optimizer state and loss scale.
        """
        with torch.no_grad():
            grad.mul_(self.scale.reciprocal())  # powers of two: exact
            finite = torch.isfinite(grad).all(1, keepdim=True)
            self.finite = finite
            seen = None if active is None else active.reshape(-1, 1).to(torch.bool)
            self.optimizer.step(grad, lr, finite if seen is None else finite & seen)
            self._update(finite, seen)

    def preconditioner(self) -> Tensor | None:
        """The wrapped optimizer's :meth:`~skdl.optim.Optimizer.preconditioner`."""
        return self.optimizer.preconditioner()

    def _update(self, finite: Tensor, seen: Tensor | None) -> None:
        tracker = torch.where(finite, self.growth_tracker + 1, 0)
        grow = tracker >= self.growth_interval
        factor = torch.where(
            finite,
            torch.where(grow, self.growth_factor, 1.0),
            self.backoff_factor,
        ).to(self.scale.dtype)
        scale = self.scale * factor
        tracker = torch.where(grow, 0, tracker).to(torch.int32)
        if seen is not None:
            scale = torch.where(seen, scale, self.scale)
            tracker = torch.where(seen, tracker, self.growth_tracker)
        self.scale.copy_(scale)
        self.growth_tracker.copy_(tracker)

    def state_dict(self, rows: slice | None = None) -> dict[str, Tensor]:
        """The optimizer's state plus ``loss_scale`` and ``loss_scale_growth_tracker``
        (of the models ``rows``, a slice, or of all of them)."""
        rows = slice(None) if rows is None else rows
        state = self.optimizer.state_dict(rows)
        state[SCALER_STATE[0]] = self.scale[rows].clone()
        state[SCALER_STATE[1]] = self.growth_tracker[rows].clone()
        return state

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Load a :meth:`state_dict`; a state saved without a loss scale (a fit
        with another ``precision``) keeps the fresh scale."""
        state = dict(state)
        scale, tracker = (state.pop(name, None) for name in SCALER_STATE)
        self.optimizer.load_state_dict(state)
        if scale is not None and tracker is not None:
            self.scale.copy_(scale)
            self.growth_tracker.copy_(tracker)

    def __repr__(self) -> str:
        return f"LossScaledOptimizer({self.optimizer!r})"
