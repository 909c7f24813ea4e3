"""A stack of K same-shaped MLPs as one batched computation, with backprop by hand.

All parameters of model ``k`` live in row ``k`` of one flat ``[K, P]`` tensor,
laid out layer by layer as ``W_1 | b_1 | W_2 | b_2 | ...``. :class:`Layout`
hands out ``[K, n_in, n_out]`` weight views and ``[K, 1, n_out]`` bias views
of that tensor, so the optimizer updates every parameter of every model with a
few whole-tensor operations, and the backward pass writes gradients straight
into the matching views of a flat gradient tensor.

The gradients are written out (the lecture's backpropagation) rather than
taken from autograd: on small tabular networks the cost of a step is per-
operation overhead, and autograd's graph bookkeeping is a large part of it.
``tests/nn/test_mlp.py`` checks them against autograd.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from .activations import Activation


@dataclass(frozen=True)
class Layout:
    """Where each layer's weights and biases sit in a flat ``[K, P]`` row."""

    units: tuple[int, ...]
    offsets: tuple[tuple[int, int, int], ...] = field(init=False)
    n_params: int = field(init=False)

    def __post_init__(self):
        offsets, start = [], 0
        for n_in, n_out in zip(self.units[:-1], self.units[1:]):
            offsets.append((start, start + n_in * n_out, start + n_in * n_out + n_out))
            start += n_in * n_out + n_out
        object.__setattr__(self, "offsets", tuple(offsets))
        object.__setattr__(self, "n_params", start)

    @property
    def n_layers(self) -> int:
        """Number of weight layers (hidden layers + 1)."""
        return len(self.units) - 1

    def weights(self, flat: Tensor) -> list[Tensor]:
        """``[K, n_in, n_out]`` views of the weights in ``flat``."""
        k = flat.shape[0]
        return [
            flat[:, a:b].view(k, n_in, n_out)
            for (a, b, _), n_in, n_out in zip(self.offsets, self.units[:-1], self.units[1:])
        ]

    def biases(self, flat: Tensor) -> list[Tensor]:
        """``[K, 1, n_out]`` views of the biases in ``flat``."""
        k = flat.shape[0]
        return [flat[:, b:c].view(k, 1, c - b) for (_, b, c) in self.offsets]

    def weight_mask(self, dtype, device) -> Tensor:
        """``[1, P]`` tensor: 1 on weights, 0 on biases (penalties skip biases)."""
        mask = torch.zeros(1, self.n_params, dtype=dtype, device=device)
        for a, b, _ in self.offsets:
            mask[:, a:b] = 1
        return mask

    def pack(self, coefs: list, intercepts: list, dtype, device) -> Tensor:
        """Flat ``[K, P]`` tensor from per-layer ``[K, n_in, n_out]`` / ``[K, n_out]`` arrays."""
        k = len(coefs[0])
        flat = torch.empty(k, self.n_params, dtype=dtype, device=device)
        for w_view, b_view, w, b in zip(self.weights(flat), self.biases(flat), coefs, intercepts):
            w_view.copy_(torch.as_tensor(w).reshape(w_view.shape))
            b_view.copy_(torch.as_tensor(b).reshape(b_view.shape))
        return flat


@dataclass
class Cache:
    """What the backward pass needs from the forward pass of one batch."""

    inputs: list[Tensor]  # input of each layer (after dropout for hidden layers)
    pre: list[Tensor]  # pre-activation z of each hidden layer
    post: list[Tensor]  # activation a of each hidden layer (before dropout)
    masks: list[Tensor | None]  # scaled dropout masks, one per hidden layer
    # mixed precision: the weights cast to the matmul dtype (``inputs`` are cast too);
    # None when the matmuls run in the training dtype
    low_weights: list[Tensor] | None = None


def _signed(c: int) -> int:
    return c - (1 << 64) if c >= 1 << 63 else c


_GOLDEN, _MIX1, _MIX2 = (
    _signed(c) for c in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)
)


def _shr(z: Tensor, n: int) -> Tensor:
    """Logical right shift of int64 (torch shifts arithmetically)."""
    return (z >> n) & ((1 << (64 - n)) - 1)


@dataclass
class DropoutNoise:
    """Counter-based uniforms for dropout masks: ``u = splitmix64(seed, step, layer, unit)``.

    A model's masks depend only on its own seed and step count, never on the
    other models of the stack, so a model trained inside a stack (``n_init``,
    a fused search) draws exactly the masks it would draw alone, on any device.
    ``seeds`` is ``[K, 1, 1]`` int64; ``step`` counts training steps.
    """

    seeds: Tensor
    step: int = 0

    def __post_init__(self):
        # Models sharing a seed (a search's candidates usually share random_state)
        # share their masks: hash each distinct seed once.
        uniq, inverse = torch.unique(self.seeds.view(-1), return_inverse=True)
        self._uniq = uniq.view(-1, 1, 1)
        self._inverse = None if len(uniq) == len(inverse) else inverse

    def uniform(self, layer: int, shape, dtype) -> Tensor:
        k, b, h = shape
        unit = torch.arange(b * h, device=self.seeds.device, dtype=torch.int64).view(1, b, h)
        offset = _signed(((self.step * 64 + layer) * _MIX1) % (1 << 64))
        z = self._uniq * _MIX2 + offset + unit * _GOLDEN
        z = (z ^ _shr(z, 30)) * _MIX1
        z = (z ^ _shr(z, 27)) * _MIX2
        z = z ^ _shr(z, 31)
        if dtype == torch.float64:
            u = _shr(z, 11).to(torch.float64).mul_(2.0**-53)
        else:  # the top 24 bits: exactly representable in float32
            u = _shr(z, 40).to(dtype).mul_(2.0**-24)
        if self._inverse is None:
            return u
        return u.expand(k, b, h) if len(self._uniq) == 1 else u[self._inverse]


def _linear(a: Tensor, w: Tensor, b: Tensor) -> Tensor:
    return torch.baddbmm(b, a, w)


def forward(
    weights: list[Tensor],
    biases: list[Tensor],
    x: Tensor,
    act: Activation,
    act_param: Tensor | None,
) -> Tensor:
    """Raw outputs ``[K, B, n_out]`` of the stack for inputs ``x`` (``[K, B, F]``
    or ``[B, F]`` shared by every model). No dropout: this is the inference pass."""
    a = x if x.dim() == 3 else x.unsqueeze(0).expand(weights[0].shape[0], -1, -1)
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases)):
        z = _linear(a, w, b)
        a = z if i == last else act.forward(z, act_param)
    return a


def _linear_low(a: Tensor, w: Tensor, b: Tensor) -> Tensor:
    # the product in the low dtype (accumulated in float32 by torch's CPU kernels
    # and by cuBLAS, up to its optional reduced-precision split-K reductions),
    # rounded once to the low dtype, then the bias added in b's dtype
    return torch.bmm(a, w).to(b.dtype).add_(b)


def forward_train(
    weights: list[Tensor],
    biases: list[Tensor],
    x: Tensor,
    act: Activation,
    act_param: Tensor | None,
    keep: list[Tensor | None],
    noise: DropoutNoise | None,
    low: torch.dtype | None = None,
) -> tuple[Tensor, Cache]:
    """Training forward pass: raw outputs and the cache for :func:`backward`.

    ``keep[i]`` is the ``[K, 1, 1]`` keep-probability (1 - dropout) of hidden
    layer ``i``, or None for no dropout there (inverted dropout: kept units are
    scaled by ``1/keep`` so inference needs no rescaling).

    ``low`` (``torch.bfloat16`` or ``torch.float16``) runs the matrix products
    in that dtype, mixed precision: each layer's input and weights are cast to
    it, the product is cast back to the weights' dtype, and the bias, the
    activation, dropout and everything after stay in the weights' dtype.
    :func:`backward` then multiplies with the same cast operands.
    """
    cache = Cache([], [], [], [])
    if low is not None:
        cache.low_weights = [w.to(low) for w in weights]
    a = x
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases)):
        if low is None:
            cache.inputs.append(a)
            z = _linear(a, w, b)
        else:
            a = a.to(low)
            cache.inputs.append(a)
            z = _linear_low(a, cache.low_weights[i], b)
        if i == last:
            return z, cache
        h = act.forward(z, act_param)
        cache.pre.append(z)
        cache.post.append(h)
        mask = None
        if keep[i] is not None:
            u = noise.uniform(i, h.shape, h.dtype)
            mask = (u < keep[i]).to(h.dtype).div_(keep[i])
            h = h * mask
        cache.masks.append(mask)
        a = h
    raise AssertionError("unreachable")


def backward(
    weights: list[Tensor],
    grad_weights: list[Tensor],
    grad_biases: list[Tensor],
    cache: Cache,
    dz: Tensor,
    act: Activation,
    act_param: Tensor | None,
    l2: Tensor | None,
) -> None:
    """Backpropagate ``dz = dLoss/dz_out`` (``[K, B, n_out]``) into the gradient views.

    ``l2`` is the per-model ``[K, 1, 1]`` coefficient of the L2 gradient
    ``l2 * W`` added to every weight gradient (never to biases), or None.

    After a mixed-precision :func:`forward_train` (``cache.low_weights`` set),
    the two products of each layer take ``dz`` cast to the low dtype and the
    cast inputs and weights of the forward pass, as autocast's backward does;
    the bias gradient, the L2 term and the activation derivative stay in the
    gradients' dtype.
    """
    low = cache.low_weights
    for i in range(len(weights) - 1, -1, -1):
        if low is None:
            torch.bmm(cache.inputs[i].transpose(1, 2), dz, out=grad_weights[i])
        else:
            dz_low = dz.to(low[i].dtype)
            grad_weights[i].copy_(torch.bmm(cache.inputs[i].transpose(1, 2), dz_low))
        if l2 is not None:
            grad_weights[i].addcmul_(weights[i], l2)
        torch.sum(dz, dim=1, keepdim=True, out=grad_biases[i])
        if i == 0:
            return
        if low is None:
            da = torch.bmm(dz, weights[i].transpose(1, 2))
        else:
            da = torch.bmm(dz_low, low[i].transpose(1, 2)).to(dz.dtype)
        if cache.masks[i - 1] is not None:
            da.mul_(cache.masks[i - 1])
        dz = da.mul_(act.derivative(cache.pre[i - 1], cache.post[i - 1], act_param))
