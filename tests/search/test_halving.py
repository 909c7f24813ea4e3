"""Halving searches: scikit-learn's rungs, with resource='max_iter' resumed as stacks."""

import warnings

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingGridSearchCV as SkHalvingGrid
from sklearn.model_selection import HalvingRandomSearchCV as SkHalvingRandom

from skdl import MLPClassifier
from skdl.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV

X, y = load_iris(return_X_y=True)
KEYS = ["iter", "n_resources", "mean_test_score", "split0_test_score", "mean_train_score"]


def _est(**params):
    return MLPClassifier(hidden_layer_sizes=(8,), random_state=0, device="cpu", **params)


def _fit_both(ours, theirs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ours.fit(X, y), theirs.fit(X, y)


def _assert_same(a, b):
    assert a.n_resources_ == b.n_resources_
    assert a.n_candidates_ == b.n_candidates_
    assert a.n_iterations_ == b.n_iterations_
    assert a.n_remaining_candidates_ == b.n_remaining_candidates_
    assert list(a.cv_results_["params"]) == list(b.cv_results_["params"])
    for key in KEYS:
        np.testing.assert_allclose(
            np.asarray(a.cv_results_[key], float), np.asarray(b.cv_results_[key], float), atol=1e-6
        )
    assert a.best_params_ == b.best_params_
    assert a.best_score_ == pytest.approx(b.best_score_, abs=1e-6)


def test_max_iter_rungs_resume_and_equal_scikit_learns(monkeypatch):
    resumed = []
    original = MLPClassifier._continue_many

    def spy(self, X, y, models, rows, sample_weight=None, progress=None):
        resumed.append((self.max_iter, len(models)))
        return original(self, X, y, models, rows, sample_weight, progress)

    monkeypatch.setattr(MLPClassifier, "_continue_many", spy)
    grid = {"learning_rate_init": [0.001, 0.003, 0.01, 0.03, 0.1], "alpha": [1e-4, 1e-1]}
    kw = dict(
        resource="max_iter",
        max_resources=27,
        min_resources=3,
        factor=3,
        cv=3,
        scoring="neg_log_loss",
    )
    a, b = _fit_both(HalvingGridSearchCV(_est(), grid, **kw), SkHalvingGrid(_est(), grid, **kw))
    _assert_same(a, b)
    assert a.n_resources_ == [3, 9, 27]
    # rung 2 trains 4 survivors x 3 folds 6 more epochs, rung 3 2 x 3 for 18 more
    assert resumed == [(6, 12), (18, 6)]


def test_cosine_by_name_trains_afresh_at_each_rung_and_equals_scikit_learns(monkeypatch):
    """'cosine' by name anneals over each fit's max_iter (issue 11), so a rung is not
    the previous one continued: its candidates train afresh, as in scikit-learn."""
    resumed = []
    original = MLPClassifier._continue_many

    def spy(self, X, y, models, rows, sample_weight=None, progress=None):
        resumed.append(len(models))
        return original(self, X, y, models, rows, sample_weight, progress)

    monkeypatch.setattr(MLPClassifier, "_continue_many", spy)
    grid = {"learning_rate_init": [0.003, 0.01, 0.03, 0.1]}
    kw = dict(resource="max_iter", max_resources=12, min_resources=3, factor=2, cv=3)
    est = _est(learning_rate="cosine")
    a, b = _fit_both(HalvingGridSearchCV(est, grid, **kw), SkHalvingGrid(est, grid, **kw))
    _assert_same(a, b)
    assert resumed == []


def test_random_search_with_dropout_equals_scikit_learns():
    dist = {"learning_rate_init": loguniform(1e-3, 1e-1), "dropout": [0.0, 0.2]}
    kw = dict(
        resource="max_iter",
        max_resources=12,
        min_resources=2,
        factor=2,
        n_candidates=6,
        cv=3,
        random_state=0,
        scoring="neg_log_loss",
    )
    a, b = _fit_both(HalvingRandomSearchCV(_est(), dist, **kw), SkHalvingRandom(_est(), dist, **kw))
    _assert_same(a, b)


def test_early_stopping_restarts_each_rung_and_equals_scikit_learns():
    grid = {"learning_rate_init": [0.003, 0.03, 0.3]}
    kw = dict(resource="max_iter", max_resources=12, min_resources=4, factor=3, cv=3)
    est = _est(early_stopping=True, validation_fraction=0.2)
    a, b = _fit_both(HalvingGridSearchCV(est, grid, **kw), SkHalvingGrid(est, grid, **kw))
    _assert_same(a, b)


def test_n_samples_resource_is_scikit_learns():
    grid = {"learning_rate_init": [0.003, 0.03, 0.3]}
    kw = dict(factor=2, cv=3, random_state=0)
    est = _est(max_iter=10)
    a, b = _fit_both(HalvingGridSearchCV(est, grid, **kw), SkHalvingGrid(est, grid, **kw))
    _assert_same(a, b)
    assert "epoch_curves" in a.cv_results_  # fused rungs


@pytest.mark.parametrize(
    "params",
    [
        {"n_init": 2},  # restarted at every rung
        {"tol": 0.5, "n_iter_no_change": 1},  # stops before the budget: reused as it is
    ],
)
def test_restarted_and_stopped_models_equal_scikit_learns(params):
    grid = {"learning_rate_init": [0.003, 0.03, 0.3]}
    kw = dict(
        resource="max_iter",
        max_resources=12,
        min_resources=4,
        factor=3,
        cv=3,
        scoring="neg_log_loss",
    )
    est = _est(**params)
    a, b = _fit_both(HalvingGridSearchCV(est, grid, **kw), SkHalvingGrid(est, grid, **kw))
    _assert_same(a, b)
