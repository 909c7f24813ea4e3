"""``precision``: mixed-precision training (bf16 / fp16 matmuls, float32 master
weights) and fp16's dynamic loss scale, against a hand-computed oracle."""

import inspect
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import ParameterGrid, train_test_split
from sklearn.utils._param_validation import InvalidParameterError

from skdl import MLPClassifier, MLPRegressor
from skdl.model_selection import GridSearchCV
from skdl.nn.activations import ACTIVATIONS
from skdl.nn.losses import LOSSES
from skdl.nn.mlp import Layout
from skdl.optim import Adam
from skdl.search._plan import group_candidates
from skdl.training import amp
from skdl.training.amp import LossScaledOptimizer
from skdl.training.steps import StepContext, train_step

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

LOW = {"bf16": torch.bfloat16, "fp16": torch.float16}
X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS / 16.0
# float32: mixed precision is compared with float32 training (dtype='auto' would
# train float64 X in float64)
FAST = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0, device="cpu", dtype="float32")


# ------------------------------------------------------------- the parameter
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_parameter_default_none_right_after_dtype(Estimator):
    names = list(inspect.signature(Estimator).parameters)
    assert names[names.index("dtype") + 1] == "precision"
    assert Estimator().get_params()["precision"] is None
    assert "precision : {'bf16', 'fp16'} or None, default=None" in Estimator.__doc__


def test_default_is_bit_identical_to_explicit_none():
    X, y = X_DIGITS[:300], Y_DIGITS[:300]
    kw = dict(FAST, hidden_layer_sizes=(16, 8), dropout=0.1, penalty="elasticnet")
    a = MLPClassifier(**kw).fit(X, y)
    b = MLPClassifier(**kw, precision=None).fit(X, y)
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(u, v)
    assert a.loss_curve_ == b.loss_curve_
    assert "loss_scale" not in a._solver_state["optimizer"]


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_digits_score_close_to_float32(precision):
    Xa, Xb, ya, yb = train_test_split(X_DIGITS, Y_DIGITS, random_state=0)
    kw = dict(hidden_layer_sizes=(64,), max_iter=15, random_state=0, device="cpu")
    full = MLPClassifier(**kw).fit(Xa, ya)
    mixed = MLPClassifier(**kw, precision=precision).fit(Xa, ya)
    assert abs(mixed.score(Xb, yb) - full.score(Xb, yb)) < 0.03
    for c in mixed.coefs_ + mixed.intercepts_:
        assert c.dtype == np.float32 and np.isfinite(c).all()
    # it did train in low precision (not silently in float32) ...
    assert not np.array_equal(mixed.coefs_[0], full.coefs_[0])
    # ... and the loss went down every epoch
    assert np.all(np.diff(mixed.loss_curve_) < 0)
    assert mixed.loss_curve_[-1] == pytest.approx(full.loss_curve_[-1], rel=0.05)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_regressor_trains(precision):
    X, y = make_regression(n_samples=300, n_features=8, noise=1.0, random_state=0)
    y = y / y.std()
    kw = dict(hidden_layer_sizes=(32,), max_iter=30, learning_rate_init=0.01, random_state=0)
    full = MLPRegressor(**kw, device="cpu").fit(X, y)
    mixed = MLPRegressor(**kw, device="cpu", precision=precision).fit(X, y)
    assert mixed.score(X, y) > 0.95
    assert abs(mixed.score(X, y) - full.score(X, y)) < 0.02


def test_prediction_is_full_precision():
    X, y = X_DIGITS[:300], Y_DIGITS[:300]
    est = MLPClassifier(**FAST, precision="bf16").fit(X, y)
    proba = est.predict_proba(X)
    # predict never reads precision: the same weights predicted by a float32 model
    twin = MLPClassifier(**FAST).fit(X, y)
    twin.coefs_, twin.intercepts_ = est.coefs_, est.intercepts_
    assert_array_equal(twin.predict_proba(X), proba)


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_errors(Estimator):
    X, y = X_DIGITS[:60], (Y_DIGITS[:60] if Estimator is MLPClassifier else X_DIGITS[:60, 10])
    with pytest.raises(InvalidParameterError, match="'precision' parameter"):
        Estimator(**FAST, precision="fp8").fit(X, y)
    with pytest.raises(
        ValueError,
        match=re.escape("precision='bf16'") + ".*needs dtype='float32'; got "
        "dtype='float64'. Set dtype='float32', or precision=None",
    ):
        Estimator(**(FAST | dict(dtype="float64")), precision="bf16").fit(X, y)
    with pytest.raises(
        ValueError, match="precision='fp16' is not supported with solver='lbfgs'.*full-precision"
    ):
        Estimator(**FAST, precision="fp16", solver="lbfgs").fit(X, y)
    if hasattr(Estimator, "partial_fit"):
        with pytest.raises(ValueError, match="needs dtype='float32'"):
            Estimator(**(FAST | dict(dtype="float64")), precision="fp16").partial_fit(
                X, y, **({"classes": np.unique(y)} if Estimator is MLPClassifier else {})
            )


# ------------------------------------------------- one step against an oracle
class _Recorder:
    """An optimizer that records the gradient it gets and steps nothing."""

    def __init__(self, params):
        self.params = params
        self.grads, self.active = [], []

    def step(self, grad, lr, active=None):
        self.grads.append(grad.clone())
        self.active.append(active)


def _stack(precision, k=2, units=(10, 12, 9, 4), batch=16, seed=0, alpha_l2=1e-2):
    """A stack with two tanh hidden layers, softmax cross-entropy, L2 penalty."""
    gen = torch.Generator().manual_seed(seed)
    layout = Layout(units)
    params = torch.randn(k, layout.n_params, generator=gen) / 3
    x = torch.randn(k, batch, units[0], generator=gen)
    y = F.one_hot(torch.randint(units[-1], (k, batch), generator=gen), units[-1]).float()
    ctx = StepContext(
        layout=layout,
        act=ACTIVATIONS["tanh"],
        act_param=None,
        loss=LOSSES["log_loss"],
        loss_param=1.0,
        keep=[None] * (len(units) - 2),
        alpha_l2=torch.full((k, 1, 1), alpha_l2),
        alpha_l1=None,
        weight_mask=layout.weight_mask(torch.float32, "cpu"),
        noise=None,
        low=None if precision is None else LOW[precision],
    )
    return ctx, params, x, y


def _engine_grad(precision, scale=None, **kw):
    ctx, params, x, y = _stack(precision, **kw)
    rec = _Recorder(params)
    opt = rec if scale is None else LossScaledOptimizer(rec, init_scale=scale)
    loss = torch.zeros(params.shape[0])
    train_step(ctx, params, torch.zeros_like(params), opt, x, y, None, None, None, loss)
    return rec.grads[0], opt


def _oracle_grad(precision, scale=1.0, **kw):
    """The gradient by hand in float64, every matmul operand rounded to the low dtype
    and every product rounded once to it, as the engine does; ``scale`` is the loss
    scale (applied to dLoss/dz before the backward pass, divided out at the end)."""
    ctx, params, x, y = _stack(precision, **kw)
    low = LOW.get(precision)

    def rnd(t):  # round to the matmul dtype, compute on in float64
        return t if low is None else t.to(low).to(torch.float64)

    lay = ctx.layout
    p = params.double()
    ws, bs = lay.weights(p), lay.biases(p)
    a, inputs, posts = x.double(), [], []
    for i, (w, b) in enumerate(zip(ws, bs)):
        inputs.append(rnd(a))
        z = rnd(inputs[-1] @ rnd(w)) + b
        if i < len(ws) - 1:
            a = torch.tanh(z)
            posts.append(a)
    n = x.shape[1]
    dz = (torch.softmax(z, -1) - y.double()) / n * scale
    l2 = ctx.alpha_l2.double() / n
    g_w, g_b = [None] * len(ws), [None] * len(ws)
    for i in range(len(ws) - 1, -1, -1):
        g_w[i] = (rnd(inputs[i].transpose(1, 2) @ rnd(dz)) + scale * l2 * ws[i]) / scale
        g_b[i] = dz.sum(1, keepdim=True) / scale
        if i:
            dz = rnd(rnd(dz) @ rnd(ws[i]).transpose(1, 2)) * (1 - posts[i - 1] ** 2)
    grad = torch.zeros_like(p)
    for view, g in zip(lay.weights(grad) + lay.biases(grad), g_w + g_b):
        view.copy_(g)
    return grad


@pytest.mark.parametrize("precision, scale", [("bf16", None), ("fp16", 2.0**16)])
def test_one_step_equals_the_rounded_oracle(precision, scale):
    engine, _ = _engine_grad(precision, scale)
    oracle = _oracle_grad(precision, 1.0 if scale is None else scale)
    exact = _oracle_grad(None)
    # The engine and the oracle round the same values to the low dtype; they differ
    # only by float32-vs-float64 arithmetic elsewhere (~1e-7 relative, also inside
    # the matmuls' float32 accumulation), which now and then moves a value across a
    # rounding boundary of the low dtype: one ulp (2**-8 relative in bf16, 2**-11
    # in fp16) of one product, then propagated. So: every entry within one ulp of
    # the gradient's largest entry, and nearly all within 1e-5 of it (float32
    # noise). The unrounded float64 gradient fails the second test: its distance
    # from the engine is the low dtype's rounding (below 1% of entries within 1e-5
    # for bf16, 8% for fp16, with these seeds).
    ulp = {"bf16": 2.0**-8, "fp16": 2.0**-11}[precision]
    top = oracle.abs().max().item()
    err = (engine.double() - oracle).abs()
    assert err.max().item() <= ulp * top
    assert (err <= 1e-5 * top).double().mean().item() >= 0.97
    off = (engine.double() - exact).abs()
    assert (off <= 1e-5 * top).double().mean().item() < 0.5


def test_fp16_loss_scale_rescues_underflowing_gradients():
    # a tiny loss (here: scaled down by 2**-24) gives gradients below float16's
    # smallest subnormal (2**-24): without a loss scale they flush to zero
    kw = dict(units=(10, 12, 9, 4), seed=1)
    small = 2.0**-24

    def grad_of(init_scale, precision):
        ctx, params, x, y = _stack(precision, **kw)
        ctx.alpha_l2 = None
        ctx.loss = type(ctx.loss)(
            ctx.loss.out_activation,
            lambda z, y, d: tuple(t * small for t in LOSSES["log_loss"].value_and_grad(z, y, d)),
            ctx.loss.output,
        )
        rec = _Recorder(params)
        opt = rec if init_scale is None else LossScaledOptimizer(rec, init_scale=init_scale)
        train_step(
            ctx, params, torch.zeros_like(params), opt, x, y, None, None, None, torch.zeros(2)
        )
        return rec.grads[0][:, : ctx.layout.offsets[0][1]]  # first layer's weights

    full = grad_of(None, None)
    unscaled = grad_of(1.0, "fp16")
    scaled = grad_of(2.0**16, "fp16")
    assert (full != 0).double().mean() > 0.99
    assert (unscaled == 0).double().mean() > 0.5  # most of it underflowed
    rel = (scaled - full).abs().max() / full.abs().max()
    assert rel < 2e-2


def test_forced_overflow_skips_the_step_and_halves_the_scale():
    ctx, params, x, y = _stack("fp16", k=3)
    before = params.clone()
    opt = LossScaledOptimizer(Adam(params, {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}))
    opt.scale[1] = 2.0**40  # model 1: dLoss/dz * 2**40 overflows float16
    lr = torch.full((3, 1), 1e-3, dtype=torch.float64)
    grad = torch.zeros_like(params)
    train_step(ctx, params, grad, opt, x, y, None, lr, None, torch.zeros(3))
    assert opt.finite.view(-1).tolist() == [True, False, True]
    assert_array_equal(params[1], before[1])  # skipped: weights ...
    state = opt.state_dict()
    assert state["step"].view(-1).tolist() == [1, 0, 1]  # ... and optimizer state untouched
    assert (state["exp_avg"][1] == 0).all()
    assert not torch.equal(params[0], before[0]) and not torch.equal(params[2], before[2])
    assert opt.scale.view(-1).tolist() == [2.0**16, 2.0**39, 2.0**16]
    assert opt.growth_tracker.view(-1).tolist() == [1, 0, 1]
    assert state["loss_scale"].view(-1).tolist() == [2.0**16, 2.0**39, 2.0**16]


def test_scale_grows_after_clean_steps_and_inactive_models_keep_theirs():
    ctx, params, x, y = _stack("fp16", k=2)
    opt = LossScaledOptimizer(_Recorder(params), growth_interval=3)
    active = torch.tensor([[True], [False]])  # model 1 sits these batches out
    for _ in range(3):
        train_step(
            ctx, params, torch.zeros_like(params), opt, x, y, None, None, active, torch.zeros(2)
        )
    assert opt.scale.view(-1).tolist() == [2.0**17, 2.0**16]
    assert opt.growth_tracker.view(-1).tolist() == [0, 0]
    # the wrapped optimizer got active & finite
    assert opt.optimizer.active[-1].view(-1).tolist() == [True, False]


def test_fp16_recovers_from_overflow_in_a_fit():
    # inputs scaled by 30: at the initial 2**16 the scaled gradients overflow
    # float16, the scale comes down (those steps skipped) and training goes on
    X, y = X_DIGITS[:400] * 30, Y_DIGITS[:400]
    est = MLPClassifier(**FAST, precision="fp16", batch_size=50).fit(X, y)
    scale = est._solver_state["optimizer"]["loss_scale"].item()
    assert 1 <= scale < 2.0**16
    assert all(np.isfinite(c).all() for c in est.coefs_)
    assert np.all(np.diff(est.loss_curve_) < 0)


def test_fp16_trains_where_unscaled_fp16_underflows(monkeypatch):
    # a deep logistic network: the gradient vanishes on its way down to the first
    # layer, below float16's range. With the loss scale the first layer learns as
    # in float32; without it (scale fixed at 1) most of it never moves.
    X, y = X_DIGITS[:500], Y_DIGITS[:500]
    kw = dict(
        dtype="float32",
        hidden_layer_sizes=(16,) * 8,
        activation="logistic",
        alpha=0.0,
        max_iter=3,
        random_state=0,
        device="cpu",
    )
    # learning_rate_init=1e-30: one step that leaves the weights where they started
    init = MLPClassifier(**kw | dict(max_iter=1, learning_rate_init=1e-30)).fit(X, y).coefs_[0]
    full = MLPClassifier(**kw).fit(X, y).coefs_[0] - init
    scaled = MLPClassifier(**kw, precision="fp16").fit(X, y).coefs_[0] - init
    monkeypatch.setattr(amp, "INIT_SCALE", 1.0)
    monkeypatch.setattr(amp, "GROWTH_INTERVAL", 10**9)
    unscaled = MLPClassifier(**kw, precision="fp16").fit(X, y).coefs_[0] - init

    def cos(a, b):
        return float(a.ravel() @ b.ravel() / np.linalg.norm(a) / np.linalg.norm(b))

    assert (scaled != 0).mean() == (full != 0).mean() > 0.8
    assert cos(scaled, full) > 0.99
    assert (unscaled != 0).mean() < 0.5 * (full != 0).mean()


# ------------------------------------------- warm start, persistence, search
def test_warm_start_may_change_precision_and_partial_fit_keeps_the_scale(tmp_path):
    pytest.importorskip("safetensors")
    X, y = X_DIGITS[:200] * 30, Y_DIGITS[:200]  # brings the scale down
    est = MLPClassifier(**FAST, precision="fp16", batch_size=50).fit(X, y)
    scale = est._solver_state["optimizer"]["loss_scale"].item()
    assert scale < 2.0**16
    path = tmp_path / "m.skdl"
    est.save(path)
    loaded = MLPClassifier.load(path)
    assert loaded.get_params()["precision"] == "fp16"
    for model in (est, loaded):
        model.partial_fit(X, y)
    for a, b in zip(est.coefs_, loaded.coefs_):
        assert_array_equal(a, b)
    assert loaded._solver_state["optimizer"]["loss_scale"].item() <= scale
    # warm start in another precision: the loss scale is dropped / started afresh
    est.set_params(warm_start=True, precision=None).fit(X, y)
    assert "loss_scale" not in est._solver_state["optimizer"]
    est.set_params(precision="fp16").fit(X, y)
    assert "loss_scale" in est._solver_state["optimizer"]


def test_fused_search_groups_precisions_apart(capsys):
    X, y = X_DIGITS[:300], Y_DIGITS[:300]
    est = MLPClassifier(**FAST)
    grid = {"precision": [None, "bf16"], "learning_rate_init": [1e-3, 1e-2]}
    groups, singles = group_candidates(est, list(ParameterGrid(grid)))
    assert singles == [] and sorted(g.structural["precision"] or "" for g in groups) == [
        "",
        "bf16",
    ]
    search = GridSearchCV(est, grid, cv=3, verbose=1).fit(X, y)
    fused, stacks = re.findall(r"\((\d+) of them in (\d+) fused groups\)", capsys.readouterr().out)[
        -1
    ]
    assert (int(fused), int(stacks)) == (12, 2)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    params = search.cv_results_["params"]
    for i, p in enumerate(params):
        if p["precision"] == "bf16":
            j = params.index({**p, "precision": None})
            assert abs(scores[i] - scores[j]) < 0.05


# ------------------------------------------------------------------- CUDA
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_cuda_fit_close_to_float32_and_never_synchronises(precision, no_sync_in_epochs):
    # no_sync_in_epochs: no host sync inside an epoch, loss scale included
    Xa, Xb, ya, yb = train_test_split(X_DIGITS, Y_DIGITS, random_state=0)
    kw = dict(hidden_layer_sizes=(64,), max_iter=15, random_state=0, device="cuda")
    full = MLPClassifier(**kw).fit(Xa, ya)
    mixed = MLPClassifier(**kw, precision=precision).fit(Xa, ya)
    assert abs(mixed.score(Xb, yb) - full.score(Xb, yb)) < 0.03
    assert all(c.dtype == np.float32 and np.isfinite(c).all() for c in mixed.coefs_)
    MLPClassifier(**kw | dict(max_iter=2, batch_size=50), precision=precision).fit(Xa, ya)


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("precision, scale", [("bf16", None), ("fp16", 2.0**16)])
def test_cuda_step_equals_the_rounded_oracle(precision, scale):
    # the CPU test's step, run on the GPU (cuBLAS may reduce in lower precision:
    # looser bound, 4 ulps of the gradient's largest entry)
    ctx, params, x, y = _stack(precision)
    dev = torch.device("cuda")
    ctx.alpha_l2 = ctx.alpha_l2.to(dev)
    ctx.weight_mask = ctx.weight_mask.to(dev)
    params, x, y = params.to(dev), x.to(dev), y.to(dev)
    rec = _Recorder(params)
    opt = rec if scale is None else LossScaledOptimizer(rec, init_scale=scale)
    loss = torch.zeros(params.shape[0], device=dev)
    train_step(ctx, params, torch.zeros_like(params), opt, x, y, None, None, None, loss)
    engine = rec.grads[0].cpu().double()
    oracle = _oracle_grad(precision, 1.0 if scale is None else scale)
    ulp = {"bf16": 2.0**-8, "fp16": 2.0**-11}[precision]
    assert (engine - oracle).abs().max().item() <= 4 * ulp * oracle.abs().max().item()
