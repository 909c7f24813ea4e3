"""Vectorized torch.optim algorithms over a stack of K models.

Each class reproduces one ``torch.optim`` optimizer row by row (``maximize=False``,
``dampening=0``, no coupled weight decay: the training engine adds L2/L1
penalties to the gradient itself). Hyperparameters are ``[K, 1]`` columns, so
every model of the stack may have its own. ``step`` is a few whole-tensor
in-place ops on ``[K, P]`` with preallocated scratch buffers; where torch
branches on a value (RAdam's rectification) the branch is a ``torch.where``, so
no step ever synchronises with the device.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._base import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent with (Nesterov) momentum, K models at once.

    Reproduces ``torch.optim.SGD(lr, momentum, nesterov=nesterov)`` for each row.
    A model with momentum 0 takes plain SGD steps, with or without
    ``nesterov=True`` (torch refuses that combination; the update it would
    mean, ``grad + 0 * buf``, is plain SGD).

    Reads the hyperparameter ``"momentum"``. See :class:`Optimizer` for the
    parameters.
    """

    name = "sgd"
    hyperparameters = ("momentum",)

    def _buffers(self) -> tuple[str, ...]:
        return ("momentum_buffer",)

    def _setup(self) -> None:
        self._momentum = self._cast(self.hyper["momentum"])

    def _update(self, grad: Tensor, lr: Tensor) -> None:
        self.state["step"].add_(1)
        # torch starts the buffer at grad; 0 * momentum + grad is the same value.
        buf = self.state["momentum_buffer"].mul_(self._momentum).add_(grad)
        direction = buf
        if self.nesterov:
            direction = torch.addcmul(grad, buf, self._momentum, out=self._scratch[0])
        self.params.addcmul_(direction, self._cast(-lr))


class Adam(Optimizer):
    """Adam (optionally AMSGrad), K models at once.

    Reproduces ``torch.optim.Adam(lr, betas=(beta_1, beta_2), eps=epsilon,
    amsgrad=amsgrad)`` for each row; bias corrections use each model's own
    step count.

    Reads the hyperparameters ``"beta_1"``, ``"beta_2"`` and ``"epsilon"``.
    See :class:`Optimizer` for the parameters.
    """

    name = "adam"
    hyperparameters: tuple[str, ...] = ("beta_1", "beta_2", "epsilon")

    def _buffers(self) -> tuple[str, ...]:
        names = ("exp_avg", "exp_avg_sq")
        return (*names, "max_exp_avg_sq") if self.amsgrad else names

    def _setup(self) -> None:
        _moment_factors(self)

    def _decay(self, lr: Tensor) -> None:
        """Decoupled weight decay; plain Adam has none."""

    def _update(self, grad: Tensor, lr: Tensor) -> None:
        step = self.state["step"].add_(1)
        self._decay(lr)
        _update_moments(self, grad)
        second = self.state["exp_avg_sq"]
        if self.amsgrad:
            best = self.state["max_exp_avg_sq"]
            second = torch.maximum(best, second, out=best)
        bias_1 = 1 - self.hyper["beta_1"] ** step
        bias_2_sqrt = (1 - self.hyper["beta_2"] ** step).sqrt()
        denom = torch.sqrt(second, out=self._scratch[0])
        denom.div_(self._cast(bias_2_sqrt)).add_(self._epsilon)
        ratio = torch.div(self.state["exp_avg"], denom, out=denom)
        self.params.addcmul_(ratio, self._cast(-lr / bias_1))

    def preconditioner(self) -> Tensor:
        """``1 / (sqrt(v_hat) + eps)``, the metric of the last step (AMSGrad: of
        the running maximum of ``v``)."""
        second = self.state["max_exp_avg_sq" if self.amsgrad else "exp_avg_sq"]
        bias_2_sqrt = (1 - self.hyper["beta_2"] ** self.state["step"]).sqrt()
        denom = torch.sqrt(second, out=self._scratch[0])
        return denom.div_(self._cast(bias_2_sqrt)).add_(self._epsilon).reciprocal_()


class AdamW(Adam):
    """Adam with decoupled weight decay (AdamW), K models at once.

    Reproduces ``torch.optim.AdamW(lr, betas=(beta_1, beta_2), eps=epsilon,
    weight_decay=weight_decay, amsgrad=amsgrad)`` for each row. The decay,
    ``params *= 1 - lr * weight_decay`` before the Adam step, applies only
    where ``decay_mask`` is 1 (weights), the equivalent of torch's two
    parameter groups with ``weight_decay=0`` for the biases.

    Reads the hyperparameters ``"beta_1"``, ``"beta_2"``, ``"epsilon"`` and
    ``"weight_decay"``. See :class:`Optimizer` for the parameters.
    """

    name = "adamw"
    hyperparameters = ("beta_1", "beta_2", "epsilon", "weight_decay")

    def _setup(self) -> None:
        super()._setup()
        self._one = torch.ones((), dtype=self.params.dtype, device=self.params.device)

    def _decay(self, lr: Tensor) -> None:
        factor = self._cast(1 - lr * self.hyper["weight_decay"])
        if self.decay_mask is not None:
            factor = torch.where(self.decay_mask, factor, self._one, out=self._scratch[0])
        self.params.mul_(factor)


class NAdam(Optimizer):
    """Adam with Nesterov momentum (NAdam), K models at once.

    Reproduces ``torch.optim.NAdam(lr, betas=(beta_1, beta_2), eps=epsilon)``
    with its default ``momentum_decay=4e-3`` for each row. The state keeps
    torch's per-model ``mu_product`` (shape (K, 1)).

    Reads the hyperparameters ``"beta_1"``, ``"beta_2"`` and ``"epsilon"``.
    See :class:`Optimizer` for the parameters.
    """

    name = "nadam"
    hyperparameters = ("beta_1", "beta_2", "epsilon")
    momentum_decay = 4e-3
    _n_scratch = 2

    def _buffers(self) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq")

    def _setup(self) -> None:
        _moment_factors(self)
        self.state["mu_product"] = self._zeros_column().add_(1)

    def _update(self, grad: Tensor, lr: Tensor) -> None:
        step = self.state["step"].add_(1)
        beta_1 = self.hyper["beta_1"]
        bias_2 = 1 - self.hyper["beta_2"] ** step
        # The momentum cache mu_t and mu_{t+1} of Dozat (2016), as in torch.
        mu = beta_1 * (1.0 - 0.5 * 0.96 ** (step * self.momentum_decay))
        mu_next = beta_1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * self.momentum_decay))
        mu_product = self.state["mu_product"].mul_(mu)
        _update_moments(self, grad)
        denom = torch.div(self.state["exp_avg_sq"], self._cast(bias_2), out=self._scratch[0])
        denom.sqrt_().add_(self._epsilon)
        grad_scale = -lr * (1.0 - mu) / (1.0 - mu_product)
        avg_scale = -lr * mu_next / (1.0 - mu_product * mu_next)
        update = self._scratch[1]
        for tensor, scale in ((grad, grad_scale), (self.state["exp_avg"], avg_scale)):
            torch.mul(tensor, self._cast(scale), out=update)
            self.params.add_(update.div_(denom))

    def preconditioner(self) -> Tensor:
        """``1 / (sqrt(v_hat) + eps)``, the metric of the last step."""
        bias_2 = 1 - self.hyper["beta_2"] ** self.state["step"]
        denom = torch.div(self.state["exp_avg_sq"], self._cast(bias_2), out=self._scratch[0])
        return denom.sqrt_().add_(self._epsilon).reciprocal_()


class RAdam(Optimizer):
    """Rectified Adam (RAdam), K models at once.

    Reproduces ``torch.optim.RAdam(lr, betas=(beta_1, beta_2), eps=epsilon)``
    for each row. While a model's SMA length ``rho_t`` is at most 5 it takes
    an un-adapted momentum step, as in torch; the choice is a ``torch.where``
    per model.

    Reads the hyperparameters ``"beta_1"``, ``"beta_2"`` and ``"epsilon"``.
    See :class:`Optimizer` for the parameters.
    """

    name = "radam"
    hyperparameters = ("beta_1", "beta_2", "epsilon")
    _n_scratch = 2

    def _buffers(self) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq")

    def _setup(self) -> None:
        _moment_factors(self)
        self._rho_inf = 2 / (1 - self.hyper["beta_2"]) - 1

    def _rectification(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(rect, rectified, bias_2)`` of the current step count, ``[K, 1]`` each."""
        step = self.state["step"]
        beta_2_power = self.hyper["beta_2"] ** step
        bias_2 = 1 - beta_2_power
        rho_inf = self._rho_inf
        rho_t = rho_inf - 2 * step * beta_2_power / bias_2
        rect = (
            (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        ) ** 0.5
        rectified = rho_t > 5.0
        return torch.where(rectified, rect, 1.0), rectified, bias_2

    def _adaptive(self, rectified: Tensor, bias_2: Tensor) -> Tensor:
        """``sqrt(bias_2) / (sqrt(v) + eps)`` where rectified, else 1 (first scratch)."""
        adaptive = torch.sqrt(self.state["exp_avg_sq"], out=self._scratch[0])
        adaptive.add_(self._epsilon)
        torch.div(self._cast(bias_2**0.5), adaptive, out=adaptive)
        return adaptive.masked_fill_(~rectified, 1.0)

    def _update(self, grad: Tensor, lr: Tensor) -> None:
        step = self.state["step"].add_(1)
        bias_1 = 1 - self.hyper["beta_1"] ** step
        _update_moments(self, grad)
        rect, rectified, bias_2 = self._rectification()
        adaptive = self._adaptive(rectified, bias_2)
        update = torch.div(self.state["exp_avg"], self._cast(bias_1), out=self._scratch[1])
        update.mul_(self._cast(lr)).mul_(adaptive).mul_(self._cast(rect))
        self.params.sub_(update)

    def preconditioner(self) -> Tensor:
        """``rect * sqrt(bias_2) / (sqrt(v) + eps)`` once rectified, 1 before (the
        un-adapted momentum steps): the per-weight factor of the last step's ``lr``."""
        rect, rectified, bias_2 = self._rectification()
        return self._adaptive(rectified, bias_2).mul_(self._cast(rect))


class RMSprop(Optimizer):
    """RMSprop, K models at once.

    Reproduces ``torch.optim.RMSprop(lr, alpha=beta_2, eps=epsilon)`` (no
    momentum, not centered) for each row. skdl uses ``beta_2``, the decay of
    the squared-gradient average in Adam, as RMSprop's smoothing constant
    ``alpha``: it plays the same role.

    Reads the hyperparameters ``"beta_2"`` and ``"epsilon"``. See
    :class:`Optimizer` for the parameters.
    """

    name = "rmsprop"
    hyperparameters = ("beta_2", "epsilon")

    def _buffers(self) -> tuple[str, ...]:
        return ("square_avg",)

    def _setup(self) -> None:
        _moment_factors(self)

    def _update(self, grad: Tensor, lr: Tensor) -> None:
        self.state["step"].add_(1)
        square_avg = _update_square_avg(self, self.state["square_avg"], grad)
        avg = torch.sqrt(square_avg, out=self._scratch[0]).add_(self._epsilon)
        self.params.addcmul_(torch.div(grad, avg, out=avg), self._cast(-lr))

    def preconditioner(self) -> Tensor:
        """``1 / (sqrt(square_avg) + eps)``, the metric of the last step."""
        avg = torch.sqrt(self.state["square_avg"], out=self._scratch[0])
        return avg.add_(self._epsilon).reciprocal_()


class Adagrad(Optimizer):
    """Adagrad, K models at once.

    Reproduces ``torch.optim.Adagrad(lr, eps=epsilon)`` (``lr_decay=0``,
    ``initial_accumulator_value=0``) for each row.

    Reads the hyperparameter ``"epsilon"``. See :class:`Optimizer` for the
    parameters.
    """

    name = "adagrad"
    hyperparameters = ("epsilon",)

    def _buffers(self) -> tuple[str, ...]:
        return ("sum",)

    def _setup(self) -> None:
        self._epsilon = self._cast(self.hyper["epsilon"])

    def _update(self, grad: Tensor, lr: Tensor) -> None:
        self.state["step"].add_(1)
        total = self.state["sum"].addcmul_(grad, grad)
        std = torch.sqrt(total, out=self._scratch[0]).add_(self._epsilon)
        self.params.addcmul_(torch.div(grad, std, out=std), self._cast(-lr))

    def preconditioner(self) -> Tensor:
        """``1 / (sqrt(sum) + eps)``, the metric of the last step."""
        std = torch.sqrt(self.state["sum"], out=self._scratch[0])
        return std.add_(self._epsilon).reciprocal_()


class Adadelta(Optimizer):
    """Adadelta, K models at once.

    Reproduces ``torch.optim.Adadelta(lr, rho=beta_2, eps=epsilon)`` for each
    row. As in torch, ``lr`` multiplies the update (torch's default is 1.0;
    skdl passes the estimator's learning rate). ``beta_2`` is used as the decay
    ``rho`` of both running averages.

    Reads the hyperparameters ``"beta_2"`` and ``"epsilon"``. See
    :class:`Optimizer` for the parameters.
    """

    name = "adadelta"
    hyperparameters = ("beta_2", "epsilon")
    _n_scratch = 3

    def _buffers(self) -> tuple[str, ...]:
        return ("square_avg", "acc_delta")

    def _setup(self) -> None:
        _moment_factors(self)

    def _update(self, grad: Tensor, lr: Tensor) -> None:
        self.state["step"].add_(1)
        square_avg = _update_square_avg(self, self.state["square_avg"], grad)
        std = torch.add(square_avg, self._epsilon, out=self._scratch[0]).sqrt_()
        acc_delta = self.state["acc_delta"]
        # the per-weight ratio stays in the second scratch buffer: the
        # preconditioner of this step (acc_delta changes below)
        ratio = torch.add(acc_delta, self._epsilon, out=self._scratch[1]).sqrt_()
        ratio.div_(std)
        delta = torch.mul(ratio, grad, out=self._scratch[2])
        _update_square_avg(self, acc_delta, delta)
        self.params.addcmul_(delta, self._cast(-lr))

    def preconditioner(self) -> Tensor:
        """``sqrt(acc_delta + eps) / sqrt(square_avg + eps)`` as the last step used it
        (``acc_delta`` before that step's update)."""
        return self._scratch[1]


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm), K models at once.

    Reproduces ``torch.optim.Adamax(lr, betas=(beta_1, beta_2), eps=epsilon)``
    for each row.

    Reads the hyperparameters ``"beta_1"``, ``"beta_2"`` and ``"epsilon"``.
    See :class:`Optimizer` for the parameters.
    """

    name = "adamax"
    hyperparameters = ("beta_1", "beta_2", "epsilon")

    def _buffers(self) -> tuple[str, ...]:
        return ("exp_avg", "exp_inf")

    def _setup(self) -> None:
        _moment_factors(self)

    def _update(self, grad: Tensor, lr: Tensor) -> None:
        step = self.state["step"].add_(1)
        self.state["exp_avg"].lerp_(grad, self._weight_1)
        exp_inf = self.state["exp_inf"].mul_(self._beta_2)
        norm = torch.abs(grad, out=self._scratch[0]).add_(self._epsilon)
        torch.maximum(exp_inf, norm, out=exp_inf)
        step_size = lr / (1 - self.hyper["beta_1"] ** step)
        ratio = torch.div(self.state["exp_avg"], exp_inf, out=self._scratch[0])
        self.params.addcmul_(ratio, self._cast(-step_size))

    def preconditioner(self) -> Tensor:
        """``1 / u``, the infinity-norm metric of the last step (``u >= eps``)."""
        return torch.reciprocal(self.state["exp_inf"], out=self._scratch[0])


def _moment_factors(opt: Optimizer) -> None:
    """Cache the constant ``[K, 1]`` factors of the moment updates (params dtype)."""
    hyper = opt.hyper
    if "beta_1" in hyper:
        opt._weight_1 = opt._cast(1 - hyper["beta_1"])
    if "beta_2" in hyper:
        opt._beta_2 = opt._cast(hyper["beta_2"])
        opt._weight_2 = opt._cast(1 - hyper["beta_2"])
    opt._epsilon = opt._cast(hyper["epsilon"])


def _update_square_avg(opt: Optimizer, average: Tensor, value: Tensor) -> Tensor:
    """``average = beta_2 * average + (1 - beta_2) * value**2``, in place.

    torch writes ``mul_(beta_2).addcmul_(value, value, value=1 - beta_2)``;
    ``addcmul_`` takes only a Python scalar, so the per-model factor goes into
    one operand through the first scratch buffer.
    """
    scaled = torch.mul(value, opt._weight_2, out=opt._scratch[0])
    return average.mul_(opt._beta_2).addcmul_(value, scaled)


def _update_moments(opt: Optimizer, grad: Tensor) -> None:
    """Adam's first and second moment updates (uses the first scratch buffer)."""
    opt.state["exp_avg"].lerp_(grad, opt._weight_1)
    _update_square_avg(opt, opt.state["exp_avg_sq"], grad)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Adam, AdamW, NAdam, RAdam, RMSprop, Adagrad, Adadelta, Adamax)
}
