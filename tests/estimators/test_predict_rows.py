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
