"""The fused searches give scikit-learn's results: an oracle test per feature.

Each test runs skdl's search and scikit-learn's on the same estimator, grid
and folds (CPU, float64, fixed seeds), and checks that ``cv_results_`` agree
to 1e-6 and ``best_params_`` are identical; the verbose line tells how many
fits were fused, so each test also checks that fusion (or the fallback)
really happened.
"""

import inspect
import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import loguniform, uniform
from sklearn import model_selection as sk
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from skdl import MLPClassifier, MLPRegressor
from skdl.model_selection import (
    CoarseToFineSearchCV,
    GridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
)
from skdl.search import _fused
from skdl.search._plan import Group, group_candidates, task_pairs

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, Y = load_iris(return_X_y=True)
X = StandardScaler().fit_transform(X)
CV = StratifiedKFold(3, shuffle=True, random_state=0)
GRID = {"learning_rate_init": [1e-3, 1e-2, 1e-1], "alpha": [1e-4, 1e-1]}


def _clf(**params):
    return MLPClassifier(
        hidden_layer_sizes=(8,), device="cpu", dtype="float64", max_iter=20, random_state=0
    ).set_params(**params)


def _assert_same_results(ours, theirs):
    """skdl's cv_results_ are sklearn's (plus epoch_curves and n_iter), to 1e-6."""
    a, b = ours.cv_results_, theirs.cv_results_
    fused_keys = {"epoch_curves"} | {f"split{k}_n_iter" for k in range(ours.n_splits_)}
    assert set(a) == set(b) | (
        fused_keys if isinstance(a.get("epoch_curves"), np.ndarray) else {"epoch_curves"}
    )
    for key in b:
        if key == "params":
            assert a[key] == b[key]
        elif key.startswith("param_"):
            assert list(a[key]) == list(b[key]), key
        elif key.startswith("rank_"):
            assert_array_equal(a[key], b[key], err_msg=key)
        elif "_time" not in key:
            assert_allclose(a[key], b[key], rtol=0, atol=1e-6, err_msg=key)
    assert ours.best_index_ == theirs.best_index_
    assert ours.best_params_ == theirs.best_params_
    if hasattr(theirs, "best_score_"):
        assert ours.best_score_ == pytest.approx(theirs.best_score_, abs=1e-6)


def _fused_counts(out: str) -> tuple[int, int]:
    """(fused fits, stacks) from the verbose line of the last evaluation."""
    fused, stacks = re.findall(r"\((\d+) of them in (\d+) fused groups\)", out)[-1]
    return int(fused), int(stacks)


def _both(search_cls, estimator, space, capsys, X=X, y=Y, fit_params=None, **kwargs):
    fit_params = fit_params or {}
    ours = search_cls(estimator, space, verbose=1, **kwargs).fit(X, y, **fit_params)
    counts = _fused_counts(capsys.readouterr().out)
    theirs = getattr(sk, search_cls.__name__)(estimator, space, **kwargs)
    theirs.fit(X, y, **fit_params)
    _assert_same_results(ours, theirs)
    return ours, theirs, counts


def test_same_signature_as_sklearn():
    for ours, theirs in [
        (GridSearchCV, sk.GridSearchCV),
        (RandomizedSearchCV, sk.RandomizedSearchCV),
    ]:
        assert str(inspect.signature(ours)) == str(inspect.signature(theirs))
        assert issubclass(ours, theirs)


def test_grid_search_classifier_equals_sklearn(capsys):
    ours, theirs, counts = _both(GridSearchCV, _clf(), GRID, capsys, cv=CV)
    assert counts == (18, 1)  # 6 candidates x 3 folds, one stack
    assert_allclose(ours.best_estimator_.coefs_[0], theirs.best_estimator_.coefs_[0])
    assert_array_equal(ours.predict(X), theirs.predict(X))


def test_pipeline_equals_sklearn(capsys):
    pipe = make_pipeline(StandardScaler(), _clf())
    grid = {f"mlpclassifier__{k}": v for k, v in GRID.items()}
    raw = load_iris().data  # unscaled: the scaler matters
    _, _, counts = _both(GridSearchCV, pipe, grid, capsys, X=raw, cv=CV)
    assert counts == (18, 1)


class CountingScaler(TransformerMixin, BaseEstimator):
    """StandardScaler that counts its fits (n_jobs=1 runs in this process)."""

    n_fits = 0

    def __init__(self, with_mean=True):
        self.with_mean = with_mean

    def fit(self, X, y=None):
        type(self).n_fits += 1
        self.scaler_ = StandardScaler(with_mean=self.with_mean).fit(X)
        return self

    def transform(self, X):
        return self.scaler_.transform(X)


def test_pipeline_preprocessing_fitted_once_per_fold_and_setting(capsys):
    pipe = Pipeline([("scale", CountingScaler()), ("mlp", _clf())])
    grid = {"scale__with_mean": [True, False], "mlp__learning_rate_init": [1e-3, 1e-2, 1e-1]}
    CountingScaler.n_fits = 0
    search = GridSearchCV(pipe, grid, cv=CV, verbose=1).fit(load_iris().data, Y)
    # 2 preprocessing settings x 3 folds, plus the refit; sklearn fits 18 + 1
    assert CountingScaler.n_fits == 2 * 3 + 1
    assert _fused_counts(capsys.readouterr().out) == (18, 2)
    theirs = sk.GridSearchCV(pipe, grid, cv=CV).fit(load_iris().data, Y)
    _assert_same_results(search, theirs)


def test_small_stacks_and_tasks_split_by_fold(capsys, monkeypatch):
    monkeypatch.setattr(_fused, "MAX_CPU_STACK", 4)  # 18 fits: stacks of 3 or 4
    pipe = make_pipeline(CountingScaler(), _clf())
    grid = {f"mlpclassifier__{k}": v for k, v in GRID.items()}
    CountingScaler.n_fits = 0
    _, _, counts = _both(GridSearchCV, pipe, grid, capsys, X=load_iris().data, cv=CV)
    assert counts == (18, 1)
    assert CountingScaler.n_fits == 3 + 1 + 19  # ours (folds + refit), then sklearn's


def test_task_pairs():
    group = Group({}, {}, members=[None] * 3)
    (one,) = task_pairs(group, n_splits=2, n_workers=1, by_fold=False)
    assert one == [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]
    assert [len(t) for t in task_pairs(group, 2, 4, by_fold=False)] == [2, 2, 1, 1]
    by_fold = task_pairs(group, n_splits=3, n_workers=2, by_fold=True)
    assert [sorted({s for _, s in t}) for t in by_fold] == [[0, 1], [2]]


def test_regressor_equals_sklearn(capsys):
    Xr, yr = make_regression(n_samples=120, n_features=5, noise=1.0, random_state=0)
    reg = MLPRegressor(
        hidden_layer_sizes=(8,), device="cpu", dtype="float64", max_iter=20, random_state=0
    )
    _, _, counts = _both(GridSearchCV, reg, GRID, capsys, X=Xr, y=yr / 100, cv=KFold(3))
    assert counts == (18, 1)


def test_randomized_search_with_distributions(capsys):
    space = {
        "learning_rate_init": loguniform(1e-3, 1e-1),
        "alpha": loguniform(1e-5, 1e-1),
        "beta_1": uniform(0.8, 0.15),
        "dropout": uniform(0.0, 0.5),
    }
    kwargs = dict(n_iter=5, cv=CV, random_state=0)
    _, _, counts = _both(RandomizedSearchCV, _clf(), space, capsys, **kwargs)
    assert counts == (15, 1)


def test_multimetric_refit_and_train_scores(capsys):
    kwargs = dict(
        cv=CV,
        scoring=["accuracy", "neg_log_loss", "f1_macro"],
        refit="accuracy",
        return_train_score=True,
    )
    ours, _, counts = _both(GridSearchCV, _clf(), GRID, capsys, **kwargs)
    assert counts == (18, 1)
    assert "split2_train_neg_log_loss" in ours.cv_results_


def test_structural_parameter_makes_several_stacks(capsys):
    grid = {"hidden_layer_sizes": [(4,), (8,), (4, 4)], "learning_rate_init": [1e-2, 1e-1]}
    groups, singles = group_candidates(_clf(), list(sk.ParameterGrid(grid)))
    assert [len(g.members) for g in groups] == [2, 2, 2] and singles == []
    _, _, counts = _both(GridSearchCV, _clf(), grid, capsys, cv=CV)
    assert counts == (18, 3)


@pytest.mark.parametrize(
    "params, grid",
    [
        (
            {"early_stopping": True, "max_iter": 30, "n_iter_no_change": 3},
            {"n_init": [1, 2], "validation_fraction": [0.1, 0.2]},
        ),
        ({"solver": "lbfgs", "max_iter": 15}, {"alpha": [1e-4, 1.0], "random_state": [0, 1]}),
    ],
    ids=["early_stopping-n_init", "lbfgs"],
)
def test_stopping_restarts_and_lbfgs(capsys, params, grid):
    _, _, counts = _both(GridSearchCV, _clf(**params), grid, capsys, cv=CV)
    assert counts == (12, 1)


def test_dropout_in_the_grid(capsys):
    grid = {"dropout": [0.0, 0.2, 0.5], "learning_rate_init": [1e-2, 1e-1]}
    _, _, counts = _both(GridSearchCV, _clf(max_iter=10), grid, capsys, cv=CV)
    assert counts == (18, 1)


def test_sample_weight_is_fused(capsys):
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(Y))
    fit_params = {"sample_weight": weights}
    _, _, counts = _both(GridSearchCV, _clf(), GRID, capsys, fit_params=fit_params, cv=CV)
    assert counts == (18, 1)


def test_non_skdl_estimator_is_sklearns_search():
    grid = {"C": [0.1, 1.0, 10.0]}
    ours = GridSearchCV(LogisticRegression(), grid, cv=CV).fit(X, Y)
    theirs = sk.GridSearchCV(LogisticRegression(), grid, cv=CV).fit(X, Y)
    assert set(ours.cv_results_) == set(theirs.cv_results_)  # no epoch_curves: sklearn's fit
    ours.cv_results_["epoch_curves"] = None
    _assert_same_results(ours, theirs)


def test_candidates_that_cannot_fuse_fall_back(capsys):
    grid = [
        {"mlp__learning_rate_init": [1e-2, 1e-1]},
        {"mlp": [LogisticRegression()]},  # replaces the final step
        {"mlp__class_weight": ["balanced"]},  # depends on each fold's class counts
        {"mlp__alpha": [-1.0]},  # invalid: sklearn's error handling
    ]
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", _clf())])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.filterwarnings("ignore", "One or more of the test scores")
        ours, _, counts = _both(GridSearchCV, pipe, grid, capsys, cv=CV)
    assert counts == (6, 1)
    assert np.isnan(ours.cv_results_["mean_test_score"][-1])
    assert ours.cv_results_["epoch_curves"][2] == [None] * 3  # LogisticRegression has none


def test_fold_missing_a_class_falls_back(capsys):
    y = Y.copy()
    y[0] = 3  # one sample of a fourth class: some training fold lacks it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the splitter's "least populated class"
        _, _, counts = _both(GridSearchCV, _clf(), GRID, capsys, y=y, cv=CV)
    assert counts == (0, 0)


@pytest.mark.filterwarnings("ignore:One or more of the test scores:UserWarning")
def test_diverged_fit_gets_error_score(capsys):
    Xr, yr = make_regression(n_samples=60, n_features=4, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", device="cpu", dtype="float64")
    reg.set_params(max_iter=10, random_state=0)
    grid = {"learning_rate_init": [1e-3, 1e6]}
    with pytest.warns(FitFailedWarning, match="3 fits failed"):
        ours, _, counts = _both(GridSearchCV, reg, grid, capsys, X=Xr, y=yr, cv=KFold(3))
    assert counts == (6, 1)
    assert np.isnan(ours.cv_results_["mean_test_score"][1])
    with pytest.raises(ValueError, match="Training diverged"):
        GridSearchCV(reg, grid, cv=KFold(3), error_score="raise").fit(Xr, yr)


def test_parallel_stacks_with_n_jobs(capsys):
    grid = {"hidden_layer_sizes": [(4,), (8,)], "alpha": [1e-4, 1e-1]}
    _, _, counts = _both(GridSearchCV, _clf(), grid, capsys, cv=CV, n_jobs=2)
    assert counts == (12, 2)


def test_callable_multimetric_scoring(capsys):
    def scoring(est, X, y):
        return {"acc": est.score(X, y), "n_iter": float(est.n_iter_)}

    kwargs = dict(cv=CV, scoring=scoring, refit="acc")
    _, _, counts = _both(GridSearchCV, _clf(), GRID, capsys, **kwargs)
    assert counts == (18, 1)


def test_dataframe_through_a_pandas_pipeline(capsys):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(load_iris().data, columns=["a", "b", "c", "d"])
    pipe = make_pipeline(StandardScaler().set_output(transform="pandas"), _clf())
    grid = {"mlpclassifier__alpha": [1e-4, 1e-1]}
    with warnings.catch_warnings():
        warnings.filterwarnings("error", ".*feature names")  # "X has feature names, but..."
        ours, _, counts = _both(GridSearchCV, pipe, grid, capsys, X=frame, cv=CV)
    assert counts == (6, 1)
    assert list(ours.best_estimator_[-1].feature_names_in_) == ["a", "b", "c", "d"]


class TwoRounds:
    """A custom search: a second round around the first round's best learning rate."""

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        results = evaluate_candidates([{"learning_rate_init": lr} for lr in (1e-3, 1e-1)])
        best = results["params"][int(np.argmin(results["rank_test_score"]))]
        lr = best["learning_rate_init"]
        evaluate_candidates([{"learning_rate_init": lr * f} for f in (0.5, 2)])


def test_custom_run_search_calls_evaluate_twice(capsys):
    class Ours(TwoRounds, GridSearchCV):
        pass

    class Theirs(TwoRounds, sk.GridSearchCV):
        pass

    ours = Ours(_clf(), {}, cv=CV).fit(X, Y)
    theirs = Theirs(_clf(), {}, cv=CV).fit(X, Y)
    assert len(ours.cv_results_["params"]) == 4
    _assert_same_results(ours, theirs)


def test_epoch_curves_have_one_entry_per_split_and_epoch():
    search = GridSearchCV(_clf(max_iter=7), {"alpha": [1e-4, 1e-2]}, cv=CV).fit(X, Y)
    curves = search.cv_results_["epoch_curves"]
    assert len(curves) == 2 and all(len(c) == 3 for c in curves)
    train, _ = next(CV.split(X, Y))
    fitted = _clf(max_iter=7, alpha=1e-4).fit(X[train], Y[train])
    assert_allclose(curves[0][0]["train_loss"], fitted.loss_curve_, atol=1e-10)
    assert curves[0][0]["val_score"] == [None] * 7


@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
def test_stack_member_with_no_rows_in_a_batch_sits_it_out(penalty):
    """Training sets of 200 and 201 rows with batch_size=200: the first model has
    no row in the second batch of each epoch. Its penalty term and L1 step for
    that batch must be zero (they were divided by a zero row weight: a reported
    loss of 1e33 with L2, every weight shrunk to zero with L1)."""
    from sklearn.datasets import load_digits

    Xd, yd = load_digits(return_X_y=True)
    Xd = Xd[:401] / 16
    est = MLPClassifier(
        hidden_layer_sizes=(8,),
        max_iter=3,
        batch_size=200,
        alpha=1e-3,
        penalty=penalty,
        random_state=0,
        device="cpu",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fused = est._fit_many(Xd, yd[:401], [({}, np.arange(200)), ({}, np.arange(201))])
        for model, n in zip(fused, (200, 201)):
            alone = MLPClassifier(**est.get_params()).fit(Xd[:n], yd[:n])
            assert model.loss_ == pytest.approx(alone.loss_, rel=1e-5)
            for a, b in zip(model.coefs_, alone.coefs_):
                assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_search_warns_once_about_its_unconverged_fits():
    """12 candidates x 3 folds + the refit, none converging in 3 epochs: one warning, counted."""
    space = {"alpha": [1e-5, 1e-4, 1e-3], "learning_rate_init": [1e-3, 3e-3, 1e-2, 3e-2]}
    with warnings.catch_warnings(record=True) as theirs:  # one ConvergenceWarning per fit
        warnings.simplefilter("always")
        sk.GridSearchCV(_clf(max_iter=3), space, cv=3).fit(X, Y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = GridSearchCV(_clf(max_iter=3), space, cv=3).fit(X, Y)
    assert sum(issubclass(w.category, ConvergenceWarning) for w in theirs) == 37
    convergence = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(convergence) == 1
    assert str(convergence[0].message).startswith(
        "37 of the search's 37 fits did not converge (36 of the 36 cross-validation fits, "
        "and the refit)"
    )
    for k in range(3):
        assert_array_equal(ours.cv_results_[f"split{k}_n_iter"], np.full(12, 3.0))


@pytest.mark.parametrize(
    "search, kwargs",
    [
        (HalvingRandomSearchCV, {"n_candidates": 4, "random_state": 0}),
        (CoarseToFineSearchCV, {"random_state": 0}),
    ],
)
def test_every_search_class_warns_once(search, kwargs):
    """Halving and coarse-to-fine searches run many rounds: still one ConvergenceWarning."""
    space = {"alpha": [1e-4, 1e-3, 1e-2, 1e-1]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search(_clf(max_iter=3), space, cv=3, **kwargs).fit(X, Y)
    convergence = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(convergence) == 1
    assert re.match(r"(\d+) of the search's \1 fits did not converge", str(convergence[0].message))


def test_a_converged_search_does_not_warn():
    est = _clf(max_iter=500, learning_rate_init=0.05)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = GridSearchCV(est, {"alpha": [1e-4, 1e-3]}, cv=3).fit(X, Y)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert (search.cv_results_["split0_n_iter"] < 500).all()


def test_n_iter_in_cv_results_is_each_fits_epochs():
    """Early stopping ends fits at different epochs: split k's n_iter is that fit's n_iter_."""
    est = _clf(max_iter=200, early_stopping=True, n_iter_no_change=2, learning_rate_init=0.05)
    alphas = [1e-4, 1e-1]
    ours = GridSearchCV(est, {"alpha": alphas}, cv=CV).fit(X, Y)
    for c, alpha in enumerate(alphas):
        for k, (train, _) in enumerate(CV.split(X, Y)):
            fitted = est.set_params(alpha=alpha).fit(X[train], Y[train])
            assert ours.cv_results_[f"split{k}_n_iter"][c] == fitted.n_iter_


def test_stack_chunks_give_big_splits_stacks_of_their_own():
    from skdl.search._plan import MIN_SHARED_STACK, stack_chunks

    n = MIN_SHARED_STACK
    splits = [0] * (2 * n) + [1] * n + [2] * 2 + [3] * 3
    chunks = stack_chunks(splits, size=n)
    assert sorted(i for c in chunks for i in c) == list(range(len(splits)))
    assert all(len(c) <= n for c in chunks)
    # splits 0 and 1 alone in their stacks; the small splits 2 and 3 pooled
    for c in chunks:
        kinds = {splits[i] for i in c}
        assert len(kinds) == 1 or kinds <= {2, 3}
    assert [len(c) for c in chunks] == [n, n, n, 5]
    assert stack_chunks([0, 0, 1], size=32)[0].tolist() == [0, 1, 2]
