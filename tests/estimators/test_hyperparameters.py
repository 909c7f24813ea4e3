"""Every hyperparameter of the lecture: what each one does, checked on small data.

Preferred checks, in order: closed forms (the learning rate of every schedule),
invariances (``leaky_relu`` with slope 0 is ``relu``; ``class_weight`` is
``sample_weight``; ``n_init`` trains the single-seed models), then behaviour
that the parameter exists for (L1 gives exact zeros, Huber ignores an outlier).
"""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss, recall_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from skdl import MLPClassifier, MLPRegressor
from skdl.estimators._params import SOLVERS
from skdl.nn.activations import ACTIVATIONS
from skdl.nn.init import INIT_OPTIONS
from skdl.optim import ExponentialSchedule, StepSchedule

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

CPU = {"device": "cpu"}
F64 = {"device": "cpu", "dtype": "float64"}


def _iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


X_IRIS, Y_IRIS = _iris()


def _noise_problem():
    # 3 informative features first, then 20 pure-noise ones (shuffle=False).
    X, y = make_classification(
        n_samples=200,
        n_features=23,
        n_informative=3,
        n_redundant=0,
        n_repeated=0,
        shuffle=False,
        random_state=0,
    )
    return StandardScaler().fit_transform(X), y


# ------------------------------------------------------------ architecture


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_fits_and_predicts_finite(activation):
    clf = MLPClassifier(
        activation=activation, depth=2, width=8, max_iter=5, random_state=0, **CPU
    ).fit(X_IRIS, Y_IRIS)
    proba = clf.predict_proba(X_IRIS)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    assert np.all(np.isfinite(clf.loss_curve_))
    assert set(clf.predict(X_IRIS)) <= set(clf.classes_)


@pytest.mark.parametrize(
    "params, hidden",
    [
        ({"depth": 3, "width": 7}, (7, 7, 7)),
        ({"depth": 1, "width": 4, "hidden_layer_sizes": (50, 60)}, (4,)),
        # depth alone repeats the first entry of hidden_layer_sizes
        ({"depth": 2, "hidden_layer_sizes": (5,)}, (5, 5)),
        # width alone keeps the number of layers of hidden_layer_sizes
        ({"width": 9, "hidden_layer_sizes": (5, 6)}, (9, 9)),
        ({"hidden_layer_sizes": (5, 6)}, (5, 6)),
    ],
)
def test_depth_and_width_build_the_layers(params, hidden):
    clf = MLPClassifier(max_iter=2, random_state=0, **params, **CPU).fit(X_IRIS, Y_IRIS)
    units = (4, *hidden, 3)
    assert [c.shape for c in clf.coefs_] == list(zip(units[:-1], units[1:]))
    assert [b.shape for b in clf.intercepts_] == [(n,) for n in units[1:]]
    assert clf.n_layers_ == len(units)


def test_depth_zero_is_one_linear_layer():
    clf = MLPClassifier(depth=0, width=50, init="he_normal", max_iter=3, random_state=0, **CPU)
    clf.fit(X_IRIS, Y_IRIS)
    assert [c.shape for c in clf.coefs_] == [(4, 3)]
    assert clf.n_layers_ == 2
    # no hidden layer: with a fixed init ('auto' follows the activation) the
    # activation cannot matter
    other = clone(clf).set_params(activation="tanh").fit(X_IRIS, Y_IRIS)
    np.testing.assert_array_equal(other.coefs_[0], clf.coefs_[0])


def _fit_act(activation, activation_param, **kw):
    return MLPClassifier(
        activation=activation,
        activation_param=activation_param,
        depth=1,
        width=10,
        max_iter=5,
        random_state=0,
        **F64,
        **kw,
    ).fit(X_IRIS, Y_IRIS)


def test_leaky_relu_slope_changes_the_model():
    small, large = _fit_act("leaky_relu", 0.01), _fit_act("leaky_relu", 0.5)
    assert not np.allclose(small.coefs_[0], large.coefs_[0])
    assert not np.allclose(small.predict_proba(X_IRIS), large.predict_proba(X_IRIS))


@pytest.mark.parametrize("activation, default", [("leaky_relu", 0.01), ("elu", 1.0)])
def test_activation_param_none_is_the_documented_default(activation, default):
    implicit, explicit = _fit_act(activation, None), _fit_act(activation, default)
    np.testing.assert_array_equal(implicit.coefs_[0], explicit.coefs_[0])
    np.testing.assert_array_equal(implicit.predict_proba(X_IRIS), explicit.predict_proba(X_IRIS))


def test_leaky_relu_with_slope_zero_is_relu():
    leaky, relu = _fit_act("leaky_relu", 0.0), _fit_act("relu", None)
    for a, b in zip(leaky.coefs_, relu.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_elu_alpha_changes_the_model():
    a, b = _fit_act("elu", 1.0), _fit_act("elu", 0.1)
    assert not np.allclose(a.predict_proba(X_IRIS), b.predict_proba(X_IRIS))


# ------------------------------------------------------------------- init


@pytest.mark.parametrize("init", sorted(set(INIT_OPTIONS) - {"zeros"}))
def test_every_init_fits(init):
    clf = MLPClassifier(init=init, depth=2, width=6, max_iter=3, random_state=0, **CPU)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # only init='zeros' warns
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_IRIS, Y_IRIS)
    assert np.all(np.isfinite(clf.predict_proba(X_IRIS)))


def test_zero_init_warns_and_hidden_units_stay_identical():
    # logistic: h = 0.5 != 0 at zero weights, so the weights do move (on
    # unbalanced classes; balanced ones give a zero mean output gradient), but
    # every hidden unit gets the same gradient and stays a copy of the others.
    X, y = X_IRIS[:130], Y_IRIS[:130]  # 50 / 50 / 30
    clf = MLPClassifier(
        init="zeros",
        activation="logistic",
        depth=2,
        width=5,
        solver="sgd",
        learning_rate_init=0.5,
        max_iter=20,
        random_state=0,
        **F64,
    )
    with pytest.warns(UserWarning, match="zeros"):
        clf.fit(X, y)
    w0, w1 = clf.coefs_[0], clf.coefs_[1]
    assert np.abs(w0).max() > 1e-3, "the first layer never moved: the test shows nothing"
    np.testing.assert_allclose(w0, np.repeat(w0[:, :1], w0.shape[1], axis=1), rtol=1e-9)
    np.testing.assert_allclose(w1, np.full_like(w1, w1[0, 0]), rtol=1e-9)


# --------------------------------------------------------------- dropout


def _fit_dropout(dropout, seed=0):
    return MLPClassifier(
        dropout=dropout, depth=2, width=16, max_iter=10, random_state=seed, **F64
    ).fit(X_IRIS, Y_IRIS)


def test_dropout_changes_training_but_predict_is_deterministic():
    plain, dropped = _fit_dropout(0.0), _fit_dropout(0.3)
    # same seed, same initial weights: only the dropout masks differ
    assert not np.allclose(plain.coefs_[0], dropped.coefs_[0])
    np.testing.assert_array_equal(dropped.predict_proba(X_IRIS), dropped.predict_proba(X_IRIS))
    # and the training is itself reproducible (seeded masks)
    np.testing.assert_array_equal(_fit_dropout(0.3).coefs_[0], dropped.coefs_[0])


def test_dropout_per_layer():
    # a list with 0 for the second layer: that layer gets no dropout
    per_layer = _fit_dropout([0.3, 0.0])
    assert not np.allclose(per_layer.coefs_[0], _fit_dropout(0.0).coefs_[0])
    # [d, d] is the float d
    np.testing.assert_array_equal(_fit_dropout([0.3, 0.3]).coefs_[0], _fit_dropout(0.3).coefs_[0])


@pytest.mark.parametrize("dropout", [[0.1], [0.1, 0.2, 0.3], [0.1, 1.0]])
def test_dropout_list_of_wrong_length_or_value_raises(dropout):
    clf = MLPClassifier(dropout=dropout, depth=2, width=4, max_iter=1, **CPU)
    with pytest.raises(ValueError, match="dropout"):
        clf.fit(X_IRIS, Y_IRIS)


# --------------------------------------------------------------- penalties


def _zeros_in_first_layer(penalty):
    X, y = _noise_problem()
    clf = MLPClassifier(
        penalty=penalty,
        alpha=3.0,
        l1_ratio=0.5,
        solver="sgd",
        learning_rate_init=0.05,
        batch_size=50,
        depth=1,
        width=16,
        max_iter=60,
        tol=0.0,
        n_iter_no_change=1000,
        random_state=0,
        **CPU,
    ).fit(X, y)
    return np.mean(clf.coefs_[0] == 0.0)


def test_l1_gives_exact_zeros_l2_does_not_elasticnet_between():
    l1, enet, l2 = (_zeros_in_first_layer(p) for p in ("l1", "elasticnet", "l2"))
    assert l1 >= 0.5
    assert l2 <= 0.01
    assert l2 <= enet <= l1
    assert enet > 0


def test_l1_gives_exact_zeros_with_the_default_solver():
    # Adam normalises the data step to ~lr while the proximal step shrinks by
    # lr * alpha / batch_size, so Adam needs a larger alpha than SGD for zeros
    X, y = _noise_problem()
    common = {
        "alpha": 30.0,
        "batch_size": 50,
        "depth": 1,
        "width": 16,
        "max_iter": 60,
        "learning_rate_init": 0.01,
        "tol": 0.0,
        "n_iter_no_change": 1000,
        "random_state": 0,
        **CPU,
    }
    l1 = MLPClassifier(penalty="l1", **common).fit(X, y)
    l2 = MLPClassifier(penalty="l2", **common).fit(X, y)
    assert l1.solver == "adam"
    assert np.mean(l1.coefs_[0] == 0) >= 0.5
    assert np.mean(l2.coefs_[0] == 0) <= 0.01


def test_l1_penalty_skips_biases():
    X, y = _imbalanced()
    clf = MLPClassifier(
        penalty="l1",
        alpha=50.0,
        solver="sgd",
        learning_rate_init=0.05,
        batch_size=50,
        depth=1,
        width=8,
        max_iter=30,
        random_state=0,
        **CPU,
    ).fit(X, y)
    # so strong that every weight is zero, but the output bias still learns the
    # prior (10% positives): a constant prediction below 1/2
    assert all(np.all(c == 0) for c in clf.coefs_)
    assert clf.intercepts_[-1][0] < -0.5
    proba = clf.predict_proba(X)[:, 1]
    np.testing.assert_allclose(proba, proba[0])


def test_penalty_none_ignores_alpha():
    a = MLPClassifier(penalty=None, alpha=100.0, max_iter=5, random_state=0, **F64)
    b = MLPClassifier(penalty=None, alpha=0.0, max_iter=5, random_state=0, **F64)
    np.testing.assert_array_equal(a.fit(X_IRIS, Y_IRIS).coefs_[0], b.fit(X_IRIS, Y_IRIS).coefs_[0])


# ----------------------------------------------------------- class_weight


def _imbalanced():
    X, y = make_classification(
        n_samples=200,
        n_features=5,
        n_informative=2,
        n_redundant=0,
        weights=[0.9, 0.1],
        flip_y=0.0,
        class_sep=0.5,
        random_state=0,
    )
    return StandardScaler().fit_transform(X), y


def test_class_weight_balanced_raises_minority_recall():
    X, y = _imbalanced()
    common = {"depth": 1, "width": 8, "max_iter": 30, "learning_rate_init": 0.01, "random_state": 0}
    plain = MLPClassifier(**common, **CPU).fit(X, y)
    balanced = MLPClassifier(class_weight="balanced", **common, **CPU).fit(X, y)
    assert recall_score(y, balanced.predict(X)) > recall_score(y, plain.predict(X))


@pytest.mark.parametrize("class_weight", ["balanced", {0: 1.0, 1: 5.0}])
def test_class_weight_is_sample_weight(class_weight):
    X, y = _imbalanced()
    common = {"depth": 1, "width": 8, "max_iter": 5, "random_state": 0, **F64}
    by_class = MLPClassifier(class_weight=class_weight, **common).fit(X, y)
    sw = compute_sample_weight(class_weight, y)
    by_sample = MLPClassifier(**common).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(by_class.coefs_[0], by_sample.coefs_[0], rtol=1e-10)


# ------------------------------------------------------- regressor losses


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber", "poisson"])
def test_every_regression_loss_fits(loss):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3))
    y = np.exp(0.3 * X[:, 0]) if loss == "poisson" else X @ [1.0, -2.0, 0.5]
    reg = MLPRegressor(loss=loss, depth=1, width=8, max_iter=20, random_state=0, **CPU)
    reg.fit(X, y)
    pred = reg.predict(X)
    assert np.all(np.isfinite(pred))
    if loss == "poisson":
        assert np.all(pred > 0)  # exp link
    assert reg.loss_curve_[-1] < reg.loss_curve_[0]


def test_huber_is_robust_to_an_outlier():
    x = np.linspace(-1, 1, 60)
    y = 3.0 * x + 1.0
    y_out = y.copy()
    y_out[-1] += 300.0  # one huge outlier
    X = x.reshape(-1, 1)

    def slope_and_intercept(loss):
        # depth=0: a linear model, so the slope is coefs_[0]
        reg = MLPRegressor(
            loss=loss,
            huber_delta=1.0,
            depth=0,
            alpha=0.0,
            solver="adam",
            learning_rate_init=0.05,
            batch_size=60,
            max_iter=800,
            tol=0.0,
            n_iter_no_change=10_000,
            random_state=0,
            **F64,
        ).fit(X, y_out)
        return reg.coefs_[0][0, 0], reg.intercepts_[0][0], reg

    slope_h, b_h, huber = slope_and_intercept("huber")
    slope_s, b_s, squared = slope_and_intercept("squared_error")
    # the clean line is slope 3, intercept 1; squared error is dragged far off
    assert abs(slope_h - 3.0) < 0.3 and abs(b_h - 1.0) < 0.3
    assert abs(slope_s - 3.0) > 3.0
    clean = slice(0, -1)
    err_h = np.abs(huber.predict(X[clean]) - y[clean]).max()
    err_s = np.abs(squared.predict(X[clean]) - y[clean]).max()
    assert err_h < err_s / 5


def test_huber_delta_changes_the_model():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 2))
    y = 5 * X[:, 0] + rng.standard_t(1, size=80)
    fits = [
        MLPRegressor(
            loss="huber", huber_delta=d, depth=1, width=4, max_iter=10, random_state=0, **F64
        )
        .fit(X, y)
        .coefs_[0]
        for d in (0.1, 10.0)
    ]
    assert not np.allclose(*fits)


# --------------------------------------------------------------- schedules

N_EPOCHS = 12
ETA0 = 0.01


def _lr_history(learning_rate, X=X_IRIS, y=Y_IRIS, **kw):
    params = {
        "learning_rate": learning_rate,
        "learning_rate_init": ETA0,
        "solver": "sgd",
        "shuffle": False,
        "tol": 0.0,
        "n_iter_no_change": 1000,
        "max_iter": N_EPOCHS,
        "depth": 1,
        "width": 4,
        "random_state": 0,
        **kw,
    }
    clf = MLPClassifier(**params, **CPU).fit(X, y)
    assert clf.n_iter_ == N_EPOCHS
    lr = np.array([r["learning_rate"] for r in clf.history_])
    assert len(lr) == N_EPOCHS
    assert [r["epoch"] for r in clf.history_] == list(range(1, N_EPOCHS + 1))
    return lr


T = np.arange(N_EPOCHS)


@pytest.mark.parametrize(
    "learning_rate, kw, expected",
    [
        ("constant", {}, np.ones(N_EPOCHS)),
        ("inverse_time", {"decay_rate": 0.5}, 1.0 / (1.0 + 0.5 * T)),
        ("exponential", {"decay_rate": 0.8}, 0.8**T),
        ("step", {"decay_rate": 0.5}, 0.5 ** (T // 10)),  # StepSchedule's step_size=10
        # by name, cosine anneals over the fit's max_iter (issue 11: was t_max=100)
        ("cosine", {}, (1 + np.cos(np.pi * T / N_EPOCHS)) / 2),
        ("invscaling", {"power_t": 0.25}, 1.0 / (T * 150 + 1.0) ** 0.25),  # n = 150 rows
        (StepSchedule(step_size=3, decay_rate=0.1), {}, 0.1 ** (T // 3)),
        (
            ExponentialSchedule(decay_rate=0.9, warmup_epochs=2),
            {},
            np.r_[1 / 3, 2 / 3, 0.9 ** np.arange(N_EPOCHS - 2)],
        ),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, (str, dict, np.ndarray)) else None,
)
def test_schedule_history_is_the_closed_form(learning_rate, kw, expected):
    lr = _lr_history(learning_rate, **kw)
    np.testing.assert_allclose(lr, ETA0 * expected, rtol=1e-12)


def test_invscaling_counts_training_rows_only_with_early_stopping():
    # with a validation split of 30 of 150 rows, an epoch sees 120 rows
    lr = _lr_history(
        "invscaling", early_stopping=True, validation_fraction=0.2, n_iter_no_change=1000
    )
    np.testing.assert_allclose(lr, ETA0 / (T * 120 + 1.0) ** 0.5, rtol=1e-12)


def test_decay_rate_none_keeps_the_schedule_default():
    np.testing.assert_allclose(_lr_history("exponential"), ETA0 * 0.95**T, rtol=1e-12)


def test_adaptive_divides_by_five_on_a_plateau():
    # tol larger than any loss: every epoch after the first counts as "no
    # improvement", so the plateau rule fires after n_iter_no_change + 1 of them.
    lr = _lr_history("adaptive", tol=100.0, n_iter_no_change=2)
    ratios = lr / ETA0
    # epochs 1-4 at eta0 (no improvement counted at epochs 2, 3, 4 > 2), then
    # the count restarts: 3 more epochs per division
    expected = np.r_[[1.0] * 4, [0.2] * 3, [0.04] * 3, [0.008] * 2]
    np.testing.assert_allclose(ratios, expected, rtol=1e-12)


def test_adaptive_stops_when_the_rate_is_tiny():
    clf = MLPClassifier(
        learning_rate="adaptive",
        learning_rate_init=1e-5,
        solver="sgd",
        tol=100.0,
        n_iter_no_change=1,
        max_iter=50,
        depth=1,
        width=4,
        random_state=0,
        **CPU,
    ).fit(X_IRIS, Y_IRIS)
    lr = np.array([r["learning_rate"] for r in clf.history_])
    assert clf.n_iter_ < 50
    assert lr[-1] <= 1e-6 < lr[0]


def test_schedule_object_is_not_mutated_by_fit():
    sched = ExponentialSchedule(decay_rate=0.7)
    _lr_history(sched)
    assert sched.get_params() == {"decay_rate": 0.7, "warmup_epochs": 0}


# ----------------------------------------------------------------- solvers


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_every_solver_reduces_the_training_loss(solver):
    # adagrad takes its scale from the gradients: a larger eta0; adadelta reads
    # learning_rate_init relative to 0.001, so 0.001 is torch's lr=1.0
    lr = {"adadelta": 0.001, "adagrad": 0.1, "sgd": 0.1}.get(solver, 0.01)
    clf = MLPClassifier(
        solver=solver,
        learning_rate_init=lr,
        depth=1,
        width=8,
        max_iter=15,
        random_state=0,
        **CPU,
    ).fit(X_IRIS, Y_IRIS)
    assert np.all(np.isfinite(clf.loss_curve_))
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.loss_ == clf.loss_curve_[-1]


def test_amsgrad_differs_from_adam():
    a = MLPClassifier(solver="adam", max_iter=10, random_state=0, **F64).fit(X_IRIS, Y_IRIS)
    b = MLPClassifier(solver="amsgrad", max_iter=10, random_state=0, **F64).fit(X_IRIS, Y_IRIS)
    assert not np.allclose(a.coefs_[0], b.coefs_[0])


# --------------------------------------------------------- early stopping


def test_early_stopping_on_the_validation_loss():
    X, y = X_IRIS, Y_IRIS
    clf = MLPClassifier(
        early_stopping=True,
        early_stopping_metric="loss",
        validation_fraction=0.3,
        n_iter_no_change=3,
        tol=0.0,
        solver="sgd",
        learning_rate_init=0.3,
        depth=2,
        width=32,
        max_iter=200,
        random_state=0,
        **F64,
    ).fit(X, y)
    val_loss = np.asarray(clf.validation_loss_curve_)
    assert len(val_loss) == clf.n_iter_
    best = int(np.argmin(val_loss))
    # stopped by the rule: n_iter_no_change + 1 epochs without a lower validation loss
    assert clf.n_iter_ < 200
    assert clf.n_iter_ == best + 1 + clf.n_iter_no_change + 1
    # and the model kept is the one of the best epoch: recompute its validation loss
    # on the same split (stratified, seeded with random_state)
    _, X_val, _, y_val = train_test_split(
        np.arange(len(y)), y, test_size=0.3, random_state=0, stratify=y
    )
    kept = log_loss(y_val, clf.predict_proba(X[X_val]), labels=clf.classes_)
    np.testing.assert_allclose(kept, val_loss[best], rtol=1e-9)
    # best_validation_score_ stays a score (accuracy), as documented
    assert 0.0 <= clf.best_validation_score_ <= 1.0
    assert clf.best_validation_score_ in clf.validation_scores_


def test_early_stopping_metric_selects_different_epochs():
    common = {
        "early_stopping": True,
        "validation_fraction": 0.3,
        "n_iter_no_change": 3,
        "tol": 0.0,
        "solver": "sgd",
        "learning_rate_init": 0.3,
        "depth": 2,
        "width": 32,
        "max_iter": 200,
        "random_state": 0,
        **F64,
    }
    by_score = MLPClassifier(early_stopping_metric="score", **common).fit(X_IRIS, Y_IRIS)
    by_loss = MLPClassifier(early_stopping_metric="loss", **common).fit(X_IRIS, Y_IRIS)
    # same seed, same split, same trajectory: only the stopping rule differs
    n = min(by_score.n_iter_, by_loss.n_iter_)
    np.testing.assert_allclose(
        by_score.validation_loss_curve_[:n], by_loss.validation_loss_curve_[:n], rtol=1e-12
    )
    assert by_score.n_iter_ != by_loss.n_iter_


# ------------------------------------------------------------------ n_init


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_n_init_keeps_the_best_restart(solver):
    common = {"solver": solver, "depth": 1, "width": 3, "max_iter": 15, **F64}
    stack = MLPClassifier(n_init=3, random_state=5, **common).fit(X_IRIS, Y_IRIS)
    singles = [
        MLPClassifier(n_init=1, random_state=5 + j, **common).fit(X_IRIS, Y_IRIS) for j in range(3)
    ]
    losses = [s.loss_ for s in singles]
    assert len(set(np.round(losses, 6))) == 3, "restarts should differ for this test to bite"
    for loss in losses:
        assert stack.loss_ <= loss + 1e-9
    # the kept model is the best single model, weights and all
    best = singles[int(np.argmin(losses))]
    for a, b in zip(stack.coefs_, best.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)


# -------------------------------------------------------- params round trip

NEW_PARAMS = {
    "depth": 3,
    "width": 17,
    "activation": "leaky_relu",
    "activation_param": 0.2,
    "init": "orthogonal",
    "penalty": "elasticnet",
    "l1_ratio": 0.7,
    "dropout": [0.1, 0.2, 0.3],
    "early_stopping_metric": "loss",
    "solver": "radam",
    "learning_rate": "cosine",
    "decay_rate": 0.5,
    "n_init": 2,
}


@pytest.mark.parametrize(
    "Est, extra",
    [
        (MLPClassifier, {"class_weight": {0: 1.0, 1: 2.0}}),
        (MLPRegressor, {"loss": "huber", "huber_delta": 0.3}),
    ],
)
def test_set_get_params_round_trip(Est, extra):
    params = {**NEW_PARAMS, **extra}
    est = Est().set_params(**params)
    got = est.get_params()
    for name, value in params.items():
        assert got[name] == value, name
    same = Est(**params)
    assert clone(est).get_params() == same.get_params()


def test_penalty_none_and_balanced_round_trip():
    est = MLPClassifier().set_params(penalty=None, class_weight="balanced")
    assert est.get_params()["penalty"] is None
    assert est.get_params()["class_weight"] == "balanced"


def test_clone_with_a_schedule_object():
    sched = ExponentialSchedule(decay_rate=0.9, warmup_epochs=2)
    est = MLPClassifier(learning_rate=sched)
    params = est.get_params(deep=True)
    assert params["learning_rate__decay_rate"] == 0.9
    assert params["learning_rate__warmup_epochs"] == 2
    twin = clone(est)
    assert twin.learning_rate is not sched
    assert twin.learning_rate.get_params() == sched.get_params()
    twin.set_params(learning_rate__decay_rate=0.5)
    assert twin.learning_rate.decay_rate == 0.5
    assert sched.decay_rate == 0.9  # the original is untouched
    np.testing.assert_allclose(
        _lr_history(twin.learning_rate)[:4], ETA0 * np.r_[1 / 3, 2 / 3, 1.0, 0.5], rtol=1e-12
    )


@pytest.mark.parametrize(
    "param, value, match",
    [
        ("activation", "swish", "activation"),
        ("init", "glorot", "init"),
        ("penalty", "l3", "penalty"),
        ("l1_ratio", 1.5, "l1_ratio"),
        ("dropout", 1.5, "dropout"),
        ("early_stopping_metric", "accuracy", "early_stopping_metric"),
        ("solver", "adamx", "solver"),
        ("learning_rate", "linear", "learning_rate"),
        ("decay_rate", 0.0, "decay_rate"),
        ("n_init", 0, "n_init"),
        ("depth", -1, "depth"),
        ("width", 0, "width"),
    ],
)
def test_invalid_values_name_the_parameter(param, value, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier(max_iter=1, **{param: value}, **CPU).fit(X_IRIS, Y_IRIS)


def test_class_weight_and_huber_delta_are_validated():
    with pytest.raises(ValueError, match="class_weight"):
        MLPClassifier(class_weight="even", max_iter=1, **CPU).fit(X_IRIS, Y_IRIS)
    with pytest.raises(ValueError, match="huber_delta"):
        MLPRegressor(loss="huber", huber_delta=0.0, max_iter=1, **CPU).fit(X_IRIS, Y_IRIS)
