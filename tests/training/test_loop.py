"""The epoch loop's decisions: scikit-learn's no-improvement rule on hand-made
loss sequences, and the adaptive schedule's division by 5."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

from skdl import MLPRegressor
from skdl.optim import AdaptiveSchedule, ConstantSchedule
from skdl.training.loop import LoopSpec, LoopState, _update_stopping


def _spec(k, tol=0.1, n_iter_no_change=2, early_stopping=False, schedules=None):
    return LoopSpec(
        batch_size=1,
        max_iter=100,
        shuffle=False,
        tol=tol,
        n_iter_no_change=n_iter_no_change,
        early_stopping=early_stopping,
        schedule=schedules or [ConstantSchedule() for _ in range(k)],
        score_kind="r2",
    )


def _run(spec, state, losses=None, scores=None, lr_init=1e-3, active=None):
    """Feed one value per epoch; returns the epoch (1-based) each model stopped, 0 if not."""
    values = losses if losses is not None else scores
    k = values.shape[1]
    active = np.ones(k, dtype=bool) if active is None else active.copy()
    stopped = np.zeros(k, dtype=int)
    for epoch, v in enumerate(values, start=1):
        loss = v if losses is not None else np.zeros(k)
        score = v if scores is not None else None
        stop, _ = _update_stopping(spec, state, loss, score, active, np.full(k, lr_init))
        stopped[stop] = epoch
        active &= ~stop
    return stopped


def test_no_improvement_rule_by_hand():
    # tol=0.1, n_iter_no_change=2: stop after 3 epochs in a row that do not
    # beat the best loss by more than tol.
    spec = _spec(2)
    state = LoopState(2)
    losses = np.array(
        [
            # model 0: improves by less than tol every epoch
            # model 1: improves by 0.2 twice, stalls, improves, stalls
            [1.00, 2.0],
            [0.95, 1.8],  # model 0: 0.95 > 1.00 - 0.1 -> 1 epoch without improvement
            [0.92, 1.6],  # 2
            [0.91, 1.6],  # 3 > n_iter_no_change: model 0 stops here (epoch 4)
            [0.00, 1.6],  # model 1: 2
            [0.00, 1.3],  # model 1: improved, count back to 0
            [0.00, 1.3],  # 1
            [0.00, 1.3],  # 2
            [0.00, 1.3],  # 3: model 1 stops (epoch 9)
        ]
    )
    stopped = _run(spec, state, losses=losses)
    np.testing.assert_array_equal(stopped, [4, 9])
    np.testing.assert_allclose(state.best_loss, [0.91, 1.3])


def _sklearn_rule(values, tol, n_iter_no_change, early_stopping):
    """scikit-learn's _update_no_improvement_count, run on a sequence."""
    best = -np.inf if early_stopping else np.inf
    count = 0
    for epoch, v in enumerate(values, start=1):
        if early_stopping:
            count = count + 1 if v < best + tol else 0
            best = max(best, v)
        else:
            count = count + 1 if v > best - tol else 0
            best = min(best, v)
        if count > n_iter_no_change:
            return epoch
    return 0


@pytest.mark.parametrize("early_stopping", [False, True])
def test_no_improvement_rule_matches_sklearn_on_random_sequences(early_stopping):
    rng = np.random.RandomState(0)
    k, n_epochs = 50, 60
    # noisy, slowly improving curves, some flat, with exact ties
    drift = -np.outer(np.arange(n_epochs), rng.uniform(0, 0.05, k))
    values = np.round(1.0 + drift + rng.uniform(0, 0.1, (n_epochs, k)), 2)
    if early_stopping:
        values = -values
    tol, patience = 0.01, 3
    spec = _spec(k, tol=tol, n_iter_no_change=patience, early_stopping=early_stopping)
    state = LoopState(k)
    if early_stopping:
        stopped = _run(spec, state, scores=values)
    else:
        stopped = _run(spec, state, losses=values)
    expected = [_sklearn_rule(values[:, j], tol, patience, early_stopping) for j in range(k)]
    np.testing.assert_array_equal(stopped, expected)
    assert (stopped > 0).any() and (stopped == 0).any()


def test_early_stopping_reports_improved_models():
    spec = _spec(3, tol=0.0, early_stopping=True)
    state = LoopState(3)
    active = np.array([True, True, False])
    stop, improved = _update_stopping(
        spec, state, np.zeros(3), np.array([0.5, 0.2, 0.9]), active, np.full(3, 1e-3)
    )
    np.testing.assert_array_equal(improved, [True, True, False])
    np.testing.assert_array_equal(state.best_score, [0.5, 0.2, -np.inf])
    stop, improved = _update_stopping(
        spec, state, np.zeros(3), np.array([0.4, 0.3, 0.9]), active, np.full(3, 1e-3)
    )
    np.testing.assert_array_equal(improved, [False, True, False])
    np.testing.assert_array_equal(state.no_improve, [1, 0, 0])
    assert not stop.any()


def test_inactive_models_are_left_alone():
    spec = _spec(2, tol=0.0, n_iter_no_change=1)
    state = LoopState(2)
    active = np.array([True, False])
    for loss in ([1.0, 1.0], [2.0, 2.0], [3.0, 3.0]):
        stop, _ = _update_stopping(spec, state, np.array(loss), None, active, np.full(2, 1e-3))
    assert stop[0] and not stop[1]
    assert state.best_loss[1] == np.inf
    assert state.no_improve[1] == 0


def test_adaptive_divides_by_5_then_stops_below_min_lr():
    # lr_init=1e-3 and one plateau after another: 1e-3 -> 2e-4 -> 4e-5 -> 8e-6
    # -> 1.6e-6 -> 3.2e-7; the next plateau finds lr <= 1e-6 and stops.
    spec = _spec(2, tol=0.5, n_iter_no_change=0, schedules=[AdaptiveSchedule(), ConstantSchedule()])
    state = LoopState(2)
    factors = []
    stopped_at = np.zeros(2, dtype=int)
    active = np.ones(2, dtype=bool)
    for epoch in range(1, 20):
        stop, _ = _update_stopping(spec, state, np.ones(2), None, active, np.full(2, 1e-3))
        stopped_at[stop] = epoch
        active &= ~stop
        factors.append(state.lr_factor[0])
        if not active.any():
            break
    # epoch 1 sets the best loss; a constant loss never beats it by tol=0.5, and
    # with n_iter_no_change=0 every later epoch is a plateau
    assert stopped_at[1] == 2  # not adaptive: the first plateau stops
    assert stopped_at[0] == 7
    np.testing.assert_allclose(factors, [1, 0.2, 0.04, 0.008, 0.0016, 0.00032, 0.00032])
    assert state.lr_factor[1] == 1.0


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def test_adaptive_learning_rates_in_history():
    # tol=1e3: no epoch ever counts as an improvement, so with n_iter_no_change=1
    # there is a plateau every 2 epochs (after the first, which sets the best loss).
    rng = np.random.RandomState(0)
    X = rng.randn(30, 3)
    y = X[:, 0]
    params = {
        "hidden_layer_sizes": (3,),
        "solver": "sgd",
        "learning_rate": "adaptive",
        "learning_rate_init": 1e-3,
        "tol": 1e3,
        "n_iter_no_change": 1,
        "max_iter": 100,
        "random_state": 0,
    }
    reg = _fit(MLPRegressor(**params, device="cpu", dtype="float64"), X, y)
    lrs = [h["learning_rate"] for h in reg.history_]
    expected = [1e-3] * 3 + [2e-4] * 2 + [4e-5] * 2 + [8e-6] * 2 + [1.6e-6] * 2 + [3.2e-7] * 2
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert reg.n_iter_ == 13
    assert _fit(SkMLPRegressor(**params), X, y).n_iter_ == 13


def test_invscaling_learning_rates_in_history():
    rng = np.random.RandomState(0)
    X = rng.randn(20, 2)
    reg = _fit(
        MLPRegressor(
            hidden_layer_sizes=(3,),
            solver="sgd",
            learning_rate="invscaling",
            learning_rate_init=0.01,
            power_t=0.5,
            max_iter=4,
            tol=0.0,
            random_state=0,
            device="cpu",
            dtype="float64",
        ),
        X,
        X[:, 0],
    )
    lrs = [h["learning_rate"] for h in reg.history_]
    # scikit-learn: lr_init / (t + 1) ** power_t with t samples seen before the epoch
    expected = [0.01 / (e * 20 + 1) ** 0.5 for e in range(4)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert [h["epoch"] for h in reg.history_] == [1, 2, 3, 4]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_optimizer_step_sees_the_float64_learning_rate(monkeypatch, dtype):
    """learning_rate_init reaches the optimizer's step as a float64 column
    holding exactly the value given (0.1 + 1e-9 is not a float32), in a
    float32 fit as in a float64 one; the update casts it to the weights' dtype."""
    from skdl.optim import Optimizer

    seen = []
    original = Optimizer.step

    def spy(self, grad, lr, active=None):
        seen.append(lr.clone())
        return original(self, grad, lr, active)

    monkeypatch.setattr(Optimizer, "step", spy)
    rng = np.random.RandomState(0)
    X, y = rng.randn(20, 3), rng.randn(20)
    lr = 0.1 + 1e-9
    _fit(
        MLPRegressor(
            hidden_layer_sizes=(3,),
            solver="sgd",
            learning_rate_init=lr,
            max_iter=2,
            batch_size=10,
            random_state=0,
            device="cpu",
            dtype=dtype,
        ),
        X,
        y,
    )
    assert len(seen) == 4
    for column in seen:
        assert column.dtype == torch.float64
        assert column.shape == (1, 1)
        assert column.item() == lr


class _Halving(AdaptiveSchedule):
    """An adaptive schedule with its own plateau rule, recording the loop's calls
    (in ``calls``, set on the instance)."""

    def on_plateau(self, lr, scale=1.0):
        self.calls.append((float(lr), float(scale)))
        return lr * 0.5, False


def test_the_loop_asks_the_schedule_what_a_plateau_does():
    """The plateau step is the schedule's (Schedule.on_plateau): the loop passes
    the multiplier and learning_rate_init, and applies what it returns."""
    rng = np.random.RandomState(0)
    X = rng.randn(30, 3)
    schedule = _Halving()
    schedule.calls = []
    reg = _fit(
        MLPRegressor(
            hidden_layer_sizes=(3,),
            solver="sgd",
            learning_rate=schedule,
            learning_rate_init=1e-3,
            tol=1e3,
            n_iter_no_change=1,
            max_iter=7,
            random_state=0,
            device="cpu",
            dtype="float64",
        ),
        X,
        X[:, 0],
    )
    lrs = [h["learning_rate"] for h in reg.history_]
    np.testing.assert_allclose(lrs, [1e-3] * 3 + [5e-4] * 2 + [2.5e-4] * 2, rtol=1e-12)
    assert schedule.calls == [(1.0, 1e-3), (0.5, 1e-3), (0.25, 1e-3)]
