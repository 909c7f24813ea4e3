"""scikit-learn's MLP contract where skdl used to differ (issue 11, items 1-5)."""

import numpy as np
import pytest
import torch

from skdl import MLPClassifier, MLPRegressor
from skdl.estimators._config import resolve_dtype

RNG = np.random.RandomState(0)
X = RNG.randn(60, 4)
Y_CLASS = (X[:, 0] + X[:, 1] > 0).astype(int)
Y_REG = X @ np.array([1.0, -2.0, 0.5, 0.0])


@pytest.mark.parametrize("Estimator, y", [(MLPClassifier, Y_CLASS), (MLPRegressor, Y_REG)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_auto_dtype_trains_in_X_dtype(Estimator, y, dtype):
    est = Estimator(hidden_layer_sizes=(5,), max_iter=3, random_state=0, device="cpu")
    with pytest.warns(Warning):  # max_iter reached
        est.fit(X.astype(dtype), y)
    assert est.dtype == "auto"
    assert all(c.dtype == dtype for c in est.coefs_)
    assert all(b.dtype == dtype for b in est.intercepts_)
    out = (
        est.predict_proba(X.astype(dtype))
        if Estimator is MLPClassifier
        else est.predict(X.astype(dtype))
    )
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype, expected", [("float32", np.float32), ("float64", np.float64)])
def test_explicit_dtype_wins_over_X(dtype, expected):
    x = X.astype(np.float32 if dtype == "float64" else np.float64)
    est = MLPRegressor(hidden_layer_sizes=(5,), max_iter=2, dtype=dtype, device="cpu")
    with pytest.warns(Warning):
        est.fit(x, Y_REG)
    assert est.coefs_[0].dtype == expected
    # predictions: the common dtype of X and the weights, as scikit-learn's
    assert est.predict(x).dtype == np.float64


def test_auto_dtype_rule():
    assert resolve_dtype("auto", np.float64, "cpu") == torch.float64
    assert resolve_dtype("auto", np.float32, "cpu") == torch.float32
    # accelerators and mixed precision: float32 whatever X is
    assert resolve_dtype("auto", np.float64, "cuda") == torch.float32
    assert resolve_dtype("auto", np.float64, "mps") == torch.float32
    assert resolve_dtype("auto", np.float64, "cpu", precision="bf16") == torch.float32
    assert resolve_dtype("float64", np.float32, "cuda") == torch.float64


def test_auto_dtype_warm_start_keeps_weights_dtype():
    est = MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", random_state=0, device="cpu")
    est.partial_fit(X.astype(np.float32), Y_REG)
    est.partial_fit(X, Y_REG)  # float64 X: continues in float32
    assert est.coefs_[0].dtype == np.float32


def test_integer_X_is_predicted_as_float64_as_sklearn_does():
    # scikit-learn's MLP validates predict's X with dtype=(float64, float32): an
    # integer X becomes float64; float32 would round 2**24 + 1 to 2**24
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from skdl import MLPRegressor

    rng = np.random.RandomState(0)
    X = rng.randn(40, 2)
    y = X[:, 0] - X[:, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = MLPRegressor(hidden_layer_sizes=(3,), activation="identity", max_iter=5,
                           random_state=0, device="cpu").fit(X, y)  # fmt: skip
    X_int = np.array([[2**24 + 1, 0], [2**24 + 3, 1]], dtype=np.int64)
    np.testing.assert_array_equal(reg.predict(X_int), reg.predict(X_int.astype(np.float64)))
    assert reg.predict(X_int).dtype == np.float64
