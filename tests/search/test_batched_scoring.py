"""The fused searches' batched scoring gives ``_fit_and_score``'s results exactly.

Each search runs twice on the same data: batched (the default) and with
every fit scored by ``_fit_and_score`` (``_scoring.exact_scoring()``); their
``cv_results_`` must be equal bit for bit, times aside. A spy counts the
models the batch predicts, so each test also checks that the batch was used
(or, where it must not be, that it was not). The batch's parts are checked
against scikit-learn's on their own: the predictions are ``model.predict``'s,
the metrics ``accuracy_score``'s and ``r2_score``'s.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import accuracy_score, make_scorer, r2_score
from sklearn.model_selection import KFold, StratifiedKFold

from skdl import MLPClassifier, MLPRegressor
from skdl.estimators import check_predict_input, predict_checked
from skdl.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
)
from skdl.search import _scoring

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X_BIN, Y_BIN = make_classification(90, 6, n_informative=4, random_state=0)
X_MC, Y_MC = make_classification(90, 6, n_informative=4, n_classes=3, random_state=1)
X_REG, Y_REG = make_regression(90, 5, n_informative=4, noise=5.0, random_state=0)
Y_REG = Y_REG / Y_REG.std()
GRID = {"learning_rate_init": [1e-3, 1e-2], "alpha": [1e-4, 1e-1]}


def _clf(**params):
    return MLPClassifier(
        hidden_layer_sizes=(6,), max_iter=3, random_state=0, device="cpu"
    ).set_params(**params)


def _reg(**params):
    return MLPRegressor(
        hidden_layer_sizes=(6,), max_iter=3, random_state=0, device="cpu"
    ).set_params(**params)


@pytest.fixture
def predicted(monkeypatch):
    """The number of (model, rows) predictions the batch made."""
    calls = []
    real = _scoring.predict_checked

    def spy(est, X):
        calls.append(X.shape[0])
        return real(est, X)

    monkeypatch.setattr(_scoring, "predict_checked", spy)
    return calls


def _assert_same(batched, exact):
    """Equal ``cv_results_`` (every key but the times), ranks and best candidate."""
    a, b = batched.cv_results_, exact.cv_results_
    assert set(a) == set(b)
    for key in b:
        if key == "params" or key.startswith("param_"):
            assert list(a[key]) == list(b[key]), key
        elif key == "epoch_curves":
            assert repr(a[key].tolist()) == repr(b[key].tolist())
        elif not key.endswith("_time"):
            assert_array_equal(a[key], b[key], err_msg=key, strict=True)
    for key in ("mean_score_time", "mean_fit_time"):
        assert np.all(np.isfinite(a[key])) and np.all(a[key] >= 0)
    assert batched.best_index_ == exact.best_index_
    assert batched.best_params_ == exact.best_params_
    assert repr(batched.best_score_) == repr(exact.best_score_)


def _both(make_search, X, y):
    batched = make_search().fit(X, y)
    with _scoring.exact_scoring():
        exact = make_search().fit(X, y)
    return batched, exact


CASES = {
    "binary, default score, train scores": (
        lambda: GridSearchCV(_clf(), GRID, cv=3, return_train_score=True),
        X_BIN,
        Y_BIN,
    ),
    "multiclass, accuracy": (
        lambda: GridSearchCV(_clf(), GRID, cv=3, scoring="accuracy"),
        X_MC,
        Y_MC,
    ),
    "multiclass string labels, randomized, train scores": (
        lambda: RandomizedSearchCV(
            _clf(), GRID, n_iter=3, cv=3, random_state=0, return_train_score=True
        ),
        X_MC,
        np.array(["ant", "bee", "cat"])[Y_MC],
    ),
    "regressor, default score, train scores": (
        lambda: RandomizedSearchCV(
            _reg(), GRID, n_iter=3, cv=KFold(3), random_state=0, return_train_score=True
        ),
        X_REG,
        Y_REG,
    ),
    "regressor float32, r2": (  # float32 predictions and y: R² in float32
        lambda: GridSearchCV(_reg(dtype="float32"), GRID, cv=KFold(2), scoring="r2"),
        X_REG.astype(np.float32),
        Y_REG.astype(np.float32),
    ),
    "regressor, two outputs, integer y": (
        lambda: GridSearchCV(_reg(), GRID, cv=KFold(3), return_train_score=True),
        X_REG,
        np.column_stack([np.round(Y_REG * 3), np.round(-Y_REG)]).astype(int),
    ),
    "several metrics, train scores": (
        lambda: GridSearchCV(
            _clf(),
            GRID,
            cv=3,
            scoring={"acc": "accuracy", "acc2": make_scorer(accuracy_score)},
            refit="acc2",
            return_train_score=True,
        ),
        X_MC,
        Y_MC,
    ),
    "several metrics, regressor": (
        lambda: GridSearchCV(_reg(), GRID, cv=KFold(3), scoring=["r2"], refit="r2"),
        X_REG,
        Y_REG,
    ),
    "halving grid, max_iter, train scores": (
        lambda: HalvingGridSearchCV(
            _clf(),
            {"learning_rate_init": [1e-3, 3e-3, 1e-2, 3e-2]},
            resource="max_iter",
            max_resources=4,
            factor=2,
            cv=StratifiedKFold(2),
            return_train_score=True,
        ),
        X_MC,
        Y_MC,
    ),
    "halving random, regressor, r2": (
        lambda: HalvingRandomSearchCV(
            _reg(),
            GRID,
            n_candidates=4,
            resource="max_iter",
            max_resources=4,
            factor=2,
            cv=KFold(2),
            scoring="r2",
            random_state=0,
        ),
        X_REG,
        Y_REG,
    ),
    "sparse X": (
        lambda: GridSearchCV(_clf(), GRID, cv=3),
        sp.csr_matrix(np.where(np.abs(X_BIN) > 1, X_BIN, 0.0)),
        Y_BIN,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_batched_scores_are_fit_and_scores(case, predicted):
    make_search, X, y = CASES[case]
    batched, exact = _both(make_search, X, y)
    n_fits = len(batched.cv_results_["params"]) * batched.n_splits_
    n_sides = 1 + batched.return_train_score
    assert len(predicted) == n_fits * n_sides  # the batch scored every fit, not exact
    _assert_same(batched, exact)


def _custom(est, X, y):
    return float(np.mean(est.predict(X) == y)) - 0.5


@pytest.mark.parametrize(
    "scoring",
    [
        _custom,
        make_scorer(accuracy_score, normalize=True),  # a metric option: not the bare metric
        ["accuracy", "balanced_accuracy"],  # one metric not batched: all by _fit_and_score
        "balanced_accuracy",
        "r2",  # R² of class labels: scikit-learn's to compute
    ],
)
def test_other_scorers_fall_back_to_fit_and_score(scoring, predicted):
    batched, exact = _both(
        lambda: GridSearchCV(_clf(), GRID, cv=3, scoring=scoring, refit=False), X_MC, Y_MC
    )
    assert predicted == []
    _assert_same_results_only(batched, exact)


def _assert_same_results_only(batched, exact):
    a, b = batched.cv_results_, exact.cv_results_
    assert set(a) == set(b)
    for key in b:
        if key not in ("params", "epoch_curves") and not key.endswith("_time"):
            assert_array_equal(a[key], b[key], err_msg=key)


def test_verbose_fits_print_their_lines(capsys, predicted):
    make = lambda: GridSearchCV(_clf(), GRID, cv=3, verbose=2, refit=False)  # noqa: E731
    batched, exact = _both(make, X_BIN, Y_BIN)
    out = capsys.readouterr().out
    assert out.count("[CV] END") == 2 * 12  # both searches: _fit_and_score's lines
    assert predicted == []
    _assert_same(batched, exact)


def test_sample_weight_scores_fall_back(predicted):
    w = np.linspace(0.5, 2.0, len(Y_BIN))
    batched = GridSearchCV(_clf(), GRID, cv=3).fit(X_BIN, Y_BIN, sample_weight=w)
    with _scoring.exact_scoring():
        exact = GridSearchCV(_clf(), GRID, cv=3).fit(X_BIN, Y_BIN, sample_weight=w)
    assert predicted == []  # the weights go to the scorer: _fit_and_score's path
    _assert_same(batched, exact)


DIVERGE = dict(solver="sgd", batch_size=30, dtype="float32")
DIVERGING = {"learning_rate_init": [1e-3, 1e38]}  # the second overflows: its fits raise


@pytest.mark.filterwarnings("ignore:One or more of the test scores:UserWarning")
def test_a_diverged_fit_gets_error_score_the_others_are_batched(predicted):
    make = lambda: GridSearchCV(_reg(**DIVERGE), DIVERGING, cv=KFold(3))  # noqa: E731
    with pytest.warns(FitFailedWarning, match="3 fits failed") as caught:
        batched = make().fit(X_REG, Y_REG)
    with _scoring.exact_scoring(), warnings.catch_warnings(record=True) as caught_exact:
        warnings.simplefilter("always")
        exact = make().fit(X_REG, Y_REG)
    assert len(predicted) == 3  # the fits that did not diverge
    fit_failed = [str(w.message) for w in caught if w.category is FitFailedWarning]
    assert fit_failed == [str(w.message) for w in caught_exact if w.category is FitFailedWarning]
    assert np.isnan(batched.cv_results_["mean_test_score"][1])
    _assert_same(batched, exact)
    with pytest.raises(ValueError, match="Training diverged"):
        GridSearchCV(_reg(**DIVERGE), DIVERGING, cv=KFold(3), error_score="raise").fit(X_REG, Y_REG)


@pytest.mark.filterwarnings("ignore:One or more of the test scores:UserWarning")
@pytest.mark.parametrize("error_score", [np.nan, "raise"])
def test_a_scoring_error_is_fit_and_scores(monkeypatch, error_score):
    # a model whose predict raises is scored by _fit_and_score, which warns
    # and gives error_score, or raises, as scikit-learn does
    real = MLPClassifier._predicted

    def failing(self, y_pred):
        if self.alpha == 1e-1:
            raise ValueError("simulated predict error")
        return real(self, y_pred)

    monkeypatch.setattr(MLPClassifier, "_predicted", failing)
    search = GridSearchCV(_clf(), GRID, cv=3, error_score=error_score, refit=False)
    if error_score == "raise":
        with pytest.raises(ValueError, match="simulated predict error"):
            search.fit(X_BIN, Y_BIN)
        return
    with pytest.warns(UserWarning, match="(?s)Scoring failed.*simulated predict error"):
        search.fit(X_BIN, Y_BIN)
    with _scoring.exact_scoring(), pytest.warns(UserWarning, match="Scoring failed"):
        exact = GridSearchCV(_clf(), GRID, cv=3, error_score=error_score, refit=False)
        exact.fit(X_BIN, Y_BIN)
    _assert_same_results_only(search, exact)
    failed = np.array([p["alpha"] == 1e-1 for p in search.cv_results_["params"]])
    assert np.isnan(search.cv_results_["mean_test_score"][failed]).all()


# ------------------------------------------------------------ the parts alone
def _fitted_models():
    rng = np.random.RandomState(0)
    Y_ML = (rng.rand(90, 3) > 0.5).astype(int)
    yield _clf(max_iter=20).fit(X_BIN, Y_BIN), X_BIN  # binary
    yield _clf(max_iter=20).fit(X_MC, Y_MC), X_MC  # multiclass
    yield _clf(max_iter=20, dtype="float64").fit(X_MC, np.array(list("abc"))[Y_MC]), X_MC
    yield _clf(max_iter=20).fit(X_BIN, Y_ML), X_BIN  # multilabel
    yield _clf(n_init=3, ensemble=True).fit(X_MC, Y_MC), X_MC  # an ensemble's mean
    yield _reg(max_iter=20).fit(X_REG, Y_REG), X_REG  # one output
    yield _reg(max_iter=20).fit(X_REG, np.column_stack([Y_REG, -Y_REG])), X_REG  # two
    X32 = X_REG.astype(np.float32)
    yield _reg(max_iter=20, dtype="float32").fit(X32, Y_REG), X32
    yield _reg(max_iter=20).fit(X_REG, Y_REG), sp.csr_matrix(X_REG)


@pytest.mark.parametrize("n_rows", [7, 40, 90])  # numpy's few-row path, and torch's
def test_predict_checked_is_predict_bit_for_bit(n_rows):
    for model, X in _fitted_models():
        rows = X[:n_rows]
        expected = model.predict(rows)
        got = predict_checked(model, check_predict_input(rows))
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert_array_equal(got, expected, strict=True)


def test_check_predict_input_converts_as_predict():
    X = np.asfortranarray(np.round(X_BIN * 3).astype(np.int64))  # converted, and C-ordered?
    for model in (_clf(max_iter=5).fit(X_BIN, Y_BIN), _reg(max_iter=5).fit(X_BIN, Y_BIN)):
        expected = model.predict(X)
        assert_array_equal(predict_checked(model, check_predict_input(X)), expected, strict=True)
    with pytest.raises(ValueError, match="NaN"):
        check_predict_input(np.full((2, 3), np.nan))


def _rows(y_true):
    return _scoring._Rows(np.zeros((len(y_true), 1)), np.asarray(y_true), np.arange(len(y_true)))


@pytest.mark.parametrize("seed", range(4))
def test_the_metrics_are_sklearns_bit_for_bit(seed):
    rng = np.random.RandomState(seed)
    n = 37
    labels = rng.randint(3, size=n)
    for y_true, y_pred in [
        (labels, rng.randint(3, size=n)),
        (labels % 2, rng.randint(2, size=n)),
        (np.array(list("xyz"))[labels], np.array(list("xyz"))[rng.randint(3, size=n)]),
        (labels.astype(float), rng.randint(3, size=n).astype(float)),
    ]:
        assert repr(_scoring._accuracy(_rows(y_true), y_pred)) == repr(
            accuracy_score(y_true, y_pred)
        )
    values = rng.standard_normal((n, 2)) * 10 ** rng.uniform(-3, 3)
    for y_true, y_pred in [
        (values[:, 0], values[:, 0] + rng.standard_normal(n)),
        (values, values + rng.standard_normal((n, 2))),
        (values[:, 0], (values[:, 0] + rng.standard_normal(n)).astype(np.float32)),
        (values.astype(np.float32), values.astype(np.float32) * 1.1),
        (np.round(values[:, 0]).astype(int), rng.standard_normal(n).astype(np.float32)),
        (np.ones(n), rng.standard_normal(n)),  # constant y: 0.0 (force_finite)
        (np.ones(n), np.ones(n)),  # perfect constant: 1.0
        (values[:, 0], values[:, 0]),  # perfect: 1.0
        (np.column_stack([np.ones(n), values[:, 0]]), np.column_stack([np.ones(n), values[:, 1]])),
    ]:
        assert repr(_scoring._r2(_rows(y_true), y_pred)) == repr(r2_score(y_true, y_pred))


def test_the_metrics_leave_what_sklearn_refuses_or_warns_about():
    assert _scoring._accuracy(_rows([0.5, 1.0, 2.0]), np.array([1.0, 1.0, 2.0])) is None
    assert _scoring._accuracy(_rows(np.eye(3, dtype=int)), np.eye(3, dtype=int)) is None
    assert _scoring._r2(_rows([1.0, 2.0]), np.array([np.inf, 1.0])) is None
    assert _scoring._r2(_rows([1.0]), np.array([1.0])) is None  # sklearn warns: nan
    assert _scoring._r2(_rows([1.0, np.nan]), np.array([1.0, 2.0])) is None
    assert _scoring._r2(_rows([1, 2]), np.array([1, 2])) is None  # labels, not values


def test_the_default_is_batched():
    assert _scoring._BATCHED
    with _scoring.exact_scoring():
        assert not _scoring._BATCHED
    assert _scoring._BATCHED


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_output_r2_assembly_is_sklearns_bit_for_bit(dtype):
    """The one-output shortcut of _explained against scikit-learn's own assembly of
    the fraction (force_finite, uniform average): zero, tiny, huge and overflowing
    numerators and denominators."""
    from sklearn.metrics._regression import _assemble_fraction_of_explained_deviance
    from sklearn.utils._array_api import get_namespace

    xp, _ = get_namespace(np.zeros(1))
    rng = np.random.default_rng(0)
    for _ in range(2000):
        num, den = (
            np.array([rng.choice([0.0, rng.uniform(0, 10) * 10 ** rng.uniform(-30, 30)])], dtype)
            for _ in range(2)
        )
        with np.errstate(all="ignore"):
            ours = _scoring._explained(num, den)
            theirs = _assemble_fraction_of_explained_deviance(
                num, den, 1, "uniform_average", True, xp, None
            )
        assert repr(ours) == repr(float(theirs))
