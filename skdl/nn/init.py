"""Weight initialisers.

Each initialiser draws one ``[fan_in, fan_out]`` weight matrix from a
``torch.Generator`` (one generator per model of the stack, so a model's
weights do not depend on how many models share the stack). Biases always
start at zero.

The lecture's rule (``init='auto'``): He, ``N(0, 2/N)`` with ``N = fan_in``,
for the rectifier family, and the lecture's "Xavier", ``N(0, 1/N)``, for
tanh, logistic and identity (also the right choice for SELU).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

Initializer = Callable[[int, int, torch.Generator, torch.dtype], Tensor]


# The draws are made in float64 and rounded to the training dtype, so a seed gives
# the same network whatever the dtype (float32 weights are float64's rounded), as
# scikit-learn's initialisation, which does not depend on X's dtype either.
def _normal(fan_in, fan_out, gen, dtype, std):
    return (torch.randn(fan_in, fan_out, generator=gen, dtype=torch.float64) * std).to(dtype)


def _uniform(fan_in, fan_out, gen, dtype, bound):
    u = torch.rand(fan_in, fan_out, generator=gen, dtype=torch.float64)
    return u.mul_(2.0 * bound).sub_(bound).to(dtype)


def he_normal(fan_in, fan_out, gen, dtype):
    """He et al. (2015): ``N(0, 2 / fan_in)``."""
    return _normal(fan_in, fan_out, gen, dtype, math.sqrt(2.0 / fan_in))


def he_uniform(fan_in, fan_out, gen, dtype):
    """He uniform: ``U(-b, b)`` with ``b = sqrt(6 / fan_in)`` (variance 2/fan_in)."""
    return _uniform(fan_in, fan_out, gen, dtype, math.sqrt(6.0 / fan_in))


def xavier_normal(fan_in, fan_out, gen, dtype):
    """Glorot & Bengio (2010): ``N(0, 2 / (fan_in + fan_out))``."""
    return _normal(fan_in, fan_out, gen, dtype, math.sqrt(2.0 / (fan_in + fan_out)))


def xavier_uniform(fan_in, fan_out, gen, dtype):
    """Glorot uniform: ``U(-b, b)`` with ``b = sqrt(6 / (fan_in + fan_out))``."""
    return _uniform(fan_in, fan_out, gen, dtype, math.sqrt(6.0 / (fan_in + fan_out)))


def lecun_normal(fan_in, fan_out, gen, dtype):
    """LeCun (1998): ``N(0, 1 / fan_in)``; the lecture's rule for tanh."""
    return _normal(fan_in, fan_out, gen, dtype, math.sqrt(1.0 / fan_in))


def orthogonal(fan_in, fan_out, gen, dtype):
    """Saxe et al. (2014): a (semi-)orthogonal matrix from the QR of a Gaussian."""
    rows, cols = max(fan_in, fan_out), min(fan_in, fan_out)
    a = torch.randn(rows, cols, generator=gen, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r))  # make the decomposition unique
    q = q if fan_in >= fan_out else q.T
    return q.to(dtype).contiguous()


def sklearn_uniform(fan_in, fan_out, gen, dtype):
    """scikit-learn's MLP rule: ``U(-b, b)``, ``b = sqrt(6 / (fan_in + fan_out))``.

    (scikit-learn uses factor 2 instead of 6 for the logistic activation; the
    estimator passes ``init='sklearn'`` through :func:`sklearn_logistic` then.)
    """
    return xavier_uniform(fan_in, fan_out, gen, dtype)


def sklearn_logistic(fan_in, fan_out, gen, dtype):
    """scikit-learn's rule for the logistic activation: ``b = sqrt(2 / (fan_in + fan_out))``."""
    return _uniform(fan_in, fan_out, gen, dtype, math.sqrt(2.0 / (fan_in + fan_out)))


def zeros(fan_in, fan_out, gen, dtype):
    """All zeros: every hidden unit stays identical (the lecture: do not do this)."""
    return torch.zeros(fan_in, fan_out, dtype=dtype)


INITIALIZERS: dict[str, Initializer] = {
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
    "sklearn": sklearn_uniform,
    "zeros": zeros,
}
"""Registry of weight initialisers, keyed by the ``init`` parameter ('auto' resolves to one)."""

_AUTO = {"relu": "he_normal", "glorot": "lecun_normal", "selu": "lecun_normal"}


def resolve_init(init: str, family: str, activation: str) -> Initializer:
    """Return the initialiser for ``init`` given the activation's family.

    ``'auto'`` follows the lecture: He for the ReLU family, ``N(0, 1/N)`` otherwise.
    ``'sklearn'`` reproduces scikit-learn's bounds, including its logistic factor.
    """
    if init == "auto":
        init = _AUTO[family]
    if init == "sklearn" and activation == "logistic":
        return sklearn_logistic
    return INITIALIZERS[init]
