"""``_continue_many``: fitted models trained further as one stack equal fresh fits."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from skdl import MLPClassifier


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_e1_then_more_epochs_equals_a_fresh_fit_of_the_total(dropout):
    X, y = load_iris(return_X_y=True)
    est = MLPClassifier(
        hidden_layer_sizes=(8,), max_iter=4, random_state=0, device="cpu", dropout=dropout
    )
    rows = [np.arange(0, 150, 2), np.arange(1, 150, 3)]
    jobs = [({"learning_rate_init": 0.01}, rows[0]), ({"learning_rate_init": 0.03}, rows[1])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = est._fit_many(X, y, jobs)
        continued = clone(est).set_params(max_iter=5)._continue_many(X, y, first, rows)
        fresh = clone(est).set_params(max_iter=9)._fit_many(X, y, jobs)
    for a, b in zip(continued, fresh):
        assert a.n_iter_ == b.n_iter_ == 9
        assert a.loss_curve_ == pytest.approx(b.loss_curve_, abs=1e-6)
        for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
            np.testing.assert_allclose(u, v, atol=1e-6)
