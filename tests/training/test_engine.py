"""The engine's door: a plain spec in, one result type out, observers in between."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skdl import MLPRegressor
from skdl.optim import ConstantSchedule
from skdl.training.data import DeviceData, StackRows
from skdl.training.engine import StackSpec, fit_stack
from skdl.training.loop import LoopSpec
from skdl.training.observers import kept_model

RNG = np.random.RandomState(0)
X = RNG.randn(30, 3)
Y = (X @ np.array([1.0, -2.0, 0.5]))[:, None]


def _spec(solver="sgd", k=2, max_iter=5, **per_model):
    values = dict(
        learning_rate=np.full(k, 0.01),
        momentum=np.full(k, 0.9),
        beta_1=np.full(k, 0.9),
        beta_2=np.full(k, 0.999),
        epsilon=np.full(k, 1e-8),
        alpha_l2=np.full(k, 1e-4),
        alpha_l1=np.zeros(k),
    )
    values.update(per_model)
    return StackSpec(
        units=(3, 4, 1),
        dtype=torch.float64,
        solver=solver,
        activation="relu",
        loss="squared_error",
        loss_param=1.0,
        precision=None,
        nesterov=True,
        seeds=list(range(k)),
        init=["auto"] * k,
        act_param=None,
        dropout=np.zeros((k, 1)),
        loop=LoopSpec(
            batch_size=10,
            max_iter=max_iter,
            shuffle=True,
            tol=1e-4,
            n_iter_no_change=10,
            early_stopping=False,
            schedule=[ConstantSchedule() for _ in range(k)],
            score_kind="r2",
        ),
        **values,
    )


def _data():
    return DeviceData.from_arrays(X, Y, np.ones(len(X)), torch.float64, "cpu")


def _estimator(seed, solver="sgd", max_iter=5, **kw):
    est = MLPRegressor(
        hidden_layer_sizes=(4,),
        solver=solver,
        learning_rate_init=0.01,
        max_iter=max_iter,
        batch_size=10,
        random_state=seed,
        device="cpu",
        dtype="float64",
        **kw,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, Y[:, 0])


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_a_stack_from_a_plain_spec_is_the_estimators_models(solver):
    """No estimator in the spec: model k of the stack is the estimator fitted
    with random_state=k, for the stochastic solvers as for L-BFGS."""
    rows = StackRows([np.arange(len(X))] * 2)
    result = fit_stack(_spec(solver), _data(), rows)
    assert result.params.shape == (2, result.layout.n_params)
    for k in range(2):
        est = _estimator(k, solver)
        coefs, intercepts = result.weights(k)
        for a, b in zip(coefs + intercepts, est.coefs_ + est.intercepts_):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        assert result.n_iter[k] == est.n_iter_
        assert [r["train_loss"] for r in result.state.history[k]] == est.loss_curve_
        assert result.loss[k] == est.loss_
        assert result.stop_reason(k) in ("max_iter", "converged")
    assert (result.optimizer is None) == (solver == "lbfgs")


class _StopAt:
    def __init__(self, n):
        self.n, self.begun, self.ended = n, 0, 0

    def on_epoch_begin(self, state):
        self.begun += 1

    def on_epoch_end(self, state):
        self.ended += 1
        assert state.params.shape[0] == len(state.history)
        return self.ended >= self.n


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_an_observer_stops_the_stack(solver):
    observer = _StopAt(3)
    rows = StackRows([np.arange(len(X))])
    result = fit_stack(_spec(solver, k=1, max_iter=20), _data(), rows, [observer])
    assert observer.ended == 3
    assert result.stopped and result.stop_reason(0) == "observer"
    assert result.n_iter[0] == 3
    # each epoch (L-BFGS: the first, then one after each that does not stop) begun once
    assert observer.begun == 3


def test_kept_model_rule():
    idx = [0, 1, 2]
    loss = np.array([0.5, 0.1, 0.3])
    score = np.array([0.7, 0.9, 0.8])
    none = np.zeros(3, np.int64)
    assert kept_model(idx, loss, score, none, by_validation=False) == 1
    assert kept_model(idx, loss, score, none, by_validation=True) == 1
    diverged = np.array([0, 4, 0])  # model 1 diverged at epoch 4: never kept
    assert kept_model(idx, loss, score, diverged, by_validation=False) == 2
    assert kept_model(idx, loss, score, diverged, by_validation=True) == 2
    assert kept_model([2], loss, score, diverged, by_validation=False) == 2
    # a model with no finite loss is not kept either
    assert kept_model(idx, np.array([np.nan, 0.9, 0.3]), score, none, False) == 2
