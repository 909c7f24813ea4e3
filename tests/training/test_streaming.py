"""Data too large for the device's memory stays on the host and is streamed
batch by batch; the model trained is the same as with the data resident."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skdl import MLPClassifier, MLPRegressor
from skdl.training import data as data_module
from skdl.training.data import DeviceData, keeps_resident


def _fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def _weights(est):
    return est.coefs_ + est.intercepts_


@pytest.fixture
def streamed(monkeypatch):
    """Every stochastic fit streams its data, as if it did not fit on the device."""
    built = []
    real = DeviceData.from_arrays.__func__

    def from_arrays(cls, *args, **kw):
        data = real(cls, *args, **kw)
        built.append(data)
        return data

    monkeypatch.setattr(data_module, "keeps_resident", lambda nbytes, device: False)
    monkeypatch.setattr(DeviceData, "from_arrays", classmethod(from_arrays))
    return built


CASES = [
    (MLPClassifier, {"early_stopping": True, "batch_size": 16}),
    (MLPClassifier, {"dropout": 0.2, "alpha": 1e-3, "batch_size": 50}),
    (MLPRegressor, {"early_stopping": True, "batch_size": 32, "solver": "sgd"}),
]


@pytest.mark.parametrize(("cls", "params"), CASES)
def test_streamed_fit_equals_resident_fit(cls, params, streamed):
    rng = np.random.RandomState(0)
    X = rng.randn(150, 5)
    y = (X[:, 0] > 0).astype(int) if cls is MLPClassifier else X[:, 0] - X[:, 1]
    sw = rng.uniform(0.5, 2.0, size=150)
    make = lambda: cls(hidden_layer_sizes=(8,), max_iter=6, random_state=0, device="cpu", **params)  # noqa: E731
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(data_module, "keeps_resident", lambda nbytes, device: True)
        resident = _fit(make(), X, y, sample_weight=sw)
    assert not streamed[-1].streamed
    stream = _fit(make(), X, y, sample_weight=sw)
    assert streamed[-1].streamed and streamed[-1].X.device.type == "cpu"
    for a, b in zip(_weights(resident), _weights(stream)):
        np.testing.assert_array_equal(a, b)
    assert resident.loss_curve_ == stream.loss_curve_
    assert resident.validation_scores_ == stream.validation_scores_


def test_streamed_stack_of_unequal_row_counts_equals_resident(streamed):
    # a fused stack: padded rows, per-model weights, one data set shared
    rng = np.random.RandomState(1)
    X, y = rng.randn(90, 4), rng.randint(0, 3, 90)
    jobs = [({"alpha": 1e-4}, np.arange(60)), ({"alpha": 1e-2}, np.arange(20, 90))]
    est = MLPClassifier(hidden_layer_sizes=(6,), max_iter=4, batch_size=25, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(data_module, "keeps_resident", lambda nbytes, device: True)
            resident = est._fit_many(X, y, jobs)
        stream = est._fit_many(X, y, jobs)
    assert streamed[-1].streamed
    for r, s in zip(resident, stream):
        for a, b in zip(_weights(r), _weights(s)):
            np.testing.assert_array_equal(a, b)


def test_lbfgs_keeps_its_data_on_the_device(streamed):
    rng = np.random.RandomState(2)
    X, y = rng.randn(40, 3), rng.randint(0, 2, 40)
    _fit(MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5), X, y)
    assert not streamed[-1].streamed


def test_resident_rule_uses_the_free_memory(monkeypatch):
    monkeypatch.setattr(data_module, "_free_bytes", lambda device: 1000)
    assert keeps_resident(500, torch.device("cpu"))
    assert not keeps_resident(501, torch.device("cpu"))
    monkeypatch.setattr(data_module, "_free_bytes", lambda device: None)
    assert keeps_resident(10**15, torch.device("cpu"))
    monkeypatch.undo()
    assert keeps_resident(10**15, torch.device("cpu")), "the CPU's data always stays"


def test_stager_gathers_rows_into_alternating_buffers():
    X = torch.arange(40.0).view(20, 2)
    Y = torch.arange(20.0).view(20, 1)
    data = DeviceData.from_arrays(
        X.numpy(), Y.numpy(), np.ones(20), torch.float32, "cpu", stream=True
    )
    assert data.streamed and data.index_device.type == "cpu"
    first = torch.tensor([[3, 1], [0, 19]])
    x1, y1 = data.batch(first)
    assert torch.equal(x1, X[first]) and torch.equal(y1, Y[first])
    x2, _ = data.batch(torch.tensor([[5, 6], [7, 8]]))
    assert torch.equal(x2, X[torch.tensor([[5, 6], [7, 8]])])
    # the next batch went to the other buffer: the first is still intact
    assert torch.equal(x1, X[first])


def _sparse_data(device):
    import scipy.sparse as sp

    dense = np.arange(60.0).reshape(20, 3) % 7 == 0
    X = sp.csr_matrix(dense * np.arange(60.0).reshape(20, 3))
    Y = np.arange(20.0).reshape(20, 1)
    return X, Y, DeviceData.from_arrays(X, Y, np.ones(20), torch.float32, device)


def test_sparse_batches_on_the_cpu_are_densified_without_pinning(monkeypatch):
    real_empty_like = torch.empty_like
    pinned = []

    def empty_like(t, **kw):
        pinned.append(kw.get("pin_memory", False))
        return real_empty_like(t, **kw)

    monkeypatch.setattr(torch, "empty_like", empty_like)
    X, Y, data = _sparse_data("cpu")
    rows = torch.tensor([[3, 1], [0, 19]])
    x, y = data.batch(rows)
    assert torch.equal(x, torch.as_tensor(X.toarray()[rows.numpy()], dtype=torch.float32))
    assert torch.equal(y, torch.as_tensor(Y[rows.numpy()], dtype=torch.float32))
    assert not any(pinned)


def test_sparse_batches_for_cuda_go_through_pinned_buffers_without_blocking(monkeypatch):
    """No GPU here: CUDA's allocator, copy and events are stood in for, and the test
    checks what the staging path asks of them."""
    calls = []
    real_empty_like, real_to = torch.empty_like, torch.Tensor.to

    class Event:
        def record(self):
            calls.append("record")

        def synchronize(self):
            calls.append("synchronize")

    def empty_like(t, **kw):
        calls.append(("pin", kw.get("pin_memory", False)))
        return real_empty_like(t)  # CPU-only torch has no pinned allocator

    def to(self, *args, **kw):
        device = args[0] if args else kw.get("device")
        if isinstance(device, torch.device) and device.type == "cuda":
            calls.append(("to cuda", kw.get("non_blocking", False)))
            return self.clone()
        return real_to(self, *args, **kw)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    X, Y, data = _sparse_data(torch.device("cuda"))
    monkeypatch.setattr(torch, "empty_like", empty_like)
    monkeypatch.setattr(torch.Tensor, "to", to)
    monkeypatch.setattr(torch.cuda, "Event", Event)
    rows = torch.tensor([[3, 1], [0, 19]])
    x, y = data.batch(rows)
    assert torch.equal(x, torch.as_tensor(X.toarray()[rows.numpy()], dtype=torch.float32))
    assert torch.equal(y, torch.as_tensor(Y[rows.numpy()], dtype=torch.float32))
    assert calls == [("pin", True), ("to cuda", True)] * 2 + ["record"]
    calls.clear()
    data.batch(rows)  # the other slot's buffers: allocated, no wait
    data.batch(rows)  # the first slot again: its buffers reused once its copy is done
    assert calls == [("pin", True), ("to cuda", True)] * 2 + ["record"] + (
        ["synchronize"] + [("to cuda", True)] * 2 + ["record"]
    )
