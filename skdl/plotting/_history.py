"""TrainingHistoryDisplay: loss, validation score and learning rate per epoch."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..training.history import History
from ._base import make_axes

PANELS = ("loss", "score", "learning_rate")


def best_epoch_of(estimator: Any) -> int | None:
    """The epoch whose weights the estimator kept (1-based), or None.

    With early stopping it is the epoch of ``best_validation_score_`` (the
    lowest validation loss when ``early_stopping_metric='loss'``); otherwise
    the epoch of the lowest training loss.
    """
    history = History(getattr(estimator, "history_", None) or [])
    if not history:
        return None
    epochs = history.column("epoch")
    if getattr(estimator, "best_validation_score_", None) is not None:
        if getattr(estimator, "early_stopping_metric", "score") == "loss":
            values = history.column("val_loss")
        else:
            values = -history.column("val_score")
    else:
        values = history.column("train_loss")
    if np.all(np.isnan(values)):
        return None
    return int(epochs[np.nanargmin(values)])


class TrainingHistoryDisplay:
    """Training history visualization: loss, validation score, learning rate.

    Draws up to three panels from a fitted estimator's ``history_``: the
    training and validation loss, the validation score and the learning rate,
    each per epoch, with the kept (best) epoch marked by a dashed vertical
    line. Panels without data (no validation split, lbfgs) are left out.

    It is recommended to use :meth:`from_estimator` to create a
    :class:`TrainingHistoryDisplay`. All parameters are stored as attributes.

    Parameters
    ----------
    history : list of dict
        One record per epoch with the keys ``epoch``, ``train_loss``,
        ``val_loss``, ``val_score`` and ``learning_rate`` (None where not
        measured), as :class:`skdl.training.history.History`.
    best_epoch : int, default=None
        The epoch to mark (1-based), e.g. the one early stopping kept. None
        marks nothing.
    estimator_name : str, default=None
        Name used in the titles. None uses no name.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        The curves, keyed by history column: ``"train_loss"``, and where
        drawn ``"val_loss"``, ``"val_score"`` and ``"learning_rate"``.
    best_lines_ : list of matplotlib Line2D
        The vertical lines marking ``best_epoch``, one per panel (empty when
        ``best_epoch`` is None).
    axes_ : ndarray of matplotlib Axes
        The panels, in the order loss, score, learning rate.
    ax_ : matplotlib Axes
        The loss panel, ``axes_[0]``.
    figure_ : matplotlib Figure
        Figure containing the panels.

    See Also
    --------
    ScheduleDisplay : A learning-rate schedule without training.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from skdl import MLPClassifier
    >>> from skdl.plotting import TrainingHistoryDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(early_stopping=True, max_iter=300, random_state=0).fit(X, y)
    >>> display = TrainingHistoryDisplay.from_estimator(clf)
    >>> sorted(display.lines_)
    ['learning_rate', 'train_loss', 'val_loss', 'val_score']
    >>> len(display.lines_["train_loss"].get_ydata()) == clf.n_iter_
    True
    """

    def __init__(
        self,
        history: list[dict],
        *,
        best_epoch: int | None = None,
        estimator_name: str | None = None,
    ) -> None:
        self.history = history
        self.best_epoch = best_epoch
        self.estimator_name = estimator_name

    def _available_panels(self, history: History) -> list[str]:
        panels = ["loss"]
        for panel, column in (("score", "val_score"), ("learning_rate", "learning_rate")):
            if history and column in history[0] and not np.all(np.isnan(history.column(column))):
                panels.append(panel)
        return panels

    def plot(
        self, ax: Any = None, *, name: str | None = None, panels: Any = None
    ) -> TrainingHistoryDisplay:
        """Plot the history.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            Axes to draw on, one per panel. None creates a figure with one row
            of panels. A single Axes draws only the loss panel on it (to
            compare several estimators on one plot).
        name : str, default=None
            Name used in the titles and legends. None uses ``estimator_name``.
        panels : list of {"loss", "score", "learning_rate"}, default=None
            The panels to draw, in this order. None draws every panel with data
            (only ``"loss"`` when ``ax`` is a single Axes).

        Returns
        -------
        display : TrainingHistoryDisplay
            Object that stores computed values.
        """
        history = History(self.history)
        panels = self._checked_panels(history, ax, panels)
        axes = make_axes("TrainingHistoryDisplay", ax, len(panels))
        name = self.estimator_name if name is None else name
        prefix = f"{name}: " if name else ""
        epochs = history.column("epoch") if history else np.array([])
        self.lines_ = {}
        self.best_lines_ = []
        for axis, panel in zip(axes, panels):
            self._draw_panel(axis, panel, history, epochs, prefix)
        self.axes_ = axes
        self.ax_ = axes[0]
        self.figure_ = axes[0].figure
        return self

    def _checked_panels(self, history: History, ax: Any, panels: Any) -> list[str]:
        """The panels to draw: ``panels``, each checked, or those with data."""
        if panels is None:
            single = ax is not None and np.ndim(np.asarray(ax, dtype=object)) == 0
            panels = ["loss"] if single else self._available_panels(history)
        panels = list(panels)
        for panel in panels:
            if panel not in PANELS:
                raise ValueError(
                    f"The 'panels' parameter must hold values among {list(PANELS)}. "
                    f"Got {panel!r} instead."
                )
        return panels

    def _draw_panel(self, axis: Any, panel: str, history: History, epochs, prefix: str) -> None:
        """One panel's curves, best-epoch line, labels and scale."""
        columns = {
            "loss": [("train_loss", "training"), ("val_loss", "validation")],
            "score": [("val_score", "validation")],
            "learning_rate": [("learning_rate", "learning rate")],
        }[panel]
        for column, label in columns:
            values = (
                history.column(column)
                if history and column in history[0]
                else np.full(len(epochs), np.nan)
            )
            if column != "train_loss" and np.all(np.isnan(values)):
                continue
            (self.lines_[column],) = axis.plot(epochs, values, label=label)
        if self.best_epoch is not None:
            self.best_lines_.append(
                axis.axvline(
                    self.best_epoch,
                    color="0.4",
                    linestyle="--",
                    linewidth=1,
                    label=f"best epoch ({self.best_epoch})",
                )
            )
        ylabel = {"loss": "loss", "score": "validation score", "learning_rate": "learning rate"}
        axis.set_xlabel("epoch")
        axis.set_ylabel(ylabel[panel])
        axis.set_title(prefix + ylabel[panel])
        if panel == "learning_rate":
            rates = history.column("learning_rate")
            positive = rates[np.isfinite(rates) & (rates > 0)]
            if positive.size and positive.max() / positive.min() > 100:
                axis.set_yscale("log")
        axis.legend(loc="best", fontsize="small")

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        *,
        ax: Any = None,
        name: str | None = None,
        panels: Any = None,
    ) -> TrainingHistoryDisplay:
        """Plot the training history of a fitted estimator.

        Parameters
        ----------
        estimator : fitted estimator
            An estimator with a ``history_`` attribute, e.g. a fitted
            :class:`skdl.MLPClassifier` or :class:`skdl.MLPRegressor`. The
            kept epoch is marked (see the Notes).
        ax : matplotlib Axes or array-like of Axes, default=None
            See :meth:`plot`.
        name : str, default=None
            Name used in the titles. None uses the estimator's class name.
        panels : list of {"loss", "score", "learning_rate"}, default=None
            See :meth:`plot`.

        Returns
        -------
        display : TrainingHistoryDisplay
            Object that stores computed values.

        Notes
        -----
        The marked epoch is the one of ``best_validation_score_`` with early
        stopping (of the lowest validation loss when
        ``early_stopping_metric='loss'``), else the epoch of the lowest
        training loss.
        """
        history = getattr(estimator, "history_", None)
        if history is None:
            raise ValueError(
                f"{type(estimator).__name__} has no history_: fit it first, or pass an "
                "estimator that records one, such as skdl.MLPClassifier."
            )
        display = cls(
            History(history),
            best_epoch=best_epoch_of(estimator),
            estimator_name=type(estimator).__name__,
        )
        return display.plot(ax=ax, name=name, panels=panels)
