"""Oracles: hand-derived SGD steps, closed-form linear models, and scikit-learn's
own MLP started from the same weights."""

import warnings

import numpy as np
import pytest
import torch
from scipy.special import expit, softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

from skdl import MLPClassifier, MLPRegressor
from skdl.nn.init import INITIALIZERS

F64 = {"dtype": "float64", "device": "cpu"}

# A 3-2-1 network set by hand, and two samples.
X_HAND = np.array([[1.0, 2.0, -1.0], [0.5, -1.0, 2.0]])
W1 = np.array([[0.2, -0.4], [0.1, 0.3], [-0.5, 0.2]])
B1 = np.array([0.1, -0.2])
W2 = np.array([[0.7], [-0.3]])
B2 = np.array([0.05])
LR = 0.1


def _quiet(fit, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args, **kwargs)


def _hand_step(activation, out_activation, y, alpha):
    """One full-batch SGD step on (X_HAND, y), written out; returns new params and loss."""
    n = len(X_HAND)
    if activation == "tanh":
        act, act_d = np.tanh, lambda z, a: 1.0 - a**2
    else:
        act, act_d = (lambda z: np.maximum(z, 0.0)), (lambda z, a: (z > 0).astype(float))
    z1 = X_HAND @ W1 + B1
    h = act(z1)
    z2 = h @ W2 + B2
    if out_activation == "identity":
        out = z2
        data_loss = 0.5 * np.sum((out - y) ** 2) / n
    else:  # logistic
        out = expit(z2)
        data_loss = -np.sum(y * np.log(out) + (1 - y) * np.log(1 - out)) / n
    penalty = 0.5 * alpha * (np.sum(W1**2) + np.sum(W2**2)) / n
    delta2 = (out - y) / n
    g_w2 = h.T @ delta2 + alpha * W2 / n
    g_b2 = delta2.sum(0)
    delta1 = (delta2 @ W2.T) * act_d(z1, h)
    g_w1 = X_HAND.T @ delta1 + alpha * W1 / n
    g_b1 = delta1.sum(0)
    new = [W1 - LR * g_w1, W2 - LR * g_w2], [B1 - LR * g_b1, B2 - LR * g_b2]
    return new, data_loss + penalty


def _one_step_model(Estimator, activation, alpha, y):
    est = Estimator(
        hidden_layer_sizes=(2,),
        activation=activation,
        solver="sgd",
        momentum=0.0,
        learning_rate_init=LR,
        alpha=alpha,
        batch_size=len(X_HAND),
        shuffle=False,
        max_iter=1,
        random_state=0,
        **F64,
    )
    _quiet(est.fit, X_HAND, y)  # creates the fitted attributes
    est.coefs_ = [W1.copy(), W2.copy()]
    est.intercepts_ = [B1.copy(), B2.copy()]
    # momentum=0 keeps no state between steps, so what the first fit left in the
    # optimizer cannot leak into this step.
    est.partial_fit(X_HAND, y)
    return est


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_one_sgd_step_by_hand_regressor(activation, alpha):
    y = np.array([1.0, -0.5])
    reg = _one_step_model(MLPRegressor, activation, alpha, y)
    (coefs, intercepts), _ = _hand_step(activation, "identity", y[:, None], alpha)
    for got, expected in zip(reg.coefs_ + reg.intercepts_, coefs + intercepts):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_one_sgd_step_by_hand_classifier(activation, alpha):
    y = np.array([1, 0])
    clf = _one_step_model(MLPClassifier, activation, alpha, y)
    (coefs, intercepts), _ = _hand_step(activation, "logistic", y[:, None], alpha)
    for got, expected in zip(clf.coefs_ + clf.intercepts_, coefs + intercepts):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_loss_of_one_sgd_step_by_hand(alpha):
    # scikit-learn's loss_ of an epoch: each batch's loss, with the L2 penalty
    # of the weights that batch saw (before its update), averaged over samples.
    y = np.array([1.0, -0.5])
    reg = _one_step_model(MLPRegressor, "tanh", alpha, y)
    _, loss = _hand_step("tanh", "identity", y[:, None], alpha)
    assert reg.loss_ == pytest.approx(loss, rel=1e-12)
    assert reg.loss_curve_[-1] == reg.loss_


def test_one_sgd_step_by_hand_multiclass():
    # softmax output: delta = softmax(z) - onehot(y), the same backprop below it
    y = np.array([2, 0])
    y_onehot = np.eye(3)[y]
    w2 = np.array([[0.7, -0.2, 0.1], [-0.3, 0.4, 0.6]])
    b2 = np.array([0.05, -0.1, 0.0])
    clf = MLPClassifier(
        hidden_layer_sizes=(2,),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        learning_rate_init=LR,
        alpha=0.0,
        batch_size=2,
        shuffle=False,
        max_iter=1,
        random_state=0,
        **F64,
    )
    _quiet(clf.fit, np.vstack([X_HAND, X_HAND[:1]]), [2, 0, 1])
    clf.coefs_ = [W1.copy(), w2.copy()]
    clf.intercepts_ = [B1.copy(), b2.copy()]
    clf.partial_fit(X_HAND, y)

    h = np.tanh(X_HAND @ W1 + B1)
    p = softmax(h @ w2 + b2, axis=1)
    delta2 = (p - y_onehot) / 2
    delta1 = (delta2 @ w2.T) * (1 - h**2)
    expected = [
        W1 - LR * X_HAND.T @ delta1,
        w2 - LR * h.T @ delta2,
        B1 - LR * delta1.sum(0),
        b2 - LR * delta2.sum(0),
    ]
    got = clf.coefs_ + clf.intercepts_
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)
    assert clf.loss_ == pytest.approx(-np.mean(np.log(p[[0, 1], y])), rel=1e-12)


def test_sample_weight_scales_the_gradient_by_hand():
    # loss = sum_i w_i l_i / sum_i w_i: a weight of 3 on the first sample is the
    # same step as the hand step on the data [x0, x0, x0, x1].
    y = np.array([1.0, -0.5])
    reg = MLPRegressor(
        hidden_layer_sizes=(2,),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        learning_rate_init=LR,
        alpha=0.0,
        batch_size=2,
        shuffle=False,
        max_iter=1,
        random_state=0,
        **F64,
    )
    _quiet(reg.fit, X_HAND, y)
    reg.coefs_ = [W1.copy(), W2.copy()]
    reg.intercepts_ = [B1.copy(), B2.copy()]
    reg.partial_fit(X_HAND, y, sample_weight=np.array([3.0, 1.0]))

    x4, y4 = X_HAND[[0, 0, 0, 1]], y[[0, 0, 0, 1], None]
    h = np.tanh(x4 @ W1 + B1)
    delta2 = (h @ W2 + B2 - y4) / 4
    delta1 = (delta2 @ W2.T) * (1 - h**2)
    expected = [W1 - LR * x4.T @ delta1, W2 - LR * h.T @ delta2]
    for g, e in zip(reg.coefs_, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------- closed forms
def _linear_data(n=60, n_features=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, n_features)
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.1 * rng.randn(n)
    return X, y


def test_identity_without_hidden_layer_is_linear_regression_lbfgs():
    X, y = _linear_data()
    reg = MLPRegressor(
        hidden_layer_sizes=(),
        activation="identity",
        alpha=0.0,
        solver="lbfgs",
        tol=1e-12,
        max_iter=10_000,
        random_state=0,
        **F64,
    ).fit(X, y)
    ols = LinearRegression().fit(X, y)
    assert reg.n_layers_ == 2 and reg.coefs_[0].shape == (3, 1)
    # scipy's L-BFGS-B also stops on its relative-reduction test (ftol=2.2e-9),
    # which bounds how close it gets: about 1e-6 on these coefficients.
    np.testing.assert_allclose(reg.coefs_[0].ravel(), ols.coef_, atol=1e-5)
    np.testing.assert_allclose(reg.intercepts_[0], [ols.intercept_], atol=1e-5)
    np.testing.assert_allclose(reg.predict(X), ols.predict(X), atol=1e-5)


@pytest.mark.parametrize(
    "solver, params",
    [
        ("sgd", {"learning_rate_init": 0.1, "momentum": 0.9}),
        ("adam", {"learning_rate_init": 0.05}),
    ],
)
def test_identity_without_hidden_layer_is_linear_regression_full_batch(solver, params):
    X, y = _linear_data()
    reg = MLPRegressor(
        hidden_layer_sizes=(),
        activation="identity",
        alpha=0.0,
        solver=solver,
        batch_size=len(X),
        shuffle=False,
        tol=0.0,
        n_iter_no_change=10_000,
        max_iter=1000,
        random_state=0,
        **params,
        **F64,
    )
    _quiet(reg.fit, X, y)
    ols = LinearRegression().fit(X, y)
    np.testing.assert_allclose(reg.coefs_[0].ravel(), ols.coef_, atol=1e-8)
    np.testing.assert_allclose(reg.intercepts_[0], [ols.intercept_], atol=1e-8)


def _logistic_oracle():
    # sklearn 1.9 accepts C=np.inf (no penalty) with the default lbfgs solver.
    return LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000)


def test_no_hidden_layer_binary_is_logistic_regression():
    X, _ = _linear_data()
    rng = np.random.RandomState(1)
    y = (X @ np.array([1.0, -1.0, 0.5]) + 0.5 * rng.randn(len(X)) > 0).astype(int)
    clf = MLPClassifier(
        hidden_layer_sizes=(),
        alpha=0.0,
        solver="lbfgs",
        tol=1e-12,
        max_iter=10_000,
        random_state=0,
        **F64,
    ).fit(X, y)
    lr = _logistic_oracle().fit(X, y)
    assert clf.out_activation_ == "logistic"
    np.testing.assert_allclose(clf.predict_proba(X), lr.predict_proba(X), atol=1e-4)
    # binary: one output unit, identifiable, so the coefficients agree too
    np.testing.assert_allclose(clf.coefs_[0].ravel(), lr.coef_.ravel(), rtol=1e-3, atol=1e-3)


def test_no_hidden_layer_multiclass_is_multinomial_logistic_regression():
    X, _ = _linear_data()
    rng = np.random.RandomState(2)
    # noisy labels, so the maximum-likelihood solution is finite
    y = np.argmax(0.5 * X @ rng.randn(3, 3) + rng.randn(len(X), 3), axis=1)
    assert set(y) == {0, 1, 2}
    clf = MLPClassifier(
        hidden_layer_sizes=(),
        alpha=0.0,
        solver="lbfgs",
        tol=1e-12,
        max_iter=10_000,
        random_state=0,
        **F64,
    ).fit(X, y)
    lr = _logistic_oracle().fit(X, y)
    assert clf.out_activation_ == "softmax"
    # softmax logits are only defined up to a constant per sample: compare probabilities
    np.testing.assert_allclose(clf.predict_proba(X), lr.predict_proba(X), atol=1e-4)
    np.testing.assert_array_equal(clf.predict(X), lr.predict(X))


def test_l2_without_hidden_layer_is_ridge_lbfgs():
    # loss = 0.5 * mean (z - y)^2 + 0.5 * alpha * ||w||^2 / n is Ridge(alpha) / n
    from sklearn.linear_model import Ridge

    X, y = _linear_data()
    reg = MLPRegressor(
        hidden_layer_sizes=(),
        activation="identity",
        alpha=5.0,
        solver="lbfgs",
        tol=1e-12,
        max_iter=10_000,
        random_state=0,
        **F64,
    ).fit(X, y)
    ridge = Ridge(alpha=5.0).fit(X, y)
    np.testing.assert_allclose(reg.coefs_[0].ravel(), ridge.coef_, atol=1e-5)
    np.testing.assert_allclose(reg.intercepts_[0], [ridge.intercept_], atol=1e-5)


# -------------------------------------------- scikit-learn's MLP, same start
def _sklearn_from(est, seed, units, init):
    """Make scikit-learn's MLP start from skdl's initial weights for ``seed``:
    one torch generator per model, layer by layer; biases at zero."""
    gen = torch.Generator().manual_seed(seed)
    coefs = iter(
        [
            INITIALIZERS[init](a, b, gen, torch.float64).numpy()
            for a, b in zip(units[:-1], units[1:])
        ]
    )
    est._init_coef = lambda fan_in, fan_out, dtype: (next(coefs), np.zeros(fan_out))
    return est


SK_CASES = {
    "constant-nesterov": {"learning_rate": "constant", "momentum": 0.9},
    "constant-momentum": {"momentum": 0.9, "nesterovs_momentum": False},
    # with momentum, a changing learning rate differs by design: torch keeps the
    # momentum buffer in gradient units, scikit-learn in step units
    "invscaling": {"learning_rate": "invscaling", "momentum": 0.0},
    "adaptive": {"learning_rate": "adaptive", "momentum": 0.0},
    "l2": {"alpha": 0.01, "momentum": 0.9},
}


@pytest.mark.parametrize("case", sorted(SK_CASES))
def test_sgd_fit_matches_sklearn_from_same_weights(case):
    rng = np.random.RandomState(0)
    X = rng.randn(30, 3)
    y = np.sin(X[:, 0]) + X[:, 1]
    params = {
        "hidden_layer_sizes": (5,),
        "activation": "tanh",
        "solver": "sgd",
        "alpha": 0.0,
        "learning_rate_init": 0.05,
        "batch_size": 8,  # 4 batches, the last one short
        "shuffle": False,
        "max_iter": 200,
        "n_iter_no_change": 3,
        "tol": 1e-3,
        "random_state": 0,
        **SK_CASES[case],
    }
    ours = _quiet(MLPRegressor(**params, init="lecture", **F64).fit, X, y)
    theirs = _quiet(_sklearn_from(SkMLPRegressor(**params), 0, (3, 5, 1), "lecun_normal").fit, X, y)
    assert ours.n_iter_ == theirs.n_iter_ < 200  # stopped by the no-improvement rule
    assert ours.t_ == theirs.t_
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-10)


@pytest.mark.parametrize("y_kind", ["binary", "multiclass", "multilabel"])
def test_sgd_classifier_matches_sklearn_from_same_weights(y_kind):
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    if y_kind == "binary":
        y = (X[:, 0] > 0).astype(int)
    elif y_kind == "multiclass":
        y = np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])
    else:
        y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 2] > 0.5]).astype(int)
    n_out = {"binary": 1, "multiclass": 3, "multilabel": 3}[y_kind]
    params = {
        "hidden_layer_sizes": (4,),
        "activation": "relu",
        "solver": "sgd",
        "alpha": 0.0,
        "momentum": 0.9,
        "learning_rate_init": 0.1,
        "batch_size": 16,
        "shuffle": False,
        "max_iter": 15,
        "random_state": 3,
    }
    ours = _quiet(MLPClassifier(**params, init="lecture", **F64).fit, X, y)
    theirs = _quiet(
        _sklearn_from(SkMLPClassifier(**params), 3, (3, 4, n_out), "he_normal").fit, X, y
    )
    assert ours.out_activation_ == theirs.out_activation_
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-10)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_sgd_with_sample_weight_matches_sklearn():
    rng = np.random.RandomState(0)
    X = rng.randn(30, 3)
    y = X[:, 0] - X[:, 2]
    w = rng.uniform(0.2, 3.0, size=30)
    params = {
        "hidden_layer_sizes": (4,),
        "activation": "tanh",
        "solver": "sgd",
        "alpha": 0.0,
        "momentum": 0.5,
        "learning_rate_init": 0.05,
        "batch_size": 10,
        "shuffle": False,
        "max_iter": 10,
        "random_state": 1,
    }
    ours = _quiet(MLPRegressor(**params, init="lecture", **F64).fit, X, y, sample_weight=w)
    theirs = _quiet(
        _sklearn_from(SkMLPRegressor(**params), 1, (3, 4, 1), "lecun_normal").fit,
        X,
        y,
        sample_weight=w,
    )
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)


@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh"])
@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_default_fit_matches_unpatched_sklearn(activation, solver):
    # With the default init, skdl starts from scikit-learn's own draw for the
    # same int random_state: no patching, the two fits are the same fit.
    # (Not Adam: skdl's adds epsilon after the bias correction, as torch does.)
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    y = np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])
    params = {
        "hidden_layer_sizes": (6, 4),
        "activation": activation,
        "solver": solver,
        "learning_rate_init": 0.05,
        "batch_size": 16,
        "shuffle": False,
        # L-BFGS: 5 iterations; later, rounding (1e-14 by then) can tip a line
        # search one way or the other
        "max_iter": 12 if solver == "sgd" else 5,
        "random_state": 4,
    }
    ours = _quiet(MLPClassifier(**params, **F64).fit, X, y)
    theirs = _quiet(SkMLPClassifier(**params).fit, X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    if solver == "sgd":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9)


def test_poisson_without_hidden_layer_is_poisson_regression():
    from sklearn.linear_model import PoissonRegressor

    rng = np.random.RandomState(0)
    X = rng.randn(80, 3)
    y = rng.poisson(np.exp(X @ np.array([0.3, -0.5, 0.2]) + 0.5)).astype(float)
    reg = MLPRegressor(
        loss="poisson",
        hidden_layer_sizes=(),
        alpha=0.0,
        solver="lbfgs",
        tol=1e-12,
        max_iter=10_000,
        random_state=0,
        # L-BFGS stops on scipy's ftol (as scikit-learn's does): from the default
        # (scikit-learn) start after 7 iterations, |grad| 4e-6, predictions 1.3e-5
        # off the GLM; from this start after 12, |grad| 8e-8
        init="lecture",
        **F64,
    ).fit(X, y)
    glm = PoissonRegressor(alpha=0.0, tol=1e-12, max_iter=10_000).fit(X, y)
    assert reg.out_activation_ == "exp"
    np.testing.assert_allclose(reg.coefs_[0].ravel(), glm.coef_, atol=1e-5)
    np.testing.assert_allclose(reg.intercepts_[0], [glm.intercept_], atol=1e-5)
    np.testing.assert_allclose(reg.predict(X), glm.predict(X), rtol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_multioutput_regressor_loss_matches_sklearn_from_same_weights(alpha):
    # scikit-learn's squared_error is the mean over samples *and* outputs (its
    # gradient is not divided by the outputs): loss_, loss_curve_, best_loss_ and
    # so the tol-based stop must match it, not be n_outputs times it
    rng = np.random.RandomState(0)
    X = rng.randn(30, 3)
    y = np.column_stack([np.sin(X[:, 0]) + X[:, 1], X[:, 2] ** 2, X[:, 0] - X[:, 1]])
    params = {
        "hidden_layer_sizes": (5,),
        "activation": "tanh",
        "solver": "sgd",
        "alpha": alpha,
        "learning_rate_init": 0.02,
        "batch_size": 8,
        "shuffle": False,
        "max_iter": 300,
        "tol": 1e-3,
        "random_state": 0,
    }
    ours = _quiet(MLPRegressor(**params, init="lecture", **F64).fit, X, y)
    theirs = _quiet(_sklearn_from(SkMLPRegressor(**params), 0, (3, 5, 3), "lecun_normal").fit, X, y)
    assert ours.n_iter_ == theirs.n_iter_ < 300  # stopped by the no-improvement rule
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-10)
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-10)


def test_multioutput_loss_by_hand():
    # a step of ~0 from the start: loss_ is half the mean squared error over
    # every sample and output at the (unchanged) weights, plus the L2 term / n
    rng = np.random.RandomState(1)
    X, y = rng.randn(20, 4), rng.randn(20, 3)
    est = _quiet(
        MLPRegressor(
            hidden_layer_sizes=(6,), solver="sgd", learning_rate_init=1e-300, momentum=0.0,
            batch_size=20, max_iter=1, alpha=0.5, random_state=0, **F64,
        ).fit,
        X,
        y,
    )
    l2 = 0.5 * 0.5 * sum((w**2).sum() for w in est.coefs_) / 20
    expected = 0.5 * np.mean((y - est.predict(X)) ** 2) + l2
    assert est.loss_ == pytest.approx(expected, rel=1e-12)
