"""The vectorized optimizer base class: K models, one flat ``[K, P]`` tensor.

Every algorithm in :mod:`skdl.optim.optimizers` is a subclass that only writes
``_update``; the bookkeeping shared by all of them lives here: reading the
per-model hyperparameters, allocating state and scratch buffers once, the
``active`` mask, and ``state_dict`` round trips.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

HYPERPARAMETERS = ("momentum", "beta_1", "beta_2", "epsilon", "weight_decay")

SCALER_STATE = ("loss_scale", "loss_scale_growth_tracker")
"""State entries of the fp16 loss scale (:class:`skdl.training.amp.LossScaledOptimizer`),
saved along with the optimizer's; :meth:`Optimizer.load_state_dict` ignores them, so
a ``warm_start`` fit may change ``precision``."""


def _scalar_dtype(params: Tensor) -> torch.dtype:
    # torch.optim computes bias corrections and step sizes in Python floats
    # (double precision) even for float32 parameters; the [K, 1] per-model
    # scalars do the same, except on MPS, which has no float64.
    return torch.float32 if params.device.type == "mps" else torch.float64


def _column(value, name: str, n_models: int, like: Tensor) -> Tensor:
    """Return ``value`` as a ``[K, 1]`` tensor with ``like``'s dtype and device."""
    column = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if column.ndim == 0:
        column = column.expand(n_models, 1)
    elif column.shape == (n_models,):
        column = column.reshape(n_models, 1)
    if column.shape != (n_models, 1):
        raise ValueError(
            f"The hyperparameter {name!r} must be a tensor of shape [K, 1] = "
            f"[{n_models}, 1], one value per model. Got shape "
            f"{list(column.shape)} instead."
        )
    return column.clone()


class Optimizer:
    """Base class of the vectorized optimizers: K models updated as one tensor.

    All parameters of model ``k`` are row ``k`` of ``params``, a ``[K, P]``
    tensor that :meth:`step` updates in place. Hyperparameters are per model
    (``[K, 1]`` tensors), so one stack can hold models with different
    learning rates, betas or momenta. Each subclass reproduces one
    ``torch.optim`` algorithm row by row.

    Parameters
    ----------
    params : Tensor of shape (K, P)
        The parameters of the K models, updated in place by :meth:`step`.
    hyper : dict of str to Tensor of shape (K, 1)
        Per-model hyperparameters. Only the names in :attr:`hyperparameters`
        are read; other keys are ignored. Scalars broadcast to all models.
    nesterov : bool, default=False
        Nesterov momentum (:class:`SGD` only; ignored by the others).
    amsgrad : bool, default=False
        AMSGrad variant (:class:`Adam` and :class:`AdamW` only).
    decay_mask : Tensor of shape (1, P), default=None
        1 where decoupled weight decay applies (weights), 0 where it does not
        (biases). None applies it everywhere. Read by :class:`AdamW` only.

    Attributes
    ----------
    params : Tensor of shape (K, P)
        The tensor passed in (not a copy).
    hyper : dict of str to Tensor of shape (K, 1)
        The hyperparameters read, as float64 columns (float32 on MPS).
    state : dict of str to Tensor
        The optimizer state: ``"step"``, the per-model step counts of shape
        (K, 1), and the algorithm's buffers (``"exp_avg"``, ...), named as in
        ``torch.optim``.
    """

    name: ClassVar[str] = ""
    hyperparameters: ClassVar[tuple[str, ...]] = ()
    _n_scratch: ClassVar[int] = 1

    def __init__(
        self,
        params: Tensor,
        hyper: dict[str, Tensor],
        *,
        nesterov: bool = False,
        amsgrad: bool = False,
        decay_mask: Tensor | None = None,
    ) -> None:
        if params.ndim != 2:
            raise ValueError(
                "params must be a 2-D tensor of shape [K, P] (one row per model). "
                f"Got shape {list(params.shape)} instead."
            )
        missing = [name for name in self.hyperparameters if name not in hyper]
        if missing:
            raise ValueError(
                f"The {self.name!r} optimizer needs the hyperparameters "
                f"{list(self.hyperparameters)}, but {missing} are missing from hyper."
            )
        n_models = params.shape[0]
        self.params = params
        self.nesterov = nesterov
        self.amsgrad = amsgrad
        self._scalars = torch.empty(0, dtype=_scalar_dtype(params), device=params.device)
        self.hyper = {
            name: _column(hyper[name], name, n_models, self._scalars)
            for name in self.hyperparameters
        }
        self.decay_mask = None
        if decay_mask is not None:
            mask = torch.as_tensor(decay_mask, device=params.device)
            if mask.numel() != params.shape[1]:
                raise ValueError(
                    f"decay_mask must have one entry per parameter, shape [1, "
                    f"{params.shape[1]}]. Got shape {list(mask.shape)} instead."
                )
            self.decay_mask = mask.reshape(1, -1).to(torch.bool)
        self.state = {"step": self._zeros_column()}
        for name in self._buffers():
            self.state[name] = torch.zeros_like(params)
        self._scratch = [torch.empty_like(params) for _ in range(self._n_scratch)]
        self._setup()

    @property
    def scalar_dtype(self) -> torch.dtype:
        """The dtype of the per-model scalars, the learning rate of :meth:`step`
        included: float64 (float32 on MPS), whatever the parameters' dtype."""
        return self._scalars.dtype

    def _zeros_column(self) -> Tensor:
        """Return a ``[K, 1]`` column of zeros in the per-model scalar dtype."""
        return torch.zeros(
            self.params.shape[0],
            1,
            dtype=self._scalars.dtype,
            device=self.params.device,
        )

    def _buffers(self) -> tuple[str, ...]:
        """Names of the ``[K, P]`` state buffers, all zero-initialised."""
        return ()

    def _setup(self) -> None:
        """Precompute constant per-model factors (cast to the params dtype)."""

    def _cast(self, column: Tensor) -> Tensor:
        """Cast a ``[K, 1]`` scalar column to the params dtype for ``[K, P]`` ops."""
        return column.to(self.params.dtype)

    def _update(self, grad: Tensor, lr: Tensor) -> None:
        raise NotImplementedError

    def preconditioner(self) -> Tensor | None:
        """The per-parameter factor ``D^-1`` that the last :meth:`step` applied to
        its learning rate, ``[K, P]`` (written into a scratch buffer: read it
        before the next step), or None where it is the identity (SGD).

        Adaptive methods step ``params -= lr * D^-1 * direction`` with a diagonal
        ``D`` (Adam: ``sqrt(v_hat) + eps``). The proximal step of a non-smooth
        penalty must use the same metric: the L1 soft-threshold of a step is
        ``lr * alpha * D^-1`` per weight (preconditioned proximal gradient; see
        :func:`skdl.training.steps._l1_proximal`).
        """
        return None

    def step(self, grad: Tensor, lr: Tensor, active: Tensor | None = None) -> None:
        """Update :attr:`params` in place from one gradient.

        Parameters
        ----------
        grad : Tensor of shape (K, P)
            The gradient of each model's loss with respect to its row of params.
        lr : Tensor of shape (K, 1)
            The learning rate of each model for this step (schedules applied).
        active : Tensor of shape (K, 1) and dtype bool, default=None
            Which models take this step. A model with ``active=False`` is left
            exactly as it was: params, state and step count (as if it had not
            seen the batch). None means all models step.
        """
        lr = torch.as_tensor(lr, dtype=self._scalars.dtype, device=self.params.device)
        with torch.no_grad():
            if active is None:
                self._update(grad, lr)
                return
            # Rare path (the last, ragged batch of an epoch): step every model,
            # then put back the saved rows of the inactive ones, bit for bit.
            tensors = [self.params, *self.state.values()]
            saved = [tensor.clone() for tensor in tensors]
            self._update(grad, lr)
            active = active.reshape(-1, 1).to(self.params.device, torch.bool)
            for tensor, old in zip(tensors, saved):
                torch.where(active, tensor, old, out=tensor)

    def state_dict(self, rows: slice | None = None) -> dict[str, Tensor]:
        """Return a copy of the optimizer state, step counts included.

        Parameters
        ----------
        rows : slice, default=None
            Copy only these models' rows (e.g. ``slice(k, k + 1)``: one model of
            the stack); None copies every model.

        Returns
        -------
        state : dict of str to Tensor
            ``"step"`` (shape (K, 1)) and the algorithm's buffers.
        """
        rows = slice(None) if rows is None else rows
        return {name: tensor[rows].clone() for name, tensor in self.state.items()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Copy a state returned by :meth:`state_dict` into this optimizer.

        Parameters
        ----------
        state : dict of str to Tensor
            Must hold exactly the keys of :attr:`state`, with the same shapes
            (entries of a loss scale, :data:`SCALER_STATE`, are ignored).
        """
        state = {name: value for name, value in state.items() if name not in SCALER_STATE}
        if set(state) != set(self.state):
            raise ValueError(
                f"The state of the {self.name!r} optimizer has keys "
                f"{sorted(self.state)}. Got keys {sorted(state)} instead; was it "
                "saved from another optimizer or with other options (amsgrad)?"
            )
        for name, tensor in self.state.items():
            if state[name].shape != tensor.shape:
                raise ValueError(
                    f"The state entry {name!r} must have shape {list(tensor.shape)}. "
                    f"Got shape {list(state[name].shape)} instead."
                )
            tensor.copy_(state[name])

    def __repr__(self) -> str:
        k, p = self.params.shape
        return f"{type(self).__name__}(K={k}, P={p})"
