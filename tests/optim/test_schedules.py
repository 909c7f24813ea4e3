"""Learning-rate schedules: closed forms, warm-up, sklearn parameter protocol."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import BaseEstimator, clone

from skdl.optim import (
    SCHEDULES,
    AdaptiveSchedule,
    ConstantSchedule,
    CosineSchedule,
    ExponentialSchedule,
    InverseTimeSchedule,
    InvScalingSchedule,
    Schedule,
    StepSchedule,
    resolve_schedule,
)

# (schedule, epochs, hand-computed multipliers)
CLOSED_FORMS = [
    (ConstantSchedule(), [0, 5, 100], [1.0, 1.0, 1.0]),
    (InvScalingSchedule(), [0, 3, 8], [1.0, 1 / 2, 1 / 3]),
    (InvScalingSchedule(power_t=1.0), [0, 4, 9], [1.0, 1 / 5, 1 / 10]),
    (InverseTimeSchedule(), [0, 10, 30], [1.0, 1 / 2, 1 / 4]),
    (InverseTimeSchedule(decay_rate=0.5), [0, 2, 6], [1.0, 1 / 2, 1 / 4]),
    (ExponentialSchedule(), [0, 1, 2], [1.0, 0.95, 0.9025]),
    (ExponentialSchedule(decay_rate=0.5), [0, 3, 10], [1.0, 1 / 8, 1 / 1024]),
    (StepSchedule(), [0, 9, 10, 25], [1.0, 1.0, 0.5, 0.25]),
    (StepSchedule(step_size=3, decay_rate=0.1), [2, 3, 6], [1.0, 0.1, 0.01]),
    (CosineSchedule(t_max=6), [0, 2, 3, 6, 9], [1.0, 0.75, 0.5, 0.0, 0.0]),
    (CosineSchedule(t_max=10, eta_min_ratio=0.2), [0, 5, 10, 50], [1, 0.6, 0.2, 0.2]),
    (AdaptiveSchedule(), [0, 1, 1000], [1.0, 1.0, 1.0]),
]
NON_DEFAULT = [
    ConstantSchedule(warmup_epochs=2),
    InvScalingSchedule(power_t=0.25, warmup_epochs=1),
    InverseTimeSchedule(decay_rate=0.3),
    ExponentialSchedule(decay_rate=0.9),
    StepSchedule(step_size=5, decay_rate=0.1),
    CosineSchedule(t_max=20, eta_min_ratio=0.1),
    AdaptiveSchedule(plateau_factor=0.5, min_lr=1e-5),
]


class Host(BaseEstimator):
    """An estimator holding a schedule, as MLPClassifier does."""

    def __init__(self, learning_rate="constant"):
        self.learning_rate = learning_rate


def test_registry():
    assert set(SCHEDULES) == {
        "constant",
        "invscaling",
        "inverse_time",
        "exponential",
        "step",
        "cosine",
        "adaptive",
    }
    assert {type(s) for s in NON_DEFAULT} == set(SCHEDULES.values())
    assert [name for name, cls in SCHEDULES.items() if cls.is_adaptive] == ["adaptive"]


@pytest.mark.parametrize(("schedule", "epochs", "expected"), CLOSED_FORMS, ids=repr)
def test_closed_form_values(schedule, epochs, expected):
    for epoch, value in zip(epochs, expected):
        result = schedule(epoch)
        assert isinstance(result, float)
        assert result == pytest.approx(value, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("schedule", "epochs", "expected"), CLOSED_FORMS, ids=repr)
def test_array_input_is_vectorised(schedule, epochs, expected):
    result = schedule(np.asarray(epochs))
    assert isinstance(result, np.ndarray)
    assert_allclose(result, expected, rtol=1e-12, atol=1e-15)
    grid = np.asarray(epochs * 2).reshape(2, -1)
    assert schedule(grid).shape == grid.shape


def test_invscaling_counts_samples_like_sklearn():
    # sklearn: lr = lr_init / (t_ + 1) ** power_t with t_ = samples seen so far.
    schedule = InvScalingSchedule(power_t=0.5)
    assert schedule(0, n_samples_per_epoch=15) == 1.0
    assert schedule(1, n_samples_per_epoch=15) == pytest.approx(1 / 4)
    assert schedule(2, n_samples_per_epoch=12) == pytest.approx(1 / 5)
    assert schedule(24) == schedule(2, n_samples_per_epoch=12)
    # The other schedules ignore the sample count.
    assert ExponentialSchedule(0.5)(2, n_samples_per_epoch=100) == 0.25


def test_warmup_ramps_linearly_then_starts_the_decay():
    schedule = ExponentialSchedule(decay_rate=0.5, warmup_epochs=3)
    assert_allclose(schedule(np.arange(6)), [0.25, 0.5, 0.75, 1.0, 0.5, 0.25])
    cosine = CosineSchedule(t_max=4, warmup_epochs=1)
    assert_allclose(cosine(np.arange(4)), [0.5, 1.0, 0.5 + 2**-0.5 / 2, 0.5])
    assert AdaptiveSchedule(warmup_epochs=4)(0) == pytest.approx(0.2)
    ramp = ConstantSchedule(warmup_epochs=1)(np.array([0, 1, 2]))
    assert ramp.tolist() == [0.5, 1.0, 1.0]


def test_negative_epoch_is_rejected():
    with pytest.raises(ValueError, match="epoch must be non-negative"):
        ConstantSchedule()(np.array([0, -1]))


@pytest.mark.parametrize("schedule", NON_DEFAULT, ids=repr)
def test_clone_get_params_and_pickle(schedule):
    params = schedule.get_params()
    assert params == schedule.get_params(deep=False)
    copy = clone(schedule)
    assert copy is not schedule
    assert type(copy) is type(schedule)
    assert copy.get_params() == params
    restored = pickle.loads(pickle.dumps(schedule))
    assert restored.get_params() == params
    assert_allclose(copy(np.arange(30)), schedule(np.arange(30)))


def test_set_params_and_nested_routing_from_an_estimator():
    host = Host(learning_rate=StepSchedule(step_size=4))
    assert host.get_params()["learning_rate__step_size"] == 4
    host.set_params(learning_rate__decay_rate=0.1, learning_rate__warmup_epochs=2)
    assert host.learning_rate.decay_rate == 0.1
    assert host.learning_rate.warmup_epochs == 2
    copy = clone(host)
    assert copy.learning_rate is not host.learning_rate
    assert copy.learning_rate.get_params() == host.learning_rate.get_params()
    with pytest.raises(ValueError, match="Invalid parameter 'rate' for schedule"):
        StepSchedule().set_params(rate=0.1)


def test_repr_shows_changed_parameters():
    assert repr(CosineSchedule()) == "CosineSchedule()"
    assert repr(ExponentialSchedule(0.9)) == "ExponentialSchedule(decay_rate=0.9)"
    assert (
        repr(StepSchedule(decay_rate=0.1, warmup_epochs=2))
        == "StepSchedule(decay_rate=0.1, warmup_epochs=2)"
    )


def test_adaptive_plateau_rule_is_sklearns():
    schedule = AdaptiveSchedule()
    assert schedule.on_plateau(1e-3) == (pytest.approx(2e-4), False)
    assert schedule.on_plateau(1e-6)[1]
    new_lr, stop = schedule.on_plateau(np.array([1e-2, 5e-7]))
    assert_allclose(new_lr, [2e-3, 1e-7])
    assert stop.tolist() == [False, True]
    # a multiplier and the learning rate it multiplies: the training loop's call
    factor, stop = schedule.on_plateau(0.5, scale=1e-5)
    assert factor == pytest.approx(0.1) and not stop
    assert schedule.on_plateau(0.05, scale=1e-5)[1]


def test_other_schedules_stop_on_a_plateau():
    for schedule in (ConstantSchedule(), ExponentialSchedule(), CosineSchedule()):
        assert schedule.on_plateau(0.5, scale=1e-3) == (0.5, True)
        factor, stop = schedule.on_plateau(np.array([1.0, 0.2]))
        assert_allclose(factor, [1.0, 0.2])
        assert stop.tolist() == [True, True]


def test_resolve_schedule():
    assert isinstance(resolve_schedule("constant"), ConstantSchedule)
    assert resolve_schedule("invscaling", power_t=0.25).power_t == 0.25
    for name in ("inverse_time", "exponential", "step"):
        assert resolve_schedule(name, decay_rate=0.3).decay_rate == 0.3
        default = SCHEDULES[name]().decay_rate
        assert resolve_schedule(name).decay_rate == default
    assert resolve_schedule("cosine", power_t=0.1, decay_rate=0.3).get_params() == (
        CosineSchedule().get_params()
    )
    assert resolve_schedule("adaptive").is_adaptive
    schedule = CosineSchedule(t_max=7)
    assert resolve_schedule(schedule, decay_rate=0.3) is schedule
    with pytest.raises(ValueError, match="The 'learning_rate' parameter must be one"):
        resolve_schedule("linear")


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            ExponentialSchedule(1.5),
            r"The 'decay_rate' parameter of ExponentialSchedule must be a float in "
            r"the range \(0.0, 1.0\]. Got 1.5 instead.",
        ),
        (StepSchedule(step_size=0), r"'step_size' .* an int in the range \[1, inf\)"),
        (CosineSchedule(t_max=0), r"'t_max' .* range \(0.0, inf\)"),
        (CosineSchedule(eta_min_ratio=2.0), r"'eta_min_ratio' .* \[0.0, 1.0\]"),
        (AdaptiveSchedule(plateau_factor=1.0), r"'plateau_factor' .* \(0.0, 1.0\)"),
        (InvScalingSchedule(power_t=-1), r"'power_t' .* \[0.0, inf\)"),
        (InverseTimeSchedule(warmup_epochs=1.5), r"'warmup_epochs' .* Got 1.5"),
    ],
)
def test_invalid_parameters_are_reported(schedule, message):
    with pytest.raises(ValueError, match=message):
        resolve_schedule(schedule)


def test_schedules_are_schedule_instances():
    assert all(issubclass(cls, Schedule) for cls in SCHEDULES.values())
