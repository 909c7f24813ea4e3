"""ActivationDisplay: the activation functions and their derivatives."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import make_axes

DEFAULT_ACTIVATIONS = (
    "logistic",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "softplus",
)


def activation_curves(
    names: Any = None,
    *,
    z_range: tuple[float, float] = (-4.0, 4.0),
    n_points: int = 401,
    params: dict[str, float] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray], dict[str, float]]:
    """Evaluate activations and derivatives with :data:`skdl.nn.activations.ACTIVATIONS`.

    Returns ``z``, the values and the derivatives by name, and the parameter
    used for each parametric activation.

    The values come from the same functions the networks train with, so the
    picture is the implementation, not a redrawing of it.
    """
    import torch

    from ..nn.activations import ACTIVATIONS

    names = list(DEFAULT_ACTIVATIONS if names is None else names)
    params = {} if params is None else dict(params)
    for name in [*names, *params]:
        if name not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {name!r}. Choose among {sorted(ACTIVATIONS)}.")
    z = torch.linspace(z_range[0], z_range[1], n_points, dtype=torch.float64)
    values, derivatives, used = {}, {}, {}
    for name in names:
        act = ACTIVATIONS[name]
        value = params.get(name, act.default_param)
        if value is not None:
            used[name] = float(value)
        param = None if value is None else torch.full((1, 1, 1), float(value), dtype=z.dtype)
        zz = z.reshape(1, 1, -1)
        a = act.forward(zz, param)
        values[name] = a.reshape(-1).numpy()
        derivatives[name] = act.derivative(zz, a, param).reshape(-1).numpy()
    return z.numpy(), values, derivatives, used


class ActivationDisplay:
    """Activation functions visualization: each function and its derivative.

    Two panels, as in the lecture: the activations ``a = g(z)`` on the left,
    their derivatives ``g'(z)`` on the right (which show why the logistic and
    tanh saturate and the ReLU family does not).

    It is recommended to use :meth:`from_names` to create an
    :class:`ActivationDisplay`. All parameters are stored as attributes.

    Parameters
    ----------
    z : ndarray of shape (n_points,)
        The pre-activation values.
    activations : dict of str to ndarray of shape (n_points,)
        Each activation's values at ``z``.
    derivatives : dict of str to ndarray of shape (n_points,)
        Each activation's derivative at ``z``, same keys.
    params : dict of str to float, default=None
        The parameter of each parametric activation drawn, shown in the
        legend (``leaky_relu (0.1)``). None shows none.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        The activation curves, by name.
    derivative_lines_ : dict of str to matplotlib Line2D
        The derivative curves, by name.
    axes_ : ndarray of matplotlib Axes
        The two panels.
    ax_ : matplotlib Axes
        The activations panel, ``axes_[0]``.
    figure_ : matplotlib Figure
        Figure containing the panels.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skdl.plotting import ActivationDisplay
    >>> display = ActivationDisplay.from_names(["relu"], z_range=(-1, 1), n_points=3)
    >>> display.lines_["relu"].get_ydata()
    array([0., 0., 1.])
    >>> display.derivative_lines_["relu"].get_ydata()
    array([0., 0., 1.])
    """

    def __init__(
        self,
        z: np.ndarray,
        activations: dict[str, np.ndarray],
        derivatives: dict[str, np.ndarray],
        *,
        params: dict[str, float] | None = None,
    ) -> None:
        self.z = z
        self.activations = activations
        self.derivatives = derivatives
        self.params = params

    def plot(self, ax: Any = None) -> ActivationDisplay:
        """Plot the activations and their derivatives.

        Parameters
        ----------
        ax : array-like of 2 matplotlib Axes, default=None
            Axes for the activations and the derivatives. None creates a new
            figure.

        Returns
        -------
        display : ActivationDisplay
            Object that stores computed values.
        """
        axes = make_axes("ActivationDisplay", ax, 2, panel_width=5.5)
        self.lines_, self.derivative_lines_ = {}, {}
        params = self.params or {}
        for name, a in self.activations.items():
            label = name if params.get(name) is None else f"{name} ({params[name]:g})"
            (self.lines_[name],) = axes[0].plot(self.z, a, label=label)
            color = self.lines_[name].get_color()
            (self.derivative_lines_[name],) = axes[1].plot(
                self.z, self.derivatives[name], label=label, color=color
            )
        for axis, title, ylabel in zip(
            axes, ("activation functions", "derivatives"), ("g(z)", "g'(z)")
        ):
            axis.axhline(0, color="0.7", linewidth=0.8, zorder=0)
            axis.axvline(0, color="0.7", linewidth=0.8, zorder=0)
            axis.set_xlabel("z")
            axis.set_ylabel(ylabel)
            axis.set_title(title)
        axes[0].legend(loc="upper left", fontsize="small")
        self.axes_ = axes
        self.ax_ = axes[0]
        self.figure_ = axes[0].figure
        return self

    @classmethod
    def from_names(
        cls,
        names: Any = None,
        *,
        z_range: tuple[float, float] = (-4.0, 4.0),
        n_points: int = 401,
        params: dict[str, float] | None = None,
        ax: Any = None,
    ) -> ActivationDisplay:
        """Plot activations of :data:`skdl.nn.activations.ACTIVATIONS` by name.

        Parameters
        ----------
        names : list of str, default=None
            Activation names (the estimators' ``activation`` values). None
            draws all but ``'identity'``.
        z_range : tuple of float, default=(-4.0, 4.0)
            The interval of pre-activations ``z`` drawn.
        n_points : int, default=401
            Number of points in ``z_range``.
        params : dict of str to float, default=None
            The parameter of a parametric activation (the slope of
            ``leaky_relu``, the alpha of ``elu``) by name, like the
            estimators' ``activation_param``. Missing ones use their default
            (0.01 and 1.0).
        ax : array-like of 2 matplotlib Axes, default=None
            See :meth:`plot`.

        Returns
        -------
        display : ActivationDisplay
            Object that stores computed values.
        """
        z, activations, derivatives, used = activation_curves(
            names, z_range=z_range, n_points=n_points, params=params
        )
        return cls(z, activations, derivatives, params=used).plot(ax=ax)
