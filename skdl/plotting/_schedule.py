"""ScheduleDisplay: a learning-rate schedule over the epochs, without training."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..optim.schedules import Schedule, resolve_schedule
from ._base import make_axes


def schedule_rates(
    schedule: str | Schedule | Callable,
    *,
    epochs: int = 100,
    learning_rate_init: float = 1e-3,
    n_samples_per_epoch: int = 1,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Epochs (1-based), learning rates and a name for a schedule."""
    if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
        raise ValueError(f"The 'epochs' parameter must be an int >= 1. Got {epochs!r} instead.")
    if isinstance(schedule, str | Schedule):
        schedule = resolve_schedule(schedule)
    elif not callable(schedule):
        raise TypeError(
            "The 'schedule' parameter must be a schedule name such as 'exponential', a "
            f"Schedule object or a callable epoch -> multiplier. Got {schedule!r} instead."
        )
    index = np.arange(epochs)
    if isinstance(schedule, Schedule):
        factors = np.asarray(schedule(index, n_samples_per_epoch), dtype=float)
        name = repr(schedule)
    else:
        factors = np.array([float(schedule(int(t))) for t in index])
        name = getattr(schedule, "__name__", type(schedule).__name__)
    # epoch 0 of a schedule is the first epoch, numbered 1 in history_
    return index + 1, learning_rate_init * factors, name


class ScheduleDisplay:
    """Learning-rate schedule visualization: the learning rate per epoch.

    Shows what a schedule does before training with it. The learning rate at
    epoch ``e`` (1-based, as in ``history_``) is ``learning_rate_init *
    schedule(e - 1)``. ``'adaptive'`` depends on the training and is drawn
    flat.

    It is recommended to use :meth:`from_schedule` to create a
    :class:`ScheduleDisplay`. All parameters are stored as attributes.

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs,)
        Epoch numbers (1-based).
    learning_rates : ndarray of shape (n_epochs,)
        The learning rate at each epoch.
    schedule_name : str, default=None
        Name of the schedule, used as the line label. None uses no label.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The learning-rate curve.
    ax_ : matplotlib Axes
        Axes with the curve.
    figure_ : matplotlib Figure
        Figure containing the curve.

    See Also
    --------
    TrainingHistoryDisplay : The learning rate actually used, with the losses.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skdl.optim import StepSchedule
    >>> from skdl.plotting import ScheduleDisplay
    >>> display = ScheduleDisplay.from_schedule(
    ...     StepSchedule(step_size=2), epochs=5, learning_rate_init=0.1
    ... )
    >>> display.line_.get_ydata()
    array([0.1  , 0.1  , 0.05 , 0.05 , 0.025])
    >>> other = ScheduleDisplay.from_schedule("cosine", epochs=5, ax=display.ax_)
    """

    def __init__(
        self,
        epochs: np.ndarray,
        learning_rates: np.ndarray,
        *,
        schedule_name: str | None = None,
    ) -> None:
        self.epochs = epochs
        self.learning_rates = learning_rates
        self.schedule_name = schedule_name

    def plot(
        self, ax: Any = None, *, name: str | None = None, log_scale: bool = False, **kwargs: Any
    ) -> ScheduleDisplay:
        """Plot the learning rate per epoch.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on (e.g. to compare several schedules). None creates
            a new figure.
        name : str, default=None
            Label of the line. None uses ``schedule_name``.
        log_scale : bool, default=False
            Whether to draw the learning rate on a log scale.
        **kwargs : dict
            Keyword arguments passed to matplotlib's ``plot``.

        Returns
        -------
        display : ScheduleDisplay
            Object that stores computed values.
        """
        (axis,) = make_axes("ScheduleDisplay", ax, 1, panel_width=6.0)
        label = self.schedule_name if name is None else name
        (self.line_,) = axis.plot(self.epochs, self.learning_rates, label=label, **kwargs)
        axis.set_xlabel("epoch")
        axis.set_ylabel("learning rate")
        axis.set_title("learning-rate schedule")
        if log_scale:
            axis.set_yscale("log")
        if label:
            axis.legend(loc="best", fontsize="small")
        self.ax_ = axis
        self.figure_ = axis.figure
        return self

    @classmethod
    def from_schedule(
        cls,
        schedule: str | Schedule | Callable,
        *,
        epochs: int = 100,
        learning_rate_init: float = 1e-3,
        n_samples_per_epoch: int = 1,
        ax: Any = None,
        name: str | None = None,
        log_scale: bool = False,
        **kwargs: Any,
    ) -> ScheduleDisplay:
        """Plot a schedule's learning rate over the epochs.

        Parameters
        ----------
        schedule : str, Schedule or callable
            A name of :data:`skdl.optim.SCHEDULES` (with its default
            parameters), a schedule object such as
            ``ExponentialSchedule(decay_rate=0.9)``, or any callable mapping a
            0-based epoch to a multiplier of ``learning_rate_init``.
        epochs : int, default=100
            Number of epochs to draw.
        learning_rate_init : float, default=1e-3
            The initial learning rate the schedule multiplies.
        n_samples_per_epoch : int, default=1
            Training samples per epoch; only ``'invscaling'`` reads it.
        ax : matplotlib Axes, default=None
            See :meth:`plot`.
        name : str, default=None
            Label of the line. None uses the schedule's repr.
        log_scale : bool, default=False
            Whether to draw the learning rate on a log scale.
        **kwargs : dict
            Keyword arguments passed to matplotlib's ``plot``.

        Returns
        -------
        display : ScheduleDisplay
            Object that stores computed values.
        """
        x, rates, schedule_name = schedule_rates(
            schedule,
            epochs=epochs,
            learning_rate_init=learning_rate_init,
            n_samples_per_epoch=n_samples_per_epoch,
        )
        display = cls(x, rates, schedule_name=schedule_name)
        return display.plot(ax=ax, name=name, log_scale=log_scale, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        *,
        epochs: int | None = None,
        ax: Any = None,
        name: str | None = None,
        log_scale: bool = False,
        **kwargs: Any,
    ) -> ScheduleDisplay:
        """Plot the schedule an estimator's parameters define (fitted or not).

        Parameters
        ----------
        estimator : estimator
            An estimator with ``learning_rate``, ``learning_rate_init`` and
            optionally ``power_t`` and ``decay_rate`` parameters, such as
            :class:`skdl.MLPClassifier`.
        epochs : int, default=None
            Number of epochs to draw. None uses the estimator's ``max_iter``.
        ax : matplotlib Axes, default=None
            See :meth:`plot`.
        name : str, default=None
            Label of the line. None uses the schedule's repr.
        log_scale : bool, default=False
            Whether to draw the learning rate on a log scale.
        **kwargs : dict
            Keyword arguments passed to matplotlib's ``plot``.

        Returns
        -------
        display : ScheduleDisplay
            Object that stores computed values.
        """
        params = estimator.get_params(deep=False)
        schedule = resolve_schedule(
            params["learning_rate"],
            power_t=params.get("power_t", 0.5),
            decay_rate=params.get("decay_rate"),
            max_iter=params.get("max_iter"),
        )
        return cls.from_schedule(
            schedule,
            epochs=params.get("max_iter", 100) if epochs is None else epochs,
            learning_rate_init=params["learning_rate_init"],
            ax=ax,
            name=name,
            log_scale=log_scale,
            **kwargs,
        )
