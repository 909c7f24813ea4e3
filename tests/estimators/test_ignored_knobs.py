"""Knobs that used to be silently ignored (issue 11, item 10): each now acts,
raises or warns, and says which parameter wins."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from skdl import MLPClassifier
from skdl.optim import CosineSchedule, ExponentialSchedule

X, Y = load_iris(return_X_y=True)
FAST = {"hidden_layer_sizes": (4,), "random_state": 0, "device": "cpu"}


def _fit(**kw):
    """Fit quietly (convergence warnings only); returns the estimator and the
    UserWarnings given."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = MLPClassifier(**{**FAST, **kw}).fit(X, Y)
    return est, [str(w.message) for w in caught if w.category is UserWarning]


# ------------------------------------------------------------ dropout + lbfgs


@pytest.mark.parametrize("dropout", [0.2, [0.0, 0.3]])
def test_dropout_with_lbfgs_raises(dropout):
    est = MLPClassifier(
        solver="lbfgs", dropout=dropout, hidden_layer_sizes=(4, 4), max_iter=3, device="cpu"
    )
    with pytest.raises(ValueError, match=r"dropout=.* solver='lbfgs'.*dropout=0\.0.*'adam'"):
        est.fit(X, Y)


def test_lbfgs_without_dropout_still_fits():
    est, _ = _fit(solver="lbfgs", dropout=0.0, max_iter=3)
    assert est.n_iter_ >= 1


# ------------------------------------------------------- cosine horizon


def _lrs(est):
    return np.array([r["learning_rate"] for r in est.history_])


def test_cosine_by_name_anneals_over_max_iter():
    est, _ = _fit(learning_rate="cosine", max_iter=30, tol=0.0, n_iter_no_change=1000)
    lr = _lrs(est) / est.learning_rate_init
    assert len(lr) == 30
    assert lr[0] == 1.0 and np.all(np.diff(lr) < 0)
    assert lr[-1] < 0.01  # was 0.81 with the fixed t_max=100
    np.testing.assert_allclose(lr, (1 + np.cos(np.pi * np.arange(30) / 30)) / 2, rtol=1e-12)


def test_cosine_by_name_never_sits_at_zero_in_a_long_fit():
    est, _ = _fit(learning_rate="cosine", max_iter=200, tol=0.0, n_iter_no_change=1000)
    lr = _lrs(est)
    assert len(lr) == 200
    assert np.all(lr[100:] > 0)  # epochs 101-200 ran at lr=0 with t_max=100


def test_cosine_by_name_restarts_in_a_warm_start_fit():
    """A warm-start fit anneals anew over its own max_iter (it ran at lr=0 once the
    first fit's horizon was spent); partial_fit counts its epochs on."""
    est, _ = _fit(
        learning_rate="cosine", max_iter=10, tol=0.0, n_iter_no_change=1000, warm_start=True
    )
    first = _lrs(est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y)
    np.testing.assert_allclose(_lrs(est)[10:], first, rtol=1e-12)
    est = MLPClassifier(**FAST, learning_rate="cosine", max_iter=4)
    for _ in range(5):
        est.partial_fit(X, Y, classes=[0, 1, 2])
    cos = (1 + np.cos(np.pi * np.minimum(np.arange(5), 4) / 4)) / 2
    np.testing.assert_allclose(_lrs(est), est.learning_rate_init * cos, atol=1e-15)


def test_cosine_object_keeps_its_own_t_max():
    est, _ = _fit(learning_rate=CosineSchedule(t_max=4), max_iter=6, tol=0.0, n_iter_no_change=1000)
    np.testing.assert_allclose(_lrs(est)[4:], 0.0)


# --------------------------------------------------- decay_rate, depth/width


@pytest.mark.parametrize(
    "learning_rate, name",
    [("cosine", "'cosine'"), ("constant", "'constant'"), (CosineSchedule(), "schedule object")],
)
def test_decay_rate_unused_by_the_schedule_warns(learning_rate, name):
    _, caught = _fit(learning_rate=learning_rate, decay_rate=0.5, max_iter=2)
    msgs = [m for m in caught if "decay_rate=0.5 is ignored" in m]
    assert len(msgs) == 1 and name in msgs[0]


@pytest.mark.parametrize("learning_rate", ["exponential", "step", "inverse_time"])
def test_decay_rate_used_by_the_schedule_does_not_warn(learning_rate):
    _, caught = _fit(learning_rate=learning_rate, decay_rate=0.5, max_iter=2)
    assert not [m for m in caught if "decay_rate" in m]
    _, caught = _fit(learning_rate=ExponentialSchedule(0.5), max_iter=2)
    assert not [m for m in caught if "decay_rate" in m]


@pytest.mark.parametrize(
    "kw, wins, layers",
    [
        ({"depth": 2}, "depth=2 wins", "(4, 4)"),
        ({"width": 3}, "width=3 wins", "(3,)"),
        ({"depth": 2, "width": 3}, "depth=2 and width=3 win", "(3, 3)"),
    ],
)
def test_depth_width_with_hidden_layer_sizes_warns_which_wins(kw, wins, layers):
    est, caught = _fit(max_iter=2, **kw)
    msgs = [m for m in caught if "hidden_layer_sizes=(4,)" in m]
    assert len(msgs) == 1 and wins in msgs[0] and layers in msgs[0]
    assert tuple(c.shape[1] for c in est.coefs_[:-1]) == eval(layers)


def test_depth_width_with_default_hidden_layer_sizes_does_not_warn():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MLPClassifier(depth=1, width=3, max_iter=2, random_state=0).fit(X, Y)
    assert not [w for w in caught if w.category is UserWarning]


def test_knob_warning_is_given_once_per_fit():
    """partial_fit warns on its first call only; a stack of candidates once in all."""
    est = MLPClassifier(**FAST, decay_rate=0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            est.partial_fit(X, Y, classes=[0, 1, 2])
        est._fit_many(X, Y, [({"alpha": a}, np.arange(150)) for a in (1e-4, 1e-3, 1e-2)])
    assert sum("decay_rate=0.5 is ignored" in str(w.message) for w in caught) == 2


def test_no_knob_warning_by_default():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier(**FAST, max_iter=2).fit(X, Y)
