"""The stacked MLP: flat layout, forward pass, and the hand-written backward pass
against autograd for every activation and every loss (K=3 models, L2, dropout)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skdl.nn.activations import ACTIVATIONS, PARAMETRIC_ACTIVATIONS
from skdl.nn.losses import LOSSES
from skdl.nn.mlp import DropoutNoise, Layout, backward, forward, forward_train

K = 3
UNITS = (4, 5, 3, 2)  # two hidden layers
PARAMS = {"leaky_relu": [0.01, 0.1, 0.3], "elu": [1.0, 0.5, 2.0]}

# Independent definitions of every activation (torch.nn.functional / closed forms).
REFERENCE = {
    "identity": lambda z, p: z,
    "logistic": lambda z, p: 1.0 / (1.0 + torch.exp(-z)),
    "tanh": lambda z, p: torch.tanh(z),
    "relu": lambda z, p: F.relu(z),
    "leaky_relu": lambda z, p: torch.maximum(z, z * p),
    "elu": lambda z, p: torch.where(z > 0, z, p * (torch.exp(z) - 1)),
    "selu": lambda z, p: F.selu(z),
    "gelu": lambda z, p: 0.5 * z * (1 + torch.erf(z / np.sqrt(2.0))),
    "silu": lambda z, p: z / (1 + torch.exp(-z)),
    "softplus": lambda z, p: torch.log1p(torch.exp(z)),
}


def _act_param(name):
    if name not in PARAMETRIC_ACTIVATIONS:
        return None
    return torch.tensor(PARAMS[name], dtype=torch.float64).view(K, 1, 1)


def _stack(units=UNITS, seed=0):
    gen = torch.Generator().manual_seed(seed)
    layout = Layout(units)
    flat = torch.randn(K, layout.n_params, generator=gen, dtype=torch.float64)
    return layout, flat


def _targets(name, k, b, o, gen):
    if name == "log_loss":
        idx = torch.randint(o, (k, b), generator=gen)
        return F.one_hot(idx, o).to(torch.float64)
    if name == "binary_log_loss":
        return torch.randint(2, (k, b, o), generator=gen).to(torch.float64)
    if name == "poisson":
        return torch.randint(5, (k, b, o), generator=gen).to(torch.float64)
    return torch.randn(k, b, o, generator=gen, dtype=torch.float64)


def test_layout_offsets_and_views():
    layout = Layout((3, 2, 1))
    assert layout.n_layers == 2
    assert layout.n_params == 3 * 2 + 2 + 2 * 1 + 1
    assert layout.offsets == ((0, 6, 8), (8, 10, 11))
    flat = torch.arange(2 * 11, dtype=torch.float64).view(2, 11)
    w1, w2 = layout.weights(flat)
    b1, b2 = layout.biases(flat)
    assert w1.shape == (2, 3, 2) and w2.shape == (2, 2, 1)
    assert b1.shape == (2, 1, 2) and b2.shape == (2, 1, 1)
    np.testing.assert_array_equal(w1[1].numpy(), np.arange(11, 17).reshape(3, 2))
    np.testing.assert_array_equal(b1[1, 0].numpy(), [17, 18])
    np.testing.assert_array_equal(w2[0, :, 0].numpy(), [8, 9])
    assert b2[0].item() == 10
    # views, not copies: writing through a view writes the flat tensor
    w2.zero_()
    assert flat[:, 8:10].abs().sum() == 0
    mask = layout.weight_mask(torch.float64, "cpu")
    np.testing.assert_array_equal(mask[0].numpy(), [1] * 6 + [0] * 2 + [1] * 2 + [0])


def test_pack_round_trip():
    layout, flat = _stack()
    coefs = [w.clone() for w in layout.weights(flat)]
    intercepts = [b[:, 0].clone() for b in layout.biases(flat)]
    packed = layout.pack(coefs, intercepts, torch.float64, "cpu")
    assert torch.equal(packed, flat)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_forward_matches_reference(name):
    z = torch.linspace(-4, 4, 41, dtype=torch.float64).repeat(K, 1, 1)
    p = _act_param(name)
    a = ACTIVATIONS[name].forward(z, p)
    torch.testing.assert_close(a, REFERENCE[name](z, p), rtol=1e-12, atol=1e-12)


def test_activation_default_params():
    assert ACTIVATIONS["leaky_relu"].default_param == 0.01
    assert ACTIVATIONS["elu"].default_param == 1.0
    assert PARAMETRIC_ACTIVATIONS == {"leaky_relu", "elu"}
    assert {n for n, a in ACTIVATIONS.items() if a.family == "relu"} >= {"relu", "leaky_relu"}
    assert ACTIVATIONS["tanh"].family == ACTIVATIONS["logistic"].family == "glorot"


def test_forward_matches_numpy():
    layout, flat = _stack()
    x = torch.randn(6, UNITS[0], generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    out = forward(layout.weights(flat), layout.biases(flat), x, ACTIVATIONS["tanh"], None)
    assert out.shape == (K, 6, UNITS[-1])
    for k in range(K):
        a = x.numpy()
        ws = [w[k].numpy() for w in layout.weights(flat)]
        bs = [b[k, 0].numpy() for b in layout.biases(flat)]
        for i, (w, b) in enumerate(zip(ws, bs)):
            a = a @ w + b
            if i < len(ws) - 1:
                a = np.tanh(a)
        np.testing.assert_allclose(out[k].numpy(), a, rtol=1e-12)


def test_forward_train_without_dropout_equals_forward():
    layout, flat = _stack()
    x = torch.randn(K, 6, UNITS[0], generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    act = ACTIVATIONS["relu"]
    ws, bs = layout.weights(flat), layout.biases(flat)
    z, cache = forward_train(ws, bs, x, act, None, [None, None], None)
    assert torch.equal(z, forward(ws, bs, x, act, None))
    assert cache.masks == [None, None]
    assert len(cache.inputs) == 3 and len(cache.pre) == len(cache.post) == 2


def _noise(seeds, step=0):
    return DropoutNoise(torch.tensor(seeds, dtype=torch.int64).view(-1, 1, 1), step)


def test_dropout_masks_are_inverted_and_per_model():
    layout, flat = _stack(units=(4, 2000, 1))
    x = torch.randn(K, 3, 4, dtype=torch.float64)
    keep = torch.tensor([0.5, 0.8, 1.0], dtype=torch.float64).view(K, 1, 1)
    _, cache = forward_train(
        layout.weights(flat),
        layout.biases(flat),
        x,
        ACTIVATIONS["relu"],
        None,
        [keep],
        _noise([0, 1, 2]),
    )
    (mask,) = cache.masks
    for k, p in enumerate([0.5, 0.8, 1.0]):
        values = set(np.unique(mask[k].numpy()).tolist())
        assert values <= {0.0, 1.0 / p}
        assert (mask[k] > 0).double().mean().item() == pytest.approx(p, abs=0.02)
    # the next layer's input is the activation times the mask
    torch.testing.assert_close(cache.inputs[1], cache.post[0] * mask)


def test_dropout_noise_is_uniform():
    u = _noise([7]).uniform(0, (1, 200, 500), torch.float64).numpy().ravel()
    assert u.min() >= 0.0 and u.max() < 1.0
    assert u.mean() == pytest.approx(0.5, abs=0.005)
    assert u.var() == pytest.approx(1 / 12, rel=0.02)
    np.testing.assert_allclose(np.histogram(u, bins=10, range=(0, 1))[0] / u.size, 0.1, atol=0.005)


def test_dropout_noise_depends_only_on_seed_step_and_layer():
    shape = (1, 6, 5)
    alone = _noise([5], step=3).uniform(1, shape, torch.float64)
    stacked = _noise([2, 5, 9], step=3).uniform(1, (3, 6, 5), torch.float64)
    assert torch.equal(stacked[1:2], alone)  # a model's noise does not see its stack
    assert torch.equal(_noise([5], step=3).uniform(1, shape, torch.float64), alone)
    others = [
        _noise([6], step=3).uniform(1, shape, torch.float64),
        _noise([5], step=4).uniform(1, shape, torch.float64),
        _noise([5], step=3).uniform(0, shape, torch.float64),
    ]
    for other in others:
        assert not torch.equal(other, alone)
        # and not merely shifted copies of each other
        assert abs(np.corrcoef(other.ravel(), alone.ravel())[0, 1]) < 0.9


def _autograd_grad(layout, flat, x, y, w, act, act_param, masks, loss, delta, l2):
    """Gradient of sum_i w_i l_i / sum w + 0.5 * l2 * ||W||^2 by autograd."""
    flat = flat.clone().requires_grad_(True)
    a = x
    ws, bs = layout.weights(flat), layout.biases(flat)
    for i, (wi, bi) in enumerate(zip(ws, bs)):
        z = a @ wi + bi
        if i == len(ws) - 1:
            break
        a = REFERENCE[act](z, act_param)
        if masks[i] is not None:
            a = a * masks[i]
    value, _ = LOSSES[loss].value_and_grad(z, y, delta)
    if LOSSES[loss].mean_over_outputs:  # backprop follows the sum over outputs
        value = value * z.shape[-1]
    total = ((value * w).sum(1) / w.sum(1)).sum()
    if l2 is not None:
        total = total + sum((0.5 * l2 * (wi * wi).sum((1, 2), keepdim=True)).sum() for wi in ws)
    (grad,) = torch.autograd.grad(total, flat)
    return grad


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("regularised", [False, True], ids=["plain", "l2-dropout"])
def test_backward_matches_autograd(act, loss, regularised):
    layout, flat = _stack(seed=sorted(ACTIVATIONS).index(act) * 10 + sorted(LOSSES).index(loss))
    flat.mul_(0.5)
    gen = torch.Generator().manual_seed(42)
    noise = _noise([11, 12, 13])
    b = 9
    x = torch.randn(K, b, UNITS[0], generator=gen, dtype=torch.float64)
    y = _targets(loss, K, b, UNITS[-1], gen)
    w = torch.rand(K, b, generator=gen, dtype=torch.float64) + 0.5
    act_param = _act_param(act)
    keep = [None, None]
    l2 = None
    if regularised:
        keep = [torch.tensor([[[0.7]], [[0.5]], [[0.9]]], dtype=torch.float64), None]
        l2 = torch.tensor([0.1, 0.0, 1.5], dtype=torch.float64).view(K, 1, 1)
    ws, bs = layout.weights(flat), layout.biases(flat)
    z, cache = forward_train(ws, bs, x, ACTIVATIONS[act], act_param, keep, noise)
    _, dz = LOSSES[loss].value_and_grad(z, y, 0.7)
    s = w.sum(1, keepdim=True)
    dz = dz * (w / s).unsqueeze(-1)
    grad = torch.full_like(flat, np.nan)  # every entry must be written
    backward(
        ws,
        layout.weights(grad),
        layout.biases(grad),
        cache,
        dz,
        ACTIVATIONS[act],
        act_param,
        None if l2 is None else l2 / s.unsqueeze(-1),
    )
    expected = _autograd_grad(
        layout,
        flat,
        x,
        y,
        w,
        act,
        act_param,
        cache.masks,
        loss,
        0.7,
        None if l2 is None else l2 / s.unsqueeze(-1),
    )
    torch.testing.assert_close(grad, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
@pytest.mark.parametrize("loss", ["log_loss", "squared_error"])
def test_workspace_and_thin_layers_match_autograd(act, loss):
    """The training step's fast path: a Workspace (buffers rewritten by the next
    step, ReLU and dropout in place) and layers of 9 and 3 outputs, which
    multiply as their transposes. Two steps on one workspace, each against autograd."""
    from skdl.nn.mlp import Workspace, _thin

    units = (40, 9, 20, 3)
    layout, flat = _stack(units, seed=sorted(ACTIVATIONS).index(act))
    assert [_thin(w) for w in layout.weights(flat)] == [True, False, True]
    flat.mul_(0.3)
    gen = torch.Generator().manual_seed(7)
    noise = _noise([11, 12, 13])
    keep = [
        torch.tensor([[[0.7]], [[0.5]], [[0.9]]], dtype=torch.float64),
        torch.tensor([[[0.8]], [[1.0]], [[0.6]]], dtype=torch.float64),
    ]
    act_param = _act_param(act)
    workspace = Workspace()
    ws, bs = layout.weights(flat), layout.biases(flat)
    for _ in range(2):
        b = 11
        x = torch.randn(K, b, units[0], generator=gen, dtype=torch.float64)
        y = _targets(loss, K, b, units[-1], gen)
        w = torch.rand(K, b, generator=gen, dtype=torch.float64) + 0.5
        z, cache = forward_train(
            ws, bs, x, ACTIVATIONS[act], act_param, keep, noise, None, workspace
        )
        torch.testing.assert_close(
            z, forward_train(ws, bs, x, ACTIVATIONS[act], act_param, keep, noise)[0]
        )
        _, dz = LOSSES[loss].value_and_grad(z, y, 0.7)
        dz = dz * (w / w.sum(1, keepdim=True)).unsqueeze(-1)
        grad = torch.full_like(flat, np.nan)  # every entry must be written
        backward(
            ws,
            layout.weights(grad),
            layout.biases(grad),
            cache,
            dz,
            ACTIVATIONS[act],
            act_param,
            None,
            workspace,
        )
        expected = _autograd_grad(
            layout, flat, x, y, w, act, act_param, cache.masks, loss, 0.7, None
        )
        torch.testing.assert_close(grad, expected, rtol=1e-10, atol=1e-12)
        noise.step += 1


def _reference_uniform(seed, step, layer, unit):
    """The dropout noise of one unit, from its definition, in Python integers."""
    m64, m32 = (1 << 64) - 1, (1 << 32) - 1
    z = (seed * 0x94D049BB133111EB + (step * 64 + layer) * 0xBF58476D1CE4E5B9) & m64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m64
    z ^= z >> 31
    x = ((unit * 0x9E3779B9) & m32) ^ (z & m32)
    x ^= x >> 16
    x = (x * 0x7FEB352D) & m32
    x ^= x >> 15
    x = (x * 0x846CA68B) & m32
    x ^= x >> 16
    x ^= z >> 32
    return (x >> 8) / 2**24


@pytest.mark.parametrize("seeds", [[7], [0, 3, 2**40 + 5], [4, 4]])
def test_dropout_noise_matches_its_definition(seeds):
    noise = _noise(seeds, step=13)
    u = noise.uniform(1, (len(seeds), 3, 7), torch.float64)
    for k, seed in enumerate(seeds):
        for unit in (0, 1, 8, 20):
            want = _reference_uniform(seed, 13, 1, unit)
            assert u[k].reshape(-1)[unit].item() == want


def test_dropout_noise_keys_on_the_host_equal_the_device_formula():
    # on the CPU the keys are computed in Python; elsewhere with int64 tensors
    noise = _noise([0, 1, 99, 2**33 + 7, 2**62 + 1], step=5)
    host = noise._keys(2)
    noise._host_seeds = None
    device = noise._keys(2)
    for a, b in zip(host, device):
        assert a.dtype == b.dtype == torch.int32
        assert torch.equal(a, b)


def test_softmax_output_of_a_transposed_view_equals_the_row_major_softmax():
    # predict's narrow output layer returns a transposed view; its softmax is taken
    # over the storage's contiguous dimension, with the same values
    from skdl.nn.losses import LOSSES

    storage = torch.randn(10, 300, dtype=torch.float64) * 5
    view = storage.T
    out = LOSSES["log_loss"].output(view)
    torch.testing.assert_close(
        out, torch.softmax(view.contiguous(), dim=-1), rtol=1e-15, atol=1e-15
    )
    torch.testing.assert_close(out.sum(-1), torch.ones(300, dtype=torch.float64))
    stacked = torch.randn(3, 4, 50).transpose(1, 2)  # [K, B, O] as the thin layer gives it
    torch.testing.assert_close(LOSSES["log_loss"].output(stacked), torch.softmax(stacked, -1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_one_unit_layers_match_autograd_and_each_model_alone(dtype):
    """Layers of one unit (a regressor's output, here also a hidden layer) run as a
    product and a row sum, a transposed weight gradient and a broadcast outer
    product (skdl.nn.mlp._single): two training steps on one workspace equal
    autograd, and each model of the stack computes bit for bit what it computes
    alone, so a stack (n_init, a fused search) trains each model as a fit would."""
    from skdl.nn.mlp import Workspace, _single

    units, k, b = (12, 1, 6, 1), 5, 13
    gen = torch.Generator().manual_seed(3)
    layout = Layout(units)
    flat = (0.5 * torch.randn(k, layout.n_params, generator=gen, dtype=torch.float64)).to(dtype)
    assert [_single(w) for w in layout.weights(flat)] == [True, False, True]
    act = ACTIVATIONS["tanh"]

    def step(params, x, y, workspace):
        ws, bs = layout.weights(params), layout.biases(params)
        z, cache = forward_train(ws, bs, x, act, None, [None, None], None, None, workspace)
        _, dz = LOSSES["squared_error"].value_and_grad(z, y, 0.7)
        grad = torch.full_like(params, np.nan)
        backward(ws, layout.weights(grad), layout.biases(grad), cache, dz / b, act, None, None,
                 workspace)  # fmt: skip
        return z.clone(), grad

    stack_ws, alone_ws = Workspace(), [Workspace() for _ in range(k)]
    for _ in range(2):
        x = torch.randn(k, b, units[0], generator=gen, dtype=torch.float64).to(dtype)
        y = torch.randn(k, b, 1, generator=gen, dtype=torch.float64).to(dtype)
        z, grad = step(flat, x, y, stack_ws)
        if dtype == torch.float64:
            w = torch.ones(k, b, dtype=dtype)
            expected = _autograd_grad(
                layout, flat, x, y, w, "tanh", None, [None, None], "squared_error", 0.7, None
            )
            torch.testing.assert_close(grad, expected, rtol=1e-10, atol=1e-12)
        for i in range(k):
            z_i, grad_i = step(flat[i : i + 1], x[i : i + 1], y[i : i + 1], alone_ws[i])
            assert torch.equal(z[i : i + 1], z_i)
            assert torch.equal(grad[i : i + 1], grad_i)
        flat = flat - 0.1 * grad
