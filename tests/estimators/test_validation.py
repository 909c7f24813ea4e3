"""Input and hyperparameter validation: clear errors, never a raw torch trace;
and the input formats that must work (labels, indicators, frames, sparse)."""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.linear_model import LinearRegression
from sklearn.utils._param_validation import InvalidParameterError

from skdl import MLPClassifier, MLPRegressor

FAST = {"hidden_layer_sizes": (4,), "max_iter": 3, "random_state": 0, "device": "cpu"}


def _data(n=40, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 3)
    return X, (X[:, 0] > 0).astype(int), X[:, 0] - X[:, 1]


def _fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def _raises(exc_type, match, call):
    """pytest.raises, plus: the error is ours (or scikit-learn's), not torch's."""
    with pytest.raises(exc_type, match=match) as info:
        call()
    err = info.value
    assert not isinstance(err, RuntimeError), f"raw {type(err).__name__}: {err}"
    assert not type(err).__module__.startswith("torch")
    return err


# ------------------------------------------------------------------ the data
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize(
    "bad, match", [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")]
)
def test_non_finite_X(Estimator, bad, match):
    X, yc, yr = _data()
    y = yc if Estimator is MLPClassifier else yr
    X_bad = X.copy()
    X_bad[3, 1] = bad
    _raises(ValueError, match, lambda: _fit(Estimator(**FAST), X_bad, y))
    est = _fit(Estimator(**FAST), X, y)
    _raises(ValueError, match, lambda: est.predict(X_bad))
    if hasattr(est, "partial_fit"):
        _raises(ValueError, match, lambda: est.partial_fit(X_bad, y))


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_empty_X(Estimator):
    _raises(ValueError, "0 sample", lambda: Estimator(**FAST).fit(np.empty((0, 3)), np.empty(0)))
    _, yc, yr = _data()
    y = yc if Estimator is MLPClassifier else yr
    _raises(ValueError, "0 feature", lambda: Estimator(**FAST).fit(np.empty((40, 0)), y))


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_wrong_number_of_features(Estimator):
    X, yc, yr = _data()
    y = yc if Estimator is MLPClassifier else yr
    est = _fit(Estimator(**FAST), X, y)
    match = "X has 2 features, but .* is expecting 3 features"
    _raises(ValueError, match, lambda: est.predict(X[:, :2]))
    if Estimator is MLPClassifier:
        _raises(ValueError, match, lambda: est.predict_proba(X[:, :2]))
    _raises(ValueError, "features", lambda: est.partial_fit(X[:, :2], y))
    est.set_params(warm_start=True)
    _raises(ValueError, "features", lambda: _fit(est, X[:, :2], y))


@pytest.mark.parametrize("label", [0, 1, "a"])
def test_single_class_fits_and_predicts_it_as_sklearn(label):
    # scikit-learn fits a one-class y and predicts that class (its
    # test_preserve_feature_names fits y = [1] * 10)
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, _, _ = _data()
    y = np.array([label] * 40, dtype=object if label == "a" else None)
    ours, theirs = (
        _fit(Est(hidden_layer_sizes=(3,), max_iter=3, random_state=0), X, y)
        for Est in (MLPClassifier, SkMLP)
    )
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_array_equal(ours.predict(X), y)
    proba = ours.predict_proba(X)
    assert proba.shape == theirs.predict_proba(X).shape
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    assert ours.score(X, y) == 1.0


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_inconsistent_lengths(Estimator):
    X, yc, yr = _data()
    y = yc if Estimator is MLPClassifier else yr
    _raises(ValueError, "inconsistent numbers of samples", lambda: Estimator(**FAST).fit(X, y[:-1]))
    _raises(
        ValueError,
        "sample_weight",
        lambda: Estimator(**FAST).fit(X, y, sample_weight=np.ones(len(X) - 1)),
    )


@pytest.mark.parametrize("bad, match", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_regressor_non_finite_y(bad, match):
    X, _, y = _data()
    y = y.copy()
    y[5] = bad
    _raises(ValueError, match, lambda: MLPRegressor(**FAST).fit(X, y))


def test_poisson_needs_non_negative_y():
    X, _, y = _data()
    _raises(
        ValueError, "poisson.*non-negative", lambda: MLPRegressor(loss="poisson", **FAST).fit(X, y)
    )
    # zeros are fine
    _fit(MLPRegressor(loss="poisson", **FAST), X, np.abs(y) * (y > 0))


# ------------------------------------------------------------ hyperparameters
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize(
    "params, name",
    [
        ({"dropout": 1.5}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"solver": "foo"}, "solver"),
        ({"alpha": -1.0}, "alpha"),
        ({"activation": "bogus"}, "activation"),
        ({"init": "bogus"}, "init"),
        ({"penalty": "l3"}, "penalty"),
        ({"l1_ratio": 2.0}, "l1_ratio"),
        ({"learning_rate": "bogus"}, "learning_rate"),
        ({"learning_rate_init": 0.0}, "learning_rate_init"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_iter": 0}, "max_iter"),
        ({"momentum": 1.5}, "momentum"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"beta_1": 1.0}, "beta_1"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
        ({"n_init": 0}, "n_init"),
        ({"depth": -1}, "depth"),
        ({"width": 0}, "width"),
        ({"dtype": "float16"}, "dtype"),
        ({"early_stopping_metric": "accuracy"}, "early_stopping_metric"),
    ],
)
def test_bad_hyperparameter_is_named(Estimator, params, name):
    X, yc, yr = _data()
    y = yc if Estimator is MLPClassifier else yr
    err = _raises(
        InvalidParameterError,
        f"The '{name}' parameter of {Estimator.__name__} must be",
        lambda: Estimator(**{**FAST, **params}).fit(X, y),
    )
    assert repr(next(iter(params.values()))) in str(err) or str(next(iter(params.values()))) in str(
        err
    )


@pytest.mark.parametrize(
    "params, name", [({"loss": "hinge"}, "loss"), ({"huber_delta": 0.0}, "huber_delta")]
)
def test_bad_regressor_hyperparameter_is_named(params, name):
    X, _, y = _data()
    _raises(
        InvalidParameterError,
        f"'{name}' parameter",
        lambda: MLPRegressor(**{**FAST, **params}).fit(X, y),
    )


def test_bad_class_weight_is_named():
    X, y, _ = _data()
    _raises(
        InvalidParameterError,
        "'class_weight' parameter",
        lambda: MLPClassifier(class_weight="bogus", **FAST).fit(X, y),
    )


@pytest.mark.parametrize("sizes", [(0,), (5, 0), (5, -2)])
def test_hidden_layer_sizes_must_be_positive(sizes):
    X, y, _ = _data()
    _raises(
        ValueError,
        "hidden_layer_sizes",
        lambda: MLPClassifier(**{**FAST, "hidden_layer_sizes": sizes}).fit(X, y),
    )


def test_dropout_per_layer_needs_one_value_per_hidden_layer():
    X, y, _ = _data()
    params = {**FAST, "hidden_layer_sizes": (4, 3)}
    _raises(ValueError, "dropout", lambda: MLPClassifier(**params, dropout=[0.1]).fit(X, y))
    _raises(ValueError, "dropout", lambda: MLPClassifier(**params, dropout=[0.1, 1.0]).fit(X, y))
    _fit(MLPClassifier(**params, dropout=[0.1, 0.5]), X, y)


def test_early_stopping_needs_a_validation_split():
    X, y, _ = _data()
    message = (
        "early_stopping=True needs a validation split, but validation_fraction=0.0. "
        "Set validation_fraction in (0, 1) or early_stopping=False."
    )
    est = MLPClassifier(early_stopping=True, validation_fraction=0.0, **FAST)
    _raises(ValueError, re.escape(message), lambda: est.fit(X, y))


def test_early_stopping_validation_set_too_small():
    X, _, y = _data(n=20)
    est = MLPRegressor(early_stopping=True, validation_fraction=0.05, **FAST)
    _raises(ValueError, "validation set is too small.*validation_fraction", lambda: est.fit(X, y))


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_partial_fit_refuses_early_stopping(Estimator):
    X, yc, yr = _data()
    est = Estimator(early_stopping=True, **FAST)
    if Estimator is MLPClassifier:
        call = lambda: est.partial_fit(X, yc, classes=[0, 1])  # noqa: E731
    else:
        call = lambda: est.partial_fit(X, yr)  # noqa: E731
    _raises(ValueError, "partial_fit.*early_stopping", call)


def test_partial_fit_needs_a_stochastic_solver():
    est = MLPRegressor(solver="lbfgs", **FAST)
    assert not hasattr(est, "partial_fit")
    X, _, y = _data()
    err = _raises(AttributeError, "partial_fit", lambda: est.partial_fit(X, y))
    # scikit-learn's available_if keeps the reason as the cause
    assert "stochastic" in str(err.__cause__)


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_lbfgs_refuses_non_smooth_penalty(penalty):
    X, _, y = _data()
    est = MLPRegressor(solver="lbfgs", penalty=penalty, **FAST)
    _raises(ValueError, "solver='lbfgs'.*penalty", lambda: est.fit(X, y))


def test_partial_fit_classes():
    X, y, _ = _data()
    _raises(ValueError, "classes", lambda: MLPClassifier(**FAST).partial_fit(X, y))
    est = MLPClassifier(**FAST).partial_fit(X, y, classes=[0, 1])
    _raises(ValueError, "classes", lambda: est.partial_fit(X, y + 1))


def test_warm_start_needs_the_same_classes():
    X, y, _ = _data()
    est = _fit(MLPClassifier(warm_start=True, **FAST), X, y)
    _raises(ValueError, "warm_start.*same classes", lambda: est.fit(X, y + 1))


def test_class_weight_refuses_multilabel():
    X, y, _ = _data()
    Y = np.column_stack([y, 1 - y, y])
    est = MLPClassifier(class_weight="balanced", **FAST)
    _raises(ValueError, "class_weight.*multilabel", lambda: est.fit(X, Y))


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_bad_device(Estimator):
    X, yc, yr = _data()
    y = yc if Estimator is MLPClassifier else yr
    _raises(ValueError, "device", lambda: Estimator(**{**FAST, "device": "tpu"}).fit(X, y))


def test_divergence_is_a_clear_error():
    X, _, y = _data()
    est = MLPRegressor(
        solver="sgd", learning_rate_init=10.0, hidden_layer_sizes=(8,), max_iter=50, random_state=0
    )
    _raises(
        ValueError, r"diverged at epoch \d+.*learning_rate_init", lambda: est.fit(100 * X, 1e3 * y)
    )


def test_continuing_with_a_different_number_of_outputs():
    X, _, y = _data()
    Y2 = np.column_stack([y, y])
    est = MLPRegressor(**FAST).partial_fit(X, y)
    _raises(ValueError, "output", lambda: est.partial_fit(X, Y2))
    est = _fit(MLPRegressor(warm_start=True, **FAST), X, y)
    _raises(ValueError, "output", lambda: _fit(est, X, Y2))


# ------------------------------------------------------- formats that must work
@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog", "eel"]),
        np.array([3, 10, -7]),
        np.array([1.0, 2.0, 7.0]),
        np.array(["no", "yes", "yes"]),  # binary
    ],
    ids=["str", "int", "float", "binary-str"],
)
def test_labels_round_trip(labels):
    rng = np.random.RandomState(0)
    centers = np.array([[-4.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    idx = rng.randint(3, size=60)
    X = centers[idx] + 0.3 * rng.randn(60, 2)
    y = labels[idx]
    clf = _fit(
        MLPClassifier(solver="lbfgs", hidden_layer_sizes=(5,), random_state=0, device="cpu"), X, y
    )
    np.testing.assert_array_equal(clf.classes_, np.unique(labels))
    pred = clf.predict(X)
    assert pred.dtype == y.dtype
    np.testing.assert_array_equal(pred, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (60, len(np.unique(labels)))
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], pred)


def test_multilabel_indicator():
    rng = np.random.RandomState(0)
    X = rng.randn(80, 3)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 1] > 0]).astype(int)
    clf = _fit(
        MLPClassifier(solver="lbfgs", hidden_layer_sizes=(8,), random_state=0, device="cpu"), X, Y
    )
    assert clf.out_activation_ == "logistic"
    assert clf.n_outputs_ == 3
    pred = clf.predict(X)
    assert pred.shape == (80, 3)
    assert set(np.unique(pred)) <= {0, 1}
    proba = clf.predict_proba(X)
    assert proba.shape == (80, 3)
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    assert (pred == Y).mean() > 0.9


def test_multi_output_regression_is_one_linear_model_per_output():
    rng = np.random.RandomState(0)
    X = rng.randn(50, 3)
    Y = np.column_stack([X @ [1.0, -1.0, 2.0] + 0.5, X @ [0.0, 3.0, -1.0] - 1.0]) + 0.1 * rng.randn(
        50, 2
    )
    reg = MLPRegressor(
        hidden_layer_sizes=(),
        activation="identity",
        solver="lbfgs",
        alpha=0.0,
        tol=1e-12,
        max_iter=10_000,
        dtype="float64",
        device="cpu",
        random_state=0,
    ).fit(X, Y)
    assert reg.n_outputs_ == 2
    assert reg.predict(X).shape == (50, 2)
    ols = LinearRegression().fit(X, Y)
    np.testing.assert_allclose(reg.coefs_[0], ols.coef_.T, atol=1e-5)
    np.testing.assert_allclose(reg.predict(X), ols.predict(X), atol=1e-5)


def test_column_y_is_raveled():
    X, _, y = _data()
    with pytest.warns(DataConversionWarning):
        reg = _fit(MLPRegressor(**FAST), X, y[:, None])
    assert reg.predict(X).shape == (40,)


def test_pandas_dataframe_sets_feature_names():
    pd = pytest.importorskip("pandas")
    X, y, _ = _data()
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    clf = _fit(MLPClassifier(**FAST), df, pd.Series(y))
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c"])
    assert clf.n_features_in_ == 3
    with pytest.warns(UserWarning, match="valid feature names"):
        proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict_proba(df), proba)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df.rename(columns={"a": "z"}))
    plain = _fit(MLPClassifier(**FAST), X, y)
    assert not hasattr(plain, "feature_names_in_")


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_equals_dense(Estimator, fmt):
    X, yc, yr = _data()
    y = yc if Estimator is MLPClassifier else yr
    X[np.abs(X) < 0.7] = 0.0  # about half zeros
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    params = {**FAST, "dtype": "float64", "max_iter": 5}
    dense = _fit(Estimator(**params), X, y)
    sparse = _fit(Estimator(**params), Xs, y)
    for a, b in zip(dense.coefs_ + dense.intercepts_, sparse.coefs_ + sparse.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sparse.predict(Xs), dense.predict(X))


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_integer_and_list_X(Estimator):
    X, yc, yr = _data()
    y = yc if Estimator is MLPClassifier else yr
    Xi = np.round(3 * X).astype(np.int64)
    a = _fit(Estimator(**FAST, dtype="float64"), Xi, y)
    b = _fit(Estimator(**FAST, dtype="float64"), Xi.astype(np.float64).tolist(), list(y))
    np.testing.assert_array_equal(a.predict(Xi), b.predict(Xi))


@pytest.mark.parametrize(
    ("base", "job", "match"),
    [
        ({}, {"alpha": -1.0}, "'alpha' parameter of MLPClassifier"),
        ({}, {"dropout": 2.0}, "dropout"),
        ({"learning_rate_init": 0.0}, {"alpha": 1e-3}, "'learning_rate_init' parameter"),
    ],
)
def test_fit_many_rejects_an_invalid_job_or_base_parameter(base, job, match):
    # a fused stack validates its estimator once and each job's changes
    X, y, _ = _data()
    est = MLPClassifier(**FAST, **base)
    rows = np.arange(len(y))
    _raises(
        InvalidParameterError if "parameter" in match else ValueError,
        match,
        lambda: est._fit_many(X, y, [({}, rows), (job, rows)]),
    )


def test_param_names_are_read_once_per_class_and_stay_correct():
    class Wider(MLPClassifier):
        def __init__(self, extra=1, **kwargs):
            super().__init__(**kwargs)
            self.extra = extra

    names = MLPClassifier._get_param_names()
    assert names == sorted(names) and "alpha" in names and "extra" not in names
    assert "extra" in Wider._get_param_names()
    names.append("mutated")  # a caller's copy: the cache is not touched
    assert "mutated" not in MLPClassifier._get_param_names()


NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


@NO_CUDA
@pytest.mark.parametrize("device", [torch.device("cuda"), torch.device("cuda", 0), "cuda"])
def test_unavailable_device_object_is_a_clear_error(device):
    X, yc, _ = _data()
    _raises(
        ValueError,
        "not available on this machine",
        lambda: _fit(MLPClassifier(**{**FAST, "device": device}), X, yc),
    )


def test_torch_device_cpu_trains_like_the_string():
    X, yc, _ = _data()
    ours = _fit(MLPClassifier(**{**FAST, "device": torch.device("cpu")}), X, yc)
    theirs = _fit(MLPClassifier(**{**FAST, "device": "cpu"}), X, yc)
    np.testing.assert_array_equal(ours.coefs_[0], theirs.coefs_[0])


@NO_CUDA
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_model_of_a_missing_device_predicts_on_the_cpu_with_one_warning(Estimator):
    # a model trained on a GPU and loaded on a CPU-only machine still predicts
    X, yc, yr = _data()
    y = yc if Estimator is MLPClassifier else yr
    est = _fit(Estimator(**FAST), X, y)
    expected = est.predict(X)
    est.set_params(device="cuda")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(3):
            np.testing.assert_array_equal(est.predict(X), expected)
    messages = [str(w.message) for w in caught if "predicting on the CPU" in str(w.message)]
    assert len(messages) == 1, messages
    assert "device='cuda'" in messages[0]


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_lbfgs_refuses_a_non_smooth_penalty_before_training(monkeypatch, penalty):
    """The estimator checks it (FitConfig.check_data), not the engine: nothing is trained."""
    import skdl.training.engine as engine

    def no_training(*args, **kwargs):
        raise AssertionError("the engine was called")

    monkeypatch.setattr(engine, "fit_stack", no_training)
    monkeypatch.setattr("skdl.estimators._fitting.fit_stack", no_training)
    X, _, y = _data()
    est = MLPRegressor(solver="lbfgs", penalty=penalty, alpha=1e-3, device="cpu")
    with pytest.raises(ValueError, match=r"solver='lbfgs' needs a smooth objective.*penalty='l2'"):
        est.fit(X, y)
