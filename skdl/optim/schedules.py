"""Learning-rate schedules: pure functions of the epoch index.

A schedule is a small parameter object (sklearn-style ``get_params`` /
``set_params``, so ``clone`` and ``learning_rate__decay_rate`` routing in a
search work) whose call gives the multiplier of ``learning_rate_init`` at an
epoch. Nothing here trains: ``ExponentialSchedule(0.9)(np.arange(50))`` is the
curve to plot.
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import Any, ClassVar

import numpy as np


class Schedule:
    """Base class of the learning-rate schedules.

    Calling a schedule gives the multiplier of ``learning_rate_init`` at an
    epoch (epoch 0 is the first epoch, multiplier 1.0 outside warm-up).

    Warm-up convention: for ``epoch < warmup_epochs`` the multiplier rises
    linearly, ``(epoch + 1) / (warmup_epochs + 1)``; from ``epoch =
    warmup_epochs`` on it is the base schedule evaluated at ``epoch -
    warmup_epochs``, so the decay starts from 1.0 when the warm-up ends. With
    ``warmup_epochs=3`` the first multipliers are 0.25, 0.5, 0.75, 1.0, then
    the decay.

    Parameters
    ----------
    warmup_epochs : int, default=0
        Number of linear warm-up epochs before the schedule starts.
    """

    is_adaptive: ClassVar[bool] = False

    def __init__(self, *, warmup_epochs: int = 0) -> None:
        self.warmup_epochs = warmup_epochs

    def _factor(self, t: np.ndarray, n_samples_per_epoch: int) -> np.ndarray:
        """The base schedule at epochs ``t >= 0`` counted after warm-up."""
        raise NotImplementedError

    def _check_params(self) -> list[tuple[str, Any, str]]:
        """Invalid parameters as (name, value, expected) triples."""
        return []

    def on_plateau(self, lr: Any, scale: Any = 1.0) -> tuple[Any, Any]:
        """The plateau rule: what the training loop does when the monitored
        value stops improving for ``n_iter_no_change`` epochs.

        Every schedule but :class:`AdaptiveSchedule` stops training there
        (scikit-learn's rule); this base rule keeps ``lr`` and returns True.

        Parameters
        ----------
        lr : float, ndarray or Tensor
            The current learning rate, or its multiplier when ``scale`` is given.
        scale : float, ndarray or Tensor, default=1.0
            What ``lr`` multiplies (the training loop passes the learning rate
            multiplier and ``learning_rate_init``), so ``lr * scale`` is the
            absolute learning rate.

        Returns
        -------
        new_lr : same type as lr
            The learning rate (multiplier) for the next epochs.
        stop : bool, or bool ndarray or Tensor
            Where True, training stops instead (``lr`` kept).
        """
        stop = np.ones(np.shape(lr), dtype=bool)
        return lr, bool(stop) if stop.ndim == 0 else stop

    def __call__(self, epoch: int | np.ndarray, n_samples_per_epoch: int = 1) -> float | np.ndarray:
        """Return the learning-rate multiplier at ``epoch``.

        Parameters
        ----------
        epoch : int or ndarray of int
            Zero-based epoch index (or indices, for a whole curve).
        n_samples_per_epoch : int, default=1
            Training samples per epoch; only :class:`InvScalingSchedule` reads it.

        Returns
        -------
        multiplier : float or ndarray of float
            A float for a scalar ``epoch``, an array of its shape otherwise.
        """
        t = np.asarray(epoch, dtype=float)
        if np.any(t < 0):
            raise ValueError(f"epoch must be non-negative (0 is the first epoch). Got {epoch!r}.")
        warmup = self.warmup_epochs
        base = self._factor(np.maximum(t - warmup, 0.0), n_samples_per_epoch)
        factor = np.where(t < warmup, (t + 1) / (warmup + 1), base)
        return float(factor) if factor.ndim == 0 else factor

    def validate(self) -> Schedule:
        """Check the parameter values; return ``self``.

        Returns
        -------
        self : Schedule
            The schedule, unchanged.

        Raises
        ------
        ValueError
            Naming the first parameter outside its range.
        """
        invalid = _check_int("warmup_epochs", self.warmup_epochs, 0)
        for name, value, expected in invalid + self._check_params():
            raise ValueError(
                f"The {name!r} parameter of {type(self).__name__} must be "
                f"{expected}. Got {value!r} instead."
            )
        return self

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Get the parameters of this schedule.

        Parameters
        ----------
        deep : bool, default=True
            Ignored (a schedule holds no nested objects); kept for sklearn.

        Returns
        -------
        params : dict
            Parameter names mapped to their values, exactly the ``__init__``
            arguments.
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Schedule:
        """Set the parameters of this schedule.

        Parameters
        ----------
        **params : dict
            Schedule parameters.

        Returns
        -------
        self : Schedule
            The schedule, updated.
        """
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for schedule {self!r}. "
                    f"Valid parameters are: {valid!r}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self)).parameters.values()}
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if defaults.get(name, inspect.Parameter.empty) != value
        ]
        return f"{type(self).__name__}({', '.join(changed)})"


class ConstantSchedule(Schedule):
    """Constant learning rate: the multiplier is 1 (after any warm-up).

    Parameters
    ----------
    warmup_epochs : int, default=0
        Number of linear warm-up epochs, see :class:`Schedule`.

    Examples
    --------
    >>> from skdl.optim import ConstantSchedule
    >>> ConstantSchedule(warmup_epochs=1)([0, 1, 2])
    array([0.5, 1. , 1. ])
    """

    def _factor(self, t: np.ndarray, n_samples_per_epoch: int) -> np.ndarray:
        return np.ones_like(t)


class InvScalingSchedule(Schedule):
    """scikit-learn's ``learning_rate='invscaling'``.

    scikit-learn's SGD recomputes the learning rate at the end of every epoch
    as ``learning_rate_init / (t_ + 1) ** power_t``, where ``t_`` is the number
    of *samples* seen so far. During epoch ``epoch`` that is ``t_ = epoch *
    n_samples_per_epoch``, so the multiplier is ``1 / (epoch *
    n_samples_per_epoch + 1) ** power_t`` (1 in the first epoch). Pass the
    number of training samples per epoch as the second argument; with a
    varying number of samples, ``schedule(t_)`` with the default
    ``n_samples_per_epoch=1`` gives the multiplier for ``t_`` samples seen.

    Parameters
    ----------
    power_t : float, default=0.5
        The exponent of the inverse scaling.
    warmup_epochs : int, default=0
        Number of linear warm-up epochs, see :class:`Schedule`.

    Examples
    --------
    >>> from skdl.optim import InvScalingSchedule
    >>> InvScalingSchedule()([0, 1, 2], n_samples_per_epoch=4)
    array([1.        , 0.4472136 , 0.33333333])
    """

    def __init__(self, power_t: float = 0.5, *, warmup_epochs: int = 0) -> None:
        self.power_t = power_t
        self.warmup_epochs = warmup_epochs

    def _factor(self, t: np.ndarray, n_samples_per_epoch: int) -> np.ndarray:
        return 1.0 / (t * n_samples_per_epoch + 1.0) ** self.power_t

    def _check_params(self) -> list[tuple[str, Any, str]]:
        return _check_range("power_t", self.power_t, 0.0, math.inf)


class InverseTimeSchedule(Schedule):
    """Inverse-time decay: ``1 / (1 + decay_rate * epoch)``, i.e. η0 / (1 + γt).

    Parameters
    ----------
    decay_rate : float, default=0.1
        The decay rate γ per epoch.
    warmup_epochs : int, default=0
        Number of linear warm-up epochs, see :class:`Schedule`.

    Examples
    --------
    >>> from skdl.optim import InverseTimeSchedule
    >>> InverseTimeSchedule(decay_rate=1.0)([0, 1, 3])
    array([1.  , 0.5 , 0.25])
    """

    def __init__(self, decay_rate: float = 0.1, *, warmup_epochs: int = 0) -> None:
        self.decay_rate = decay_rate
        self.warmup_epochs = warmup_epochs

    def _factor(self, t: np.ndarray, n_samples_per_epoch: int) -> np.ndarray:
        return 1.0 / (1.0 + self.decay_rate * t)

    def _check_params(self) -> list[tuple[str, Any, str]]:
        return _check_range("decay_rate", self.decay_rate, 0.0, math.inf)


class ExponentialSchedule(Schedule):
    """Exponential decay: ``decay_rate ** epoch``, i.e. η0 · γ^t.

    Parameters
    ----------
    decay_rate : float, default=0.95
        The factor γ applied every epoch, in (0, 1].
    warmup_epochs : int, default=0
        Number of linear warm-up epochs, see :class:`Schedule`.

    Examples
    --------
    >>> from skdl.optim import ExponentialSchedule
    >>> ExponentialSchedule(decay_rate=0.5)([0, 1, 2])
    array([1.  , 0.5 , 0.25])
    """

    def __init__(self, decay_rate: float = 0.95, *, warmup_epochs: int = 0) -> None:
        self.decay_rate = decay_rate
        self.warmup_epochs = warmup_epochs

    def _factor(self, t: np.ndarray, n_samples_per_epoch: int) -> np.ndarray:
        return self.decay_rate**t

    def _check_params(self) -> list[tuple[str, Any, str]]:
        return _check_range("decay_rate", self.decay_rate, 0.0, 1.0, closed="right")


class StepSchedule(Schedule):
    """Step decay: ``decay_rate ** (epoch // step_size)``.

    Parameters
    ----------
    step_size : int, default=10
        Number of epochs between two decays.
    decay_rate : float, default=0.5
        The factor applied every ``step_size`` epochs, in (0, 1].
    warmup_epochs : int, default=0
        Number of linear warm-up epochs, see :class:`Schedule`.

    Examples
    --------
    >>> from skdl.optim import StepSchedule
    >>> StepSchedule(step_size=2)([0, 1, 2, 3, 4])
    array([1.  , 1.  , 0.5 , 0.5 , 0.25])
    """

    def __init__(
        self, step_size: int = 10, decay_rate: float = 0.5, *, warmup_epochs: int = 0
    ) -> None:
        self.step_size = step_size
        self.decay_rate = decay_rate
        self.warmup_epochs = warmup_epochs

    def _factor(self, t: np.ndarray, n_samples_per_epoch: int) -> np.ndarray:
        return self.decay_rate ** np.floor(t / self.step_size)

    def _check_params(self) -> list[tuple[str, Any, str]]:
        return _check_range("decay_rate", self.decay_rate, 0.0, 1.0, closed="right") + _check_int(
            "step_size", self.step_size, 1
        )


class CosineSchedule(Schedule):
    """Cosine annealing from 1 to ``eta_min_ratio`` over ``t_max`` epochs.

    The multiplier is ``eta_min_ratio + (1 - eta_min_ratio) * (1 + cos(pi *
    min(epoch, t_max) / t_max)) / 2``: it stays at ``eta_min_ratio`` after
    ``t_max`` epochs (no restarts).

    Parameters
    ----------
    t_max : int, default=100
        Number of epochs of the half cosine period. ``learning_rate='cosine'``
        by name in an estimator sets it to the fit's ``max_iter``.
    eta_min_ratio : float, default=0.0
        The final multiplier, in [0, 1].
    warmup_epochs : int, default=0
        Number of linear warm-up epochs, see :class:`Schedule`.

    Examples
    --------
    >>> from skdl.optim import CosineSchedule
    >>> CosineSchedule(t_max=4)([0, 2, 4, 6])
    array([1. , 0.5, 0. , 0. ])
    """

    def __init__(
        self, t_max: int = 100, eta_min_ratio: float = 0.0, *, warmup_epochs: int = 0
    ) -> None:
        self.t_max = t_max
        self.eta_min_ratio = eta_min_ratio
        self.warmup_epochs = warmup_epochs

    def _factor(self, t: np.ndarray, n_samples_per_epoch: int) -> np.ndarray:
        progress = np.minimum(t, self.t_max) / self.t_max
        eta_min = self.eta_min_ratio
        return eta_min + (1.0 - eta_min) * (1.0 + np.cos(np.pi * progress)) / 2.0

    def _check_params(self) -> list[tuple[str, Any, str]]:
        return _check_range("eta_min_ratio", self.eta_min_ratio, 0.0, 1.0) + _check_range(
            "t_max", self.t_max, 0.0, math.inf, closed="neither"
        )


class AdaptiveSchedule(Schedule):
    """scikit-learn's ``learning_rate='adaptive'``: divide on a plateau.

    The multiplier is not a function of the epoch: calling the schedule gives
    1.0 (after any warm-up). The training loop drives it instead: each time the
    loss (or validation score) stops improving for ``n_iter_no_change``
    epochs, it calls :meth:`on_plateau` (``skdl.training.loop``), which, as scikit-learn, stops
    training when the learning rate is already at most ``min_lr`` and
    otherwise multiplies it by ``plateau_factor``.

    Parameters
    ----------
    plateau_factor : float, default=0.2
        The factor applied to the learning rate on a plateau, in (0, 1)
        (scikit-learn divides by 5).
    min_lr : float, default=1e-6
        The absolute learning rate (not a multiplier) at or below which a
        plateau stops training, as scikit-learn's 1e-6.
    warmup_epochs : int, default=0
        Number of linear warm-up epochs, see :class:`Schedule`.

    Examples
    --------
    >>> from skdl.optim import AdaptiveSchedule
    >>> schedule = AdaptiveSchedule()
    >>> schedule(7)
    1.0
    >>> schedule.on_plateau(1e-3)
    (0.0002, False)
    """

    is_adaptive: ClassVar[bool] = True

    def __init__(
        self,
        plateau_factor: float = 0.2,
        min_lr: float = 1e-6,
        *,
        warmup_epochs: int = 0,
    ) -> None:
        self.plateau_factor = plateau_factor
        self.min_lr = min_lr
        self.warmup_epochs = warmup_epochs

    def _factor(self, t: np.ndarray, n_samples_per_epoch: int) -> np.ndarray:
        return np.ones_like(t)

    def on_plateau(self, lr: Any, scale: Any = 1.0) -> tuple[Any, Any]:
        """Apply the plateau rule to the current learning rate.

        Works elementwise on a float, an ndarray or a tensor of per-model
        learning rates.

        Parameters
        ----------
        lr : float, ndarray or Tensor
            The current learning rate, or its multiplier when ``scale`` is given.
        scale : float, ndarray or Tensor, default=1.0
            What ``lr`` multiplies (the training loop passes the multiplier and
            ``learning_rate_init``): ``lr * scale`` is compared with ``min_lr``.

        Returns
        -------
        new_lr : same type as lr
            ``lr * plateau_factor``: the learning rate for the next epochs.
        stop : bool, or bool ndarray or Tensor
            ``lr * scale <= min_lr``: where True, scikit-learn stops training
            instead of reducing (keep ``lr`` there).
        """
        return lr * self.plateau_factor, lr * scale <= self.min_lr

    def _check_params(self) -> list[tuple[str, Any, str]]:
        return _check_range(
            "plateau_factor", self.plateau_factor, 0.0, 1.0, closed="neither"
        ) + _check_range("min_lr", self.min_lr, 0.0, math.inf)


def _check_int(name: str, value: Any, low: int) -> list[tuple[str, Any, str]]:
    """``[(name, value, expected)]`` unless ``value`` is an int ``>= low``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value >= low:
            return []
    return [(name, value, f"an int in the range [{low}, inf)")]


def _check_range(
    name: str, value: Any, low: float, high: float, *, closed: str = "both"
) -> list[tuple[str, Any, str]]:
    """``[(name, value, expected)]`` unless ``value`` is a real in the interval.

    ``closed`` is one of "both", "left", "right", "neither", as sklearn's
    ``Interval``; an infinite bound is always open.
    """
    left_closed = closed in ("both", "left")
    right_closed = closed in ("both", "right") and high != math.inf
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        above = low <= value if left_closed else low < value
        below = value <= high if right_closed else value < high
        if above and below:
            return []
    interval = f"{'[' if left_closed else '('}{low}, {high}{']' if right_closed else ')'}"
    return [(name, value, f"a float in the range {interval}")]


SCHEDULES: dict[str, type[Schedule]] = {
    "constant": ConstantSchedule,
    "invscaling": InvScalingSchedule,
    "inverse_time": InverseTimeSchedule,
    "exponential": ExponentialSchedule,
    "step": StepSchedule,
    "cosine": CosineSchedule,
    "adaptive": AdaptiveSchedule,
}


def resolve_schedule(
    learning_rate: str | Schedule,
    power_t: float = 0.5,
    decay_rate: float | None = None,
    max_iter: int | None = None,
) -> Schedule:
    """Turn an estimator's ``learning_rate`` parameter into a schedule object.

    Parameters
    ----------
    learning_rate : str or Schedule
        A key of :data:`SCHEDULES`, or a schedule object (returned as is,
        after :meth:`Schedule.validate`).
    power_t : float, default=0.5
        Passed to :class:`InvScalingSchedule` when ``learning_rate`` is
        ``"invscaling"``.
    decay_rate : float, default=None
        Passed to the named schedules that have one (``"inverse_time"``,
        ``"exponential"``, ``"step"``); None keeps their default.
    max_iter : int, default=None
        The number of epochs of the fit: ``"cosine"`` by name anneals over
        all of them (``t_max=max_iter``, so the rate is ~0 in the last epoch
        and never sits at 0 before it). None keeps :class:`CosineSchedule`'s
        ``t_max=100``. A schedule object keeps its own ``t_max``.

    Returns
    -------
    schedule : Schedule
        A validated schedule.

    Examples
    --------
    >>> from skdl.optim import resolve_schedule
    >>> resolve_schedule("exponential", decay_rate=0.9)
    ExponentialSchedule(decay_rate=0.9)
    """
    if isinstance(learning_rate, Schedule):
        return learning_rate.validate()
    if not isinstance(learning_rate, str) or learning_rate not in SCHEDULES:
        raise ValueError(
            f"The 'learning_rate' parameter must be one of {sorted(SCHEDULES)} or "
            f"a Schedule instance such as ExponentialSchedule(decay_rate=0.9). "
            f"Got {learning_rate!r} instead."
        )
    cls = SCHEDULES[learning_rate]
    names = cls._get_param_names()
    kwargs: dict[str, Any] = {}
    if "power_t" in names:
        kwargs["power_t"] = power_t
    if decay_rate is not None and "decay_rate" in names:
        kwargs["decay_rate"] = decay_rate
    if max_iter is not None and "t_max" in names:
        kwargs["t_max"] = max(int(max_iter), 1)
    return cls(**kwargs).validate()


def uses_decay_rate(learning_rate: str | Schedule) -> bool:
    """Whether ``decay_rate`` reaches the schedule ``learning_rate`` names (a schedule
    object keeps its own parameters, so it never does)."""
    return isinstance(learning_rate, str) and "decay_rate" in (
        SCHEDULES[learning_rate]._get_param_names() if learning_rate in SCHEDULES else ()
    )
