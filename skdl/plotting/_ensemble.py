"""EnsembleDisplay: a deep ensemble's members' learning curves, and its score as
members are added (issue 16)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..training.history import History
from ._base import make_axes


def ensemble_scores(estimator: Any, X, y) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, member_scores)``: the score of the mean of the first ``m`` members
    for ``m = 1 .. n_members``, and each member's own score.

    The score is the estimator's ``score``: accuracy for a classifier (of the
    mean probabilities' labels), R^2 for a regressor.
    """
    from sklearn.metrics import accuracy_score, r2_score

    from ..estimators import decode_proba, members_outputs

    if getattr(estimator, "members_", None) is None:
        raise ValueError(
            f"EnsembleDisplay needs a fitted ensemble, but this {type(estimator).__name__} "
            "has no members_. Fit it with ensemble=True and n_init > 1."
        )
    classifier = hasattr(estimator, "classes_")
    if classifier:
        outs = estimator.predict_proba_members(X)

        def score(p):
            return accuracy_score(y, decode_proba(estimator, p))
    else:
        outs = members_outputs(estimator, X)
        outs = outs[..., 0] if outs.shape[-1] == 1 else outs

        def score(p):
            return r2_score(y, p)

    running = np.cumsum(outs, axis=0) / np.arange(1, len(outs) + 1).reshape(
        -1, *[1] * (outs.ndim - 1)
    )
    scores = np.array([score(p) for p in running])
    member_scores = np.array([score(p) for p in outs])
    return scores, member_scores


class EnsembleDisplay:
    """Deep-ensemble visualization: members' learning curves, score vs members.

    Two panels: each member's training loss per epoch (its validation loss
    dashed, with early stopping), and the score of the ensemble of the first
    ``m`` members for ``m = 1 .. n_members``, with each member's own score as
    a dot: how much averaging adds over one network.

    It is recommended to use :meth:`from_estimator` to create an
    :class:`EnsembleDisplay`. All parameters are stored as attributes.

    Parameters
    ----------
    histories : list of list of dict
        Each member's history (``members_history_``).
    scores : ndarray of shape (n_members,)
        The score of the ensemble of the first ``m`` members, ``m = 1 ..``.
    member_scores : ndarray of shape (n_members,), default=None
        Each member's own score; None draws none.
    score_name : str, default="score"
        The score's name on the axis.
    estimator_name : str, default=None
        Name used in the titles.

    Attributes
    ----------
    member_lines_ : list of matplotlib Line2D
        The members' training-loss curves, in the order of ``members_``.
    val_lines_ : list of matplotlib Line2D
        The members' validation-loss curves (empty without early stopping).
    score_line_ : matplotlib Line2D
        The ensemble's score against the number of members.
    member_points_ : matplotlib PathCollection or None
        The members' own scores.
    axes_ : ndarray of matplotlib Axes
        The two panels.
    ax_ : matplotlib Axes
        The learning-curve panel, ``axes_[0]``.
    figure_ : matplotlib Figure
        Figure containing the panels.

    See Also
    --------
    TrainingHistoryDisplay : One model's training history.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from skdl import MLPClassifier
    >>> from skdl.plotting import EnsembleDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(n_init=4, ensemble=True, max_iter=50, random_state=0,
    ...                     device="cpu").fit(X, y)
    >>> display = EnsembleDisplay.from_estimator(clf, X, y)
    >>> len(display.member_lines_), len(display.scores)
    (4, 4)
    """

    def __init__(
        self,
        histories: list,
        scores: np.ndarray,
        *,
        member_scores: np.ndarray | None = None,
        score_name: str = "score",
        estimator_name: str | None = None,
    ) -> None:
        self.histories = histories
        self.scores = scores
        self.member_scores = member_scores
        self.score_name = score_name
        self.estimator_name = estimator_name

    def plot(self, ax: Any = None, *, name: str | None = None) -> EnsembleDisplay:
        """Plot the two panels.

        Parameters
        ----------
        ax : array-like of 2 matplotlib Axes, default=None
            Axes to draw on. None creates a figure with the two panels.
        name : str, default=None
            Name used in the titles. None uses ``estimator_name``.

        Returns
        -------
        display : EnsembleDisplay
            Object that stores computed values.
        """
        axes = make_axes("EnsembleDisplay", ax, 2)
        name = self.estimator_name if name is None else name
        prefix = f"{name}: " if name else ""
        curves, scores = axes
        self.member_lines_, self.val_lines_ = [], []
        for j, h in enumerate(self.histories):
            h = History(h)
            epochs = h.column("epoch") if h else np.array([])
            (line,) = curves.plot(epochs, h.column("train_loss") if h else epochs, lw=1)
            line.set_label("training loss" if j == 0 else "_nolegend_")
            self.member_lines_.append(line)
            if h and "val_loss" in h[0] and not np.all(np.isnan(h.column("val_loss"))):
                (val,) = curves.plot(
                    epochs, h.column("val_loss"), ls="--", lw=1, color=line.get_color()
                )
                val.set_label("validation loss" if j == 0 else "_nolegend_")
                self.val_lines_.append(val)
        curves.set_xlabel("epoch")
        curves.set_ylabel("loss")
        curves.set_title(f"{prefix}{len(self.histories)} members' learning curves")
        curves.legend(loc="best", fontsize="small")
        m = np.arange(1, len(self.scores) + 1)
        (self.score_line_,) = scores.plot(m, self.scores, marker="o", label="ensemble of m")
        self.member_points_ = None
        if self.member_scores is not None:
            self.member_points_ = scores.scatter(
                m, self.member_scores, color="0.5", marker="x", label="member m alone"
            )
        scores.set_xlabel("members m")
        scores.set_ylabel(self.score_name)
        scores.set_title(f"{prefix}{self.score_name} as members are added")
        scores.legend(loc="best", fontsize="small")
        self.axes_ = axes
        self.ax_ = axes[0]
        self.figure_ = axes[0].figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator: Any, X, y, *, ax: Any = None, name: str | None = None
    ) -> EnsembleDisplay:
        """Plot a fitted ensemble's members and its score on ``X``, ``y``.

        Parameters
        ----------
        estimator : fitted MLPClassifier or MLPRegressor with ``ensemble=True``
        X : array-like of shape (n_samples, n_features)
            Data to score on (held-out data shows what averaging adds).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Its targets.
        ax : array-like of 2 matplotlib Axes, default=None
            See :meth:`plot`.
        name : str, default=None
            Name used in the titles. None uses the estimator's class name.

        Returns
        -------
        display : EnsembleDisplay
            Object that stores computed values.
        """
        scores, member_scores = ensemble_scores(estimator, X, y)
        display = cls(
            [History(h) for h in estimator.members_history_],
            scores,
            member_scores=member_scores,
            score_name="accuracy" if hasattr(estimator, "classes_") else "R^2",
            estimator_name=type(estimator).__name__,
        )
        return display.plot(ax=ax, name=name)
