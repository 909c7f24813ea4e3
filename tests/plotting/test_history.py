import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from skdl import MLPClassifier, MLPRegressor
from skdl.plotting import TrainingHistoryDisplay

X, y = load_iris(return_X_y=True)


def _fit(**params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(hidden_layer_sizes=(8,), random_state=0, **params).fit(X, y)


@pytest.fixture(scope="module")
def early():
    return _fit(early_stopping=True, max_iter=40, learning_rate_init=0.01, n_iter_no_change=5)


def test_lines_are_the_history_columns(early, tmp_path):
    display = TrainingHistoryDisplay.from_estimator(early)
    history = early.history_
    assert set(display.lines_) == {"train_loss", "val_loss", "val_score", "learning_rate"}
    for column, line in display.lines_.items():
        np.testing.assert_array_equal(line.get_xdata(), history.column("epoch"))
        np.testing.assert_array_equal(line.get_ydata(), history.column(column))
    np.testing.assert_array_equal(display.lines_["train_loss"].get_ydata(), early.loss_curve_)
    assert len(display.axes_) == 3
    assert display.ax_ is display.axes_[0]
    assert display.figure_ is display.ax_.figure
    display.figure_.savefig(tmp_path / "history.png")
    assert (tmp_path / "history.png").stat().st_size > 0


def test_best_epoch_is_the_kept_one(early):
    display = TrainingHistoryDisplay.from_estimator(early)
    scores = early.history_.column("val_score")
    best = display.best_epoch
    assert scores[best - 1] == pytest.approx(early.best_validation_score_)
    assert best == 1 + int(np.argmax(scores))
    assert len(display.best_lines_) == 3
    for line in display.best_lines_:
        assert line.get_xdata()[0] == best


def test_without_validation_only_loss_and_learning_rate():
    est = _fit(max_iter=10)
    display = TrainingHistoryDisplay.from_estimator(est)
    assert set(display.lines_) == {"train_loss", "learning_rate"}
    assert len(display.axes_) == 2
    assert display.best_epoch == 1 + int(np.argmin(est.loss_curve_))


def test_lbfgs_has_only_the_loss_panel():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPRegressor(solver="lbfgs", max_iter=5, random_state=0).fit(X[:, :3], X[:, 3])
    display = TrainingHistoryDisplay.from_estimator(est)
    assert list(display.lines_) == ["train_loss"]
    np.testing.assert_allclose(display.lines_["train_loss"].get_ydata(), est.loss_curve_)


def test_single_axes_draws_the_loss_panel_to_compare(early):
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    first = TrainingHistoryDisplay.from_estimator(early, ax=ax, name="a")
    second = TrainingHistoryDisplay.from_estimator(early, ax=ax, name="b")
    assert first.ax_ is second.ax_ is ax
    assert set(first.lines_) == {"train_loss", "val_loss"}


def test_explicit_panels_and_constructor():
    history = [{"epoch": e, "train_loss": 1.0 / e, "learning_rate": 0.1} for e in (1, 2, 3)]
    display = TrainingHistoryDisplay(history, best_epoch=3).plot(panels=["learning_rate"])
    assert list(display.lines_) == ["learning_rate"]
    np.testing.assert_array_equal(display.lines_["learning_rate"].get_ydata(), [0.1] * 3)


def test_errors(early):
    import matplotlib.pyplot as plt

    with pytest.raises(ValueError, match="has no history_: fit it first"):
        TrainingHistoryDisplay.from_estimator(MLPClassifier())
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="draws 3 panel\\(s\\), so 'ax' must be 3 Axes. Got 2"):
        TrainingHistoryDisplay.from_estimator(early, ax=axes)
    with pytest.raises(ValueError, match="'panels' parameter must hold values among"):
        TrainingHistoryDisplay.from_estimator(early, panels=["accuracy"])
