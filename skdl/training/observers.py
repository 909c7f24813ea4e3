"""What the engine tells the world after each epoch, and which model a stack keeps.

Everything that watches a fit (the ``verbose`` bar or lines, a search's bar,
scikit-learn's callbacks) is an observer of one protocol, :class:`Observer`:
``on_epoch_begin(state)`` before each epoch (each L-BFGS iteration), and
``on_epoch_end(state)`` after it, which returns True to stop training there
(a request, not an error). Both get an :class:`EpochState`.

:func:`kept_model` is the one rule for the model a job keeps among its
``n_init`` restarts; a fit applies it to its :class:`~skdl.training.engine.StackResult`,
and an observer to the state of the moment (the model that would be kept if
training ended now).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from torch import Tensor

from ..nn.mlp import Layout


@dataclass
class EpochState:
    """The stack as an observer sees it at the end (or the start) of an epoch.

    ``history[k]`` holds model ``k``'s records (``epoch``, ``train_loss``,
    ``val_loss``, ``val_score``, ``learning_rate``, ``seconds``); ``params``
    the current weights ``[K, P]`` (read only). L-BFGS optimises one model at
    a time: ``model`` is that one (None for the stochastic solvers), and
    ``epoch`` counts its iterations.
    """

    epoch: int
    history: list
    active: np.ndarray
    params: Tensor
    layout: Layout
    best_score: np.ndarray
    diverged_at: np.ndarray
    by_validation: bool
    model: int | None = None

    @property
    def n_trained(self) -> int:
        """Models that trained in this epoch."""
        if self.model is not None:
            return 1
        return sum(1 for h in self.history if h and h[-1]["epoch"] == self.epoch)

    def kept(self, idx) -> int:
        """:func:`kept_model` now (L-BFGS: the model being optimised)."""
        if self.model is not None:
            return self.model
        return kept_model(
            idx, last_losses(self.history), self.best_score, self.diverged_at, self.by_validation
        )


class Observer(Protocol):
    """Watches a stack's training, epoch by epoch."""

    def on_epoch_begin(self, state: EpochState) -> None:
        """An epoch (an L-BFGS iteration) is about to run."""

    def on_epoch_end(self, state: EpochState) -> bool:
        """An epoch has run; return True to stop training after it."""


def begin_epoch(observers, state: EpochState) -> None:
    for observer in observers:
        observer.on_epoch_begin(state)


def end_epoch(observers, state: EpochState) -> bool:
    """Every observer's ``on_epoch_end`` (all of them, in order); True if one asks to stop."""
    stop = False
    for observer in observers:
        stop |= bool(observer.on_epoch_end(state))
    return stop


def last_losses(history) -> np.ndarray:
    """Each model's last training loss, NaN for a model with no epoch yet."""
    return np.array([h[-1]["train_loss"] if h else np.nan for h in history], dtype=np.float64)


def kept_model(idx, loss, best_score, diverged_at, by_validation: bool) -> int:
    """The model a job keeps among its models ``idx`` (its ``n_init`` restarts).

    With early stopping (``by_validation``), the best monitored validation
    value: ``best_score`` holds the best validation score, or minus the best
    validation loss with ``early_stopping_metric='loss'``. Otherwise the
    lowest final training ``loss``. A model that diverged, or has no finite
    loss, is kept only when every model did.

    Examples
    --------
    >>> import numpy as np
    >>> loss, score = np.array([0.5, 0.1, 0.3]), np.array([0.7, 0.9, 0.8])
    >>> kept_model([0, 1, 2], loss, score, np.zeros(3), by_validation=False)
    1
    >>> kept_model([0, 1, 2], loss, score, np.array([0, 4, 0]), by_validation=True)
    2
    """
    idx = np.asarray(idx)
    if len(idx) == 1:
        return int(idx[0])
    ok = (np.asarray(diverged_at)[idx] == 0) & np.isfinite(np.asarray(loss)[idx])
    if by_validation:
        return int(idx[np.argmax(np.where(ok, np.asarray(best_score)[idx], -np.inf))])
    return int(idx[np.argmin(np.where(ok, np.asarray(loss)[idx], np.inf))])
