"""Invariances: what must not change a fitted model (seeds, pickling, unit
weights, input precision, how the epochs are split across calls)."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

from skdl import MLPClassifier, MLPRegressor

F64 = {"dtype": "float64", "device": "cpu"}


def _data(kind, n=60, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4)
    if kind == "regression":
        return X, X[:, 0] - 2 * X[:, 1] + np.sin(X[:, 2])
    return X, np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])  # 3 classes


def _estimator(kind, **params):
    params = {"hidden_layer_sizes": (8,), "max_iter": 15, "random_state": 0, **params}
    params.setdefault("device", "cpu")
    return MLPRegressor(**params) if kind == "regression" else MLPClassifier(**params)


def _fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def _params(est):
    return est.coefs_ + est.intercepts_


def _assert_same_weights(a, b, **tol):
    assert len(a.coefs_) == len(b.coefs_)
    for x, y in zip(_params(a), _params(b)):
        if tol:
            np.testing.assert_allclose(x, y, **tol)
        else:
            np.testing.assert_array_equal(x, y)


KINDS = ["regression", "classification"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"dtype": "float64"},
        {"solver": "sgd", "dropout": 0.3},
        {"early_stopping": True, "n_init": 2},
        {"solver": "lbfgs"},
    ],
    ids=["adam", "float64", "sgd-dropout", "early-stopping", "lbfgs"],
)
def test_same_random_state_same_model(kind, params):
    X, y = _data(kind)
    a = _fit(_estimator(kind, **params), X, y)
    b = _fit(_estimator(kind, **params), X, y)
    _assert_same_weights(a, b)
    assert a.loss_curve_ == b.loss_curve_
    c = _fit(_estimator(kind, **{**params, "random_state": 5}), X, y)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "params",
    [
        {"solver": "adam"},
        {"solver": "sgd", "dropout": 0.2, "early_stopping": True, "n_init": 2},
        {"solver": "lbfgs"},
    ],
    ids=["adam", "sgd-dropout-es", "lbfgs"],
)
def test_fit_leaves_global_rngs_alone(kind, params):
    X, y = _data(kind)
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()  # noqa: NPY002 (the global state is the point)
    est = _fit(_estimator(kind, **params), X, y)
    est.predict(X)
    if params["solver"] != "lbfgs":
        _fit(est.set_params(warm_start=True), X, y)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == np_state[0]
    np.testing.assert_array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]


def test_random_state_none_leaves_torch_rng_alone():
    # random_state=None draws its seed from numpy's global generator (as
    # scikit-learn does); torch's global generator is never used.
    X, y = _data("regression")
    torch_state = torch.random.get_rng_state()
    _fit(_estimator("regression", random_state=None), X, y)
    assert torch.equal(torch.random.get_rng_state(), torch_state)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_unit_sample_weight_is_no_weight(kind, solver):
    X, y = _data(kind)
    params = {"solver": solver, "dtype": "float64"}
    a = _fit(_estimator(kind, **params), X, y)
    b = _fit(_estimator(kind, **params), X, y, sample_weight=np.ones(len(X)))
    _assert_same_weights(a, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_sample_weight_scale_does_not_matter_without_penalty(kind):
    # the loss is sum_i w_i l_i / sum_i w_i: scaling every weight cancels
    X, y = _data(kind)
    w = np.random.RandomState(1).uniform(0.5, 2.0, len(X))
    params = {"alpha": 0.0, "dtype": "float64"}
    a = _fit(_estimator(kind, **params), X, y, sample_weight=w)
    b = _fit(_estimator(kind, **params), X, y, sample_weight=4.0 * w)
    _assert_same_weights(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_integer_sample_weight_is_repetition_full_batch(kind):
    # lbfgs sees every row at once, so a weight of 2 is exactly a repeated row
    X, y = _data(kind, n=30)
    w = np.random.RandomState(1).randint(1, 4, len(X))
    params = {"solver": "lbfgs", "alpha": 1e-2, "dtype": "float64", "max_iter": 30}
    a = _fit(_estimator(kind, **params), X, y, sample_weight=w)
    b = _fit(_estimator(kind, **params), np.repeat(X, w, axis=0), np.repeat(y, w))
    _assert_same_weights(a, b, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_pickle_round_trip(kind, solver):
    X, y = _data(kind)
    est = _fit(_estimator(kind, solver=solver), X, y)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    if kind == "classification":
        np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert loaded.get_params() == est.get_params()
    _assert_same_weights(loaded, est)


@pytest.mark.parametrize("kind", KINDS)
def test_pickled_model_keeps_training_the_same(kind):
    # the optimizer and shuffling state travel with the pickle
    X, y = _data(kind)
    est = _fit(_estimator(kind, solver="adam", dtype="float64"), X, y)
    loaded = pickle.loads(pickle.dumps(est))
    est.partial_fit(X, y)
    loaded.partial_fit(X, y)
    _assert_same_weights(loaded, est)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_and_float64_X_give_the_same_model(kind):
    X, y = _data(kind)
    # with an explicit training dtype, X's dtype does not change the model
    # (dtype='auto' trains in X's dtype, as scikit-learn does)
    a = _fit(_estimator(kind, dtype="float32"), X.astype(np.float32), y)
    b = _fit(_estimator(kind, dtype="float32"), X.astype(np.float64), y)
    _assert_same_weights(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"solver": "sgd", "batch_size": 16},
        {"solver": "lbfgs", "max_iter": 20},
        {"dropout": 0.2},
    ],
    ids=["adam", "sgd", "lbfgs", "dropout"],
)
def test_n_init_is_the_best_of_separate_fits(kind, params):
    X, y = _data(kind)
    params = {"dtype": "float64", **params}
    stack = _fit(_estimator(kind, n_init=3, random_state=0, **params), X, y)
    alone = [_fit(_estimator(kind, random_state=r, **params), X, y) for r in range(3)]
    losses = [m.loss_ for m in alone]
    assert len(set(losses)) == 3  # the three seeds really differ
    best = alone[int(np.argmin(losses))]
    _assert_same_weights(stack, best, rtol=1e-6, atol=1e-9)
    assert stack.loss_ == pytest.approx(best.loss_, rel=1e-9)
    assert stack.n_iter_ == best.n_iter_


@pytest.mark.parametrize("kind", KINDS)
def test_n_init_with_early_stopping_is_the_best_validation_score(kind):
    X, y = _data(kind, n=100)
    params = {"dtype": "float64", "early_stopping": True, "max_iter": 30, "n_iter_no_change": 3}
    stack = _fit(_estimator(kind, n_init=3, random_state=0, **params), X, y)
    alone = [_fit(_estimator(kind, random_state=r, **params), X, y) for r in range(3)]
    best = alone[int(np.argmax([m.best_validation_score_ for m in alone]))]
    _assert_same_weights(stack, best, rtol=1e-6, atol=1e-9)
    assert stack.best_validation_score_ == pytest.approx(best.best_validation_score_)
    assert stack.validation_scores_ == pytest.approx(best.validation_scores_)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "solver, shuffle, dropout",
    [("sgd", False, 0.0), ("adam", False, 0.0), ("adam", True, 0.0), ("sgd", False, 0.3)],
)
def test_partial_fit_k_times_is_fit_k_epochs(kind, solver, shuffle, dropout):
    X, y = _data(kind)
    k = 4
    params = {
        "solver": solver,
        "batch_size": 16,
        "shuffle": shuffle,
        "dropout": dropout,
        "tol": 0.0,
        "n_iter_no_change": 100,
        "dtype": "float64",
    }
    full = _fit(_estimator(kind, max_iter=k, **params), X, y)
    inc = _estimator(kind, **params)
    for _ in range(k):
        if kind == "classification":
            inc.partial_fit(X, y, classes=np.unique(y))
        else:
            inc.partial_fit(X, y)
    _assert_same_weights(inc, full, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(inc.loss_curve_, full.loss_curve_, rtol=1e-12)
    assert inc.t_ == full.t_ == k * len(X)


@pytest.mark.parametrize("kind", KINDS)
def test_clone_is_unfitted(kind):
    X, y = _data(kind)
    est = _fit(_estimator(kind, alpha=0.1, width=5, depth=2), X, y)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "coefs_")
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    with pytest.raises(NotFittedError):
        copy.predict(X)
    _fit(copy, X, y)
    _assert_same_weights(copy, est)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("solver, dropout", [("sgd", 0.0), ("adam", 0.0), ("adam", 0.3)])
def test_warm_start_continues(kind, solver, dropout):
    X, y = _data(kind)
    params = {
        "solver": solver,
        "dropout": dropout,
        "tol": 0.0,
        "n_iter_no_change": 100,
        "dtype": "float64",
    }
    est = _fit(_estimator(kind, max_iter=5, **params), X, y)
    first = list(est.loss_curve_)
    est.set_params(warm_start=True)
    _fit(est, X, y)
    assert len(est.loss_curve_) == 10
    assert est.loss_curve_[:5] == first
    # the optimizer and shuffling state are kept: two fits of 5 epochs are one of 10
    once = _fit(_estimator(kind, max_iter=10, **params), X, y)
    _assert_same_weights(est, once, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(est.loss_curve_, once.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_without_warm_start_refit_starts_over(kind):
    X, y = _data(kind)
    est = _fit(_estimator(kind, max_iter=5), X, y)
    first = [c.copy() for c in _params(est)]
    _fit(est, X, y)
    assert len(est.loss_curve_) == 5
    for a, b in zip(_params(est), first):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_keeps_the_best_epoch():
    X, y = _data("regression", n=120)
    params = {
        "solver": "adam",
        "learning_rate_init": 0.05,
        "early_stopping": True,
        "validation_fraction": 0.25,
        "n_iter_no_change": 3,
        "tol": 0.0,
        "max_iter": 200,
        "dtype": "float64",
    }
    est = _fit(_estimator("regression", **params), X, y)
    scores = est.validation_scores_
    best_epoch = int(np.argmax(scores))
    assert est.best_validation_score_ == max(scores)
    assert est.best_loss_ is None
    assert len(scores) == len(est.loss_curve_) == est.n_iter_
    # stopped by patience: n_iter_no_change + 1 epochs without improvement
    assert est.n_iter_ < 200
    assert est.n_iter_ == best_epoch + 1 + params["n_iter_no_change"] + 1
    # the kept weights are those after the best epoch: training that long
    # with the same seed (same split, same batches) ends on the same weights
    short = _fit(_estimator("regression", **{**params, "max_iter": best_epoch + 1}), X, y)
    _assert_same_weights(est, short, rtol=1e-12, atol=1e-14)
    assert short.validation_scores_[-1] == est.best_validation_score_


def _reference_outputs(est, X):
    """The network's raw outputs in float64 numpy, from coefs_ and intercepts_."""
    a = np.asarray(X, dtype=np.float64)
    for i, (w, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        a = a @ w.astype(np.float64) + b
        if i < len(est.coefs_) - 1:
            a = np.maximum(a, 0)
    return a


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_sees_coefs_edited_in_place_or_replaced(dtype):
    # predict keeps the weights' tensors between calls; they must follow the
    # arrays, whether shared (float64 model, float64 X) or converted copies
    X, y = _data("regression")
    est = _fit(_estimator("regression", dtype=dtype), X, y)
    before = est.predict(X[:3])
    est.coefs_[0][0, 0] += 1.0
    est.intercepts_[-1][0] -= 0.5
    edited = est.predict(X[:3])
    assert not np.allclose(edited, before)
    np.testing.assert_allclose(edited, _reference_outputs(est, X[:3]).ravel(), rtol=1e-6)
    est.coefs_ = [c * 0.5 for c in est.coefs_]
    np.testing.assert_allclose(
        est.predict(X[:3]), _reference_outputs(est, X[:3]).ravel(), rtol=1e-6
    )
    est.intercepts_ = [np.zeros_like(b) for b in est.intercepts_]
    np.testing.assert_allclose(
        est.predict(X[:3]), _reference_outputs(est, X[:3]).ravel(), rtol=1e-6
    )
    state = dict(vars(est))
    est.predict(X[:3])
    assert vars(est).keys() == state.keys(), "predict leaves the estimator's attributes alone"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_is_the_same_in_one_row_and_in_a_large_batch(dtype):
    # few rows and many take different product shapes (narrow layers transposed
    # from FEW_ROWS rows on); every row must come out the same either way
    rng = np.random.RandomState(1)
    X = rng.randn(300, 40).astype(dtype)
    y = rng.randint(0, 4, 300)
    est = _fit(MLPClassifier(hidden_layer_sizes=(30,), max_iter=3, random_state=0), X, y)
    full = est.predict_proba(X)
    rows = np.vstack([est.predict_proba(X[i : i + 1]) for i in range(0, 300, 37)])
    rtol = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(rows, full[::37], rtol=rtol, atol=1e-12)
