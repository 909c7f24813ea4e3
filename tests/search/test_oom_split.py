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

    def fit_many_with_a_memory_limit(self, X, y, jobs, sample_weight=None, progress=None):
        sizes.append(len(jobs))
        if len(jobs) > 4:  # pretend more than 4 models do not fit on the device
            raise OutOfMemoryError("CUDA out of memory (simulated)")
        return real(self, X, y, jobs, sample_weight=sample_weight, progress=progress)

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

    def always_oom(self, X, y, jobs, sample_weight=None, progress=None):
        raise OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(BaseMLP, "_fit_many", always_oom)
    from skdl.search._fused import fit_splitting_on_oom

    with pytest.raises(OutOfMemoryError):
        fit_splitting_on_oom(_estimator(), X, y, [({}, np.arange(100))] * 3)


def _memory_bound(monkeypatch, max_models: int) -> list:
    """Pretend each model takes 1000 bytes of a 1000 * ``max_models`` byte device;
    returns the list of stack sizes the estimate accepted."""
    import skdl.estimators._config as config

    accepted = []

    def need(cfg, n_models, n_rows, batch):
        if n_models <= max_models:
            accepted.append(n_models)
        return 1000 * n_models

    monkeypatch.setattr(config, "fit_memory_bytes", need)
    monkeypatch.setattr(config, "memory_limit", lambda device: 1000 * max_models)
    return accepted


def _halving(**kw):
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401

    from skdl.model_selection import HalvingGridSearchCV

    kw = dict(resource="max_iter", min_resources=2, max_resources=8, factor=2, cv=3, **kw)
    return HalvingGridSearchCV(_estimator(), GRID, **kw)


def test_halving_stacks_too_big_for_the_estimate_are_split_and_resumed(monkeypatch):
    import skdl.search._fused as fused
    import skdl.search._halving as halving

    X, y = load_iris(return_X_y=True)
    reference = _halving().fit(X, y)
    accepted = _memory_bound(monkeypatch, 4)

    def no_restart(*args, **kwargs):
        raise AssertionError("a fit was restarted on scikit-learn's path")

    monkeypatch.setattr(halving, "run_single", no_restart)
    monkeypatch.setattr(fused, "run_single", no_restart)
    split = _halving(refit=False).fit(X, y)

    assert max(accepted) <= 4
    # rungs of 6, 3 and 2 candidates x 3 folds: every fit (first or resumed) once
    assert sum(accepted) == 18 + 9 + 6
    assert split.n_candidates_ == reference.n_candidates_ == [6, 3, 2]
    np.testing.assert_allclose(
        split.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"], atol=1e-6
    )
    assert split.best_params_ == reference.best_params_


def test_halving_a_single_model_too_big_raises_the_estimate(monkeypatch):
    from skdl.estimators._config import FitTooLargeError

    X, y = load_iris(return_X_y=True)
    _memory_bound(monkeypatch, 0)
    with pytest.raises(FitTooLargeError, match="GiB of memory"):
        _halving(error_score="raise").fit(X, y)
    with pytest.raises(ValueError, match="All the 18 fits failed"):
        _halving().fit(X, y)  # error_score=nan: scikit-learn's own message
