"""The vectorized optimizers against torch.optim, row by row."""

import ast
import contextlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import skdl.optim
from skdl.optim import HYPERPARAMETERS, OPTIMIZERS, SGD, AdamW, Optimizer

N_STEPS = 20
N_PARAMS = 6
TORCH_NAMES = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "nadam": "NAdam",
    "radam": "RAdam",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adamax": "Adamax",
}
CASES = [
    ("sgd", {}),
    ("sgd", {"nesterov": True}),
    ("adam", {}),
    ("adam", {"amsgrad": True}),
    ("adamw", {}),
    ("adamw", {"amsgrad": True}),
    ("nadam", {}),
    ("radam", {}),
    ("rmsprop", {}),
    ("adagrad", {}),
    ("adadelta", {}),
    ("adamax", {}),
]
CASE_IDS = [name + "".join(f"-{key}" for key in options) for name, options in CASES]
# One row per model: deliberately different hyperparameters, momentum 0 included.
HYPER_ROWS = {
    "momentum": [0.9, 0.0, 0.5, 0.99],
    "beta_1": [0.9, 0.8, 0.5, 0.95],
    "beta_2": [0.999, 0.99, 0.9, 0.95],
    "epsilon": [1e-8, 1e-6, 1e-4, 1e-3],
    "weight_decay": [0.01, 0.1, 0.0, 0.5],
}
BASE_LR = [0.01, 0.05, 0.1, 0.002]


@contextlib.contextmanager
def float64_default():
    # torch.optim keeps scalar state (NAdam's mu_product) in the default dtype;
    # float64 makes the oracle as precise as the vectorized version.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def make_problem(n_models, seed=0):
    """Initial params [K, P], grads [T, K, P], lrs [T, K, 1], hyper {name: [K, 1]}."""
    gen = torch.Generator().manual_seed(seed)
    kw = {"dtype": torch.float64, "generator": gen}
    params = torch.randn(n_models, N_PARAMS, **kw)
    grads = torch.randn(N_STEPS, n_models, N_PARAMS, **kw)
    base = torch.tensor(BASE_LR[:n_models], dtype=torch.float64).reshape(-1, 1)
    lrs = base * (0.5 + torch.rand(N_STEPS, n_models, 1, **kw))
    hyper = {
        name: torch.tensor(rows[:n_models], dtype=torch.float64).reshape(-1, 1)
        for name, rows in HYPER_ROWS.items()
    }
    return params, grads, lrs, hyper


def torch_kwargs(name, hyper, k, options):
    h = {key: value[k, 0].item() for key, value in hyper.items()}
    betas = (h["beta_1"], h["beta_2"])
    amsgrad = options.get("amsgrad", False)
    return {
        # torch refuses nesterov with momentum 0; skdl then takes plain SGD steps.
        "sgd": {
            "momentum": h["momentum"],
            "nesterov": options.get("nesterov", False) and h["momentum"] > 0,
        },
        "adam": {"betas": betas, "eps": h["epsilon"], "amsgrad": amsgrad},
        "adamw": {
            "betas": betas,
            "eps": h["epsilon"],
            "weight_decay": h["weight_decay"],
            "amsgrad": amsgrad,
        },
        "nadam": {"betas": betas, "eps": h["epsilon"]},
        "radam": {"betas": betas, "eps": h["epsilon"]},
        "rmsprop": {"alpha": h["beta_2"], "eps": h["epsilon"]},
        "adagrad": {"eps": h["epsilon"]},
        "adadelta": {"rho": h["beta_2"], "eps": h["epsilon"]},
        "adamax": {"betas": betas, "eps": h["epsilon"]},
    }[name]


def run_oracle(name, options, k, problem, active=None, decay_mask=None):
    """Row k of the problem through torch.optim; steps with active False skipped."""
    params, grads, lrs, hyper = problem
    mask = torch.ones(N_PARAMS, dtype=torch.bool) if decay_mask is None else decay_mask
    with float64_default():
        weight = torch.nn.Parameter(params[k, mask].clone())
        groups = [{"params": [weight]}]
        if decay_mask is not None:
            bias = torch.nn.Parameter(params[k, ~mask].clone())
            groups.append({"params": [bias], "weight_decay": 0.0})
        cls = getattr(torch.optim, TORCH_NAMES[name])
        opt = cls(groups, lr=1.0, **torch_kwargs(name, hyper, k, options))
        for t in range(N_STEPS):
            if active is not None and not active[t, k]:
                continue
            for group in opt.param_groups:
                group["lr"] = lrs[t, k, 0].item()
            weight.grad = grads[t, k, mask].clone()
            if decay_mask is not None:
                bias.grad = grads[t, k, ~mask].clone()
            opt.step()
    result = params[k].clone()
    result[mask] = weight.detach()
    if decay_mask is not None:
        result[~mask] = bias.detach()
    return result


def run_skdl(name, options, problem, active=None, decay_mask=None, n_steps=N_STEPS):
    params, grads, lrs, hyper = problem
    params = params.clone()
    opt = OPTIMIZERS[name](params, hyper, decay_mask=decay_mask, **options)
    for t in range(n_steps):
        grad = grads[t].clone()
        opt.step(grad, lrs[t], None if active is None else active[t])
        assert torch.equal(grad, grads[t]), "step must not modify grad"
    return params, opt


def assert_oracle_close(actual, expected):
    torch.testing.assert_close(actual, expected, atol=1e-10, rtol=1e-7)


def test_cases_cover_the_registry():
    assert {name for name, _ in CASES} == set(OPTIMIZERS) == set(TORCH_NAMES)
    for name, cls in OPTIMIZERS.items():
        assert cls.name == name
        assert issubclass(cls, Optimizer)
        assert set(cls.hyperparameters) <= set(HYPERPARAMETERS)


@pytest.mark.parametrize(("name", "options"), CASES, ids=CASE_IDS)
def test_single_model_matches_torch(name, options):
    problem = make_problem(n_models=1)
    params, _ = run_skdl(name, options, problem)
    assert_oracle_close(params[0], run_oracle(name, options, 0, problem))


@pytest.mark.parametrize(("name", "options"), CASES, ids=CASE_IDS)
def test_each_model_matches_its_own_torch_run(name, options):
    problem = make_problem(n_models=4, seed=1)
    params, _ = run_skdl(name, options, problem)
    for k in range(4):
        assert_oracle_close(params[k], run_oracle(name, options, k, problem))


@pytest.mark.parametrize(("name", "options"), CASES, ids=CASE_IDS)
def test_inactive_models_skip_the_step(name, options):
    problem = make_problem(n_models=3, seed=2)
    params, grads, lrs, hyper = problem
    gen = torch.Generator().manual_seed(3)
    active = torch.rand(N_STEPS, 3, 1, generator=gen) > 0.3
    active[:, 0] = True  # one model always active, one masked in turn
    active[4, 1] = active[5, 1] = False
    mine = params.clone()
    opt = OPTIMIZERS[name](mine, hyper, **options)
    for t in range(N_STEPS):
        before = [mine.clone()] + [s.clone() for s in opt.state.values()]
        opt.step(grads[t].clone(), lrs[t], active[t])
        after = [mine] + list(opt.state.values())
        for old, new in zip(before, after):
            idle = ~active[t, :, 0]
            assert torch.equal(old[idle], new[idle])
    assert torch.equal(opt.state["step"], active.sum(0).to(torch.float64))
    for k in range(3):
        assert_oracle_close(mine[k], run_oracle(name, options, k, problem, active))


@pytest.mark.parametrize(("name", "options"), CASES, ids=CASE_IDS)
def test_state_dict_round_trip_continues_identically(name, options):
    problem = make_problem(n_models=2, seed=4)
    params, grads, lrs, hyper = problem
    first, opt = run_skdl(name, options, problem, n_steps=10)
    state = opt.state_dict()
    assert state["step"].shape == (2, 1)
    second = first.clone()
    resumed = OPTIMIZERS[name](second, hyper, **options)
    resumed.load_state_dict(state)
    for t in range(10, N_STEPS):
        opt.step(grads[t].clone(), lrs[t])
        resumed.step(grads[t].clone(), lrs[t])
    assert torch.equal(first, second)
    for key, value in opt.state_dict().items():
        assert torch.equal(value, resumed.state[key])
    assert not torch.equal(state["step"], opt.state["step"]), "state_dict is a copy"


def test_state_dict_of_some_rows_copies_only_those_rows():
    problem = make_problem(n_models=3, seed=5)
    _, opt = run_skdl("adam", {}, problem, n_steps=4)
    full, row = opt.state_dict(), opt.state_dict(rows=slice(1, 2))
    assert set(row) == set(full)
    for key, value in row.items():
        assert value.shape[0] == 1
        assert torch.equal(value, full[key][1:2])
        assert value.data_ptr() != opt.state[key].data_ptr()
        assert value._base is None, "a copy of the row, not a view into the stack's state"


def test_load_state_dict_rejects_another_optimizers_state():
    params = torch.zeros(2, 3)
    hyper = {name: torch.full((2, 1), 0.9) for name in HYPERPARAMETERS}
    adam = OPTIMIZERS["adam"](params, hyper)
    with pytest.raises(ValueError, match="was it saved from another optimizer"):
        adam.load_state_dict(OPTIMIZERS["sgd"](params, hyper).state_dict())
    with pytest.raises(ValueError, match="must have shape"):
        adam.load_state_dict({k: v[:1] for k, v in adam.state_dict().items()})


def test_adamw_decay_mask_matches_two_param_groups():
    decay_mask = torch.tensor([True, True, True, True, False, False])
    problem = make_problem(n_models=4, seed=5)
    params, _ = run_skdl("adamw", {}, problem, decay_mask=decay_mask.reshape(1, -1))
    for k in range(4):
        expected = run_oracle("adamw", {}, k, problem, decay_mask=decay_mask)
        assert_oracle_close(params[k], expected)


def test_adamw_decay_mask_leaves_biases_undecayed():
    # With a zero gradient the Adam step is exactly 0, so only the decay moves
    # the weights: by the factor 1 - lr * weight_decay, and the biases not at all.
    params = torch.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], dtype=torch.float64)
    start = params.clone()
    hyper = {
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-8,
        "weight_decay": torch.tensor([[0.5], [0.25]], dtype=torch.float64),
    }
    opt = AdamW(params, hyper, decay_mask=torch.tensor([[1.0, 1.0, 0.0]]))
    lr = torch.tensor([[0.1], [0.2]], dtype=torch.float64)
    opt.step(torch.zeros_like(params), lr)
    assert torch.equal(params[:, 2], start[:, 2])
    expected = start[:, :2] * torch.tensor([[0.95], [0.95]], dtype=torch.float64)
    torch.testing.assert_close(params[:, :2], expected, atol=0, rtol=1e-15)


def test_sgd_nesterov_with_zero_momentum_is_plain_sgd():
    params = torch.tensor([[1.0, 2.0], [1.0, 2.0]], dtype=torch.float64)
    momentum = torch.tensor([[0.0], [0.9]], dtype=torch.float64)
    opt = SGD(params, {"momentum": momentum}, nesterov=True)
    lr = torch.full((2, 1), 0.5, dtype=torch.float64)
    grads = [torch.tensor([1.0, -1.0]), torch.tensor([0.5, 2.0])]
    for grad in grads:
        opt.step(grad.double().expand(2, 2), lr)
    # Row 0: 1 - 0.5 * (1 + 0.5) and 2 - 0.5 * (-1 + 2).
    assert params[0].tolist() == [0.25, 1.5]
    # Row 1 (Nesterov, torch): buf = g1, then buf = 0.9 g1 + g2, step g + 0.9 buf.
    g1, g2 = (grad.double() for grad in grads)
    first = g1 + 0.9 * g1
    second = g2 + 0.9 * (0.9 * g1 + g2)
    expected = torch.tensor([1.0, 2.0], dtype=torch.float64) - 0.5 * first - 0.5 * second
    torch.testing.assert_close(params[1], expected, atol=1e-15, rtol=0)


def test_hyperparameters_are_checked_and_broadcast():
    params = torch.zeros(3, 4)
    with pytest.raises(ValueError, match=r"needs the hyperparameters .*'epsilon'"):
        OPTIMIZERS["adam"](params, {"beta_1": 0.9, "beta_2": 0.999})
    with pytest.raises(ValueError, match=r"shape \[K, 1\] = \[3, 1\]"):
        OPTIMIZERS["sgd"](params, {"momentum": torch.zeros(2, 1)})
    with pytest.raises(ValueError, match=r"shape \[K, P\]"):
        OPTIMIZERS["sgd"](torch.zeros(4), {"momentum": 0.9})
    opt = OPTIMIZERS["sgd"](params, {"momentum": 0.9, "unused": "ignored"})
    assert opt.hyper["momentum"].shape == (3, 1)
    assert set(opt.hyper) == {"momentum"}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_params_stay_float32_and_close_to_float64(name):
    params, grads, lrs, hyper = make_problem(n_models=2, seed=6)
    single = params.float()
    opt = OPTIMIZERS[name](single, hyper)
    reference = OPTIMIZERS[name](params, hyper)
    for t in range(5):
        opt.step(grads[t].float(), lrs[t].float())
        reference.step(grads[t], lrs[t])
    assert single.dtype == torch.float32
    torch.testing.assert_close(single.double(), params, atol=1e-5, rtol=1e-4)


def test_stepping_does_not_pull_in_torch_dynamo():
    # Constructing a torch.optim optimizer imports torch._dynamo (~0.7 s).
    code = (
        "import sys, torch, skdl.optim as o\n"
        "before = 'torch._dynamo' in sys.modules\n"
        "p = torch.zeros(2, 3)\n"
        "h = {n: torch.full((2, 1), 0.9) for n in o.HYPERPARAMETERS}\n"
        "for cls in o.OPTIMIZERS.values():\n"
        "    cls(p, h).step(torch.ones(2, 3), torch.full((2, 1), 0.1))\n"
        "assert ('torch._dynamo' in sys.modules) == before\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_optim_imports_only_torch_numpy_and_the_standard_library():
    allowed = {"torch", "numpy", *sys.stdlib_module_names}
    for path in Path(skdl.optim.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = [node.module.split(".")[0]]
            else:
                continue
            assert set(roots) <= allowed, f"{path.name} imports {roots}"


def test_radam_first_steps_are_unrectified_momentum_steps():
    # rho_t <= 5 for the first 5 steps of any beta_2: the update is lr * m_hat,
    # and m_hat = grad after one step. Row 1 reaches rho_t > 5 only at step 6.
    params = torch.zeros(2, 3, dtype=torch.float64)
    hyper = {"beta_1": 0.9, "beta_2": torch.tensor([[0.999], [0.9]]), "epsilon": 1e-8}
    opt = OPTIMIZERS["radam"](params, hyper)
    grad = torch.tensor([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]], dtype=torch.float64)
    opt.step(grad, torch.full((2, 1), 0.1, dtype=torch.float64))
    torch.testing.assert_close(params, -0.1 * grad, atol=1e-16, rtol=0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize(("name", "options"), CASES, ids=CASE_IDS)
def test_cuda_steps_never_synchronise_and_match_cpu(name, options):
    params, grads, lrs, hyper = make_problem(n_models=3, seed=7)
    active = torch.tensor([[True], [False], [True]])
    on_cpu = OPTIMIZERS[name](params, hyper, **options)
    gpu = params.cuda()
    on_gpu = OPTIMIZERS[name](gpu, {k: v.cuda() for k, v in hyper.items()}, **options)
    gpu_grads, gpu_lrs, gpu_active = grads.cuda(), lrs.cuda(), active.cuda()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for t in range(4):
            on_gpu.step(gpu_grads[t], gpu_lrs[t], gpu_active if t == 2 else None)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    for t in range(4):
        on_cpu.step(grads[t], lrs[t], active if t == 2 else None)
    torch.testing.assert_close(gpu.cpu(), params, atol=1e-12, rtol=1e-10)
