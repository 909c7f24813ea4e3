"""Losses, each paired with the output activation that makes its gradient simple.

A loss works on the raw outputs ``z`` of the last layer (logits), never on
probabilities, for numerical stability. ``value_and_grad(z, y)`` returns the
per-sample loss ``[K, B]`` and ``dloss/dz`` ``[K, B, O]``. As scikit-learn's, the
cross-entropies and the Poisson deviance sum over the outputs, while the
identity-output losses (squared error, and skdl's absolute error and Huber) are
the mean over the outputs; their gradient stays ``output - y`` per output (not
divided by the number of outputs), exactly as scikit-learn backpropagates, so
the weights are scikit-learn's and only the reported value is its mean.
For the canonical pairs (softmax + cross-entropy, logistic + binary
cross-entropy, identity + squared error, exp + Poisson) the gradient is
``output - y``, as in scikit-learn's backpropagation. The squared error and
Poisson deviance are halved/unhalved exactly as scikit-learn's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class Loss:
    """A loss with its output activation (``out_activation``, scikit-learn's name)."""

    out_activation: str
    value_and_grad: Callable[[Tensor, Tensor, float], tuple[Tensor, Tensor]]
    output: Callable[[Tensor], Tensor]
    mean_over_outputs: bool = False  # the value is a mean over outputs, the gradient is not


def _log_softmax(z):
    if z.dim() == 3 and z.stride(-1) != 1:
        # a transposed view (see skdl.nn.mlp._thin): over dim 1 of the
        # contiguous [K, O, B] the CPU kernel vectorizes along the rows, where
        # a last dimension of a few classes leaves its vector lanes mostly empty
        return torch.log_softmax(z.transpose(1, 2), dim=1).transpose(1, 2)
    return torch.log_softmax(z, dim=-1)


def _softmax(z):
    """Softmax over the last dimension; on a transposed view (see :func:`_log_softmax`)
    over the contiguous dimension of its storage (predict's outputs: [1437, 10]
    float64, one thread, 34 us where the last dimension takes 230 us)."""
    if z.dim() >= 2 and z.stride(-1) != 1 and z.stride(-2) == 1:
        return torch.softmax(z.transpose(-1, -2), dim=-2).transpose(-1, -2)
    return torch.softmax(z, dim=-1)


def _softmax_xent(z, y, delta):
    logp = _log_softmax(z)
    p = torch.exp(logp)
    return -(y * logp).sum(-1), p - y


def _logistic_xent(z, y, delta):
    # softplus(z) - y*z is -[y log s(z) + (1-y) log(1-s(z))], stable for any z.
    value = (F.softplus(z) - y * z).sum(-1)
    return value, torch.sigmoid(z) - y


def _squared(z, y, delta):
    r = z - y
    return 0.5 * (r * r).mean(-1), r


def _absolute(z, y, delta):
    r = z - y
    return r.abs().mean(-1), torch.sign(r)


def _huber(z, y, delta):
    r = z - y
    a = r.abs()
    value = torch.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))
    return value.mean(-1), r.clamp(-delta, delta)


def _poisson(z, y, delta):
    mu = torch.exp(z)
    # scikit-learn's Poisson loss: y*log(y/mu) - y + mu, gradient in z is mu - y.
    value = torch.xlogy(y, y) - y * z - y + mu
    return value.sum(-1), mu - y


LOSSES: dict[str, Loss] = {
    "log_loss": Loss("softmax", _softmax_xent, _softmax),
    "binary_log_loss": Loss("logistic", _logistic_xent, torch.sigmoid),
    "squared_error": Loss("identity", _squared, lambda z: z, mean_over_outputs=True),
    "absolute_error": Loss("identity", _absolute, lambda z: z, mean_over_outputs=True),
    "huber": Loss("identity", _huber, lambda z: z, mean_over_outputs=True),
    "poisson": Loss("exp", _poisson, torch.exp),
}
"""Registry of losses. The classifier picks ``log_loss`` (multiclass) or
``binary_log_loss`` (binary, multilabel); the regressor exposes the rest."""

REGRESSION_LOSSES = ("squared_error", "absolute_error", "huber", "poisson")
