"""scikit-learn's callback API (sklearn.callback, scikit-learn >= 1.9) down to each epoch."""

import warnings
from unittest import mock

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV as SkGridSearchCV
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skdl
from skdl.model_selection import GridSearchCV

callback = pytest.importorskip("sklearn.callback")


class Recorder:
    """Records every hook call; ``stop_at`` makes ``on_fit_task_end`` of that
    leaf task (1-based) ask to stop."""

    def __init__(self, stop_at=None):
        self.calls = []
        self.stop_at = stop_at
        self.fitted = []

    def setup(self, estimator, context):
        self.calls.append(("setup", context.task_name))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", context.task_name))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None):
        self.calls.append(("begin", context.task_name, context.task_id, context.max_subtasks))

    def on_fit_task_end(self, estimator, context, *, X=None, fitted_estimator=None):
        self.calls.append(("end", context.task_name, context.task_id, X is not None))
        if context.max_subtasks == 0 and fitted_estimator is not None:  # a leaf
            self.fitted.append(fitted_estimator)
            return self.stop_at is not None and len(self.fitted) >= self.stop_at
        return False

    def leaves(self, kind):
        return [c for c in self.calls if c[0] == kind and c[1] in ("epoch", "lbfgs-iter")]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16, y[:400]


def _mlp(**kw):
    params = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0, device="cpu")
    return skdl.MLPClassifier(**{**params, **kw})


def _fit_quiet(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def test_set_callbacks_returns_self_and_clone_keeps_them():
    rec = Recorder()
    est = _mlp()
    assert est.set_callbacks(rec) is est
    assert clone(est)._skl_callbacks == [rec]
    assert "callbacks" not in est.get_params()
    with pytest.raises(TypeError, match="FitCallback"):
        est.set_callbacks(object())


def test_task_tree_one_leaf_per_epoch(digits):
    X, y = digits
    rec = Recorder()
    est = _fit_quiet(_mlp().set_callbacks(rec), X, y)
    assert rec.calls[0] == ("setup", "fit")
    assert rec.calls[1] == ("begin", "fit", 0, 5)
    assert rec.calls[-2] == ("end", "fit", 0, True)
    assert rec.calls[-1] == ("teardown", "fit")
    begins, ends = rec.leaves("begin"), rec.leaves("end")
    assert [c[2] for c in begins] == [c[2] for c in ends] == list(range(est.n_iter_))
    assert all(c[3] == 0 for c in begins)  # epochs are leaves
    # begin and end alternate: an epoch is closed before the next opens
    order = [c[0] for c in rec.calls if c[1] == "epoch"]
    assert order == ["begin", "end"] * est.n_iter_


def test_fitted_estimator_holds_the_weights_of_its_epoch(digits):
    """The epoch-k model equals a fit with max_iter=k (same seed), and the last
    one is the fitted model."""
    X, y = digits
    rec = Recorder()
    est = _fit_quiet(_mlp(max_iter=4).set_callbacks(rec), X, y)
    assert len(rec.fitted) == 4
    assert_array_equal(rec.fitted[-1].predict_proba(X), est.predict_proba(X))
    for k in (1, 2):
        ref = _fit_quiet(_mlp(max_iter=k), X, y)
        snap = rec.fitted[k - 1]
        assert snap.n_iter_ == k
        assert snap.loss_ == pytest.approx(ref.loss_)
        for a, b in zip(snap.coefs_ + snap.intercepts_, ref.coefs_ + ref.intercepts_):
            assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # the snapshots are copies: the estimator itself only holds the final weights
    assert rec.fitted[0] is not est
    assert not np.allclose(rec.fitted[0].coefs_[0], est.coefs_[0])


def test_a_callback_can_stop_training(digits):
    X, y = digits
    rec = Recorder(stop_at=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a request, not a failure
        est = _mlp(max_iter=50).set_callbacks(rec).fit(X, y)
    assert est.n_iter_ == 3
    assert len(est.loss_curve_) == 3
    ref = _fit_quiet(_mlp(max_iter=3), X, y)
    assert_allclose(est.coefs_[0], ref.coefs_[0], rtol=1e-6, atol=1e-7)
    assert rec.calls[-2][:2] == ("end", "fit")


def test_early_stopping_restores_best_even_when_stopped(digits):
    X, y = digits
    rec = Recorder(stop_at=4)
    est = _mlp(max_iter=50, early_stopping=True, n_iter_no_change=50)
    est.set_callbacks(rec).fit(X, y)
    assert est.n_iter_ == 4
    assert len(est.validation_scores_) == 4
    assert est.best_validation_score_ == max(est.validation_scores_)


def test_lbfgs_one_task_per_iteration(digits):
    X, y = digits
    rec = Recorder()
    est = _fit_quiet(_mlp(solver="lbfgs", max_iter=6).set_callbacks(rec), X, y)
    assert rec.calls[1] == ("begin", "fit", 0, 7)
    ends = rec.leaves("end")
    # one task per iteration, plus the one the last iteration opened (closed empty)
    assert len(ends) == est.n_iter_ + 1
    assert len(rec.fitted) == est.n_iter_
    assert_allclose(rec.fitted[-1].predict_proba(X), est.predict_proba(X), atol=1e-6)
    assert [f.n_iter_ for f in rec.fitted] == list(range(1, est.n_iter_ + 1))


def test_lbfgs_stop(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = _mlp(solver="lbfgs", max_iter=50).set_callbacks(Recorder(stop_at=2)).fit(X, y)
    assert est.n_iter_ == 2
    assert len(est.loss_curve_) == 2


def test_partial_fit_is_one_epoch_task(digits):
    X, y = digits
    rec = Recorder()
    est = _mlp().set_callbacks(rec)
    est.partial_fit(X, y, classes=np.unique(y))
    est.partial_fit(X, y)
    roots = [c for c in rec.calls if c[:2] == ("begin", "fit")]
    assert roots == [("begin", "fit", 0, 1)] * 2
    assert len(rec.leaves("end")) == 2


def test_n_init_reports_the_stack_epochs(digits):
    X, y = digits
    rec = Recorder()
    est = _fit_quiet(_mlp(n_init=3, max_iter=3).set_callbacks(rec), X, y)
    assert len(rec.leaves("end")) == 3
    # the last snapshot is the model the fit keeps (lowest training loss)
    assert_array_equal(rec.fitted[-1].coefs_[0], est.coefs_[0])


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_callbacks_are_shown_the_model_the_fit_keeps(digits, seed):
    """n_init=3 with early_stopping_metric='loss': a callback is shown the model
    that the fit's own rule would keep (the best validation loss, not the last
    validation score), so at the last epoch it is the fitted model."""
    X, y = digits
    rec = Recorder()
    est = _mlp(
        n_init=3,
        max_iter=12,
        random_state=seed,
        early_stopping=True,
        early_stopping_metric="loss",
        n_iter_no_change=50,
    )
    _fit_quiet(est.set_callbacks(rec), X, y)
    last = rec.fitted[-1]
    assert last.n_iter_ == est.n_iter_
    assert last.loss_ == est.loss_


def _scoring_rows(monitor, task_name):
    return [r for r in monitor.get_logs().data if r["task_name"] == task_name]


@pytest.mark.parametrize("search_cls", [SkGridSearchCV, GridSearchCV])
def test_scoring_monitor_at_epoch_level_inside_search_and_pipeline(digits, search_cls):
    """Set on the MLP of a pipeline searched by scikit-learn's (or skdl's, which
    then runs scikit-learn's evaluation) GridSearchCV: every epoch of every fit is
    scored, on the rows that fit trained on, under the search's task tree."""
    X, y = digits
    monitor = callback.ScoringMonitor(scoring="accuracy")
    pipe = make_pipeline(StandardScaler(), _mlp(max_iter=3).set_callbacks(monitor))
    search = search_cls(pipe, {"mlpclassifier__alpha": [1e-4, 1e-1]}, cv=KFold(2))
    _fit_quiet(search, X, y)
    epochs = _scoring_rows(monitor, "epoch")
    # 2 candidates x 2 folds, then the refit, 3 epochs each
    assert len(epochs) == (2 * 2 + 1) * 3
    assert {len(r["task_id_path"]) for r in epochs} == {4, 5}  # refit / per-split path
    fits = _scoring_rows(monitor, "fit")
    assert len(fits) == 5
    # the last epoch of the refit scores as the refitted model does
    refit_path = [r for r in epochs if len(r["task_id_path"]) == 4][-1]
    final = search.best_estimator_
    assert refit_path["accuracy"] == pytest.approx(final.score(X, y))


def test_fused_search_falls_back_with_callbacks_and_keeps_results(digits):
    X, y = digits
    grid = {"alpha": [1e-4, 1e-1]}
    plain = _fit_quiet(GridSearchCV(_mlp(max_iter=3), grid, cv=KFold(2)), X, y)
    rec = Recorder()
    watched = _fit_quiet(GridSearchCV(_mlp(max_iter=3).set_callbacks(rec), grid, cv=KFold(2)), X, y)
    assert len(rec.fitted) == (2 * 2 + 1) * 3
    assert_allclose(
        watched.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"], atol=1e-6
    )


def test_progress_bar_advances_per_epoch(digits):
    """scikit-learn's ProgressBar (rich) moves one step per epoch and ends at 100%."""
    pytest.importorskip("rich")
    from sklearn.callback._progressbar import RichProgressMonitor

    X, y = digits
    records = []
    original = RichProgressMonitor._on_task_end

    def recording(self, task_info):
        original(self, task_info)
        records.append(self.root_rich_task.progress)

    with mock.patch.object(RichProgressMonitor, "_on_task_end", recording):
        _fit_quiet(_mlp(max_iter=4).set_callbacks(callback.ProgressBar()), X, y)
    assert_allclose(records, [0.25, 0.5, 0.75, 1.0, 1.0])
