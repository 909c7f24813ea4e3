"""Every hyperparameter of the lecture is searchable with scikit-learn's own searches.

scikit-learn's ``RandomizedSearchCV`` and ``GridSearchCV`` (not skdl's fused
ones) over a ``Pipeline``: each sampled candidate must fit (``error_score='raise'``),
and nested schedule parameters route as ``learning_rate__decay_rate``.
"""

import numpy as np
import pytest
from scipy.stats import loguniform, randint, uniform
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from skdl import MLPClassifier, MLPRegressor
from skdl.estimators._params import STOCHASTIC_SOLVERS
from skdl.nn.activations import ACTIVATIONS
from skdl.nn.init import INIT_OPTIONS
from skdl.optim import SCHEDULES, ExponentialSchedule

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, Y = load_iris(return_X_y=True)
STEP = "mlpclassifier"

DISTRIBUTIONS = {
    "depth": randint(0, 4),
    "width": randint(4, 33),
    "activation": sorted(ACTIVATIONS),
    "activation_param": uniform(0.0, 0.3),
    "alpha": loguniform(1e-5, 1e-1),
    "penalty": ["l2", "l1", "elasticnet", None],
    "l1_ratio": uniform(0.0, 1.0),
    "dropout": uniform(0.0, 0.5),
    "solver": sorted(STOCHASTIC_SOLVERS),
    "learning_rate_init": loguniform(1e-3, 1e-1),
    "learning_rate": sorted(SCHEDULES),
    "decay_rate": uniform(0.5, 0.49),  # (0, 1] is valid for every schedule
    "batch_size": [16, 32, "auto"],
    "init": sorted(set(INIT_OPTIONS) - {"zeros"}),
    "n_init": randint(1, 4),
}


def _pipeline(**params):
    return make_pipeline(
        StandardScaler(), MLPClassifier(max_iter=15, random_state=0, device="cpu", **params)
    )


def test_randomized_search_over_every_hyperparameter():
    search = RandomizedSearchCV(
        _pipeline(),
        {f"{STEP}__{name}": dist for name, dist in DISTRIBUTIONS.items()},
        n_iter=12,
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        random_state=0,
        error_score="raise",  # every sampled combination must fit
    ).fit(X, Y)
    results = search.cv_results_
    for name in DISTRIBUTIONS:
        assert f"param_{STEP}__{name}" in results, name
    scores = np.asarray(results["mean_test_score"], dtype=float)
    assert np.all(np.isfinite(scores))
    assert np.isfinite(search.best_score_)
    assert search.best_score_ > 1 / 3 + 0.2  # 3 balanced classes: chance is 1/3
    # the search really varied the parameters
    for name in ("activation", "solver", "learning_rate", "depth"):
        assert len({repr(v) for v in results[f"param_{STEP}__{name}"]}) > 1, name
    # and the refitted best model is the best candidate's parameters
    best = search.best_estimator_.named_steps[STEP]
    for key, value in search.best_params_.items():
        assert best.get_params()[key.split("__", 1)[1]] == value
    assert search.predict(X).shape == Y.shape


def test_grid_search_over_a_schedule_parameter():
    schedule = ExponentialSchedule(decay_rate=0.9, warmup_epochs=2)
    pipe = _pipeline(
        learning_rate=schedule,
        learning_rate_init=0.05,
        solver="sgd",
        depth=1,
        width=8,
        tol=0.0,
        n_iter_no_change=100,
    )
    grid = [0.3, 0.6, 0.99]
    search = GridSearchCV(
        pipe,
        {f"{STEP}__learning_rate__decay_rate": grid},
        cv=3,
        error_score="raise",
    ).fit(X, Y)
    assert list(search.cv_results_[f"param_{STEP}__learning_rate__decay_rate"]) == grid
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    # the template's schedule is cloned, never mutated
    assert schedule.get_params() == {"decay_rate": 0.9, "warmup_epochs": 2}
    assert pipe.named_steps[STEP].learning_rate is schedule
    # the refitted model trained with the chosen decay (warm-up 1/3, 2/3, then decay)
    best = search.best_estimator_.named_steps[STEP]
    gamma = search.best_params_[f"{STEP}__learning_rate__decay_rate"]
    assert best.learning_rate is not schedule
    assert best.learning_rate.decay_rate == gamma
    lr = np.array([r["learning_rate"] for r in best.history_])
    expected = 0.05 * np.r_[1 / 3, 2 / 3, gamma ** np.arange(len(lr) - 2)]
    np.testing.assert_allclose(lr, expected, rtol=1e-12)


def test_grid_search_over_decay_rate_with_named_schedules():
    search = GridSearchCV(
        _pipeline(solver="sgd", learning_rate_init=0.05, depth=1, width=8),
        {
            f"{STEP}__learning_rate": ["inverse_time", "exponential", "step"],
            f"{STEP}__decay_rate": [0.5, 0.9],
        },
        cv=3,
        error_score="raise",
    ).fit(X, Y)
    assert len(search.cv_results_["params"]) == 6
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_regressor_searchable_over_loss_and_huber_delta():
    rng = np.random.RandomState(0)
    Xr = rng.normal(size=(120, 3))
    yr = Xr @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=120)
    search = GridSearchCV(
        MLPRegressor(
            depth=1, width=8, max_iter=15, learning_rate_init=0.01, random_state=0, device="cpu"
        ),
        [
            {"loss": ["squared_error", "absolute_error"]},
            {"loss": ["huber"], "huber_delta": [0.5, 2.0]},
        ],
        cv=3,
        error_score="raise",
    ).fit(Xr, yr)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_pipeline_clone_keeps_every_new_parameter():
    pipe = _pipeline(
        depth=2,
        width=5,
        activation="elu",
        activation_param=0.5,
        init="orthogonal",
        penalty="elasticnet",
        l1_ratio=0.3,
        dropout=[0.1, 0.2],
        early_stopping_metric="loss",
        learning_rate=ExponentialSchedule(decay_rate=0.8),
        n_init=2,
        class_weight="balanced",
    )
    twin = clone(pipe)
    assert isinstance(twin, Pipeline)
    a, b = pipe[-1].get_params(deep=False), twin[-1].get_params(deep=False)
    assert a.keys() == b.keys()
    for key in a:
        if key != "learning_rate":
            assert a[key] == b[key], key
    assert b["learning_rate"] is not a["learning_rate"]
    assert twin.get_params(deep=True)[f"{STEP}__learning_rate__decay_rate"] == 0.8
