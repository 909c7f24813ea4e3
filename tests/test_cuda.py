"""The CUDA path end to end: fits, predictions, persistence and fused searches on a GPU
agree with the CPU. Skipped without a CUDA device (CI has none); run with
``bash benchmarks/gpu_check.sh`` on a machine that has one."""

import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold

import skdl
from skdl.model_selection import GridSearchCV

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:600] / 16).astype(np.float64), y[:600]


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kw)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_float64_fit_on_cuda_equals_cpu(digits, solver):
    """In float64 the same seed gives the same model on both devices (the
    initial weights and the shuffles are drawn on the CPU)."""
    X, y = digits
    params = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0, solver=solver)
    cpu = _quiet(skdl.MLPClassifier(dtype="float64", device="cpu", **params).fit, X, y)
    gpu = _quiet(skdl.MLPClassifier(dtype="float64", device="cuda", **params).fit, X, y)
    for a, b in zip(cpu.coefs_ + cpu.intercepts_, gpu.coefs_ + gpu.intercepts_):
        assert isinstance(b, np.ndarray)
        assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    assert_allclose(cpu.loss_curve_, gpu.loss_curve_, rtol=1e-7)


def test_float32_fit_with_dropout_and_early_stopping(digits):
    X, y = digits
    params = dict(
        hidden_layer_sizes=(32,), max_iter=20, random_state=0, dropout=0.2, early_stopping=True
    )
    cpu = _quiet(skdl.MLPClassifier(device="cpu", **params).fit, X, y)
    gpu = _quiet(skdl.MLPClassifier(device="cuda", **params).fit, X, y)
    # the dropout masks are counter-based: the same on both devices
    assert_allclose(cpu.loss_curve_[:3], gpu.loss_curve_[:3], rtol=1e-3)
    assert abs(cpu.score(X, y) - gpu.score(X, y)) < 0.02


def test_regressor_predict_and_chunks():
    X, y = make_regression(n_samples=300, n_features=8, noise=1.0, random_state=0)
    reg = _quiet(skdl.MLPRegressor((16,), max_iter=10, random_state=0, device="cuda").fit, X, y)
    ref = reg.predict(X)
    big = np.repeat(X, 300, axis=0)  # 90k rows: more than one prediction chunk
    assert_allclose(reg.predict(big)[:300], ref, rtol=1e-5, atol=1e-5)


def test_gpu_model_saves_and_loads_on_cpu(digits, tmp_path):
    pytest.importorskip("safetensors")
    X, y = digits
    gpu = _quiet(skdl.MLPClassifier((16,), max_iter=5, random_state=0, device="cuda").fit, X, y)
    path = tmp_path / "model.skdl"
    gpu.save(path)
    cpu = skdl.MLPClassifier.load(path, device="cpu")
    assert cpu.device == "cpu"
    assert_allclose(cpu.predict_proba(X), gpu.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_fused_search_on_cuda_equals_cpu(digits):
    X, y = digits
    grid = {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 1e-2]}
    results = []
    for device in ("cpu", "cuda"):
        est = skdl.MLPClassifier((16,), max_iter=5, random_state=0, dtype="float64", device=device)
        search = _quiet(GridSearchCV(est, grid, cv=KFold(3)).fit, X, y)
        results.append(search)
    assert_allclose(
        results[0].cv_results_["mean_test_score"],
        results[1].cv_results_["mean_test_score"],
        atol=1e-6,
    )
    assert results[0].best_params_ == results[1].best_params_


def test_training_step_never_synchronises(digits, no_sync_in_epochs):
    """No host sync inside an epoch: the losses are read once per epoch."""
    X, y = digits
    est = skdl.MLPClassifier((16,), max_iter=2, random_state=0, device="cuda", batch_size=50)
    _quiet(est.fit, X, y)


def test_streamed_data_trains_the_same_model(digits, monkeypatch):
    """Data that would not fit stays in host memory and reaches the GPU batch by
    batch (page-locked staging buffers, copies that do not block): the same
    model as with the data resident."""
    from skdl.training import data as data_module

    X, y = digits
    params = dict(
        hidden_layer_sizes=(16,),
        max_iter=4,
        random_state=0,
        dtype="float64",
        device="cuda",
        early_stopping=True,
        batch_size=32,
    )
    resident = _quiet(skdl.MLPClassifier(**params).fit, X, y)
    built = []
    real = data_module.DeviceData.from_arrays.__func__

    def from_arrays(cls, *args, **kw):
        built.append(real(cls, *args, **kw))
        return built[-1]

    monkeypatch.setattr(data_module, "keeps_resident", lambda nbytes, device: False)
    monkeypatch.setattr(data_module.DeviceData, "from_arrays", classmethod(from_arrays))
    streamed = _quiet(skdl.MLPClassifier(**params).fit, X, y)
    assert built[-1].streamed and built[-1].X.device.type == "cpu"
    for a, b in zip(resident.coefs_ + resident.intercepts_, streamed.coefs_ + streamed.intercepts_):
        assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    assert_allclose(resident.validation_scores_, streamed.validation_scores_)
