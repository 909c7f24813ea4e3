"""Each loss of skdl.nn.losses: its value against a numpy formula (and scikit-learn's
own loss functions where they agree), its gradient against autograd."""

import numpy as np
import pytest
import torch
from scipy.special import expit, log_softmax, xlogy
from sklearn.neural_network._base import LOSS_FUNCTIONS as SKLEARN_LOSSES

from skdl.nn.losses import LOSSES, REGRESSION_LOSSES

K, B, N_OUT = 3, 7, 4
DELTA = 0.8


def _targets(name, rng):
    if name == "log_loss":
        return np.eye(N_OUT)[rng.randint(N_OUT, size=(K, B))]
    if name == "binary_log_loss":
        return rng.randint(2, size=(K, B, N_OUT)).astype(np.float64)
    if name == "poisson":
        y = rng.poisson(2.0, size=(K, B, N_OUT)).astype(np.float64)
        y[0, 0, 0] = 0.0  # 0 * log(0) = 0
        return y
    return rng.randn(K, B, N_OUT)


def _numpy_loss(name, z, y):
    """Per-sample loss [K, B] written out in numpy: summed over outputs, except the
    identity-output losses, which are the mean over outputs (scikit-learn's
    squared_error)."""
    r = z - y
    if name == "log_loss":
        return -(y * log_softmax(z, axis=-1)).sum(-1)
    if name == "binary_log_loss":
        p = expit(z)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(-1)
    if name == "squared_error":
        return 0.5 * (r**2).mean(-1)
    if name == "absolute_error":
        return np.abs(r).mean(-1)
    if name == "huber":
        a = np.abs(r)
        return np.where(a <= DELTA, 0.5 * r**2, DELTA * (a - 0.5 * DELTA)).mean(-1)
    if name == "poisson":
        mu = np.exp(z)
        return (xlogy(y, y / mu) - y + mu).sum(-1)
    raise AssertionError(name)


def test_registry():
    assert set(REGRESSION_LOSSES) <= set(LOSSES)
    assert {"log_loss", "binary_log_loss"} <= set(LOSSES)
    expected = {
        "log_loss": "softmax",
        "binary_log_loss": "logistic",
        "squared_error": "identity",
        "absolute_error": "identity",
        "huber": "identity",
        "poisson": "exp",
    }
    assert {name: loss.out_activation for name, loss in LOSSES.items()} == expected


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_value_matches_numpy(name):
    rng = np.random.RandomState(0)
    z = 2.0 * rng.randn(K, B, N_OUT)
    y = _targets(name, rng)
    value, dz = LOSSES[name].value_and_grad(torch.tensor(z), torch.tensor(y), DELTA)
    assert value.shape == (K, B)
    assert dz.shape == (K, B, N_OUT)
    np.testing.assert_allclose(value.numpy(), _numpy_loss(name, z, y), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_matches_autograd(name):
    rng = np.random.RandomState(1)
    z = 2.0 * rng.randn(K, B, N_OUT)
    y = _targets(name, rng)  # |z - y| is almost surely away from the kinks
    z = torch.tensor(z, requires_grad=True)
    value, dz = LOSSES[name].value_and_grad(z.detach(), torch.tensor(y), DELTA)
    value_ag, _ = LOSSES[name].value_and_grad(z, torch.tensor(y), DELTA)
    (expected,) = torch.autograd.grad(value_ag.sum(), z)
    if LOSSES[name].mean_over_outputs:
        # scikit-learn backpropagates output - y per output: the gradient of the
        # sum over outputs, while the value reported is their mean
        expected = expected * N_OUT
    torch.testing.assert_close(dz, expected, rtol=1e-12, atol=1e-12)


def test_squared_error_matches_sklearn_multi_output():
    # scikit-learn's squared_loss averages over samples and outputs
    rng = np.random.RandomState(4)
    z, y, w = rng.randn(1, 30, 3), rng.randn(1, 30, 3), rng.uniform(0.5, 2.0, size=30)
    value, _ = LOSSES["squared_error"].value_and_grad(torch.tensor(z), torch.tensor(y), DELTA)
    ours = float((value[0].numpy() * w).sum() / w.sum())
    np.testing.assert_allclose(ours, SKLEARN_LOSSES["squared_error"](y[0], z[0], w), rtol=1e-12)


@pytest.mark.parametrize("name", ["log_loss", "binary_log_loss", "squared_error", "poisson"])
def test_canonical_gradient_is_output_minus_y(name):
    # scikit-learn's backprop starts from deltas = output - y for these pairs
    rng = np.random.RandomState(2)
    z = torch.tensor(rng.randn(K, B, N_OUT))
    y = torch.tensor(_targets(name, rng))
    _, dz = LOSSES[name].value_and_grad(z, y, DELTA)
    torch.testing.assert_close(dz, LOSSES[name].output(z) - y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["log_loss", "binary_log_loss", "squared_error", "poisson"])
def test_mean_matches_sklearn_single_output(name):
    # scikit-learn's MLP loss functions take outputs after the output activation;
    # with one output (two classes for log_loss) they average what skdl sums.
    rng = np.random.RandomState(3)
    n_out = 2 if name == "log_loss" else 1
    z = rng.randn(1, 50, n_out)
    if name == "log_loss":
        y = np.eye(2)[rng.randint(2, size=(1, 50))]
    elif name == "binary_log_loss":
        y = rng.randint(2, size=(1, 50, 1)).astype(np.float64)
    elif name == "poisson":
        y = rng.poisson(2.0, size=(1, 50, 1)).astype(np.float64)
    else:
        y = rng.randn(1, 50, 1)
    w = rng.uniform(0.5, 2.0, size=50)
    loss = LOSSES[name]
    value, _ = loss.value_and_grad(torch.tensor(z), torch.tensor(y), DELTA)
    ours = float((value[0].numpy() * w).sum() / w.sum())
    out = loss.output(torch.tensor(z[0])).numpy()
    theirs = SKLEARN_LOSSES[name](y[0], out, sample_weight=w)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_log_losses_are_stable_for_large_logits():
    z = torch.tensor([[[800.0, -800.0]]], dtype=torch.float64)
    y = torch.tensor([[[0.0, 1.0]]], dtype=torch.float64)
    for name in ("log_loss", "binary_log_loss"):
        value, dz = LOSSES[name].value_and_grad(z, y, DELTA)
        assert torch.isfinite(value).all() and torch.isfinite(dz).all()
    value, _ = LOSSES["log_loss"].value_and_grad(z, y, DELTA)
    assert value.item() == pytest.approx(1600.0)
    value, _ = LOSSES["binary_log_loss"].value_and_grad(z, y, DELTA)
    assert value.item() == pytest.approx(1600.0)


def test_huber_is_squared_inside_delta_and_linear_beyond():
    r = torch.tensor([[[-3.0], [-0.5], [0.0], [0.4], [2.0]]], dtype=torch.float64)
    value, dz = LOSSES["huber"].value_and_grad(r, torch.zeros_like(r), 1.0)
    np.testing.assert_allclose(value[0].numpy(), [2.5, 0.125, 0.0, 0.08, 1.5])
    np.testing.assert_allclose(dz[0, :, 0].numpy(), [-1.0, -0.5, 0.0, 0.4, 1.0])
