import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from skdl import MLPClassifier
from skdl.optim import CosineSchedule, StepSchedule
from skdl.plotting import ScheduleDisplay


def test_named_schedule_closed_form(tmp_path):
    display = ScheduleDisplay.from_schedule("exponential", epochs=30, learning_rate_init=0.1)
    np.testing.assert_array_equal(display.line_.get_xdata(), np.arange(1, 31))
    np.testing.assert_allclose(display.line_.get_ydata(), 0.1 * 0.95 ** np.arange(30))
    display.figure_.savefig(tmp_path / "schedule.png")


def test_schedule_object_and_overlay():
    step = ScheduleDisplay.from_schedule(StepSchedule(step_size=2), epochs=5, learning_rate_init=1)
    np.testing.assert_allclose(step.line_.get_ydata(), [1, 1, 0.5, 0.5, 0.25])
    cosine = ScheduleDisplay.from_schedule(CosineSchedule(t_max=4), epochs=5, ax=step.ax_)
    assert cosine.ax_ is step.ax_
    assert len(step.ax_.get_lines()) == 2
    np.testing.assert_allclose(
        cosine.line_.get_ydata(),
        1e-3 * np.array([1, 0.5 + 0.5**0.5 / 2, 0.5, 0.5 - 0.5**0.5 / 2, 0]),
        atol=1e-12,
    )


def test_plain_callable():
    display = ScheduleDisplay.from_schedule(lambda t: 1 / (t + 1), epochs=4, learning_rate_init=1)
    np.testing.assert_allclose(display.line_.get_ydata(), [1, 1 / 2, 1 / 3, 1 / 4])


def test_from_estimator_matches_the_training_history():
    # the oracle: the learning rates the training loop actually used
    X, y = load_iris(return_X_y=True)
    est = MLPClassifier(
        solver="sgd",
        learning_rate="exponential",
        decay_rate=0.9,
        learning_rate_init=0.05,
        max_iter=8,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    display = ScheduleDisplay.from_estimator(est)
    np.testing.assert_allclose(display.line_.get_ydata(), est.history_.column("learning_rate"))


def test_from_estimator_cosine_by_name_anneals_over_max_iter():
    """'cosine' by name anneals over the fit's max_iter (issue 11), in the plot as in the fit."""
    X, y = load_iris(return_X_y=True)
    est = MLPClassifier(
        learning_rate="cosine", max_iter=10, tol=0.0, n_iter_no_change=1000, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    display = ScheduleDisplay.from_estimator(est)
    np.testing.assert_allclose(display.line_.get_ydata(), est.history_.column("learning_rate"))
    assert display.line_.get_ydata()[-1] < 0.03 * est.learning_rate_init


def test_errors():
    with pytest.raises(ValueError, match="'epochs' parameter must be an int >= 1. Got 0"):
        ScheduleDisplay.from_schedule("constant", epochs=0)
    with pytest.raises(ValueError, match="'learning_rate' parameter must be one of"):
        ScheduleDisplay.from_schedule("nope")
    with pytest.raises(TypeError, match="'schedule' parameter must be a schedule name"):
        ScheduleDisplay.from_schedule(0.5)
