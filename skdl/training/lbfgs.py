"""Full-batch L-BFGS, as scikit-learn runs it (scipy's L-BFGS-B, ``gtol=tol``).

Each model of the stack is optimised on its own (the line searches of L-BFGS
do not batch), with the loss and gradient of the same backprop the stochastic
solvers use, on all of the model's training rows at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize
import torch

from ..nn.mlp import backward, forward_train
from .observers import EpochState, begin_epoch, end_epoch


@dataclass
class LbfgsResult:
    """Per model: iterations, the objective at the solution, convergence, and
    the history of its iterations (one record per iteration, as an epoch's)."""

    n_iter: np.ndarray
    loss: np.ndarray
    converged: np.ndarray
    history: list
    interrupted: bool = False
    stopped: bool = False  # an observer asked to stop


def record(n_iter: int, loss: float) -> dict:
    """The history record of an L-BFGS iteration: only the training loss is measured."""
    return {
        "epoch": n_iter,
        "train_loss": loss,
        "val_loss": None,
        "val_score": None,
        "learning_rate": None,
        "seconds": None,
    }


def _loss_and_grad(ctx, data, rows, flat_np, params_row, i, model_w=None):
    params_row.copy_(torch.from_numpy(flat_np).view_as(params_row))
    lay = ctx.layout
    weights, biases = lay.weights(params_row), lay.biases(params_row)
    x, y, w = data.X[rows][None], data.Y[rows][None], data.w[rows][None]
    if model_w is not None:  # bagging: this model's row weights
        w = w * model_w[rows][None]
    act_param = None if ctx.act_param is None else ctx.act_param[i : i + 1]
    z, cache = forward_train(weights, biases, x, ctx.act, act_param, [None] * len(ctx.keep), None)
    value, dz = ctx.loss.value_and_grad(z, y, ctx.loss_param)
    s = w.sum()
    dz.mul_((w / s).unsqueeze(-1))
    if ctx.loss.mean_over_outputs:
        # L-BFGS needs the gradient of the value it is given: the mean over outputs
        dz.div_(dz.shape[-1])
    grad = torch.zeros_like(params_row)
    l2 = None if ctx.alpha_l2 is None else ctx.alpha_l2[i : i + 1] / s
    backward(weights, lay.weights(grad), lay.biases(grad), cache, dz, ctx.act, act_param, l2)
    loss = (value * w).sum() / s
    if ctx.alpha_l2 is not None:
        loss = loss + penalty_l2(ctx, params_row, i) / s
    return float(loss), grad.view(-1).double().cpu().numpy()


def penalty_l2(ctx, params_row, i):
    alpha = ctx.alpha_l2[i, 0, 0]
    return sum(0.5 * alpha * (w * w).sum() for w in ctx.layout.weights(params_row))


def _objective(flat_np, ctx, data, rows, row, i, model_w=None):
    return _loss_and_grad(ctx, data, rows, flat_np, row, i, model_w)


class _Iterations:
    """scipy's L-BFGS-B callback: records each iteration in ``history[i]``,
    keeps the iterate (what an interrupted fit keeps) and tells the observers.

    An observer's request to stop becomes scipy's own protocol for it, a
    ``StopIteration`` raised from the callback (scipy >= 1.11).
    """

    def __init__(self, i, params, history, observers, watch):
        self.i, self.params, self.observers, self.watch = i, params, observers, watch
        self.curve = history[i]
        self.x = params[i].double().cpu().numpy()
        self.fun = np.inf
        self.stopped = False

    def __call__(self, intermediate_result) -> None:
        self.x = np.array(intermediate_result.x, copy=True)
        self.fun = float(intermediate_result.fun)
        self.curve.append(record(len(self.curve) + 1, self.fun))
        if not self.observers:
            return
        self.params[self.i] = torch.from_numpy(self.x).to(self.params.dtype)
        state = self.watch(self.i, len(self.curve))
        if end_epoch(self.observers, state):
            self.stopped = True
            raise StopIteration
        begin_epoch(self.observers, state)


def fit(ctx, data, rows, params, *, max_iter, max_fun, tol, observers=()) -> LbfgsResult:
    """Optimise every row of ``params`` in place, one model after the other;
    returns per-model results.

    ``observers`` see each iteration as an epoch (the model being optimised
    is ``EpochState.model``). An iteration's end is followed by the next's
    begin, so the last one leaves a begun iteration open (scikit-learn's
    callbacks close it with the fit).
    """
    k = params.shape[0]
    res = LbfgsResult(np.zeros(k, np.int64), np.zeros(k), np.zeros(k, bool), [[] for _ in range(k)])

    def watch(i, n_iter) -> EpochState:
        return EpochState(
            n_iter, res.history, np.arange(k) == i, params, ctx.layout,
            np.full(k, -np.inf), np.zeros(k, np.int64), False, model=i,
        )  # fmt: skip

    for i in range(k):
        model_rows = torch.as_tensor(rows.train[i], device=params.device)
        model_w = None
        if rows.weights is not None:
            model_w = torch.as_tensor(rows.weights[i]).to(params.device, data.w.dtype)
        row = params[i : i + 1].clone()
        iterations = _Iterations(i, params, res.history, observers, watch)
        if observers and i == 0:
            # later models start in the iteration the previous one's last opened
            begin_epoch(observers, watch(0, 0))
        try:
            opt = scipy.optimize.minimize(
                _objective,
                iterations.x.copy(),
                args=(ctx, data, model_rows, row, i, model_w),
                method="L-BFGS-B",
                jac=True,
                options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
                callback=iterations,
            )
        except KeyboardInterrupt:
            # keep the last completed iteration (or the start) and stop the whole fit
            params[i] = torch.from_numpy(iterations.x).to(params.dtype)
            res.n_iter[i] = len(iterations.curve)
            res.loss[i] = iterations.fun if iterations.curve else np.nan
            res.loss[i + 1 :] = np.nan
            res.interrupted = True
            return res
        params[i] = torch.from_numpy(opt.x).to(params.dtype)
        res.n_iter[i] = opt.nit
        res.loss[i] = opt.fun
        res.converged[i] = opt.status == 0
        if iterations.stopped:
            res.stopped = True
            res.n_iter[i + 1 :], res.loss[i + 1 :] = 0, np.nan
            return res
    return res
