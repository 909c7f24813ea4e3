"""One model's inference on a few rows, in numpy.

A one-row ``predict`` is mostly per-operation overhead: a torch operation
costs a few microseconds before its arithmetic, a numpy one under one, and
the fitted ``coefs_`` / ``intercepts_`` already are numpy arrays (no tensor to
make). Below :data:`NUMPY_ROWS` rows the estimators run the network here;
each function is the numpy twin of the torch one in :data:`ACTIVATIONS` /
:data:`LOSSES` of the same name, equal to float tolerance (``tests/nn/test_rows.py``).

Every pre-activation is checked: a float32 product of finite inputs near the
largest float32 can overflow to inf (and inf - inf to NaN) inside a hidden
layer, where a saturating activation (tanh, logistic, ReLU at -inf) would hide
it and return a wrong finite output. The caller recomputes such rows in float64.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

NUMPY_ROWS = 32
"""Inference on fewer rows than this runs in numpy (one thread, [n, 64] x
[64, 100] x [100, 10]: numpy ~6 us vs torch ~30 us at 1 row; the two meet
around 32-64 rows, where torch's transposed thin products take over)."""

# SELU constants, as torch.selu (Klambauer et al., 2017)
_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _sigmoid(z):
    # 1 / (1 + exp(-z)) without overflow: exp(-log(1 + exp(-z)))
    return np.exp(-np.logaddexp(0.0, -z, out=z), out=z)


def _elu(z, p):
    return np.where(z > 0, z, p * np.expm1(np.minimum(z, 0.0)))


def _selu(z, p):
    return _SELU_SCALE * _elu(z, _SELU_ALPHA)


def _silu(z, p):
    return z * _sigmoid(z.copy())


def _softplus(z, p):
    # torch's softplus (beta=1, threshold=20): z itself above the threshold
    return np.where(z > 20.0, z, np.logaddexp(0.0, z))


ROW_ACTIVATIONS: dict[str, Callable[[np.ndarray, float | None], np.ndarray]] = {
    "identity": lambda z, p: z,
    "logistic": lambda z, p: _sigmoid(z),
    "tanh": lambda z, p: np.tanh(z, out=z),
    "relu": lambda z, p: np.maximum(z, 0.0, out=z),
    "leaky_relu": lambda z, p: np.where(z > 0, z, z * z.dtype.type(p)),
    "elu": lambda z, p: _elu(z, z.dtype.type(p)),
    "selu": _selu,
    "silu": _silu,
    "softplus": _softplus,
}
"""Hidden activations with a numpy twin, ``f(z, param) -> a`` (may overwrite
``z``); the others (``gelu``: numpy has no ``erf``) always run in torch."""


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _exp(z):
    with np.errstate(over="ignore"):  # as torch.exp: inf past float64's range
        return np.exp(z)


ROW_OUTPUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "softmax": _softmax,
    "logistic": lambda z: _sigmoid(z.copy()),
    "identity": lambda z: z,
    "exp": _exp,
}
"""Output activations by ``out_activation``, applied to float64 raw outputs."""


def forward_numpy(coefs, intercepts, x, activation: str, param, per_row: bool = False):
    """Raw outputs ``[n, n_out]`` of one network for rows ``x [n, F]``, and
    whether every pre-activation is finite: one bool, or one per row with
    ``per_row`` (to find the rows to recompute).

    ``coefs`` / ``intercepts``: ``[n_in, n_out]`` / ``[n_out]`` arrays of x's
    dtype. Once a pre-activation is not finite, the later ones are not checked
    (without ``per_row``): the answer is known.
    """
    act = ROW_ACTIVATIONS[activation]
    last = len(coefs) - 1
    finite = np.ones(len(x), dtype=bool) if per_row else True
    a = x
    for i, (w, b) in enumerate(zip(coefs, intercepts)):
        # Overflow is expected and handled: the caller reads ``finite`` and
        # recomputes or refuses those rows, as the torch path does.
        with np.errstate(over="ignore", invalid="ignore"):
            z = a @ w
            z += b
        if per_row:
            finite &= np.isfinite(z).all(axis=1)
        elif finite:
            finite = bool(np.isfinite(z).all())
        if i == last:
            return z, finite
        a = act(z, param)
    raise AssertionError("unreachable")


__all__ = ["NUMPY_ROWS", "ROW_ACTIVATIONS", "ROW_OUTPUTS", "forward_numpy"]
