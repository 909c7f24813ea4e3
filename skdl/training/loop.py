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

from .data import DeviceData, StackRows, take
from .observers import EpochState, begin_epoch, end_epoch
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

    @classmethod
    def join(cls, states: list) -> LoopState:
        """One stack's loop state from its models' states (all at the same epoch)."""
        if len(states) == 1:
            return states[0]
        return cls(
            sum(s.k for s in states),
            epoch=states[0].epoch,
            t=states[0].t,
            lr_factor=np.concatenate([s.lr_factor for s in states]),
            best_loss=np.concatenate([s.best_loss for s in states]),
            best_score=np.concatenate([s.best_score for s in states]),
            no_improve=np.concatenate([s.no_improve for s in states]),
            history=[list(h) for s in states for h in s.history],
        )

    def model(self, k: int) -> LoopState:
        """Model ``k``'s state alone (a copy), to resume it later."""
        keep = slice(k, k + 1)
        return LoopState(
            1,
            epoch=self.epoch,
            t=self.t,
            lr_factor=self.lr_factor[keep].copy(),
            best_loss=self.best_loss[keep].copy(),
            best_score=self.best_score[keep].copy(),
            no_improve=self.no_improve[keep].copy(),
            history=[list(self.history[k])],
        )


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
    stop = active & (state.no_improve > spec.n_iter_no_change)
    # each model's schedule decides what a plateau does (Schedule.on_plateau):
    # stop, or ('adaptive') go on at a lower learning rate
    if stop.any():
        state.lr_factor = state.lr_factor.copy()
    for i in np.flatnonzero(stop):
        factor, stop[i] = spec.schedule[i].on_plateau(state.lr_factor[i], lr_init[i])
        if not stop[i]:
            state.lr_factor[i] = factor
            state.no_improve[i] = 0
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


def _run_epoch(ctx, spec, data, rows, params, grad, optimizer, lr, order, w_order, shared):
    """One pass over every model's rows; returns the summed batch losses ``[K]``.

    ``shared``: every model's ``order`` is the same (:meth:`StackRows.shares_order`),
    so each batch is gathered once and broadcast to the K models, a stride-0
    view that the batched products read in place: the same values as K
    gathered copies, without writing them (digits, 32 models, one thread:
    the first layer's two products and the gather 2.6 vs 2.0 ms a step).
    """
    k, device = params.shape[0], params.device
    first_padded = int(rows.n_train.min())
    loss_acc = torch.zeros(k, dtype=params.dtype, device=device)
    source = order[:1] if shared else order
    for s in range(0, int(rows.n_train.max()), spec.batch_size):
        batch = source[:, s : s + spec.batch_size]
        wb = None if w_order is None else w_order[:, s : s + spec.batch_size]
        mask = None
        if rows.padded and s >= first_padded:
            # a model whose rows are used up sits this batch out (known on the
            # host: no sync, and no masking while every model has rows)
            mask = torch.as_tensor(s < rows.n_train, device=device).view(k, 1)
        x, y = data.batch(batch, ctx.workspace)
        if shared:
            x, y = x.expand(k, -1, -1), y.expand(k, -1, -1)
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


def _validation_set(spec, data, rows) -> ValSet | None:
    if not spec.early_stopping and rows.val is None:
        return None
    val_idx, val_valid = rows.val_rows(data.index_device)
    return ValSet.build(data, val_idx, val_valid, spec.score_kind, rows.row_weights(val_idx))


def _epoch_weights(data, rows, order, valid, dtype):
    """The row weights ``[K, m]`` of an epoch's order: sample weights, 0 on
    padding, times each model's own row weights (bagging)."""
    w_order = take(data.w, order) * valid.to(dtype)
    model_w = rows.row_weights(order)
    if model_w is not None:
        w_order = w_order * model_w.to(dtype)
    return data.on_device(w_order)


def _epoch(ctx, spec, data, rows, params, grad, optimizer, lr_np, generators, weighted, val,
           shared):  # fmt: skip
    """Run one epoch; returns the mean training losses and the validation loss
    and score of every model (numpy ``[K]``; None without a validation set)."""
    k = params.shape[0]
    # float64 up to the optimizer's update (float32 on MPS, which has no float64)
    lr = torch.as_tensor(lr_np, dtype=optimizer.scalar_dtype).view(k, 1).to(params.device)
    order, valid = rows.epoch_order(generators if spec.shuffle else None, data.index_device)
    w_order = _epoch_weights(data, rows, order, valid, params.dtype) if weighted else None
    loss_acc = _run_epoch(
        ctx, spec, data, rows, params, grad, optimizer, lr, order, w_order, shared
    )
    loss = _read_losses(loss_acc, params, rows.n_train.astype(np.float64))
    if val is None:
        return loss, None, None
    val_loss, val_score = (t.cpu().numpy() for t in evaluate(ctx, params, data, val))
    return loss, val_loss, val_score


def _conclude(spec, state, result, snaps, active, losses, lr_np, lr_init, seconds) -> None:
    """Decide which models diverged or stopped, record the epoch and set weights
    aside; ``active`` is updated in place."""
    loss, val_loss, val_score = losses
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
    _record(state, result, recorded, loss, val_loss, val_score, lr_np, seconds)
    if snaps.best is not None:
        snaps.keep(snaps.best, np.flatnonzero(improved))
    snaps.keep(snaps.frozen, np.flatnonzero(stop))
    result.converged |= stop
    active &= ~stop


def train(
    ctx,
    spec,
    data: DeviceData,
    rows: StackRows,
    params,
    optimizer,
    lr_init,
    state: LoopState,
    generators=None,
    observers=(),
) -> LoopResult:
    """Train the stack in place for up to ``spec.max_iter`` epochs.

    Each epoch: run it, read the losses once, evaluate, decide who diverged or
    stopped, record, and set weights aside; the schedule gives the next rates.
    Each of ``observers`` (:class:`~skdl.training.observers.Observer`) sees
    every epoch begin and end; when one asks to stop, training stops there.
    """
    k = params.shape[0]
    grad = torch.zeros_like(params)
    val = _validation_set(spec, data, rows)
    weighted = rows.padded or rows.weights is not None or not bool(torch.all(data.w == 1))
    shared = rows.shares_order(generators if spec.shuffle else None)
    n_train = rows.n_train.astype(np.float64)
    active = np.ones(k, dtype=bool)
    snaps = _Snapshots(params, spec.early_stopping)
    result = LoopResult(np.zeros(k, np.int64), np.zeros(k, bool), np.zeros(k, np.int64))

    def seen() -> EpochState:
        return EpochState(
            state.epoch, state.history, active, params, ctx.layout,
            state.best_score, result.diverged_at, spec.early_stopping,
        )  # fmt: skip

    try:
        for _ in range(spec.max_iter):
            if observers:
                begin_epoch(observers, seen())
            tic = time.perf_counter()
            lr_np = _learning_rates(spec, state, lr_init, n_train, state.epoch)
            losses = _epoch(
                ctx, spec, data, rows, params, grad, optimizer, lr_np, generators, weighted, val,
                shared,
            )  # fmt: skip
            state.epoch += 1
            state.t += int(n_train[0])
            _conclude(spec, state, result, snaps, active, losses, lr_np, lr_init,
                      time.perf_counter() - tic)  # fmt: skip
            if observers and end_epoch(observers, seen()):
                result.stopped = True
                break
            if not active.any():
                break
            snaps.last_good.copy_(params)
    except KeyboardInterrupt:
        result.interrupted = True
    snaps.finish(result, result.interrupted)
    return result
