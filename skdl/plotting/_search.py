"""SearchResultsDisplay: mean test score against one hyperparameter of a search."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._base import make_axes


def _param_key(cv_results: dict, param: str | None) -> str:
    keys = sorted(k[len("param_") :] for k in cv_results if k.startswith("param_"))
    if param is None:
        if len(keys) == 1:
            return keys[0]
        raise ValueError(
            f"The search varies several hyperparameters {keys}: pass param= one of them."
        )
    name = param[len("param_") :] if param.startswith("param_") else param
    if name not in keys:
        raise ValueError(
            f"The 'param' parameter must be a searched hyperparameter, one of {keys}. "
            f"Got {param!r} instead."
        )
    return name


def _is_numeric(values: list) -> bool:
    return all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v) for v in values
    )


def _format(value: Any) -> str:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)


class SearchResultsDisplay:
    """Hyperparameter search visualization: mean test score vs one hyperparameter.

    Works with any fitted scikit-learn search (``GridSearchCV``,
    ``RandomizedSearchCV``, skdl's searches): one point per candidate, the
    best candidate starred. When ``cv_results_`` has a ``"round"`` column
    (the rounds of a coarse-to-fine search), the points are coloured by round.
    Non-numeric values (strings, tuples such as ``hidden_layer_sizes``) are
    drawn on a categorical axis.

    It is recommended to use :meth:`from_search` to create a
    :class:`SearchResultsDisplay`. All parameters are stored as attributes.

    Parameters
    ----------
    param_values : list of shape (n_candidates,)
        The hyperparameter's value for each candidate.
    mean_test_scores : ndarray of shape (n_candidates,)
        The mean cross-validated score of each candidate.
    param_name : str
        Name of the hyperparameter, the x-axis label.
    rounds : ndarray of shape (n_candidates,), default=None
        The search round of each candidate. None draws one group.
    best_index : int, default=None
        Index of the candidate to star. None stars the highest score.
    score_name : str, default="mean test score"
        The y-axis label.

    Attributes
    ----------
    scatters_ : list of matplotlib PathCollection
        The points, one collection per round (one in all without rounds).
    best_marker_ : matplotlib PathCollection
        The star on the best candidate.
    ax_ : matplotlib Axes
        Axes with the points.
    figure_ : matplotlib Figure
        Figure containing the points.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skdl.plotting import SearchResultsDisplay
    >>> display = SearchResultsDisplay([1e-4, 1e-2, 1.0], [0.9, 0.95, 0.7], param_name="alpha")
    >>> display = display.plot()
    >>> np.asarray(display.scatters_[0].get_offsets())[:, 1]
    array([0.9 , 0.95, 0.7 ])
    """

    def __init__(
        self,
        param_values: list,
        mean_test_scores: np.ndarray,
        *,
        param_name: str,
        rounds: np.ndarray | None = None,
        best_index: int | None = None,
        score_name: str = "mean test score",
    ) -> None:
        self.param_values = param_values
        self.mean_test_scores = mean_test_scores
        self.param_name = param_name
        self.rounds = rounds
        self.best_index = best_index
        self.score_name = score_name

    def plot(self, ax: Any = None, *, log_scale: bool | None = None) -> SearchResultsDisplay:
        """Plot the scores.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a new figure.
        log_scale : bool, default=None
            Whether the x axis is logarithmic. None chooses it for positive
            numeric values spanning more than two decades (``alpha``,
            ``learning_rate_init``). Ignored for categorical values.

        Returns
        -------
        display : SearchResultsDisplay
            Object that stores computed values.
        """
        (axis,) = make_axes("SearchResultsDisplay", ax, 1, panel_width=6.0)
        values = list(self.param_values)
        scores = np.asarray(self.mean_test_scores, dtype=float)
        numeric = _is_numeric(values)
        if numeric:
            x = np.asarray(values, dtype=float)
        else:
            # categories at 0, 1, ... in order of first appearance (a grid's order)
            labels = list(dict.fromkeys(_format(v) for v in values))
            x = np.array([labels.index(_format(v)) for v in values], dtype=float)
            axis.set_xticks(range(len(labels)), labels)
        rounds = (
            np.zeros(len(values), dtype=int) if self.rounds is None else np.asarray(self.rounds)
        )
        self.scatters_ = []
        for r in np.unique(rounds):
            mask = rounds == r
            label = None if self.rounds is None else f"round {r}"
            self.scatters_.append(axis.scatter(x[mask], scores[mask], label=label, alpha=0.8))
        best = int(np.nanargmax(scores)) if self.best_index is None else int(self.best_index)
        self.best_marker_ = axis.scatter(
            x[best : best + 1],
            scores[best : best + 1],
            marker="*",
            s=250,
            color="gold",
            edgecolors="black",
            zorder=3,
            label=f"best ({_format(values[best])}: {scores[best]:.3g})",
        )
        if log_scale is None:
            log_scale = numeric and bool(np.all(x > 0)) and x.max() / x.min() > 100
        if numeric and log_scale:
            axis.set_xscale("log")
        if not numeric:
            axis.tick_params(axis="x", labelrotation=30)
        axis.set_xlabel(self.param_name)
        axis.set_ylabel(self.score_name)
        axis.set_title(f"{self.score_name} vs {self.param_name}")
        axis.legend(loc="best", fontsize="small")
        self.ax_ = axis
        self.figure_ = axis.figure
        return self

    @classmethod
    def from_search(
        cls,
        search: Any,
        *,
        param: str | None = None,
        ax: Any = None,
        log_scale: bool | None = None,
    ) -> SearchResultsDisplay:
        """Plot a fitted search's mean test score against one hyperparameter.

        Parameters
        ----------
        search : fitted search estimator
            Any estimator with a ``cv_results_`` dict, e.g. scikit-learn's or
            skdl's ``GridSearchCV`` / ``RandomizedSearchCV``.
        param : str, default=None
            The hyperparameter on the x axis, as named in the search
            (``"alpha"``, ``"mlp__alpha"``; a ``"param_"`` prefix is accepted).
            None is allowed when the search varies a single hyperparameter.
            Candidates without this hyperparameter (a list of grids) are left
            out.
        ax : matplotlib Axes, default=None
            See :meth:`plot`.
        log_scale : bool, default=None
            See :meth:`plot`.

        Returns
        -------
        display : SearchResultsDisplay
            Object that stores computed values.
        """
        cv_results = getattr(search, "cv_results_", None)
        if cv_results is None:
            raise ValueError(f"{type(search).__name__} has no cv_results_: fit the search first.")
        name = _param_key(cv_results, param)
        column = cv_results[f"param_{name}"]
        mask = ~np.ma.getmaskarray(column)
        values = [v for v, keep in zip(np.ma.getdata(column), mask) if keep]
        scores = np.asarray(cv_results["mean_test_score"], dtype=float)[mask]
        rounds = cv_results.get("round")
        rounds = None if rounds is None else np.asarray(rounds)[mask]
        best_index = None
        refit_index = getattr(search, "best_index_", None)
        if refit_index is not None and mask[refit_index]:
            best_index = int(np.flatnonzero(mask).tolist().index(refit_index))
        display = cls(values, scores, param_name=name, rounds=rounds, best_index=best_index)
        return display.plot(ax=ax, log_scale=log_scale)
