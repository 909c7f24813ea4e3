"""Findings read from a training curve: divergence, no convergence, oscillation.

Each rule is a small pure function of the per-epoch training loss, so it can
be tested on hand-made curves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Finding:
    """One thing a training curve shows, with what to do about it.

    Parameters
    ----------
    kind : {"diverged", "not converged", "oscillating"}
        What was found.
    message : str
        A sentence describing it, with the numbers.
    remedies : tuple of str
        What to try.
    """

    kind: str
    message: str
    remedies: tuple[str, ...]


def _current(name: str, value: object) -> str:
    return "" if value is None else f" (currently {value})"


def find_divergence(loss: np.ndarray, *, learning_rate_init: float | None = None) -> Finding | None:
    """A non-finite loss, or a final loss above the first epoch's.

    Parameters
    ----------
    loss : ndarray of shape (n_epochs,)
        The training loss per epoch.
    learning_rate_init : float, default=None
        The estimator's value, quoted in the remedy.

    Returns
    -------
    finding : Finding or None
        None when the loss stayed finite and ended below where it started.
    """
    loss = np.asarray(loss, dtype=float)
    remedies = (
        f"Lower learning_rate_init{_current('learning_rate_init', learning_rate_init)}, "
        "e.g. by a factor of 10.",
        "Scale X, e.g. with StandardScaler.",
    )
    bad = np.flatnonzero(~np.isfinite(loss))
    if bad.size:
        return Finding(
            "diverged",
            f"The training loss became {loss[bad[0]]} at epoch {bad[0] + 1}.",
            remedies,
        )
    if loss.size >= 3 and loss[-1] > loss[0]:
        return Finding(
            "diverged",
            f"The training loss rose from {loss[0]:.4g} (epoch 1) to {loss[-1]:.4g} "
            f"(epoch {loss.size}).",
            remedies,
        )
    return None


def find_not_converged(
    loss: np.ndarray,
    *,
    n_iter: int | None = None,
    max_iter: int | None = None,
    window: int = 5,
    tol: float = 0.01,
) -> Finding | None:
    """Training stopped at ``max_iter`` while the loss was still falling.

    The loss counts as still falling when it dropped by more than ``tol``
    (relative) over the last ``window`` epochs. When ``n_iter`` and
    ``max_iter`` are known, a run the stopping rule ended before ``max_iter``
    is converged whatever its slope (early stopping may end a run whose
    training loss still falls: that is its purpose).

    Parameters
    ----------
    loss : ndarray of shape (n_epochs,)
        The training loss per epoch.
    n_iter : int, default=None
        Epochs run (``n_iter_``). None checks the slope only.
    max_iter : int, default=None
        The epoch budget (``max_iter``). None checks the slope only.
    window : int, default=5
        Number of final epochs over which the drop is measured.
    tol : float, default=0.01
        Relative drop over ``window`` epochs above which the loss counts as
        still falling.

    Returns
    -------
    finding : Finding or None
        None when converged.
    """
    loss = np.asarray(loss, dtype=float)
    if loss.size < 2 or not np.all(np.isfinite(loss)):
        return None
    if n_iter is not None and max_iter is not None and n_iter < max_iter:
        return None
    w = min(window, loss.size - 1)
    before, last = loss[-w - 1], loss[-1]
    drop = (before - last) / max(abs(before), np.finfo(float).tiny)
    if drop <= tol:
        return None
    budget = "" if max_iter is None else f" after max_iter={max_iter} epochs"
    return Finding(
        "not converged",
        f"Training stopped{budget} while the loss was still falling: "
        f"{drop:.1%} lower over the last {w} epochs ({before:.4g} -> {last:.4g}).",
        (
            f"Train longer: raise max_iter{_current('max_iter', max_iter)}.",
            "Or raise learning_rate_init, if the loss falls smoothly but slowly.",
        ),
    )


def find_oscillation(
    loss: np.ndarray,
    *,
    learning_rate_init: float | None = None,
    jump_tol: float = 0.05,
    min_jumps: float = 0.2,
) -> Finding | None:
    """The loss goes up and down instead of falling.

    Count the epoch-to-epoch rises of the loss larger than ``jump_tol`` times
    its whole range (max - min); a curve oscillates when at least 2 steps,
    and at least a fraction ``min_jumps`` of the steps, are such rises.
    Mini-batch noise on a converging curve is small next to its range, and a
    lone spike is too few, so neither counts.

    Parameters
    ----------
    loss : ndarray of shape (n_epochs,)
        The training loss per epoch.
    learning_rate_init : float, default=None
        The estimator's value, quoted in the remedy.
    jump_tol : float, default=0.05
        A rise counts when larger than this fraction of the loss's range.
    min_jumps : float, default=0.2
        The fraction of steps that must be rises for an oscillation.

    Returns
    -------
    finding : Finding or None
        None when the loss does not oscillate.
    """
    loss = np.asarray(loss, dtype=float)
    if loss.size < 5 or not np.all(np.isfinite(loss)):
        return None
    span = loss.max() - loss.min()
    if span <= 0:
        return None
    steps = np.diff(loss)
    jumps = int(np.sum(steps > jump_tol * span))
    if jumps < max(2, min_jumps * steps.size):
        return None
    return Finding(
        "oscillating",
        f"The training loss rose in {jumps} of {steps.size} epochs by more than "
        f"{jump_tol:.0%} of its range: the learning rate is likely too high.",
        (
            f"Lower learning_rate_init{_current('learning_rate_init', learning_rate_init)}.",
            "Or decay it: learning_rate='exponential', 'inverse_time', 'step' or 'cosine'.",
            "Or use larger mini-batches (batch_size), which average out gradient noise.",
        ),
    )


def curve_findings(
    loss: np.ndarray,
    *,
    n_iter: int | None = None,
    max_iter: int | None = None,
    learning_rate_init: float | None = None,
) -> tuple[Finding, ...]:
    """All findings of a training-loss curve.

    A diverged curve reports only that: its other readings would be noise.

    Parameters
    ----------
    loss : ndarray of shape (n_epochs,)
        The training loss per epoch.
    n_iter : int, default=None
        Epochs run (``n_iter_``).
    max_iter : int, default=None
        The epoch budget (``max_iter``).
    learning_rate_init : float, default=None
        The estimator's value, quoted in the remedies.

    Returns
    -------
    findings : tuple of Finding
        Empty for a healthy curve.
    """
    diverged = find_divergence(loss, learning_rate_init=learning_rate_init)
    if diverged is not None:
        return (diverged,)
    found = (
        find_oscillation(loss, learning_rate_init=learning_rate_init),
        find_not_converged(loss, n_iter=n_iter, max_iter=max_iter),
    )
    return tuple(f for f in found if f is not None)
