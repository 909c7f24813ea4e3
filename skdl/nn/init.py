"""Weight initialisers.

The default, ``init='auto'`` (also by name, ``init='sklearn'``), is
scikit-learn's rule, drawn exactly as scikit-learn draws it
(``BaseMultilayerPerceptron._init_coef``): for each layer in turn, weights
then biases from ``U(-b, b)`` with ``b = sqrt(6 / (fan_in + fan_out))``
(Glorot & Bengio, 2010), ``b = sqrt(2 / (fan_in + fan_out))`` for the
logistic activation, from ``numpy.random.RandomState(seed)``. With an int
``random_state`` (and ``n_init=1``) skdl thus starts from scikit-learn's very
weights and biases. See :func:`initial_layers`.

Every other initialiser draws one ``[fan_in, fan_out]`` weight matrix from a
``torch.Generator`` (one generator per model of the stack, so a model's
weights do not depend on how many models share the stack); its biases start
at zero. The lecture's rule (``init='lecture'``): He, ``N(0, 2/N)`` with
``N = fan_in``, for the rectifier family, and the lecture's "Xavier",
``N(0, 1/N)``, for tanh, logistic and identity (also the right choice for SELU).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
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
    """scikit-learn's MLP bound: ``U(-b, b)``, ``b = sqrt(6 / (fan_in + fan_out))``.

    One matrix from a torch generator. (scikit-learn uses factor 2 instead of 6
    for the logistic activation: :func:`sklearn_logistic`. The estimators draw
    ``init='auto'``/``'sklearn'`` with :func:`sklearn_layers`, scikit-learn's
    own random stream, biases included.)
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
"""Registry of weight initialisers, keyed by ``init`` (see also :data:`INIT_RULES`)."""

_LECTURE = {"relu": "he_normal", "glorot": "lecun_normal", "selu": "lecun_normal"}

INIT_RULES = ("auto", "lecture")
"""Names that pick an initialiser by activation: 'auto' (scikit-learn's rule,
the default) and 'lecture' (He for the ReLU family, ``N(0, 1/N)`` otherwise)."""

INIT_OPTIONS = frozenset(INITIALIZERS) | frozenset(INIT_RULES)
"""Every accepted value of the ``init`` parameter."""

_SKLEARN_RULE = frozenset({"auto", "sklearn"})


def sklearn_bound(fan_in: int, fan_out: int, activation: str) -> float:
    """scikit-learn's bound: ``sqrt(f / (fan_in + fan_out))``, f = 2 for logistic, else 6."""
    factor = 2.0 if activation == "logistic" else 6.0
    return math.sqrt(factor / (fan_in + fan_out))


def sklearn_layers(units, seed: int, activation: str, dtype: torch.dtype):
    """scikit-learn's initial ``(coefs, intercepts)``, drawn as scikit-learn draws them.

    ``numpy.random.RandomState(seed)``, then for each layer the weights and then
    the biases from ``U(-b, b)`` (:func:`sklearn_bound`), in float64 and cast to
    ``dtype`` (``BaseMultilayerPerceptron._init_coef``).
    """
    rs = np.random.RandomState(int(seed) % 2**32)
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        b = sklearn_bound(fan_in, fan_out, activation)
        coefs.append(torch.from_numpy(rs.uniform(-b, b, (fan_in, fan_out))).to(dtype))
        intercepts.append(torch.from_numpy(rs.uniform(-b, b, fan_out)).to(dtype))
    return coefs, intercepts


def resolve_init(init: str, family: str, activation: str) -> Initializer:
    """Return the one-matrix initialiser for ``init`` given the activation.

    ``'lecture'`` follows the lecture: He for the ReLU family, ``N(0, 1/N)``
    otherwise. ``'auto'`` and ``'sklearn'`` give scikit-learn's bound, including
    its logistic factor (the estimators draw those with :func:`sklearn_layers`).
    """
    if init == "lecture":
        init = _LECTURE[family]
    if init in _SKLEARN_RULE:
        return sklearn_logistic if activation == "logistic" else sklearn_uniform
    return INITIALIZERS[init]


def initial_layers(init: str, family: str, activation: str, units, seed: int, dtype):
    """One model's initial ``(coefs, intercepts)`` for ``init`` and layer sizes ``units``.

    'auto'/'sklearn': :func:`sklearn_layers`. Otherwise one torch generator
    seeded with ``seed`` draws the weights layer by layer; biases are zero.
    """
    if init in _SKLEARN_RULE:
        return sklearn_layers(units, seed, activation, dtype)
    f = resolve_init(init, family, activation)
    gen = torch.Generator().manual_seed(int(seed))
    pairs = list(zip(units[:-1], units[1:]))
    coefs = [f(n_in, n_out, gen, dtype) for n_in, n_out in pairs]
    return coefs, [torch.zeros(n_out, dtype=dtype) for _, n_out in pairs]
