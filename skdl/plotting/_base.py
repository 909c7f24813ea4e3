"""Helpers shared by the displays: lazy matplotlib, axes creation."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._optional import optional_import


def check_matplotlib(caller: str) -> Any:
    """Import and return ``matplotlib.pyplot``, with a clear error when missing.

    matplotlib is imported here, inside the plotting calls, so that
    ``import skdl.plotting`` stays light.
    """
    plt = optional_import("matplotlib.pyplot", "plots", caller)
    return plt


def make_axes(caller: str, ax: Any, n_panels: int, *, panel_width: float = 4.8) -> np.ndarray:
    """Return ``n_panels`` Axes as a 1-d object array: new ones, or those given.

    Parameters
    ----------
    caller : str
        Name used in error messages.
    ax : Axes, array-like of Axes or None
        None creates a figure with one row of ``n_panels`` Axes. A single Axes
        is accepted when ``n_panels == 1``.
    n_panels : int
        Number of Axes needed.
    panel_width : float, default=4.8
        Width in inches of each panel of a new figure.
    """
    plt = check_matplotlib(caller)
    if ax is None:
        _, axes = plt.subplots(
            1, n_panels, figsize=(panel_width * n_panels, 3.8), squeeze=False, layout="constrained"
        )
        return axes.ravel()
    axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
    if axes.size != n_panels:
        raise ValueError(
            f"{caller} draws {n_panels} panel(s), so 'ax' must be {n_panels} Axes. "
            f"Got {axes.size} instead. Pass ax=None to create a new figure."
        )
    return axes
