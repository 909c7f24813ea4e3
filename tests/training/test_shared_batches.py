"""Models of a stack that read the same rows in the same order (a search's
candidates on one fold, one ``random_state``) share each gathered batch; they
train exactly as with a batch gathered per model."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skdl import MLPClassifier, MLPRegressor
from skdl.training import data as data_module
from skdl.training.data import DeviceData, StackRows


def _gens(*seeds):
    return [torch.Generator().manual_seed(s) for s in seeds]


def test_shares_order_needs_same_rows_and_same_generator_state():
    rows = np.arange(10)
    assert StackRows([rows, rows.copy()]).shares_order(_gens(3, 3))
    assert not StackRows([rows, rows.copy()]).shares_order(_gens(3, 4))
    assert not StackRows([rows, rows[::-1].copy()]).shares_order(_gens(3, 3))
    assert not StackRows([rows, rows[:9]]).shares_order(_gens(3, 3))  # padded
    assert not StackRows([rows]).shares_order(_gens(3))  # one model: nothing to share
    # without shuffling the seeds do not matter
    assert StackRows([rows, rows.copy()]).shares_order(None)
    # generators that drew differently are out of step
    a, b = _gens(3, 3)
    torch.randperm(5, generator=a)
    assert not StackRows([rows, rows]).shares_order([a, b])


def _fit_many(est, X, y, jobs, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est._fit_many(X, y, jobs, **kw)


def _weights(model):
    return model.coefs_ + model.intercepts_


CASES = [
    (MLPClassifier, {"hidden_layer_sizes": (12, 6), "batch_size": 16}, [
        {"alpha": 1e-4, "dropout": 0.0}, {"alpha": 1e-2, "dropout": 0.3},
        {"learning_rate_init": 3e-3, "dropout": 0.1},
    ]),
    (MLPRegressor, {"hidden_layer_sizes": (9,), "batch_size": 32, "solver": "sgd"}, [
        {"alpha": 1e-4}, {"momentum": 0.5}, {"learning_rate_init": 1e-2},
    ]),
]  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("cls", "params", "jobs"), CASES)
def test_shared_batches_train_exactly_as_gathered_per_model(cls, params, jobs, dtype, monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.randn(120, 7).astype(dtype)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) if cls is MLPClassifier else X[:, 0] - X[:, 2]
    sw = rng.uniform(0.5, 2.0, size=120)
    rows = np.arange(10, 110)
    est = cls(max_iter=5, random_state=0, device="cpu", **params)
    job_list = [(p, rows) for p in jobs]
    gathered = []
    real_batch = DeviceData.batch

    def batch(self, idx, workspace=None):
        gathered.append(tuple(idx.shape))
        return real_batch(self, idx, workspace)

    monkeypatch.setattr(DeviceData, "batch", batch)
    shared = _fit_many(est, X, y, job_list, sample_weight=sw)
    assert gathered and all(shape[0] == 1 for shape in gathered)  # one gather per batch
    gathered.clear()
    monkeypatch.setattr(StackRows, "shares_order", lambda self, generators: False)
    apart = _fit_many(est, X, y, job_list, sample_weight=sw)
    assert all(shape[0] == len(jobs) for shape in gathered)
    for a, b in zip(shared, apart):
        for wa, wb in zip(_weights(a), _weights(b)):
            np.testing.assert_array_equal(wa, wb)
        assert a.loss_curve_ == b.loss_curve_


def test_models_with_their_own_seeds_gather_their_own_batches(monkeypatch):
    rng = np.random.RandomState(1)
    X, y = rng.randn(80, 4), rng.randint(0, 2, 80)
    decided = []
    real = StackRows.shares_order

    def spy(self, generators):
        decided.append(real(self, generators))
        return decided[-1]

    monkeypatch.setattr(StackRows, "shares_order", spy)
    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, device="cpu")
    rows = np.arange(80)
    _fit_many(est, X, y, [({"random_state": 0}, rows), ({"random_state": 1}, rows)])
    _fit_many(est, X, y, [({"random_state": 0}, rows), ({"random_state": 0}, rows)])
    assert decided == [False, True]
    assert data_module.StackRows is StackRows
