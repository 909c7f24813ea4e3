"""Faults during fit and predict: divergence, Ctrl-C, out of device memory.

Each fault is injected where it would really happen (a huge learning rate; a
``KeyboardInterrupt`` raised from inside a training step; a
``torch.OutOfMemoryError`` raised from the forward pass), and the estimator
must end in the documented state: a clear error or warning, finite weights, a
model that predicts.
"""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

import skdl.training.engine as engine_module
import skdl.training.lbfgs as lbfgs_module
import skdl.training.loop as loop
from skdl import MLPClassifier, MLPRegressor
from skdl.estimators import _fitting, _predict
from skdl.estimators._faults import OutOfMemoryError, oom_guard, oom_message, predict_in_chunks

X_REG, Y_REG = make_regression(n_samples=40, n_features=5, random_state=0)
X_CLF, Y_CLF = make_classification(n_samples=40, n_features=5, random_state=0)
TINY = dict(hidden_layer_sizes=(6,), random_state=0, device="cpu")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _finite(est):
    return all(np.isfinite(a).all() for a in est.coefs_ + est.intercepts_)


def _same_weights(a, b):
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(u, v)


# -------------------------------------------------------------- divergence
DIVERGE = "Training diverged at epoch [0-9]+ .*Lower learning_rate_init \\(currently 1000000.0\\)"


@pytest.mark.parametrize("solver", ["sgd", "radam", "adamw"])
def test_divergence_is_a_clear_error_with_finite_weights(solver):
    # float32 training overflows at this rate (float64 would need more epochs)
    est = MLPRegressor(**TINY, solver=solver, learning_rate_init=1e6, max_iter=20, dtype="float32")
    with pytest.raises(ValueError, match=DIVERGE + ".*StandardScaler"):
        est.fit(X_REG * 100, Y_REG)
    assert _finite(est)
    assert np.isfinite(est.predict(X_REG)).all()
    assert len(est.loss_curve_) == est.n_iter_
    assert np.isfinite(est.loss_curve_).all()


def test_divergence_classifier_and_n_init():
    est = MLPClassifier(
        **TINY, solver="sgd", learning_rate_init=1e6, max_iter=20, n_init=3, dtype="float32"
    )
    with pytest.raises(ValueError, match=DIVERGE):
        est.fit(X_CLF * 1e3, Y_CLF)
    assert _finite(est)
    assert set(est.predict(X_CLF)) <= {0, 1}


def test_divergence_in_one_step_leaves_finite_weights():
    # One batch per epoch and a learning rate that overflows float32 in the first
    # update: the first epoch's loss (measured before the update) is finite, but
    # the weights after it are not; the model must not keep them.
    est = MLPRegressor(**TINY, solver="sgd", learning_rate_init=1e38, batch_size=40, max_iter=5)
    with pytest.raises(ValueError, match="Training diverged at epoch"):
        est.fit(X_REG, Y_REG)
    assert _finite(est), "coefs_/intercepts_ hold inf or nan after a diverged fit"


SKLEARN_NONFINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large"
    " values and need to be preprocessed."
)


def test_divergence_message_starts_with_sklearns_sentence():
    # scikit-learn's test_nonfinite_params: X near float64's max
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    est = MLPRegressor(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError) as info:
            est.fit(X, rng.standard_normal(size=10))
    msg = str(info.value)
    assert msg.startswith(SKLEARN_NONFINITE)
    # then skdl's advice: the epoch and the learning rate; no hard-coded "loss=nan"
    assert "epoch 1" in msg and "learning_rate_init (currently 0.001)" in msg
    assert "loss=nan" not in msg
    assert _finite(est)


@pytest.mark.parametrize("Estimator", [MLPRegressor, MLPClassifier])
def test_divergence_with_early_stopping_keeps_best_weights_without_error(Estimator):
    # scikit-learn's contract (its issue 29504, test_mlp_diverging_loss): no error,
    # the best validation epoch's weights, validation_scores_ ends in nan
    X, y = (X_REG, Y_REG) if Estimator is MLPRegressor else (X_CLF, Y_CLF)
    est = Estimator(
        **TINY, solver="sgd", learning_rate_init=1e4, max_iter=20, early_stopping=True,
        dtype="float32",
    )
    with pytest.warns(ConvergenceWarning, match="diverged at epoch [0-9]+.*best validation"):
        est.fit(X * 100, y)
    last = est.validation_scores_[-1]
    assert isinstance(last, float) and np.isnan(last)
    assert len(est.validation_scores_) == est.n_iter_ >= 2
    assert not np.isnan(est.validation_scores_[:-1]).any()
    assert est.best_validation_score_ == max(est.validation_scores_[:-1])
    assert _finite(est)
    assert np.isfinite(est.predict(X)).all()


# -------------------------------------------------------------------- Ctrl-C
def _interrupt_at_call(monkeypatch, module, name, n_ok):
    """Make ``module.name`` raise KeyboardInterrupt on its call number ``n_ok + 1``."""
    real = getattr(module, name)
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > n_ok:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)
    return calls


def _fit_expecting_interrupt(est, X, y):
    """Fit, expecting the "interrupted" warning; an escaping Ctrl-C fails this test only
    (a KeyboardInterrupt reaching pytest would stop the whole session)."""
    try:
        with pytest.warns(UserWarning, match="interrupted"):
            return est.fit(X, y)
    except KeyboardInterrupt:
        pytest.fail(f"KeyboardInterrupt escaped {type(est).__name__}.fit (solver={est.solver!r})")


@pytest.mark.parametrize(
    "make, X, y",
    [(MLPRegressor, X_REG, Y_REG), (MLPClassifier, X_CLF, Y_CLF)],
    ids=["regressor", "classifier"],
)
@pytest.mark.parametrize("batch_size, mid_epoch", [(40, 0), (10, 2)], ids=["full", "mini"])
def test_interrupt_keeps_the_last_completed_epoch(monkeypatch, make, X, y, batch_size, mid_epoch):
    epochs = 3
    steps_per_epoch = 40 // batch_size
    reference = make(**TINY, batch_size=batch_size, max_iter=epochs).fit(X, y)
    _interrupt_at_call(monkeypatch, loop, "train_step", epochs * steps_per_epoch + mid_epoch)
    est = make(**TINY, batch_size=batch_size, max_iter=50)
    assert _fit_expecting_interrupt(est, X, y) is est
    assert est.n_iter_ == epochs and len(est.loss_curve_) == epochs
    assert est.loss_curve_ == reference.loss_curve_
    _same_weights(est, reference)
    np.testing.assert_array_equal(est.predict(X), reference.predict(X))


def test_interrupt_in_the_first_epoch_keeps_the_initial_weights(monkeypatch):
    _interrupt_at_call(monkeypatch, loop, "train_step", 0)
    est = MLPClassifier(**TINY, max_iter=10)
    _fit_expecting_interrupt(est, X_CLF, Y_CLF)
    assert est.n_iter_ == 0 and est.loss_curve_ == []
    assert _finite(est)
    assert est.predict(X_CLF).shape == (40,)


def test_interrupt_with_early_stopping_and_n_init(monkeypatch):
    _interrupt_at_call(monkeypatch, loop, "evaluate", 4)
    est = MLPClassifier(**TINY, max_iter=50, early_stopping=True, n_init=3)
    _fit_expecting_interrupt(est, X_CLF, Y_CLF)
    assert est.n_iter_ == 4
    assert len(est.validation_scores_) == 4
    assert _finite(est) and est.predict_proba(X_CLF).shape == (40, 2)


def test_interrupt_then_warm_start_continues(monkeypatch):
    _interrupt_at_call(monkeypatch, loop, "train_step", 2)
    est = MLPRegressor(**TINY, batch_size=40, max_iter=5, warm_start=True)
    _fit_expecting_interrupt(est, X_REG, Y_REG)
    monkeypatch.undo()
    est.fit(X_REG, Y_REG)
    assert est.n_iter_ == 5 and _finite(est)


def test_interrupt_during_lbfgs_leaves_a_usable_model(monkeypatch):
    # SPEC 3: "Ctrl-C during fit leaves a usable model", whatever the solver.
    _interrupt_at_call(monkeypatch, lbfgs_module, "_objective", 5)
    est = MLPRegressor(**TINY, solver="lbfgs", max_iter=50)
    _fit_expecting_interrupt(est, X_REG, Y_REG)
    assert _finite(est) and est.predict(X_REG).shape == (40,)


def test_interrupt_during_predict_propagates(monkeypatch):
    est = MLPRegressor(**TINY, max_iter=2).fit(X_REG, Y_REG)
    _interrupt_at_call(monkeypatch, _predict, "forward_rows", 0)
    with pytest.raises(KeyboardInterrupt):
        est.predict(X_REG)


# ----------------------------------------------------------- out of memory
def _oom_above(limit, real=None, log=None):
    """A function ``fn(start, stop)`` that fails with OOM on more than ``limit`` rows."""

    def fn(start, stop):
        if log is not None:
            log.append((start, stop))
        if stop - start > limit:
            raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if real is not None:
            real[start:stop] += 1

    return fn


def test_predict_in_chunks_halves_until_it_fits():
    seen, log = np.zeros(1000, int), []
    chunk = predict_in_chunks(_oom_above(100, seen, log), 1000, 4096)
    assert chunk == 64  # 4096 -> 2048 -> ... -> 64
    np.testing.assert_array_equal(seen, 1)  # every row exactly once
    assert [s for s, _ in log if s > 0][0] == 64


@pytest.mark.parametrize("n_rows", [0, 1, 7])
def test_predict_in_chunks_small_inputs(n_rows):
    seen = np.zeros(n_rows, int)
    assert predict_in_chunks(_oom_above(10, seen), n_rows, 3) == 3
    np.testing.assert_array_equal(seen, 1)


def test_predict_in_chunks_gives_up_with_a_clear_message():
    est = MLPClassifier(device="cuda")
    with pytest.raises(OutOfMemoryError, match="while predicting MLPClassifier") as info:
        predict_in_chunks(_oom_above(0), 10, 8, est=est)
    assert "device='cpu'" in str(info.value)
    assert "Tried to allocate 2.00 GiB" in str(info.value)
    assert isinstance(info.value.__cause__, OutOfMemoryError)


def test_predict_in_chunks_does_not_swallow_other_errors():
    def fn(start, stop):
        raise RuntimeError("not memory")

    with pytest.raises(RuntimeError, match="not memory"):
        predict_in_chunks(fn, 10, 8)


def test_oom_message_for_training_names_the_options():
    est = MLPRegressor(batch_size=512, hidden_layer_sizes=(1024, 1024), n_init=4, device="cuda")
    msg = oom_message(OutOfMemoryError("CUDA out of memory."), est)
    for part in (
        "Out of memory on device='cuda' while training MLPRegressor",
        "batch_size=512",
        "hidden_layer_sizes=(1024, 1024)",
        "n_init=4",
        "device='cpu'",
        "CUDA out of memory.",
    ):
        assert part in msg


def test_oom_guard_rewrites_only_oom():
    est = MLPClassifier(batch_size=64)
    with pytest.raises(OutOfMemoryError, match="Lower batch_size.*batch_size=64"):
        with oom_guard(est):
            raise OutOfMemoryError("CUDA out of memory.")
    with pytest.raises(ValueError, match="other"):
        with oom_guard(est):
            raise ValueError("other")


WIRED = hasattr(_predict, "predict_in_chunks") and hasattr(_fitting, "oom_guard")
needs_wiring = pytest.mark.skipif(
    not WIRED, reason="_faults.predict_in_chunks / oom_guard not wired into the estimators yet"
)


@needs_wiring
def test_predict_retries_with_smaller_chunks(monkeypatch):
    est = MLPClassifier(**TINY, max_iter=3).fit(X_CLF, Y_CLF)
    expected = est.predict_proba(X_CLF)
    real, rows = _predict.forward_rows, []

    def forward_rows(weights, biases, x, *args, **kwargs):
        rows.append(x.shape[0])
        if x.shape[0] > 6:
            raise OutOfMemoryError("CUDA out of memory.")
        return real(weights, biases, x, *args, **kwargs)

    monkeypatch.setattr(_predict, "PREDICT_CHUNK", 32)
    monkeypatch.setattr(_predict, "forward_rows", forward_rows)
    # the same numbers up to the rounding of a smaller matmul
    np.testing.assert_allclose(est.predict_proba(X_CLF), expected, rtol=1e-12, atol=1e-15)
    assert max(r for r in rows if r <= 6) == 4  # 32 -> 16 -> 8 -> 4


@needs_wiring
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_training_oom_names_the_options(monkeypatch, solver):
    def oom(*args, **kwargs):
        raise OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")

    monkeypatch.setattr(engine_module, "train", oom)
    monkeypatch.setattr(lbfgs_module, "fit", oom)
    est = MLPRegressor(**TINY, solver=solver, max_iter=3)
    with pytest.raises(OutOfMemoryError, match="while training MLPRegressor") as info:
        est.fit(X_REG, Y_REG)
    assert "batch_size" in str(info.value) and "device='cpu'" in str(info.value)


def test_oom_error_type_is_torchs():
    assert issubclass(OutOfMemoryError, RuntimeError)
    assert OutOfMemoryError is getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)


def test_a_network_too_big_for_host_memory_names_the_options():
    # a valid but absurd layer (6 * 10**12 units is beyond hidden_layer_sizes' bound
    # now): refused from the memory estimate before allocating, naming what to change
    est = MLPClassifier(hidden_layer_sizes=[2**31 - 1], max_iter=1, device="cpu")
    with pytest.raises(
        MemoryError, match="GiB of memory, more than .* device='cpu'.*Lower n_init or the network"
    ):
        est.fit(X_CLF, Y_CLF)
