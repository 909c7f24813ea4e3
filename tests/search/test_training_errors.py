"""A fit goes to scikit-learn's path only for a reason decided before training;
an error raised while a stack trains is never rerun there (it would show only
as a slowdown): a stack of several fits raises it, a fit trained alone gets
scikit-learn's ``error_score`` from its own error."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_iris
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from skdl import MLPClassifier
from skdl.estimators import BaseMLP, stack_refusals
from skdl.model_selection import GridSearchCV
from skdl.search import _fused

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, Y = load_iris(return_X_y=True)
CV = StratifiedKFold(3, shuffle=True, random_state=0)
GRID = {"learning_rate_init": [1e-3, 1e-2], "alpha": [1e-4, 1e-1]}


def _clf(**params):
    return MLPClassifier(
        hidden_layer_sizes=(4,), max_iter=5, random_state=0, device="cpu", dtype="float64"
    ).set_params(**params)


@pytest.fixture
def slow_path(monkeypatch):
    """The fits run on scikit-learn's path, as (candidate, split) pairs."""
    calls = []
    real = _fused.run_single

    def spy(ctx, candidate, params, split):
        calls.append((candidate, split))
        return real(ctx, candidate, params, split)

    monkeypatch.setattr(_fused, "run_single", spy)
    return calls


def _engine_fails(monkeypatch, when):
    """``fit_many`` raises a simulated engine error for the stacks ``when(jobs)`` picks."""
    real = BaseMLP._fit_many

    def fit_many(self, X, y, jobs, sample_weight=None, progress=None):
        if when(jobs):
            raise ValueError("simulated engine error")
        return real(self, X, y, jobs, sample_weight=sample_weight, progress=progress)

    monkeypatch.setattr(BaseMLP, "_fit_many", fit_many)


@pytest.mark.parametrize("error_score", [np.nan, "raise"])
def test_an_error_in_a_stacks_training_is_raised_not_rerun(monkeypatch, slow_path, error_score):
    _engine_fails(monkeypatch, lambda jobs: len(jobs) > 1)  # fits alone would succeed
    search = GridSearchCV(_clf(), GRID, cv=CV, error_score=error_score)
    with pytest.raises(ValueError, match="simulated engine error"):
        search.fit(X, Y)
    assert slow_path == []


@pytest.mark.filterwarnings("ignore:One or more of the test scores:UserWarning")
def test_a_fit_failing_alone_gets_error_score_from_its_own_error(monkeypatch, slow_path):
    monkeypatch.setattr(_fused, "MAX_CPU_STACK", 1)  # every fit trains alone
    _engine_fails(monkeypatch, lambda jobs: jobs[0][0]["alpha"] == 1e-1)
    with pytest.warns(FitFailedWarning, match="(?s)6 fits failed.*simulated engine error"):
        search = GridSearchCV(_clf(), GRID, cv=CV).fit(X, Y)
    failed = np.array([p["alpha"] == 1e-1 for p in search.cv_results_["params"]])
    assert np.isnan(search.cv_results_["mean_test_score"][failed]).all()
    assert np.isfinite(search.cv_results_["mean_test_score"][~failed]).all()
    assert slow_path == []
    with pytest.raises(ValueError, match="simulated engine error"):
        GridSearchCV(_clf(), GRID, cv=CV, error_score="raise").fit(X, Y)
    assert slow_path == []


def test_stack_refusals_are_decided_by_the_fit_checks():
    rows = np.arange(150)
    est = _clf(early_stopping=True, validation_fraction=0.1)
    jobs = [({}, rows), ({}, rows[:10]), ({"alpha": -1.0}, rows)]
    ok, small, invalid = stack_refusals(est, X, Y, jobs)
    assert ok is None
    assert "The validation set is too small" in small
    assert "'alpha' parameter of MLPClassifier" in invalid
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    assert all("NaN" in why for why in stack_refusals(est, X_nan, Y, jobs[:2]))


@pytest.mark.filterwarnings("ignore:Scoring failed:UserWarning")
@pytest.mark.filterwarnings("ignore:One or more of the test scores:UserWarning")
def test_a_refused_fit_runs_on_sklearns_path(slow_path):
    X_nan = X.copy()
    X_nan[0, 0] = np.nan  # one training fold of each split holds it
    with pytest.warns(FitFailedWarning, match="Input X contains NaN"):
        GridSearchCV(_clf(), GRID, cv=CV, refit=False).fit(X_nan, Y)
    assert len(slow_path) == 12  # every fit: the stack validates the whole X


class _FailingScaler(TransformerMixin, BaseEstimator):
    """A preprocessing step whose fit raises on the folds without sample 0."""

    def fit(self, X, y=None):
        if not np.any(np.all(X == X_FIRST, axis=1)):
            raise ValueError("simulated preprocessing error")
        return self

    def transform(self, X):
        return X


X_FIRST = X[0]


@pytest.mark.filterwarnings("ignore:One or more of the test scores:UserWarning")
def test_a_failed_preprocessing_gets_error_score_from_its_own_error(slow_path):
    pipe = Pipeline([("scale", _FailingScaler()), ("mlp", _clf())])
    grid = {f"mlp__{k}": v for k, v in GRID.items()}
    with pytest.warns(FitFailedWarning, match="(?s)4 fits failed.*simulated preprocessing error"):
        search = GridSearchCV(pipe, grid, cv=CV, refit=False).fit(X, Y)
    n_failed = np.isnan([search.cv_results_[f"split{k}_test_score"] for k in range(3)]).sum()
    assert n_failed == 4  # the one split without sample 0 in its training rows
    assert slow_path == []
    with pytest.raises(ValueError, match="simulated preprocessing error"):
        GridSearchCV(pipe, grid, cv=CV, error_score="raise").fit(X, Y)
