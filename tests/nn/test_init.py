"""Weight initialisers: variances against their formulas, orthogonality, the
default rule (scikit-learn's, drawn as scikit-learn draws it), the 'lecture'
rule, and what init='zeros' does to a network (it stays symmetric)."""

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skdl import MLPClassifier, MLPRegressor
from skdl.nn.init import INITIALIZERS, resolve_init, sklearn_logistic

FAN_IN, FAN_OUT = 512, 256  # not square, so fan_in and fan_out cannot be swapped

VARIANCE = {
    "he_normal": 2.0 / FAN_IN,
    "he_uniform": 2.0 / FAN_IN,
    "xavier_normal": 2.0 / (FAN_IN + FAN_OUT),
    "xavier_uniform": 2.0 / (FAN_IN + FAN_OUT),
    "lecun_normal": 1.0 / FAN_IN,
    "sklearn": 2.0 / (FAN_IN + FAN_OUT),  # U(-b, b), b = sqrt(6 / (in + out))
    "orthogonal": 1.0 / FAN_IN,  # FAN_OUT orthonormal columns of length FAN_IN
    "zeros": 0.0,
}
UNIFORM_BOUND = {
    "he_uniform": math.sqrt(6.0 / FAN_IN),
    "xavier_uniform": math.sqrt(6.0 / (FAN_IN + FAN_OUT)),
    "sklearn": math.sqrt(6.0 / (FAN_IN + FAN_OUT)),
}


def _draw(init, fan_in=FAN_IN, fan_out=FAN_OUT, seed=0, dtype=torch.float64):
    return init(fan_in, fan_out, torch.Generator().manual_seed(seed), dtype)


def test_every_initializer_has_a_variance():
    assert set(INITIALIZERS) == set(VARIANCE)


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_variance_matches_formula(name):
    w = _draw(INITIALIZERS[name])
    assert w.shape == (FAN_IN, FAN_OUT)
    assert w.dtype == torch.float64
    w = w.numpy()
    if VARIANCE[name] == 0:
        assert not w.any()
        return
    assert w.var() == pytest.approx(VARIANCE[name], rel=0.1)
    assert abs(w.mean()) < 0.1 * math.sqrt(VARIANCE[name])
    if name in UNIFORM_BOUND:
        bound = UNIFORM_BOUND[name]
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_dtype_and_determinism(name):
    a = _draw(INITIALIZERS[name], 7, 5, seed=3, dtype=torch.float32)
    b = _draw(INITIALIZERS[name], 7, 5, seed=3, dtype=torch.float32)
    assert a.dtype == torch.float32 and a.shape == (7, 5)
    assert torch.equal(a, b)
    if name != "zeros":
        assert not torch.equal(a, _draw(INITIALIZERS[name], 7, 5, seed=4, dtype=torch.float32))


@pytest.mark.parametrize("shape", [(512, 512), (64, 16), (16, 64)])
def test_orthogonal(shape):
    fan_in, fan_out = shape
    w = _draw(INITIALIZERS["orthogonal"], fan_in, fan_out).numpy()
    assert w.shape == shape
    if fan_in >= fan_out:
        np.testing.assert_allclose(w.T @ w, np.eye(fan_out), atol=1e-12)
    else:
        np.testing.assert_allclose(w @ w.T, np.eye(fan_in), atol=1e-12)


def test_sklearn_logistic_bound():
    w = _draw(sklearn_logistic).numpy()
    bound = math.sqrt(2.0 / (FAN_IN + FAN_OUT))
    assert np.abs(w).max() <= bound
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.1)


@pytest.mark.parametrize(
    "activation, expected",
    [
        ("relu", "he_normal"),
        ("leaky_relu", "he_normal"),
        ("elu", "he_normal"),
        ("gelu", "he_normal"),
        ("silu", "he_normal"),
        ("softplus", "he_normal"),
        ("tanh", "lecun_normal"),
        ("logistic", "lecun_normal"),
        ("identity", "lecun_normal"),
        ("selu", "lecun_normal"),
    ],
)
def test_lecture_rule(activation, expected):
    from skdl.nn.activations import ACTIVATIONS

    family = ACTIVATIONS[activation].family
    assert resolve_init("lecture", family, activation) is INITIALIZERS[expected]


def test_sklearn_init_uses_the_logistic_factor():
    for name in ("sklearn", "auto"):
        assert resolve_init(name, "glorot", "logistic") is sklearn_logistic
        assert resolve_init(name, "glorot", "tanh") is INITIALIZERS["sklearn"]
        assert resolve_init(name, "relu", "relu") is INITIALIZERS["sklearn"]


def _initial_fit(activation, init=None, units=(3, 4, 2), n=20, dtype="float64", seed=5):
    """coefs_/intercepts_ after a fit at lr=1e-300: the initial values (float64)."""
    X = np.random.RandomState(0).randn(n, units[0])
    y = X[:, : units[-1]]
    kwargs = {} if init is None else {"init": init}
    reg = MLPRegressor(
        hidden_layer_sizes=units[1:-1],
        activation=activation,
        solver="sgd",
        momentum=0,
        learning_rate_init=1e-300,
        max_iter=1,
        random_state=seed,
        dtype=dtype,
        device="cpu",
        **kwargs,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X.astype(dtype), y.astype(dtype))
    return reg


# the logistic factor: f = 2, every other activation (scikit-learn's and skdl's) f = 6
@pytest.mark.parametrize(
    "activation, factor",
    [("relu", 6.0), ("tanh", 6.0), ("identity", 6.0), ("logistic", 2.0), ("gelu", 6.0)],
)
def test_default_init_has_sklearns_bound_on_weights_and_biases(activation, factor):
    # Hand-derived: scikit-learn's _init_coef draws weights and biases of a
    # layer from U(-b, b), b = sqrt(f / (fan_in + fan_out)). Layers 60 -> 40 -> 30:
    # b1 = sqrt(f / 100), b2 = sqrt(f / 70). |w| of 2400 (1200) uniform draws
    # stays below 0.995 b with probability 0.995**1200 < 0.3 %: the largest is
    # within 0.5 % of b (and the run is seeded); biases (40, 30 draws) within b.
    reg = _initial_fit(activation, units=(60, 40, 30), n=5)
    for coef, bias, (fan_in, fan_out) in zip(reg.coefs_, reg.intercepts_, [(60, 40), (40, 30)]):
        b = math.sqrt(factor / (fan_in + fan_out))
        assert np.abs(coef).max() <= b
        assert np.abs(coef).max() > 0.995 * b
        assert coef.var() == pytest.approx(b**2 / 3, rel=0.1)  # variance of U(-b, b)
        assert np.abs(bias).max() <= b
        assert np.abs(bias).max() > 0.5 * b  # biases are drawn too, not zero
        assert bias.var() == pytest.approx(b**2 / 3, rel=0.5)


@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh", "identity"])
@pytest.mark.parametrize("init", [None, "sklearn"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_default_init_is_sklearns_draw(activation, init, dtype):
    # Oracle: scikit-learn's own MLP with the same int random_state starts from
    # the very same weights and biases (both draw from RandomState(5)).
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor

    ours = _initial_fit(activation, init, units=(3, 5, 4, 2), dtype=dtype)
    X = np.random.RandomState(0).randn(20, 3).astype(dtype)
    sk = SkMLPRegressor(
        hidden_layer_sizes=(5, 4),
        activation=activation,
        solver="sgd",
        momentum=0,
        learning_rate_init=1e-300,
        max_iter=1,
        random_state=5,
        shuffle=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.fit(X, X[:, :2])
    for a, b in zip(ours.coefs_ + ours.intercepts_, sk.coefs_ + sk.intercepts_):
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("activation, init", [("relu", "he_normal"), ("tanh", "lecun_normal")])
def test_estimator_draws_initial_weights_from_its_seed(activation, init):
    # A learning rate of 1e-300 leaves the weights at their initial values in
    # float64: the fitted coefs_ are what init='lecture' drew from the seed.
    X = np.random.RandomState(0).randn(20, 3)
    y = X[:, 0]
    reg = MLPRegressor(
        hidden_layer_sizes=(4, 2),
        activation=activation,
        solver="sgd",
        momentum=0,
        learning_rate_init=1e-300,
        max_iter=1,
        random_state=5,
        init="lecture",
        dtype="float64",
        device="cpu",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    gen = torch.Generator().manual_seed(5)
    for coef, (n_in, n_out) in zip(reg.coefs_, [(3, 4), (4, 2), (2, 1)]):
        expected = INITIALIZERS[init](n_in, n_out, gen, torch.float64).numpy()
        np.testing.assert_array_equal(coef, expected)
    for bias in reg.intercepts_:  # the named initialisers start biases at 0 (lr 1e-300 moved
        assert np.abs(bias).max() < 1e-250  # them by ~1e-300 only)


def test_zeros_warns_and_hidden_units_stay_identical():
    # With the logistic activation every hidden unit outputs 0.5, so the weights
    # do move, but every unit gets the same gradient and they never break symmetry.
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = MLPClassifier(
        hidden_layer_sizes=(4,),
        activation="logistic",
        init="zeros",
        solver="sgd",
        learning_rate_init=0.5,
        max_iter=20,
        random_state=0,
        dtype="float64",
        device="cpu",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(UserWarning, match="init='zeros'"):
            clf.fit(X, y)
    w1, w2 = clf.coefs_
    assert np.abs(w1).max() > 1e-3  # training moved the weights ...
    np.testing.assert_array_equal(w1, np.repeat(w1[:, :1], 4, axis=1))  # ... all alike
    np.testing.assert_array_equal(clf.intercepts_[0], np.repeat(clf.intercepts_[0][0], 4))
    np.testing.assert_array_equal(w2, np.repeat(w2[:1], 4, axis=0))


def test_zeros_without_hidden_layer_does_not_warn():
    X = np.random.RandomState(0).randn(20, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        MLPRegressor(hidden_layer_sizes=(), init="zeros", solver="lbfgs", device="cpu").fit(
            X, X[:, 0]
        )


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_a_seed_gives_the_same_weights_in_every_dtype(name):
    # float32 weights are the float64 draw rounded (scikit-learn's initialisation
    # does not depend on X's dtype, so float32 and float64 fits start alike)
    w64 = INITIALIZERS[name](7, 5, torch.Generator().manual_seed(3), torch.float64)
    w32 = INITIALIZERS[name](7, 5, torch.Generator().manual_seed(3), torch.float32)
    assert w32.dtype == torch.float32
    torch.testing.assert_close(w32, w64.to(torch.float32), rtol=0, atol=0)
