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


_MIX1, _MIX2 = (_signed(c) for c in (0xBF58476D1CE4E5B9, 0x94D049BB133111EB))


_M32, _M64 = (1 << 32) - 1, (1 << 64) - 1
# lowbias32's multipliers (C. Wellons' 32-bit integer hash), the 32-bit golden ratio
_LB1, _LB2, _GOLDEN32 = 0x7FEB352D, 0x846CA68B - (1 << 32), 0x9E3779B9 - (1 << 32)


def _splitmix64(z: int) -> int:
    """splitmix64's output function on a Python int (mod 2^64)."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _as_int32(v: int) -> int:
    return v - (1 << 32) if v >= 1 << 31 else v


@dataclass
class DropoutNoise:
    """Counter-based uniforms for dropout masks, a hash of ``(seed, step, layer, unit)``.

    A model's masks depend only on its own seed and step count, never on the
    other models of the stack, so a model trained inside a stack (``n_init``,
    a fused search) draws exactly the masks it would draw alone, on any device.
    ``seeds`` is ``[K, 1, 1]`` int64; ``step`` counts training steps.

    Each distinct ``(seed, step, layer)`` gets a 64-bit key by splitmix64 (a few
    scalars); unit ``j`` of the mask is ``lowbias32((j * golden) ^ low) ^ high``
    with ``low`` / ``high`` the key's halves, in int32: most CPUs have no vector
    instruction for 64-bit integer products, and hashing every unit in int64
    (splitmix64, before) cost ~14 ms per [32, 200, 100] mask with 32 seeds on
    one thread, more than the rest of the training step. ``u`` is the top 24
    bits over 2^24, exact in float32 and float64.
    """

    seeds: Tensor
    step: int = 0

    def __post_init__(self):
        # Models sharing a seed (a search's candidates usually share random_state)
        # share their masks: hash each distinct seed once.
        uniq, inverse = torch.unique(self.seeds.view(-1), return_inverse=True)
        self._uniq = uniq.view(-1, 1, 1)
        self._inverse = None if len(uniq) == len(inverse) else inverse
        # on the CPU the keys are a few Python integers; elsewhere they are
        # computed on the device (reading the seeds back would sync every step)
        self._host_seeds = uniq.tolist() if uniq.device.type == "cpu" else None

    def _keys(self, layer: int) -> tuple[Tensor, Tensor]:
        """The low and high 32-bit halves (int32, ``[U, 1, 1]``) of each distinct
        seed's 64-bit key for this step and ``layer``."""
        offset = ((self.step * 64 + layer) * _MIX1) & _M64
        if self._host_seeds is not None:
            keys = [_splitmix64((s * _MIX2 + offset) & _M64) for s in self._host_seeds]
            halves = ([_as_int32(k & _M32) for k in keys], [_as_int32(k >> 32) for k in keys])
            return tuple(torch.tensor(h, dtype=torch.int32).view(-1, 1, 1) for h in halves)
        z = self._uniq * _MIX2 + _signed(offset)
        z = (z ^ _shr64(z, 30)) * _MIX1
        z = (z ^ _shr64(z, 27)) * _MIX2
        z = z ^ _shr64(z, 31)
        halves = (z & _M32, _shr64(z, 32))
        return tuple(torch.where(h > _M32 >> 1, h - (1 << 32), h).to(torch.int32) for h in halves)

    def uniform(self, layer: int, shape, dtype) -> Tensor:
        k, b, h = shape
        low, high = self._keys(layer)
        x = torch.bitwise_xor(self._unit_hash(b * h).view(1, b, h), low)  # [U, b, h]
        tmp = torch.empty_like(x)
        _lowbias32(x, tmp)
        x.bitwise_xor_(high)
        u = _shr_into(x, 8, tmp, 32).to(dtype).mul_(2.0**-24)
        if self._inverse is None:
            return u
        return u.expand(k, b, h) if len(self._uniq) == 1 else u[self._inverse]

    def _unit_hash(self, n: int) -> Tensor:
        """``arange(n) * golden`` (int32, wrapping), kept per size."""
        cache = self.__dict__.setdefault("_units", {})
        if n not in cache:
            unit = torch.arange(n, device=self.seeds.device, dtype=torch.int32)
            cache[n] = unit.mul_(_GOLDEN32)
        return cache[n]


def _shr64(z: Tensor, n: int) -> Tensor:
    """Logical right shift of int64 (torch shifts arithmetically)."""
    return (z >> n) & ((1 << (64 - n)) - 1)


def _shr_into(x: Tensor, n: int, out: Tensor, bits: int) -> Tensor:
    """Logical right shift of a ``bits``-bit integer tensor into ``out``."""
    torch.bitwise_right_shift(x, n, out=out)
    return out.bitwise_and_((1 << (bits - n)) - 1)


def _lowbias32(x: Tensor, tmp: Tensor) -> Tensor:
    """lowbias32 in place on int32: x ^= x >> 16; x *= LB1; x ^= x >> 15;
    x *= LB2; x ^= x >> 16 (logical shifts, wrapping products)."""
    for shift, mul in ((16, _LB1), (15, _LB2), (16, None)):
        x.bitwise_xor_(_shr_into(x, shift, tmp, 32))
        if mul is not None:
            x.mul_(mul)
    return x


def _thin(w: Tensor) -> bool:
    """Whether a layer's products run faster as their transposes: a narrow output
    (2 to 15 units, at most a quarter of the inputs), such as a classifier's
    output layer. Measured on one CPU thread, [K, 200, 100] x [K, 100, 10]: 1.96 ms
    as is vs 0.30 ms transposed at K = 32, 0.070 vs 0.033 ms at K = 1 (the
    weight gradient alike); other shapes gain nothing or lose. One output stays
    as is: see :func:`_single`. Depends on the shape only, never on K, so a
    model computes the same alone and in a stack."""
    n_in, n_out = w.shape[-2], w.shape[-1]
    return 1 < n_out < 16 and 4 * n_out <= n_in


def _single(w: Tensor) -> bool:
    """Whether a layer has one output unit (a regressor's, a binary classifier's).

    Its batched products are matrix-vector products, which torch's CPU ``bmm``
    runs on a slow path once there are two models or more: one CPU thread,
    [8, 200, 100] x [8, 100, 1] took 195 us in float32 against 6 us for one
    model (``benchmarks/bench_single_output.py``). Such a layer's forward is a
    product and a row sum instead, its weight gradient the transposed product
    ``(dz^T a)^T`` (one row by many columns: the fast path) and its input
    gradient the outer product ``dz w^T`` as a broadcast product (one term per
    element, so the same values as a matrix product). Each of these computes a
    model's values independently of the others, so a model computes the same
    alone and in a stack (``tests/nn/test_mlp.py``)."""
    return w.shape[-1] == 1


class Workspace:
    """The large intermediates of a training step, allocated once per shape and
    rewritten by every step (the previous step's backward is done with them).

    On the CPU, an operation writing a fresh ``[32, 200, 100]`` tensor took
    about ten times as long as the same operation in place, so the training
    pass writes its pre-activations, dropout masks and backpropagated gradients
    into these buffers. One stack, one workspace; the last, shorter batch of an
    epoch gets buffers of its own.
    """

    def __init__(self):
        self._buffers: dict = {}

    def __call__(self, name: str, shape: tuple, like: Tensor) -> Tensor:
        key = (name, tuple(shape))
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = torch.empty(shape, dtype=like.dtype, device=like.device)
        return buf


def _linear(
    a: Tensor, w: Tensor, b: Tensor, out: Tensor | None = None, ws: Workspace | None = None
) -> Tensor:
    """``a @ w + b`` per model; ``out`` as :func:`_linear_out_shape` gives;
    ``ws`` holds the temporary of a one-unit layer (a fresh one costs more than
    its arithmetic, see :class:`Workspace`)."""
    if _single(w):  # sum_j a[..., j] * w[j]: the row sums of a broadcast product
        prod = None if ws is None else ws("prod", a.shape, a)
        prod = torch.mul(a, w.view(w.shape[0], 1, -1), out=prod)
        return torch.sum(prod, dim=2, keepdim=True, out=out).add_(b)
    if _thin(w):  # (W^T a^T)^T: the result is a transposed view
        t = torch.baddbmm(b.transpose(1, 2), w.transpose(1, 2), a.transpose(1, 2), out=out)
        return t.transpose(1, 2)
    return torch.baddbmm(b, a, w, out=out)


def _linear_out_shape(a: Tensor, w: Tensor) -> tuple:
    k, rows, n_out = a.shape[0], a.shape[1], w.shape[-1]
    return (k, n_out, rows) if _thin(w) else (k, rows, n_out)


def _weight_grad(a: Tensor, dz: Tensor, out: Tensor, buf: Tensor | None = None) -> None:
    """``out = a^T dz`` (per model), into a view of the gradient tensor.

    The product goes to ``buf`` (``[K, n_out, n_in]`` for a thin or one-unit
    layer, else ``[K, n_in, n_out]``; fresh when None) and is then copied: written
    in place, a model's values would depend on where its gradient lies in the
    ``[K, P]`` tensor, since the CPU kernels' rounding depends on the
    alignment of their output (``tests/nn/test_mlp.py``)."""
    if _thin(out) or _single(out):
        out.copy_(torch.bmm(dz.transpose(1, 2), a, out=buf).transpose(1, 2))
    else:
        out.copy_(torch.bmm(a.transpose(1, 2), dz, out=buf))


def _weight_grad_shape(w: Tensor) -> tuple:
    k, n_in, n_out = w.shape
    return (k, n_out, n_in) if _thin(w) or _single(w) else (k, n_in, n_out)


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


FEW_ROWS = 64
"""Below this many rows, inference multiplies narrow layers as they are: the
transposed product pays off only from about 32 to 128 rows (one CPU thread,
[n, 100] x [100, 10]: 2.9 vs 7.9 us at 1 row, 25 vs 14 us at 128)."""


def forward_rows(
    weights: list[Tensor],
    biases: list[Tensor],
    x: Tensor,
    act: Activation,
    act_param: Tensor | None,
    row_sums: list | None = None,
    per_row: bool = True,
) -> Tensor:
    """Raw outputs ``[n, n_out]`` of one model for rows ``x [n, F]``: inference
    with 2-D products, ``weights`` ``[n_in, n_out]``, ``biases`` ``[n_out]``,
    ``act_param`` ``[1, 1]`` or None. A predict call pays for each operation,
    and on one row each costs far more than its arithmetic: this pass has no
    model dimension to add, view or transpose, and applies ReLU in place.

    ``row_sums``: a list to which each hidden layer's row sums of its
    pre-activations (``[n, 1]``) are appended, before the activation: a row
    whose sum is not finite overflowed there (a saturating activation would
    hide it from the outputs). With ``per_row=False``, each layer's sum over
    all its pre-activations (a 0-d tensor) instead: not finite if any of them
    is not (or if the sum overflows), one cheap check for the whole pass."""
    last = len(weights) - 1
    transpose = x.shape[0] >= FEW_ROWS
    a = x
    for i, (w, b) in enumerate(zip(weights, biases)):
        if transpose and _thin(w):
            z = torch.addmm(b.unsqueeze(1), w.T, a.T).T
        else:
            z = torch.addmm(b, a, w)
        if i == last:
            return z
        if row_sums is not None:
            row_sums.append(z.sum(1, keepdim=True) if per_row else z.sum())
        in_place = act.forward_in_place
        a = act.forward(z, act_param) if in_place is None else in_place(z, act_param)
    raise AssertionError("unreachable")


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
    ws: Workspace | None = None,
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

    With a :class:`Workspace` ``ws`` the intermediates go to its buffers, and
    an activation that needs only its output for the gradient (ReLU) and its
    dropout are applied in place: the cache then holds the dropped activation
    as both ``pre`` and ``post``, which gives that gradient unchanged.
    """
    cache = Cache([], [], [], [])
    in_place = ws is not None and act.forward_in_place is not None
    if low is not None:
        cache.low_weights = [w.to(low) for w in weights]
    a = x
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases)):
        if low is None:
            cache.inputs.append(a)
            out = None if ws is None else ws(f"z{i}", _linear_out_shape(a, w), a)
            z = _linear(a, w, b, out, ws)
        else:
            a = a.to(low)
            cache.inputs.append(a)
            z = _linear_low(a, cache.low_weights[i], b)
        if i == last:
            return z, cache
        h = act.forward_in_place(z, act_param) if in_place else act.forward(z, act_param)
        cache.pre.append(z)
        cache.post.append(h)
        mask = None
        if keep[i] is not None:
            u = noise.uniform(i, h.shape, h.dtype)
            # 1/keep where u < keep, else 0, as float arithmetic in one buffer:
            # comparing makes a bool tensor that then needs a conversion pass
            out = None if ws is None else ws(f"mask{i}", h.shape, h)
            mask = torch.sub(keep[i], u, out=out).sign_().clamp_min_(0).div_(keep[i])
            h = h.mul_(mask) if in_place else h * mask
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
    ws: Workspace | None = None,
) -> None:
    """Backpropagate ``dz = dLoss/dz_out`` (``[K, B, n_out]``) into the gradient views.

    ``ws``: the :class:`Workspace` of the forward pass, for the gradients of
    the hidden activations.

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
            g = grad_weights[i]
            buf = None if ws is None else ws(f"gw{i}", _weight_grad_shape(g), g)
            _weight_grad(cache.inputs[i], dz, g, buf)
        else:
            dz_low = dz.to(low[i].dtype)
            grad_weights[i].copy_(torch.bmm(cache.inputs[i].transpose(1, 2), dz_low))
        if l2 is not None:
            grad_weights[i].addcmul_(weights[i], l2)
        torch.sum(dz, dim=1, keepdim=True, out=grad_biases[i])
        if i == 0:
            return
        if low is None:
            w = weights[i]
            out = None if ws is None else ws(f"da{i}", (w.shape[0], dz.shape[1], w.shape[1]), dz)
            if _single(w):  # an outer product: one term per element
                da = torch.mul(dz, w.transpose(1, 2), out=out)
            else:
                da = torch.bmm(dz, w.transpose(1, 2), out=out)
        else:
            da = torch.bmm(dz_low, low[i].transpose(1, 2)).to(dz.dtype)
        if cache.masks[i - 1] is not None:
            da.mul_(cache.masks[i - 1])
        dz = act.chain(da, cache.pre[i - 1], cache.post[i - 1], act_param)
