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


@dataclass
class LbfgsResult:
    n_iter: np.ndarray
    loss: np.ndarray
    converged: np.ndarray
    curves: list
    interrupted: bool = False
    stopped: bool = False  # an iteration hook asked to stop


def _loss_and_grad(ctx, data, rows, flat_np, params_row, i, member_w=None):
    params_row.copy_(torch.from_numpy(flat_np).view_as(params_row))
    lay = ctx.layout
    weights, biases = lay.weights(params_row), lay.biases(params_row)
    x, y, w = data.X[rows][None], data.Y[rows][None], data.w[rows][None]
    if member_w is not None:  # bagging: this model's row weights
        w = w * member_w[rows][None]
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


def _objective(flat_np, ctx, data, rows, row, i, member_w=None):
    return _loss_and_grad(ctx, data, rows, flat_np, row, i, member_w)


def curve_recorder(curve: list, best: dict, hooks=None, row=None):
    """An L-BFGS-B callback: appends each iteration's loss to ``curve`` and keeps
    the iterate in ``best`` (what an interrupted fit keeps).

    With ``hooks = (begin, end)``, each iteration also ends a task of
    scikit-learn's callbacks (``end(row, loss, n_iter)``, the iterate copied into
    ``row``) and begins the next; an ``end`` that returns True stops L-BFGS-B.
    """

    def record(intermediate_result):
        curve.append(float(intermediate_result.fun))
        best["x"] = np.array(intermediate_result.x, copy=True)
        best["fun"] = float(intermediate_result.fun)
        if hooks is not None:
            begin, end = hooks
            row.copy_(torch.from_numpy(best["x"]).view_as(row))
            if end(row, best["fun"], len(curve)):
                best["stopped"] = True
                raise StopIteration
            begin()

    return record


def fit(cfg, ctx, data, members, params, hooks=None) -> LbfgsResult:
    """Optimise every row of ``params`` in place; returns per-model results.

    ``hooks``: see :func:`curve_recorder`.
    """
    if ctx.alpha_l1 is not None:
        raise ValueError(
            "solver='lbfgs' needs a smooth objective, but penalty='l1'/'elasticnet' is "
            "not differentiable at 0. Use penalty='l2' or a stochastic solver."
        )
    est = cfg.est
    k = params.shape[0]
    res = LbfgsResult(np.zeros(k, np.int64), np.zeros(k), np.zeros(k, bool), [])
    for i in range(k):
        rows = torch.as_tensor(members.train[i], device=params.device)
        member_w = None
        if members.weights is not None:
            member_w = torch.as_tensor(members.weights[i]).to(params.device, data.w.dtype)
        row = params[i : i + 1].clone()
        curve: list[float] = []
        best = {"x": params[i].double().cpu().numpy(), "fun": np.inf}
        if hooks is not None and i == 0:
            # later models start in the task the previous one's last iteration opened
            hooks[0]()
        try:
            opt = scipy.optimize.minimize(
                _objective,
                best["x"].copy(),
                args=(ctx, data, rows, row, i, member_w),
                method="L-BFGS-B",
                jac=True,
                options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol},
                callback=curve_recorder(curve, best, hooks, row.clone().cpu()),
            )
        except KeyboardInterrupt:
            # keep the last completed iteration (or the start) and stop the whole fit
            params[i] = torch.from_numpy(best["x"]).to(params.dtype)
            res.n_iter[i], res.loss[i] = len(curve), best["fun"] if curve else np.nan
            res.curves.append(curve)
            res.curves += [[] for _ in range(i + 1, k)]
            res.loss[i + 1 :] = np.nan
            res.interrupted = True
            return res
        params[i] = torch.from_numpy(opt.x).to(params.dtype)
        res.n_iter[i] = opt.nit
        res.loss[i] = opt.fun
        res.converged[i] = opt.status == 0
        res.curves.append(curve)
        if best.get("stopped"):
            res.stopped = True
            res.n_iter[i + 1 :], res.loss[i + 1 :] = 0, np.nan
            res.curves += [[] for _ in range(i + 1, k)]
            return res
    return res
