"""One training step and one evaluation pass over a stack of K models.

Nothing here reads a value back to the host: losses are accumulated on the
device and read once per epoch by the loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..nn.activations import Activation
from ..nn.losses import Loss
from ..nn.mlp import DropoutNoise, Layout, Workspace, backward, forward, forward_train
from .amp import LossScaledOptimizer
from .data import take


@dataclass
class StepContext:
    """Everything a training step needs that stays fixed during a fit."""

    layout: Layout
    act: Activation
    act_param: Tensor | None  # [K, 1, 1]
    loss: Loss
    loss_param: float
    keep: list[Tensor | None]  # per hidden layer: [K, 1, 1] keep probability or None
    alpha_l2: Tensor | None  # [K, 1, 1]
    alpha_l1: Tensor | None  # [K, 1]
    weight_mask: Tensor | None  # [1, P], for the L1 proximal step
    noise: DropoutNoise | None  # dropout masks
    low: torch.dtype | None = None  # matmul dtype of mixed precision (``precision``), or None
    workspace: Workspace = field(default_factory=Workspace)  # the steps' reused intermediates
    _views: dict = field(default_factory=dict, repr=False)

    def views(self, flat: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """The per-layer weight and bias views of ``flat`` (the ``[K, P]``
        parameters or gradient), made once per tensor: a step asks for them
        four times, and slicing and viewing every layer anew is Python
        overhead of the order of a small model's arithmetic (the one-fit case
        of ``benchmarks/ab_step.py``)."""
        kept = self._views.get(id(flat))
        if kept is None or kept[0] is not flat:  # the tensor is held: its id stays its own
            kept = self._views[id(flat)] = (
                flat,
                self.layout.weights(flat),
                self.layout.biases(flat),
            )
        return kept[1], kept[2]


def train_step(ctx, params, grad, optimizer, x, y, w, lr, active, loss_acc) -> None:
    """Forward, backward and update on one batch; adds the batch loss into ``loss_acc``.

    ``x [K, B, F]``, ``y [K, B, O]``; ``w [K, B]`` per-row weights or None when
    every row weighs 1 (the fast path). ``loss_acc [K]`` accumulates the sum of
    per-row losses, scaled as scikit-learn does (``batch_loss * batch_len``).

    With ``ctx.low`` the matrix products run in that dtype (mixed precision);
    a :class:`~skdl.training.amp.LossScaledOptimizer` (fp16) gets the gradient of
    the loss times its per-model scale, and unscales it.
    """
    weights, biases = ctx.views(params)
    z, cache = forward_train(
        weights, biases, x, ctx.act, ctx.act_param, ctx.keep, ctx.noise, ctx.low, ctx.workspace
    )
    if ctx.noise is not None:
        ctx.noise.step += 1
    value, dz = ctx.loss.value_and_grad(z, y, ctx.loss_param)
    n_rows = x.shape[1]
    # scikit-learn adds penalty / batch_weight to each batch loss, at the weights
    # before the update; times batch_len that is the penalty itself when unweighted
    pen = None if ctx.weight_mask is None else penalty(ctx, params)
    if w is None:
        scale = 1.0 / n_rows
        loss_acc.add_(value.sum(1) if pen is None else value.sum(1) + pen)
        dz.mul_(scale)
        l2 = None if ctx.alpha_l2 is None else ctx.alpha_l2 * scale
    else:
        s = w.sum(1, keepdim=True)  # [K, 1]
        # 1/s, and 0 for a model with no rows in this batch (its rows are used
        # up: it sits the step out, so its penalty and L1 step must be 0 too)
        inv = torch.where(s > 0, 1.0 / s.clamp_min(torch.finfo(w.dtype).tiny), 0.0)
        w_scaled = w * inv
        loss_acc.add_((value * w_scaled).sum(1) * n_rows)
        if pen is not None:
            loss_acc.add_(pen * (n_rows * inv.view(-1)))
        dz.mul_(w_scaled.unsqueeze(-1))
        scale = inv.unsqueeze(-1)
        l2 = None if ctx.alpha_l2 is None else ctx.alpha_l2 * scale
    loss_scale = None
    if isinstance(optimizer, LossScaledOptimizer):  # fp16: scale the loss (dz, L2 term) up
        loss_scale = optimizer.scale.view(-1, 1, 1)
        dz.mul_(loss_scale)
        l2 = None if l2 is None else l2 * loss_scale
    grad_weights, grad_biases = ctx.views(grad)
    backward(
        weights,
        grad_weights,
        grad_biases,
        cache,
        dz,
        ctx.act,
        ctx.act_param,
        l2,
        ctx.workspace,
    )
    optimizer.step(grad, lr, active)
    if ctx.alpha_l1 is not None:
        # a step skipped for a non-finite fp16 gradient skips the L1 step too
        taken = None if loss_scale is None else optimizer.finite
        pre = optimizer.preconditioner()
        _l1_proximal(params, lr, ctx.alpha_l1, scale, ctx.weight_mask, taken, pre)


def _l1_proximal(params, lr, alpha_l1, scale, weight_mask, taken=None, precond=None):
    """Soft-threshold ``params`` in place after an optimizer step: the proximal
    operator of the L1 term, so weights reach exact zeros instead of oscillating
    around them (proximal gradient / ISTA; Beck & Teboulle 2009).

    The threshold is the step size times ``alpha_l1 * scale`` (``alpha / batch``,
    scikit-learn's scaling of the penalty). An adaptive optimizer steps
    ``params -= lr * D^-1 * direction`` with a per-weight diagonal metric ``D``
    (Adam: ``sqrt(v_hat) + eps``); the proximal step must be taken in that same
    metric, ``prox_{lr*g}^D``, which for the L1 norm is soft-thresholding at
    ``lr * alpha * scale * D^-1`` per weight: the preconditioned (scaled)
    proximal gradient method, as in "Proximal Adam" (Melchior, Joseph & Moolekamp
    2019, arXiv:1910.10094) and Yun, Lozano & Yang, "Adaptive proximal gradient
    methods for structured neural networks" (NeurIPS 2021). With the plain
    threshold ``lr * alpha * scale`` under Adam, whose steps are ``~lr``
    whatever the gradient's size, the shrinkage is ~1/|grad| times too small
    and L1 barely acts. ``precond`` is that ``D^-1``, ``[K, P]``
    (:meth:`skdl.optim.Optimizer.preconditioner`), or None for the identity
    (SGD: the plain threshold).
    """
    if isinstance(scale, Tensor):
        scale = scale.squeeze(-1)
    # the learning rate comes in the optimizer's float64; the [K, P] threshold
    # is computed in the parameters' dtype
    lr = torch.as_tensor(lr, device=params.device).to(params.dtype)
    thresh = (lr * alpha_l1 * scale) * weight_mask  # [K, P], 0 on biases
    if precond is not None:
        # 0 stays 0 (biases, a model with no rows in this batch) even where the
        # preconditioner is not finite (a model that has not stepped yet)
        thresh = torch.where(thresh > 0, thresh * precond, 0.0)
    if taken is not None:  # [K, 1] bool: the models that took their step
        # where, not a product: a model whose first step was skipped has Adam's
        # step count 0, so its preconditioner is 0/0 (NaN) and NaN * 0 is NaN
        thresh = torch.where(taken, thresh, 0.0)
    shrunk = params.abs().sub_(thresh).clamp_min_(0).mul_(params.sign())
    params.copy_(shrunk)


def penalty(ctx, params) -> Tensor:
    """Per-model penalty ``0.5*a2*||W||^2 + a1*||W||_1`` over weights only, ``[K]``.

    Reductions over each layer's weight columns of ``params``. The squares go
    through ``vector_norm``, which writes no ``[K, P]`` temporary, where
    square-then-sum writes one and a batched dot product (``bmm``) runs a
    matrix kernel for a reduction: a fresh ``[K, P]`` tensor in the training
    step costs more than the arithmetic (docs/engine.md, "Memory traffic").
    """
    cols = [params[:, a:b] for a, b, _ in ctx.layout.offsets]  # [K, n_in * n_out] views
    total = 0.0
    if ctx.alpha_l2 is not None:
        sq = sum(torch.linalg.vector_norm(c, dim=1).square() for c in cols)
        total = sq * ctx.alpha_l2.view(-1) * 0.5
    if ctx.alpha_l1 is not None:
        # abs-then-sum: two plain kernels, where vector_norm(ord=1) takes the
        # general p-norm path, several times slower on these columns
        l1 = sum(c.abs().sum(1) for c in cols)
        total = total + l1 * ctx.alpha_l1.view(-1)
    return total


@dataclass
class ValSet:
    """Per-model validation rows ``[K, v]``, their weights, and the constant
    parts of the score (the total sum of squares of the R^2 per output)."""

    rows: Tensor
    w: Tensor
    score_kind: str  # "multiclass", "binary" (also multilabel) or "r2"
    ss_tot: Tensor | None = None  # [K, O]

    @classmethod
    def build(cls, data, rows, valid, score_kind, model_w=None) -> ValSet:
        """``model_w [K, v]``: per-model weights of the rows (bagging), or None."""
        w = take(data.w, rows) * valid.to(data.w.dtype)
        if model_w is not None:
            w = w * model_w.to(w.dtype)
        ss_tot = None
        if score_kind == "r2":
            y, wy = take(data.Y, rows), w.unsqueeze(-1)
            mean = (wy * y).sum(1, keepdim=True) / wy.sum(1, keepdim=True)
            ss_tot = data.on_device((wy * (y - mean) ** 2).sum(1))
        # rows index the data (on the host when it is streamed); weights go to the device
        return cls(rows, data.on_device(w), score_kind, ss_tot)


@torch.inference_mode()
def evaluate(ctx, params, data, val, chunk_rows=16384) -> tuple[Tensor, Tensor]:
    """Validation loss and score (accuracy or R^2) per model, ``[K]`` each."""
    weights, biases = ctx.layout.weights(params), ctx.layout.biases(params)
    loss_sum, stat = 0.0, 0.0
    for i in range(0, val.rows.shape[1], chunk_rows):
        r, wc = val.rows[:, i : i + chunk_rows], val.w[:, i : i + chunk_rows]
        x, y = data.batch(r)
        z = forward(weights, biases, x, ctx.act, ctx.act_param)
        value, _ = ctx.loss.value_and_grad(z, y, ctx.loss_param)
        loss_sum = loss_sum + (value * wc).sum(1)
        if val.score_kind == "r2":
            stat = stat + (wc.unsqueeze(-1) * (y - ctx.loss.output(z)) ** 2).sum(1)
        else:
            if val.score_kind == "multiclass":
                correct = z.argmax(-1) == y.argmax(-1)
            else:  # binary and multilabel: every output right (subset accuracy)
                correct = ((z > 0) == (y > 0.5)).all(-1)
            stat = stat + (correct.to(wc.dtype) * wc).sum(1)
    wsum = val.w.sum(1).clamp_min(torch.finfo(val.w.dtype).tiny)
    if val.score_kind != "r2":
        return loss_sum / wsum, stat / wsum
    ss_tot = val.ss_tot
    # scikit-learn's force_finite: a constant target scores 1 if fitted exactly, else 0
    r2 = torch.where(
        ss_tot > 0,
        1 - stat / ss_tot.clamp_min(torch.finfo(ss_tot.dtype).tiny),
        (stat == 0).to(stat.dtype),
    )
    return loss_sum / wsum, r2.mean(-1)
