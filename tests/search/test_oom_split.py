"""A fused stack that runs out of device memory is split and retried (simulated OOM)."""

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV as SkGridSearchCV
from sklearn.model_selection import StratifiedKFold

from skdl import MLPClassifier
from skdl.estimators._base import BaseMLP
from skdl.estimators._faults import OutOfMemoryError
from skdl.model_selection import GridSearchCV

GRID = {"learning_rate_init": [1e-3, 1e-2, 3e-2], "alpha": [1e-4, 1e-2]}


def _estimator():
    return MLPClassifier(
        hidden_layer_sizes=(8,), max_iter=8, random_state=0, device="cpu", dtype="float64"
    )


def test_stack_too_big_for_memory_is_split_and_results_are_unchanged(monkeypatch):
    X, y = load_iris(return_X_y=True)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    reference = SkGridSearchCV(_estimator(), GRID, cv=cv).fit(X, y)

    real = BaseMLP._fit_many
    sizes = []

    def fit_many_with_a_memory_limit(self, X, y, jobs, sample_weight=None):
        sizes.append(len(jobs))
        if len(jobs) > 4:  # pretend more than 4 models do not fit on the device
            raise OutOfMemoryError("CUDA out of memory (simulated)")
        return real(self, X, y, jobs, sample_weight=sample_weight)

    monkeypatch.setattr(BaseMLP, "_fit_many", fit_many_with_a_memory_limit)
    fused = GridSearchCV(_estimator(), GRID, cv=cv).fit(X, y)

    assert sizes[0] == 18 and max(sizes[1:]) <= 18 // 2 and sizes.count(0) == 0
    assert sum(n for n in sizes if n <= 4) == 18  # every fit trained exactly once
    np.testing.assert_allclose(
        fused.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"], atol=1e-6
    )
    assert fused.best_params_ == reference.best_params_


def test_a_single_fit_that_does_not_fit_raises(monkeypatch):
    X, y = load_iris(return_X_y=True)

    def always_oom(self, X, y, jobs, sample_weight=None):
        raise OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(BaseMLP, "_fit_many", always_oom)
    from skdl.search._fused import fit_splitting_on_oom

    with pytest.raises(OutOfMemoryError):
        fit_splitting_on_oom(_estimator(), X, y, [({}, np.arange(100))] * 3)
