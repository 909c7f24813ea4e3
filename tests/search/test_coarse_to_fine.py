"""CoarseToFineSearchCV: the narrowing on hand-made inputs, then fitted searches.

The narrowing tests derive the expected windows by hand (centre of the top
values, width ``shrink`` times the original, in log space for log-uniform);
the search tests check invariances: round 0 is RandomizedSearchCV's sample,
every later round lies inside the window narrowed around the best earlier
candidates, and a seed reproduces the search.
"""

import math
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import loguniform, norm, randint, uniform
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skdl import MLPClassifier
from skdl.model_selection import CoarseToFineSearchCV, RandomizedSearchCV
from skdl.search import narrow
from skdl.search._coarse_to_fine import top_candidates

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, Y = load_iris(return_X_y=True)
X = StandardScaler().fit_transform(X)
CV = StratifiedKFold(3, shuffle=True, random_state=0)
SPACE = {
    "learning_rate_init": loguniform(1e-4, 1e-1),
    "alpha": loguniform(1e-6, 1e-1),
    "dropout": uniform(0.0, 0.5),
}


def _clf():
    return MLPClassifier(hidden_layer_sizes=(8,), device="cpu", max_iter=15, random_state=0)


# narrow: hand-derived windows


def test_loguniform_narrows_in_log_space_around_the_top_values():
    # log10 range [-6, -2] (width 4); top at 1e-4 and 1e-3 -> centre -3.5,
    # width max(1, 0.5 * 4) = 2 -> [-4.5, -2.5]
    new = narrow({"a": loguniform(1e-6, 1e-2)}, [{"a": 1e-4}, {"a": 1e-3}], 0.5)["a"]
    assert new.dist.name in ("loguniform", "reciprocal")
    assert_allclose(new.support(), [10**-4.5, 10**-2.5], rtol=1e-12)


def test_loguniform_keeps_the_spread_of_the_top_values_when_wider():
    new = narrow({"a": loguniform(1e-6, 1e-2)}, [{"a": 1e-5}, {"a": 1e-3}], 0.25)["a"]
    assert_allclose(new.support(), [1e-5, 1e-3], rtol=1e-12)


@pytest.mark.parametrize("top", [1e-2, 1e-6, 9.99e-3])
def test_loguniform_window_is_shifted_inside_the_original_range(top):
    new = narrow({"a": loguniform(1e-6, 1e-2)}, [{"a": top}], 0.5)["a"]
    lo, hi = new.support()
    assert 1e-6 <= lo <= top <= hi <= 1e-2
    assert math.log10(hi) - math.log10(lo) == pytest.approx(2.0)


def test_uniform_narrows_in_linear_space():
    # [0, 1], top 0.9 and 0.95 -> centre 0.925, width 0.5 -> [0.675, 1.175],
    # shifted inside the range -> [0.5, 1.0]
    new = narrow({"d": uniform(0, 1)}, [{"d": 0.9}, {"d": 0.95}], 0.5)["d"]
    assert new.dist.name == "uniform"
    assert_allclose(new.support(), [0.5, 1.0])


def test_randint_stays_an_integer_range_inside_the_original():
    # randint(1, 101) is 1..100; top 10 and 12 -> centre 11, width 0.2 * 99 = 19.8
    # -> [1.1, 20.9] -> integers 1..21
    new = narrow({"n": randint(1, 101)}, [{"n": 10}, {"n": 12}], 0.2)["n"]
    assert new.dist.name == "randint"
    assert tuple(new.support()) == (1, 21)
    samples = new.rvs(size=200, random_state=0)
    assert samples.dtype.kind == "i" and samples.min() >= 1 and samples.max() <= 21


def test_randint_keeps_at_least_one_value():
    new = narrow({"n": randint(3, 8)}, [{"n": 7}], 0.01)["n"]
    lo, hi = new.support()
    assert 3 <= lo <= 7 <= hi <= 7


def test_lists_keep_the_top_values_in_their_order():
    space = {"act": ["relu", "tanh", "logistic"], "h": [(8,), (16,), (8, 8)]}
    top = [{"act": "logistic", "h": (8, 8)}, {"act": "relu", "h": (8, 8)}]
    new = narrow(space, top, 0.5)
    assert new == {"act": ["relu", "logistic"], "h": [(8, 8)]}


def test_unknown_distributions_and_absent_names_are_untouched():
    gauss, wide = norm(0, 1), loguniform(1e-3, 1)
    space = {"g": gauss, "w": wide, "s": "a string"}
    new = narrow(space, [{"g": 0.3, "s": "a string"}], 0.5)
    assert new["g"] is gauss and new["w"] is wide and new["s"] == "a string"
    assert narrow(space, [], 0.5)["w"] is wide


def test_shrink_one_keeps_numeric_ranges_and_input_is_not_modified():
    space = {"a": loguniform(1e-6, 1e-2), "c": ["x", "y"]}
    new = narrow(space, [{"a": 1e-3, "c": "y"}], 1.0)
    assert_allclose(new["a"].support(), [1e-6, 1e-2], rtol=1e-12)
    assert space["c"] == ["x", "y"] and space["a"].support() == (1e-6, 1e-2)


def test_list_of_dicts_keeps_the_dicts_of_the_top_candidates():
    space = [
        {"solver": ["sgd"], "momentum": uniform(0.5, 0.5)},
        {"solver": ["adam"], "beta_1": uniform(0.8, 0.2)},
    ]
    new = narrow(space, [{"solver": "adam", "beta_1": 0.9}], 0.5)
    assert len(new) == 1 and new[0]["solver"] == ["adam"]
    assert_allclose(new[0]["beta_1"].support(), [0.85, 0.95])
    # no dict sampled the top candidate: all are kept
    assert len(narrow(space, [{"solver": "lbfgs"}], 0.5)) == 2


def test_top_candidates_follow_the_rank_and_put_failures_last():
    results = {
        "params": [{"a": 0}, {"a": 1}, {"a": 2}, {"a": 3}],
        "rank_test_score": np.array([3, 1, 4, 1]),  # 4: a failed (nan) fit
    }
    assert top_candidates(results, 3) == [{"a": 1}, {"a": 3}, {"a": 0}]
    multi = {"params": results["params"], "rank_test_acc": [4, 3, 2, 1], "rank_test_f1": [1] * 4}
    assert top_candidates(multi, 1, refit="acc") == [{"a": 3}]
    assert top_candidates(multi, 1, refit=False) == [{"a": 3}]  # first scorer by name


# fitted searches


@pytest.fixture(scope="module")
def fitted():
    search = CoarseToFineSearchCV(
        _clf(), SPACE, n_iter=4, n_rounds=3, top_k=2, cv=CV, random_state=0, verbose=1
    )
    return search.fit(X, Y)


def test_search_has_every_round_with_a_round_column(fitted):
    results = fitted.cv_results_
    assert len(results["params"]) == 12
    assert results["round"].dtype.kind == "i"
    assert results["round"].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert len(results["epoch_curves"]) == 12  # the fused path
    assert fitted.best_params_ == results["params"][fitted.best_index_]
    assert fitted.best_score_ == np.nanmax(results["mean_test_score"])
    for name, dist in SPACE.items():
        lo, hi = dist.support()
        assert lo <= fitted.best_params_[name] <= hi


def test_rounds_fuse(capsys):
    CoarseToFineSearchCV(_clf(), SPACE, n_iter=3, n_rounds=2, cv=CV, verbose=1).fit(X, Y)
    fused = re.findall(r"\((\d+) of them in (\d+) fused groups\)", capsys.readouterr().out)
    assert fused == [("9", "1"), ("9", "1")]


def test_round_zero_is_randomized_search_and_later_rounds_are_narrowed(fitted):
    results = fitted.cv_results_
    rs = RandomizedSearchCV(_clf(), SPACE, n_iter=4, cv=CV, random_state=0).fit(X, Y)
    assert results["params"][:4] == rs.cv_results_["params"]
    rounds, scores = results["round"], results["mean_test_score"]
    for r in (1, 2):
        earlier = np.flatnonzero(rounds < r)
        best = earlier[np.argsort(-scores[earlier], kind="stable")[:2]]
        window = narrow(SPACE, [results["params"][i] for i in best], 0.5**r)
        for i in np.flatnonzero(rounds == r):
            for name, dist in window.items():
                lo, hi = dist.support()
                assert lo <= results["params"][i][name] <= hi
        log_width = np.ptp(np.log(window["alpha"].support()))
        assert log_width >= 0.5**r * np.log(1e5) - 1e-9


def test_reproducible_with_random_state(fitted):
    again = CoarseToFineSearchCV(
        _clf(), SPACE, n_iter=4, n_rounds=3, top_k=2, cv=CV, random_state=0
    ).fit(X, Y)
    assert again.cv_results_["params"] == fitted.cv_results_["params"]
    assert_allclose(again.cv_results_["mean_test_score"], fitted.cv_results_["mean_test_score"])


def test_works_with_a_scikit_learn_estimator():
    Xb, yb = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    space = {"logisticregression__C": loguniform(1e-4, 1e2)}
    search = CoarseToFineSearchCV(pipe, space, n_iter=3, n_rounds=2, cv=3, random_state=0)
    search.fit(Xb[:200], yb[:200])
    assert search.cv_results_["round"].tolist() == [0, 0, 0, 1, 1, 1]
    assert "epoch_curves" not in search.cv_results_  # scikit-learn's own fit
    assert 1e-4 <= search.best_params_["logisticregression__C"] <= 1e2
    assert search.best_estimator_.score(Xb[:200], yb[:200]) > 0.5


def test_multimetric_narrows_on_the_refit_metric():
    search = CoarseToFineSearchCV(
        _clf(),
        SPACE,
        n_iter=2,
        n_rounds=2,
        cv=CV,
        scoring=["accuracy", "neg_log_loss"],
        refit="neg_log_loss",
        random_state=0,
    ).fit(X, Y)
    assert search.cv_results_["round"].tolist() == [0, 0, 1, 1]
    assert search.best_index_ == np.argmin(search.cv_results_["rank_test_neg_log_loss"])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"shrink": 0.0}, "'shrink' parameter of CoarseToFineSearchCV must be a float"),
        ({"n_rounds": 0}, "'n_rounds' parameter of CoarseToFineSearchCV must be an int"),
        ({"top_k": 0}, "'top_k' parameter of CoarseToFineSearchCV must be an int"),
    ],
)
def test_invalid_parameters_raise(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        CoarseToFineSearchCV(_clf(), SPACE, **params).fit(X, Y)


# halving rounds


@pytest.mark.parametrize(
    ("n", "max_iter", "factor", "expected"),
    [
        (27, 90, 3, [(27, 3), (9, 10), (3, 30), (1, 90)]),
        (9, 20, 3, [(9, 2), (3, 6), (1, 20)]),
        (10, 4, 2, [(10, 1), (5, 2), (3, 4)]),  # capped: a rung has at least one epoch
        (2, 30, 3, [(2, 30)]),  # fewer candidates than factor: one full rung
        (8, 12, 2.5, [(8, 1), (4, 4), (2, 12)]),
    ],
)
def test_halving_rungs_by_hand(n, max_iter, factor, expected):
    from skdl.search._coarse_to_fine import halving_rungs

    assert halving_rungs(n, max_iter, factor) == expected


def _halving_search(est, space=SPACE, **kw):
    params = dict(n_iter=9, n_rounds=2, top_k=2, cv=CV, random_state=0, halving=True)
    return CoarseToFineSearchCV(est, space, **{**params, **kw})


def _prefixed(space):
    return {f"mlpclassifier__{k}": v for k, v in space.items()}


@pytest.fixture(scope="module")
def halved():
    return _halving_search(_clf()).fit(X, Y)


def test_halving_rounds_record_rungs_and_pick_the_best_full_fit(halved):
    res = halved.cv_results_
    # two rounds of 9 candidates, rungs (9, 1), (3, 5), (1, 15)
    assert res["round"].tolist() == [0] * 13 + [1] * 13
    assert res["iter"].tolist() == ([0] * 9 + [1] * 3 + [2]) * 2
    assert res["n_resources"].tolist() == ([1] * 9 + [5] * 3 + [15]) * 2
    assert all(p["max_iter"] == r for p, r in zip(res["params"], res["n_resources"]))
    full = np.flatnonzero(res["n_resources"] == 15)
    assert halved.best_index_ in full
    assert halved.best_score_ == res["mean_test_score"][full].max()
    assert halved.best_estimator_.max_iter == 15
    # each rung keeps the previous rung's best: rung 1 of round 0 holds the
    # top 3 of its rung 0
    rung0 = np.flatnonzero((res["round"] == 0) & (res["iter"] == 0))
    top3 = rung0[np.argsort(-res["mean_test_score"][rung0], kind="stable")[:3]]
    strip = lambda p: {k: v for k, v in p.items() if k != "max_iter"}  # noqa: E731
    assert [strip(res["params"][i]) for i in top3] == [
        strip(res["params"][i]) for i in range(9, 12)
    ]


def test_halving_rounds_resume_exactly_as_fresh_fits(halved):
    # a pipeline's rungs train afresh (fused, not resumed): same scores
    fresh = _halving_search(make_pipeline(_clf()), _prefixed(SPACE)).fit(X, Y)
    a, b = halved.cv_results_, fresh.cv_results_
    assert_allclose(a["mean_test_score"], b["mean_test_score"], atol=1e-6)
    strip = lambda p: {k.split("__")[-1]: v for k, v in p.items()}  # noqa: E731
    assert [strip(p) for p in a["params"]] == [strip(p) for p in b["params"]]


class _Choice:
    """A distribution skdl does not narrow: a round samples from all its values."""

    def __init__(self, values):
        self.values = values

    def rvs(self, random_state=None):
        return self.values[random_state.randint(len(self.values))]


def test_a_candidate_sampled_again_in_a_later_round_trains_afresh():
    # round 1 resamples round 0's candidates, whose last models trained the
    # full max_iter: its first rung must fit them anew for a few epochs
    space = {"learning_rate_init": _Choice([1e-3, 3e-2])}
    kw = dict(n_iter=3, n_rounds=2, top_k=3, cv=CV, random_state=0, halving=True)
    bare = CoarseToFineSearchCV(_clf(), space, **kw).fit(X, Y)
    piped = CoarseToFineSearchCV(make_pipeline(_clf()), _prefixed(space), **kw).fit(X, Y)
    res = bare.cv_results_
    assert res["n_resources"].tolist() == [5, 5, 5, 15] * 2
    again = [p["learning_rate_init"] for p in res["params"][4:7]]
    assert res["params"][3]["learning_rate_init"] in again
    assert_allclose(res["mean_test_score"], piped.cv_results_["mean_test_score"], atol=1e-6)


def test_halving_refuses_max_iter_among_the_searched_parameters():
    space = {**SPACE, "max_iter": [5, 10]}
    with pytest.raises(ValueError, match="Cannot use parameter max_iter as the resource"):
        CoarseToFineSearchCV(_clf(), space, n_iter=3, cv=CV, halving=True).fit(X, Y)


def test_a_distribution_of_the_users_own_is_not_narrowed():
    # any object with rvs (scikit-learn's only requirement) passes through
    dist = _Choice([1, 2])
    assert narrow({"a": dist}, [{"a": 1}], 0.5)["a"] is dist
