"""Hidden-layer activation functions and their derivatives.

Each activation is a pair of pure functions on stacked tensors:
``forward(z, param) -> a`` and ``derivative(z, a, param) -> da/dz``. ``param``
is a per-model tensor broadcastable to ``z`` (shape ``[K, 1, 1]``) holding the
slope of ``leaky_relu`` or the alpha of ``elu``; the others ignore it. The
derivative receives both the pre-activation ``z`` and the output ``a`` so each
function can use whichever is cheaper (``a * (1 - a)`` for the logistic).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

# SELU constants (Klambauer et al., 2017, "Self-Normalizing Neural Networks").
_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Activation:
    """An activation function, its derivative and its initialisation family.

    ``family`` is ``"relu"`` for the rectifier family (He initialisation under
    ``init='lecture'``) and ``"glorot"`` otherwise (Xavier/Glorot), the lecture's
    rule. ``default_param`` is the value used when ``activation_param=None``.
    """

    forward: Callable[[Tensor, Tensor | None], Tensor]
    derivative: Callable[[Tensor, Tensor, Tensor | None], Tensor]
    family: str
    default_param: float | None = None
    # ``backward(da, z, a, param) -> da * derivative`` in one pass where a fused
    # kernel exists; None: multiply by ``derivative`` (see :meth:`chain`). An
    # activation with one needs only its output ``a``, never ``z``: the training
    # pass may then apply it (and dropout) in place (see skdl.nn.mlp).
    fused_backward: Callable[[Tensor, Tensor, Tensor, Tensor | None], Tensor] | None = None
    # ``forward`` overwriting ``z``; only for activations with a ``fused_backward``
    forward_in_place: Callable[[Tensor, Tensor | None], Tensor] | None = None

    def chain(self, da: Tensor, z: Tensor, a: Tensor, param: Tensor | None) -> Tensor:
        """``da * derivative(z, a, param)``: the gradient through the activation
        (may overwrite ``da``)."""
        if self.fused_backward is not None:
            return self.fused_backward(da, z, a, param)
        return da.mul_(self.derivative(z, a, param))


def _identity(z, p):
    return z


def _identity_d(z, a, p):
    return torch.ones_like(z)


def _logistic_d(z, a, p):
    return a * (1.0 - a)


def _tanh_d(z, a, p):
    return 1.0 - a * a


def _relu_d(z, a, p):
    return (z > 0).to(z.dtype)


def _relu_backward(da, z, a, p):
    # torch's own ReLU gradient kernel, in place: da where a > 0 (a > 0 exactly
    # when z > 0), one vectorized pass instead of three (compare, convert the
    # mask to floats, multiply), each writing a new tensor
    return torch.ops.aten.threshold_backward.grad_input(da, a, 0.0, grad_input=da)


def _leaky_relu(z, p):
    return torch.where(z > 0, z, z * p)


def _leaky_relu_d(z, a, p):
    return torch.where(z > 0, torch.ones_like(z), p.expand_as(z))


def _elu(z, p):
    return torch.where(z > 0, z, p * torch.expm1(torch.clamp(z, max=0.0)))


def _elu_d(z, a, p):
    return torch.where(z > 0, torch.ones_like(z), a + p)


def _selu(z, p):
    return torch.selu(z)


def _selu_d(z, a, p):
    return torch.where(z > 0, torch.full_like(z, _SELU_SCALE), a + _SELU_SCALE * _SELU_ALPHA)


def _gelu(z, p):
    return torch.nn.functional.gelu(z)


def _gelu_d(z, a, p):
    cdf = 0.5 * (1.0 + torch.erf(z * _INV_SQRT_2))
    pdf = torch.exp(-0.5 * z * z) * _INV_SQRT_2PI
    return cdf + z * pdf


def _silu(z, p):
    return torch.nn.functional.silu(z)


def _silu_d(z, a, p):
    s = torch.sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def _softplus(z, p):
    return torch.nn.functional.softplus(z)


def _softplus_d(z, a, p):
    return torch.sigmoid(z)


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation(_identity, _identity_d, "glorot"),
    "logistic": Activation(lambda z, p: torch.sigmoid(z), _logistic_d, "glorot"),
    "tanh": Activation(lambda z, p: torch.tanh(z), _tanh_d, "glorot"),
    "relu": Activation(
        lambda z, p: torch.relu(z), _relu_d, "relu", None, _relu_backward, lambda z, p: z.relu_()
    ),
    "leaky_relu": Activation(_leaky_relu, _leaky_relu_d, "relu", 0.01),
    "elu": Activation(_elu, _elu_d, "relu", 1.0),
    "selu": Activation(_selu, _selu_d, "selu"),
    "gelu": Activation(_gelu, _gelu_d, "relu"),
    "silu": Activation(_silu, _silu_d, "relu"),
    "softplus": Activation(_softplus, _softplus_d, "relu"),
}
"""Registry of hidden-layer activations, keyed by the ``activation`` parameter."""

PARAMETRIC_ACTIVATIONS = frozenset(
    name for name, act in ACTIVATIONS.items() if act.default_param is not None
)
