"""Issue 12, items 8-12 ("validation holes"): inputs and parameters that passed
validation but then failed inside torch or numpy, or silently gave NaN."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skdl import MLPClassifier, MLPRegressor

FAST = {"hidden_layer_sizes": (4,), "max_iter": 3, "random_state": 0, "device": "cpu"}


def _data(n=40, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 3)
    return X, (X[:, 0] > 0).astype(int), X[:, 0] - X[:, 1]


def _quiet(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return call()


def _raises(exc_type, match, call):
    """pytest.raises, plus: the error is ours (or scikit-learn's), not torch's."""
    with pytest.raises(exc_type, match=match) as info:
        _quiet(call)
    err = info.value
    assert not isinstance(err, RuntimeError), f"raw {type(err).__name__}: {err}"
    assert not type(err).__module__.startswith("torch")
    return err


# ---------------------------------------------- 8: continuing another layout
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
@pytest.mark.parametrize(
    "change", [{"hidden_layer_sizes": (7,)}, {"hidden_layer_sizes": (4, 3)}, {"depth": 2}]
)
def test_continue_with_another_layout(Estimator, how, change):
    X, yc, yr = _data()
    y = yc if Estimator is MLPClassifier else yr
    est = Estimator(**FAST, warm_start=how == "warm_start")
    _quiet(lambda: est.fit(X, y))
    coefs = [c.copy() for c in est.coefs_]
    est.set_params(**change)
    call = est.fit if how == "warm_start" else est.partial_fit
    err = _raises(ValueError, r"hidden layer sizes are \(4,\)", lambda: call(X, y))
    assert "warm_start=False" in str(err) or "call fit" in str(err)
    # nothing changed: the fitted model still predicts with its weights
    assert all(np.array_equal(a, b) for a, b in zip(coefs, est.coefs_))
    assert est.predict(X).shape[0] == X.shape[0]
    # a fresh fit trains the new layout
    est.set_params(warm_start=False)
    _quiet(lambda: est.fit(X, y))
    assert len(est.coefs_) == est.n_layers_ - 1


def test_continue_with_the_same_layout_still_works():
    X, yc, _ = _data()
    est = _quiet(lambda: MLPClassifier(**FAST, warm_start=True).fit(X, yc))
    est.set_params(hidden_layer_sizes=[4])  # a list of the same sizes
    _quiet(lambda: est.fit(X, yc))
    _quiet(lambda: est.partial_fit(X, yc))


# ------------------------------------------ 9: sizes that cannot be allocated
@pytest.mark.parametrize(
    "params, name",
    [
        ({"n_init": 10**12}, "n_init"),
        ({"n_init": 2**31}, "n_init"),  # was numpy's "high <= 0" with random_state=None
        ({"depth": 10**9}, "depth"),
        ({"width": 10**30}, "width"),
        ({"hidden_layer_sizes": [10**19]}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": [10**30]}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": 10**19}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": [2] * 20_000}, "hidden_layer_sizes"),
    ],
)
def test_sizes_beyond_the_bounds(params, name):
    X, yc, _ = _data()
    est = MLPClassifier(**{**FAST, "random_state": None, **params})
    err = _raises(ValueError, name, lambda: est.fit(X, yc))
    assert "ufunc" not in str(err) and "long long" not in str(err)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize(
    "params", [{"width": 2**31 - 1, "depth": 3}, {"hidden_layer_sizes": [2**30, 2**30]}]
)
def test_fit_too_large_for_memory(solver, params):
    from skdl.estimators._config import FitTooLargeError

    X, _, yr = _data()
    est = MLPRegressor(**{**FAST, "solver": solver, **params})
    err = _raises(MemoryError, r"GiB of memory", lambda: est.fit(X, yr))
    assert isinstance(err, (FitTooLargeError, ValueError))
    assert "hidden_layer_sizes" in str(err) and "n_init" in str(err)


def test_many_restarts_refused_before_allocating(monkeypatch):
    import skdl.estimators._config as config

    monkeypatch.setattr(config, "memory_limit", lambda device: 2**24)
    X, yc, _ = _data()
    est = MLPClassifier(**{**FAST, "n_init": 10**4})
    err = _raises(MemoryError, r"n_init=10000\b", lambda: est.fit(X, yc))
    assert "0.0156 GiB" in str(err)
    # within the limit, it trains
    _quiet(lambda: MLPClassifier(**{**FAST, "n_init": 3}).fit(X, yc))


def test_seeds_are_valid_for_any_random_state():
    from skdl.estimators._spec import seeds as _seeds

    assert _seeds(0, 3) == [0, 1, 2]
    assert _seeds(2**32 - 1, 2) == [2**32 - 1, 0]  # wraps: train_test_split takes < 2**32
    drawn = _seeds(None, 1000)
    assert all(0 <= s < 2**32 for s in drawn) and len(set(drawn)) == 1000
    X, yc, _ = _data()
    est = MLPClassifier(**{**FAST, "random_state": 2**32 - 1, "n_init": 2, "early_stopping": True})
    _quiet(lambda: est.fit(X, yc))


# ------------------------------------------------- 10: class_weight's values
@pytest.mark.parametrize(
    "class_weight, what",
    [
        ({0: "a", 1: 1}, "'a' \\(not a number\\)"),
        ({0: None}, "None \\(not a number\\)"),
        ({0: None, 1: 1.0}, "None \\(not a number\\)"),  # was a silent NaN weight
        ({0: [1.0], 1: 1.0}, "\\[1.0\\] \\(not a number\\)"),
        ({0: np.nan, 1: 1.0}, "nan \\(not finite\\)"),
        ({0: 1.0, 1: -2.0}, "-2.0 \\(negative\\)"),
    ],
)
def test_class_weight_values_are_named(class_weight, what):
    X, yc, _ = _data()
    est = MLPClassifier(**FAST, class_weight=class_weight)
    _raises(ValueError, f"class_weight .* of class .* is {what}", lambda: est.fit(X, yc))
    _raises(ValueError, "class_weight", lambda: est.partial_fit(X, yc, classes=[0, 1]))


def test_class_weight_numbers_of_any_type_work():
    X, yc, _ = _data()
    cw = {0: np.float32(2.0), 1: np.int64(1)}
    est = _quiet(lambda: MLPClassifier(**FAST, class_weight=cw).fit(X, yc))
    assert est.predict(X).shape == yc.shape
    # classes missing from the dict: scikit-learn's own message
    _raises(
        ValueError,
        r"The classes, \[0, 1\], are not in class_weight",
        lambda: MLPClassifier(**FAST, class_weight={2: 1.0}).fit(X, yc),
    )


# --------------------------------------------- 11: y the training dtype cannot hold
def test_huge_y_float64_fits_as_scikit_learn():
    X, _, yr = _data()
    est = _quiet(lambda: MLPRegressor(**FAST, dtype="float64").fit(X, yr * 1e30))
    assert np.isfinite(est.loss_) and np.all(np.isfinite(est.predict(X)))


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("X_dtype, dtype", [(np.float32, "auto"), (np.float64, "float32")])
def test_huge_y_float32_is_named(solver, X_dtype, dtype):
    X, _, yr = _data()
    est = MLPRegressor(**FAST, solver=solver, dtype=dtype)
    err = _raises(
        ValueError,
        r"y has values up to \d\.\d+e\+30 .* float32 .*TransformedTargetRegressor.*dtype='float64'",
        lambda: est.fit(X.astype(X_dtype), yr * 1e30),
    )
    assert "scale X" not in str(err) and "diverged" not in str(err)


def test_y_beyond_float64_squares_is_named():
    X, _, yr = _data()
    est = MLPRegressor(**FAST, loss="squared_error")
    err = _raises(ValueError, "y has values up to 1e\\+300", lambda: est.fit(X, yr * 0 + 1e300))
    assert "dtype='float64'" not in str(err)  # already float64: scaling y is the fix
    # a linear loss holds it
    assert np.isfinite(
        _quiet(lambda: MLPRegressor(**FAST, loss="absolute_error").fit(X, yr * 1e100)).loss_
    )


@pytest.mark.parametrize("y", [[1.0, None] * 20, np.array([1.0, None] * 20, dtype=object)])
def test_y_with_none_contains_nan(y):
    X, _, _ = _data()
    _raises(ValueError, "^Input y contains NaN", lambda: MLPRegressor(**FAST).fit(X, y))
    _raises(ValueError, "^Input y contains NaN", lambda: MLPRegressor(**FAST).partial_fit(X, y))


# ------------------------------------- 12: finite X near float32's largest value
def _huge_X(n=120, seed=1):
    rng = np.random.RandomState(seed)
    return (rng.uniform(-1, 1, (n, 3)) * 3e38).astype(np.float32)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("n_rows", [5, 120])  # below and above FEW_ROWS
def test_predict_proba_on_huge_float32_X_has_no_nan(n_classes, n_rows):
    X, _, _ = _data(60)
    y = np.arange(60) % n_classes
    est = _quiet(lambda: MLPClassifier(**{**FAST, "max_iter": 5}).fit(X.astype(np.float32), y))
    Xb = _huge_X(n_rows)
    proba = est.predict_proba(Xb)
    assert proba.dtype == np.float32
    assert not np.isnan(proba).any()
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    # the same network in float64 (float64 X): the oracle
    ref = est.predict_proba(Xb.astype(np.float64))
    np.testing.assert_allclose(proba, ref.astype(np.float32), atol=1e-6)
    assert set(est.predict(Xb)) <= set(est.classes_)


def test_predict_on_huge_float32_X_regressor_no_nan():
    X, _, yr = _data(60)
    est = _quiet(lambda: MLPRegressor(**FAST).fit(X.astype(np.float32), yr))
    Xb = _huge_X()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # float64 values beyond float32: inf
        pred = est.predict(Xb)
        ref = est.predict(Xb.astype(np.float64)).astype(np.float32)
    assert not np.isnan(pred).any()
    np.testing.assert_allclose(pred, ref, rtol=1e-5)
    # a bounded hidden layer keeps every prediction finite
    est = _quiet(lambda: MLPRegressor(**FAST, activation="tanh").fit(X.astype(np.float32), yr))
    assert np.all(np.isfinite(est.predict(Xb)))


def test_predict_refuses_nan_it_cannot_avoid():
    X, _, yr = _data(60)
    est = _quiet(lambda: MLPRegressor(**FAST).fit(X, yr))
    est.coefs_[0][0, 0] = np.nan
    _raises(ValueError, "coefs_/intercepts_ hold NaN", lambda: est.predict(X))
