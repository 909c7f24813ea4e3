"""The epoch loop: run an epoch, evaluate, record, decide who stops, schedule.

Every model of the stack keeps its own stopping state (scikit-learn's rules:
no improvement of the training loss, or of the validation score with early
stopping, by more than ``tol`` for more than ``n_iter_no_change`` epochs). A
model that stops keeps training with the others (the stack stays one batched
computation) but its weights at the stopping point are set aside and put back
at the end, so its result is what it would be trained alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .data import DeviceData, Members, take
from .steps import ValSet, evaluate, train_step


@dataclass
class LoopSpec:
    """Fixed settings of one call to :func:`train` (shared by the whole stack)."""

    batch_size: int
    max_iter: int
    shuffle: bool
    tol: float
    n_iter_no_change: float
    early_stopping: bool
    schedule: list  # one schedule object per model
    score_kind: str
    stop_on_loss: bool = False  # early stopping monitors the validation loss, not the score


@dataclass
class LoopState:
    """Per-model stopping state, carried across ``partial_fit``/``warm_start`` calls."""

    k: int
    epoch: int = 0
    t: int = 0
    lr_factor: np.ndarray = None
    best_loss: np.ndarray = None
    best_score: np.ndarray = None
    no_improve: np.ndarray = None
    history: list = field(default_factory=list)

    def __post_init__(self):
        k = self.k
        self.lr_factor = np.ones(k) if self.lr_factor is None else self.lr_factor
        self.best_loss = np.full(k, np.inf) if self.best_loss is None else self.best_loss
        self.best_score = np.full(k, -np.inf) if self.best_score is None else self.best_score
        self.no_improve = (
            np.zeros(k, dtype=np.int64) if self.no_improve is None else self.no_improve
        )
        if not self.history:
            self.history = [[] for _ in range(k)]


@dataclass
class LoopResult:
    """What happened to each model: epochs run, why it stopped, divergence."""

    n_iter: np.ndarray
    converged: np.ndarray  # stopped by the no-improvement rule
    diverged_at: np.ndarray  # epoch (1-based) of a non-finite loss, 0 if none
    interrupted: bool = False
    stopped: bool = False  # an ``on_epoch`` callback asked to stop


def _learning_rates(spec, state, lr_init, n_train, epoch):
    factor = [s(epoch, n_samples_per_epoch=n) for s, n in zip(spec.schedule, n_train)]
    return lr_init * np.asarray(factor, dtype=np.float64) * state.lr_factor


def _update_stopping(spec, state, loss, score, active, lr_init):
    """Apply scikit-learn's no-improvement rule; returns (stop, improved_score) masks."""
    if spec.early_stopping:
        worse = score < state.best_score + spec.tol
        improved = (score > state.best_score) & active
        state.best_score = np.where(improved, score, state.best_score)
    else:
        worse = loss > state.best_loss - spec.tol
        improved = np.zeros_like(active)
        state.best_loss = np.where(active, np.minimum(loss, state.best_loss), state.best_loss)
    state.no_improve = np.where(active, np.where(worse, state.no_improve + 1, 0), state.no_improve)
    plateau = active & (state.no_improve > spec.n_iter_no_change)
    adaptive = np.array([s.is_adaptive for s in spec.schedule])
    if not adaptive.any():
        return plateau, improved
    # scikit-learn's 'adaptive': divide the learning rate by 5 on a plateau, stop
    # once it is already at or below 1e-6.
    min_lr = np.array([getattr(s, "min_lr", 0.0) for s in spec.schedule])
    factor = np.array([getattr(s, "plateau_factor", 1.0) for s in spec.schedule])
    lr_now = state.lr_factor
    stop = plateau & (~adaptive | (lr_now * lr_init <= min_lr))
    shrink = plateau & ~stop
    state.lr_factor = np.where(shrink, lr_now * factor, lr_now)
    state.no_improve = np.where(shrink, 0, state.no_improve)
    return stop, improved


class _Snapshots:
    """Weights set aside per model: at its stop, its best epoch (early stopping),
    and the last epoch that ended with finite weights (divergence, Ctrl-C)."""

    def __init__(self, params, early_stopping: bool):
        self.params = params
        self.frozen = params.clone()
        self.best = params.clone() if early_stopping else None
        self.last_good = params.clone()

    def keep(self, target, rows) -> None:
        if len(rows):
            idx = torch.as_tensor(rows, device=self.params.device)
            target.index_copy_(0, idx, self.params.index_select(0, idx))

    def finish(self, result: LoopResult, interrupted: bool) -> None:
        """Put the set-aside rows back into ``params``."""
        if interrupted:
            self.params.copy_(self.last_good)
        rows = np.flatnonzero((result.diverged_at > 0) | result.converged)
        if len(rows):
            idx = torch.as_tensor(rows, device=self.params.device)
            self.params.index_copy_(0, idx, self.frozen.index_select(0, idx))
        if self.best is not None:
            self.params.copy_(self.best)


def _run_epoch(ctx, spec, data, members, params, grad, optimizer, lr, order, w_order):
    """One pass over every model's rows; returns the summed batch losses ``[K]``."""
    k, device = params.shape[0], params.device
    first_padded = int(members.n_train.min())
    loss_acc = torch.zeros(k, dtype=params.dtype, device=device)
    for s in range(0, int(members.n_train.max()), spec.batch_size):
        rows = order[:, s : s + spec.batch_size]
        wb = None if w_order is None else w_order[:, s : s + spec.batch_size]
        mask = None
        if members.padded and s >= first_padded:
            # a model whose rows are used up sits this batch out (known on the
            # host: no sync, and no masking while every model has rows)
            mask = torch.as_tensor(s < members.n_train, device=device).view(k, 1)
        x, y = data.batch(rows, ctx.ws)
        train_step(ctx, params, grad, optimizer, x, y, wb, lr, mask, loss_acc)
    return loss_acc


def _read_losses(loss_acc, params, n_train) -> np.ndarray:
    """The epoch's mean losses, NaN where a weight is no longer finite: one host read
    (a step can overflow the weights while the loss it measured was finite)."""
    k = params.shape[0]
    # a row's max and min are finite iff all of it is (NaN propagates through
    # both): two reductions, where isfinite writes [K, P] temporaries
    ends = torch.cat([params.amax(1), params.amin(1)])
    read = torch.cat([loss_acc, ends]).cpu().numpy()
    finite = np.isfinite(read[k : 2 * k]) & np.isfinite(read[2 * k :])
    return np.where(finite, read[:k] / n_train, np.nan)


def _record(state, result, active, loss, val_loss, val_score, lr_np, seconds) -> None:
    for i in np.flatnonzero(active):
        state.history[i].append(
            {
                "epoch": state.epoch,
                "train_loss": float(loss[i]),
                "val_loss": None if val_loss is None else float(val_loss[i]),
                "val_score": None if val_score is None else float(val_score[i]),
                "learning_rate": float(lr_np[i]),
                "seconds": seconds,
            }
        )
        result.n_iter[i] += 1


def train(
    ctx,
    spec,
    data: DeviceData,
    members: Members,
    params,
    optimizer,
    lr_init,
    state: LoopState,
    generators=None,
    on_epoch=None,
    on_epoch_begin=None,
) -> LoopResult:
    """Train the stack in place for up to ``spec.max_iter`` epochs.

    Each epoch: run it, read the losses once, evaluate, decide who diverged or
    stopped, record, and set weights aside; the schedule gives the next rates.
    ``on_epoch_begin()`` runs before each epoch and ``on_epoch(state, active)``
    after it; when the latter returns True, training stops there.
    """
    k, device, dtype = params.shape[0], params.device, params.dtype
    grad = torch.zeros_like(params)
    val = None
    if spec.early_stopping or members.val is not None:
        val_idx, val_valid = members.val_rows(data.index_device)
        val = ValSet.build(data, val_idx, val_valid, spec.score_kind, members.row_weights(val_idx))
    weighted = members.padded or members.weights is not None or not bool(torch.all(data.w == 1))
    n_train = members.n_train.astype(np.float64)
    active = np.ones(k, dtype=bool)
    snaps = _Snapshots(params, spec.early_stopping)
    result = LoopResult(np.zeros(k, np.int64), np.zeros(k, bool), np.zeros(k, np.int64))
    try:
        for _ in range(spec.max_iter):
            if on_epoch_begin is not None:
                on_epoch_begin()
            tic = time.perf_counter()
            lr_np = _learning_rates(spec, state, lr_init, n_train, state.epoch)
            lr = torch.as_tensor(lr_np, dtype=dtype).view(k, 1).to(device)
            gens = generators if spec.shuffle else None
            order, valid = members.epoch_order(gens, data.index_device)
            w_order = None
            if weighted:
                w_order = take(data.w, order) * valid.to(dtype)
                member_w = members.row_weights(order)
                if member_w is not None:
                    w_order = w_order * member_w.to(dtype)
                w_order = data.on_device(w_order)
            loss_acc = _run_epoch(
                ctx, spec, data, members, params, grad, optimizer, lr, order, w_order
            )
            loss = _read_losses(loss_acc, params, n_train)
            val_loss = val_score = None
            if val is not None:
                val_loss, val_score = (t.cpu().numpy() for t in evaluate(ctx, params, data, val))
            state.epoch += 1
            state.t += int(n_train[0])
            diverged = active & ~np.isfinite(loss)
            result.diverged_at[diverged] = state.epoch
            snaps.frozen[diverged] = snaps.last_good[diverged]
            active &= ~diverged
            monitored = -val_loss if spec.stop_on_loss and val_loss is not None else val_score
            stop, improved = _update_stopping(spec, state, loss, monitored, active, lr_init)
            recorded = active
            if spec.early_stopping and diverged.any():
                # scikit-learn's contract (its issue 29504): with early stopping a
                # diverging fit keeps its best weights and its validation_scores_
                # end in nan, so the diverged epoch is recorded, with nan scores
                recorded = active | diverged
                val_loss, val_score = (np.where(diverged, np.nan, v) for v in (val_loss, val_score))
            _record(
                state, result, recorded, loss, val_loss, val_score, lr_np, time.perf_counter() - tic
            )
            if snaps.best is not None:
                snaps.keep(snaps.best, np.flatnonzero(improved))
            snaps.keep(snaps.frozen, np.flatnonzero(stop))
            result.converged |= stop
            active &= ~stop
            if on_epoch is not None and on_epoch(state, active):
                result.stopped = True
                break
            if not active.any():
                break
            snaps.last_good.copy_(params)
    except KeyboardInterrupt:
        result.interrupted = True
    snaps.finish(result, result.interrupted)
    return result
