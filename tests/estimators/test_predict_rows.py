"""The few-row numpy predict path and hidden-layer overflow (issue 12 item 12, issue 15 s3)."""

import warnings

import numpy as np
import pytest

from skdl import MLPRegressor

_F = {"tanh": np.tanh, "logistic": lambda z: 1 / (1 + np.exp(-z))}


def _oracle(est, X, act):
    a = X.astype(np.float64)
    for i, (w, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        a = a @ w.astype(np.float64) + b
        if i < len(est.coefs_) - 1:
            a = _F[act](a)
    return a.ravel()


@pytest.mark.parametrize("act", ["tanh", "logistic"])
@pytest.mark.parametrize("n_rows", [1, 20, 120])
def test_hidden_layer_overflow_is_recomputed_in_float64(act, n_rows):
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPRegressor(hidden_layer_sizes=(8,), activation=act, max_iter=5, random_state=0)
        est.fit(X.astype(np.float32), X @ [1.0, 2, 3])
    est.coefs_[0] = np.random.RandomState(2).uniform(-2, 2, (3, 8)).astype(np.float32)
    Xb = (np.random.RandomState(1).uniform(-1, 1, (240, 3)) * 3e38).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # sklearn's check_array sum
        pred = np.concatenate([est.predict(Xb[i : i + n_rows]) for i in range(0, 240, n_rows)])
    np.testing.assert_allclose(pred, _oracle(est, Xb, act).astype(np.float32), rtol=1e-5)


def test_finite_pre_activations_whose_total_overflows_predict_as_usual():
    """predict first checks each layer's total of pre-activations: finite ones whose
    total overflows float32 (9e36 x 8 units x 120 rows) must still predict the
    rows' own values, not be mistaken for an overflow."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPRegressor(hidden_layer_sizes=(8,), activation="relu", max_iter=2, random_state=0)
        est.fit(np.ones((10, 3), dtype=np.float32), np.arange(10.0))
    est.coefs_[0] = np.full((3, 8), 3e36, dtype=np.float32)
    est.intercepts_[0] = np.zeros(8, dtype=np.float32)
    est.coefs_[1] = np.full((8, 1), 1e-37, dtype=np.float32)
    X = np.ones((120, 3), dtype=np.float32)
    pred = est.predict(X)
    assert np.isfinite(pred).all()
    expected = (np.float64(9e36) * 8 * np.float64(np.float32(1e-37))) + est.intercepts_[1][0]
    np.testing.assert_allclose(pred, expected, rtol=1e-5)
