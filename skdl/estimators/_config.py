"""Resolve an estimator's parameters: device, dtype, structure, the rules between them.

:class:`FitConfig` resolves everything structural (layer sizes, loss, dtype,
schedule, dropout per layer); :mod:`skdl.estimators._spec` turns it and the
per-model values into the engine's spec. Cross-parameter and data-dependent
rules live in :meth:`FitConfig.check_data`, called by ``fit``.
"""

from __future__ import annotations

import math
import os
import warnings
import weakref
from dataclasses import dataclass
from numbers import Real

import numpy as np
import torch

from ..nn.mlp import Layout
from ..optim import resolve_schedule
from ..optim.schedules import uses_decay_rate
from ..training.amp import low_dtype
from . import _ensemble
from ._params import MAX_DEPTH, MAX_UNITS


def resolve_device(device) -> torch.device:
    """``'auto'`` picks CUDA, then MPS, then the CPU; anything else goes to torch.

    A ``torch.device`` gets the same checks as its string.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"The 'device' parameter must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'. "
            f"Got {device!r} instead."
        ) from exc
    mps = getattr(torch.backends, "mps", None)
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": mps is not None and mps.is_available(),
    }
    if not available.get(dev.type, False):
        raise ValueError(
            f"device={device!r} was requested but it is not available on this machine "
            "(skdl trains on 'cpu', 'cuda' or 'mps'). Use device='auto' or device='cpu'."
        )
    return dev


_WARNED_FALLBACK: weakref.WeakSet = weakref.WeakSet()
"""Estimators already warned that they predict on the CPU (one warning each,
without writing to the estimator during predict)."""


def prediction_device(device, owner=None) -> torch.device:
    """The device to predict on: the training ``device`` if this machine has it, else
    the CPU, with one warning per ``owner`` (a model trained on a GPU predicts on a
    CPU-only machine)."""
    try:
        return resolve_device(device)
    except ValueError:
        if owner is not None:
            if owner in _WARNED_FALLBACK:
                return torch.device("cpu")
            _WARNED_FALLBACK.add(owner)
        warnings.warn(
            f"This model was set to device={str(device)!r}, which this machine does not "
            "have; predicting on the CPU instead. Set device='cpu' (or 'auto') to "
            "silence this warning.",
            UserWarning,
            stacklevel=4,
        )
        return torch.device("cpu")


def resolve_dtype(dtype, x_dtype, device, precision=None) -> torch.dtype:
    """The training dtype of ``dtype``: 'auto' is X's dtype on the CPU (float32 or
    float64, as scikit-learn), float32 on an accelerator or under mixed
    ``precision``; 'float32'/'float64' as named.

    On a GPU, float64 arithmetic runs at 1/2 to 1/64 of float32's rate (and MPS has
    no float64), so 'auto' trains float64 data in float32 there.
    """
    if dtype == "float64":
        return torch.float64
    if dtype == "float32" or precision is not None:
        return torch.float32
    if torch.device(device).type == "cpu" and np.dtype(x_dtype) == np.float64:
        return torch.float64
    return torch.float32


def hidden_sizes(est) -> tuple[int, ...]:
    """Hidden layer sizes from ``hidden_layer_sizes``, overridden by ``depth``/``width``."""
    sizes = est.hidden_layer_sizes
    # no np.ndim here: it raises numpy's own error on ragged nested lists
    sizes = [sizes] if isinstance(sizes, Real) else list(sizes)
    # math.isfinite, not np.isfinite: numpy has no ufunc for ints beyond int64
    if not all(
        isinstance(s, Real)
        and not isinstance(s, bool)
        and math.isfinite(s)
        and int(s) == s
        and 0 < s <= MAX_UNITS
        for s in sizes
    ):
        raise ValueError(
            "hidden_layer_sizes must be positive integers (units per hidden layer) of at "
            f"most {MAX_UNITS}, got {est.hidden_layer_sizes!r}."
        )
    if len(sizes) > MAX_DEPTH:
        raise ValueError(
            f"hidden_layer_sizes has {len(sizes)} hidden layers; at most {MAX_DEPTH} are supported."
        )
    sizes = [int(s) for s in sizes]
    if est.depth is None and est.width is None:
        return tuple(sizes)
    depth = len(sizes) if est.depth is None else int(est.depth)
    width = est.width if est.width is not None else (sizes[0] if sizes else 100)
    return (int(width),) * depth


@dataclass
class FitConfig:
    """Everything structural about one fit, resolved from the estimator."""

    units: tuple[int, ...]
    layout: Layout
    loss: str
    loss_param: float
    torch_dtype: torch.dtype
    precision: str | None  # mixed precision: 'bf16', 'fp16' or None
    schedule: object
    dropout: tuple[float, ...]
    alpha_l2: float
    alpha_l1: float
    solver: str
    batch_size_param: int | str  # the estimator's ``batch_size``

    @classmethod
    def from_estimator(cls, est, n_features, n_outputs, torch_dtype=None) -> FitConfig:
        """``torch_dtype`` is the resolved training dtype (:func:`resolve_dtype`);
        None resolves ``est.dtype`` for float32 data on the CPU."""
        if torch_dtype is None:
            torch_dtype = resolve_dtype(est.dtype, np.float32, "cpu")
        hidden = hidden_sizes(est)
        units = (n_features, *hidden, n_outputs)
        dropout = cls.dropout_of(est, len(hidden))
        alpha_l2, alpha_l1 = penalty_split(est)
        return cls(
            units=units,
            layout=Layout(units),
            loss=est._loss_name(),
            loss_param=float(getattr(est, "huber_delta", 1.0)),
            torch_dtype=torch_dtype,
            precision=est.precision,
            schedule=cls.schedule_of(est),
            dropout=dropout,
            alpha_l2=alpha_l2,
            alpha_l1=alpha_l1,
            solver=est.solver,
            batch_size_param=est.batch_size,
        )

    @staticmethod
    def dropout_of(est, n_hidden: int) -> tuple[float, ...]:
        """One dropout probability per hidden layer."""
        dropout = est.dropout
        if isinstance(dropout, Real) and not isinstance(dropout, bool):
            return (float(dropout),) * n_hidden
        ok = isinstance(dropout, (list, tuple, np.ndarray)) and all(
            isinstance(d, Real) and not isinstance(d, bool) for d in dropout
        )
        dropout = tuple(float(d) for d in dropout) if ok else ()
        if not ok or len(dropout) != n_hidden or any(not 0 <= d < 1 for d in dropout):
            raise ValueError(
                f"dropout={est.dropout!r} must be a float in [0, 1) or one such value "
                f"per hidden layer ({n_hidden} here)."
            )
        return dropout

    @staticmethod
    def schedule_of(est, start: int = 0):
        """The schedule object of ``learning_rate`` (with ``power_t``, ``decay_rate``;
        'cosine' by name anneals over ``max_iter`` epochs).

        ``start``: the epoch a warm-start ``fit`` begins at. 'cosine' by name
        then restarts there and anneals over this fit's ``max_iter`` epochs (a
        warm restart, as SGDR, Loshchilov & Hutter 2017), where the epochs past
        the first fit's horizon would all run at ``lr=0``. Other schedules and
        schedule objects go on counting epochs from the first fit.
        """
        schedule = resolve_schedule(
            est.learning_rate,
            power_t=est.power_t,
            decay_rate=est.decay_rate,
            max_iter=est.max_iter,
        )
        if start and isinstance(est.learning_rate, str) and est.learning_rate == "cosine":
            return RestartedSchedule(schedule, start)
        return schedule

    @property
    def low_dtype(self) -> torch.dtype | None:
        """The dtype of the training matmuls under ``precision`` (None: ``dtype``'s)."""
        return low_dtype(self.precision)

    def check_data(self, est, n_samples, incremental, warned=None, knobs=True) -> None:
        """Rules that involve several parameters or the data.

        ``knobs``: warn about parameters that others override (False: a
        ``partial_fit`` or warm start continuing a fit that already warned);
        ``warned``: a set of the warnings already given in this fit (a stack
        of many estimators warns once about each); None warns regardless.
        """
        if est.solver == "lbfgs" and any(d > 0 for d in self.dropout):
            raise ValueError(
                f"dropout={est.dropout!r} is not supported with solver='lbfgs': L-BFGS "
                "minimises one deterministic loss (its line searches compare losses of "
                "the same objective), so dropout masks would have no effect. Use "
                "dropout=0.0 with solver='lbfgs', or a stochastic solver (e.g. "
                "solver='adam') to train with dropout."
            )
        for message in ignored_knobs(est) if knobs else ():
            if warned is None or message not in warned:
                warnings.warn(message, UserWarning, stacklevel=5)
                if warned is not None:
                    warned.add(message)
        if est.precision is not None and est.dtype == "float64":
            raise ValueError(
                f"precision={est.precision!r} trains with float32 master weights and "
                f"{est.precision} matrix products, so it needs dtype='float32'; got "
                f"dtype={est.dtype!r}. Set dtype='float32', or precision=None to train "
                f"in {est.dtype}."
            )
        if est.precision is not None and est.solver == "lbfgs":
            raise ValueError(
                f"precision={est.precision!r} is not supported with solver='lbfgs': the "
                "line searches of L-BFGS need full-precision losses and gradients. Use "
                "precision=None with 'lbfgs', or a stochastic solver (e.g. solver='adam')."
            )
        if est.solver == "lbfgs" and penalty_split(est)[1] != 0:
            raise ValueError(
                "solver='lbfgs' needs a smooth objective, but penalty='l1'/'elasticnet' is "
                "not differentiable at 0. Use penalty='l2' or a stochastic solver."
            )
        _ensemble.check_params(est)  # ensemble, bootstrap, max_samples, oob_score (issue 16)
        if est.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if est.early_stopping and est.validation_fraction == 0:
            raise ValueError(
                "early_stopping=True needs a validation split, but validation_fraction=0.0. "
                "Set validation_fraction in (0, 1) or early_stopping=False."
            )
        if est.batch_size != "auto" and est.batch_size > n_samples and est.solver != "lbfgs":
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going "
                "to be clipped",
                UserWarning,
                stacklevel=5,
            )

    def batch_size(self, n_samples: int) -> int:
        bs = self.batch_size_param
        return min(200, n_samples) if bs == "auto" else int(np.clip(bs, 1, n_samples))


class RestartedSchedule:
    """``schedule`` started anew at epoch ``start``: its multiplier at ``epoch`` is
    ``schedule(epoch - start)``. The training loop's view of a warm-start fit's
    'cosine' (:meth:`FitConfig.schedule_of`)."""

    def __init__(self, schedule, start: int) -> None:
        self.schedule = schedule
        self.start = int(start)
        self.is_adaptive = schedule.is_adaptive

    def __call__(self, epoch, n_samples_per_epoch: int = 1):
        return self.schedule(np.maximum(np.asarray(epoch) - self.start, 0), n_samples_per_epoch)

    def on_plateau(self, lr, scale=1.0):
        return self.schedule.on_plateau(lr, scale)

    def __repr__(self) -> str:
        return f"RestartedSchedule({self.schedule!r}, start={self.start})"


def ignored_knobs(est) -> list[str]:
    """Warnings about parameters that this estimator's other parameters override."""
    messages = []
    if est.decay_rate is not None and not uses_decay_rate(est.learning_rate):
        if isinstance(est.learning_rate, str):
            why = (
                f"learning_rate={est.learning_rate!r} has no decay rate (only "
                "'inverse_time', 'exponential' and 'step' read it)"
            )
        else:
            why = (
                f"learning_rate={est.learning_rate!r} is a schedule object, whose own "
                "parameters win (set decay_rate on the object instead)"
            )
        messages.append(
            f"decay_rate={est.decay_rate!r} is ignored: {why}. Leave decay_rate=None to "
            "silence this warning."
        )
    given = [f"{n}={getattr(est, n)!r}" for n in ("depth", "width") if getattr(est, n) is not None]
    sizes = est.hidden_layer_sizes
    sizes = [sizes] if isinstance(sizes, Real) else list(sizes)
    if given and sizes != [100]:
        messages.append(
            f"{' and '.join(given)} {'win' if len(given) > 1 else 'wins'} over "
            f"hidden_layer_sizes={est.hidden_layer_sizes!r}: the hidden layers are "
            f"{hidden_sizes(est)}. Give either depth/width or hidden_layer_sizes to "
            "silence this warning."
        )
    return messages


def penalty_split(est) -> tuple[float, float]:
    """``(alpha_l2, alpha_l1)`` of one estimator's ``alpha``, ``penalty`` and ``l1_ratio``."""
    if est.penalty is None:
        return 0.0, 0.0
    l1 = {"l1": 1.0, "elasticnet": float(est.l1_ratio), "l2": 0.0}[est.penalty]
    return float(est.alpha) * (1.0 - l1), float(est.alpha) * l1


# How a solver reads the estimator's ``learning_rate_init`` and ``epsilon``,
# whose defaults (0.001, 1e-8) are scikit-learn's, i.e. Adam's. Adadelta's
# ``lr`` is not a step size but a multiplier of its unit-free step (torch's
# default lr=1.0, eps=1e-6): read at Adam's values it barely moves (scaled
# breast_cancer: train accuracy 0.63 after 200 epochs, the majority share). So
# Adadelta reads both relative to their defaults: lr = learning_rate_init /
# 0.001 * 1.0 and eps = epsilon / 1e-8 * 1e-6, torch's values at skdl's
# defaults. Every other solver reads them as they are.
SOLVER_SCALES: dict[str, tuple[float, float]] = {"adadelta": (1.0 / 1e-3, 1e-6 / 1e-8)}
"""``solver -> (learning_rate_init factor, epsilon factor)``; 1 where absent."""


def solver_learning_rate(est) -> float:
    """The learning rate ``est``'s solver runs at: ``learning_rate_init`` x its factor."""
    return float(est.learning_rate_init) * SOLVER_SCALES.get(est.solver, (1.0, 1.0))[0]


def solver_epsilon(est) -> float:
    """The epsilon ``est``'s solver runs at: ``epsilon`` x its factor."""
    return float(est.epsilon) * SOLVER_SCALES.get(est.solver, (1.0, 1.0))[1]


class FitTooLargeError(MemoryError, ValueError):
    """A fit whose estimated memory exceeds the machine's (a ``MemoryError`` and a
    ``ValueError``: the parameters are valid, their product is not)."""


_OPTIMIZER_COPIES = {"sgd": 1, "adam": 2, "amsgrad": 3, "adamw": 2, "rmsprop": 1, "adagrad": 1}
"""``[K, P]`` state buffers of each solver (2 for those not listed)."""

_LBFGS_HISTORY = 10  # scipy's L-BFGS-B default ``maxcor``


def fit_memory_bytes(cfg: FitConfig, n_models: int, n_rows: int, batch: int) -> int:
    """A lower estimate of the memory of training ``n_models`` networks of
    ``cfg.units`` on ``n_rows`` rows, in bytes (Python ints: never overflows).

    The weights, their gradients, the scratch and optimizer buffers (``[K, P]``
    each), the activations of one batch (kept for backprop), the per-epoch row
    indices and the training data in the training dtype.
    """
    item = torch.empty((), dtype=cfg.torch_dtype).element_size()
    n_params = cfg.layout.n_params
    units = sum(cfg.units[1:])
    data = n_rows * (cfg.units[0] + cfg.units[-1] + 1) * item
    if cfg.solver == "lbfgs":
        # the models are optimised one at a time, on all their rows at once, and
        # scipy keeps ``maxcor`` float64 pairs of vectors for the one running
        stack = n_models * n_params * item
        one = n_params * (2 * item + (2 * _LBFGS_HISTORY + 4) * 8) + 3 * n_rows * units * item
        return stack + one + data
    copies = 3 + _OPTIMIZER_COPIES.get(cfg.solver, 2)  # weights, gradients, scratch
    weights = copies * n_models * n_params * item
    activations = 3 * n_models * batch * units * item
    indices = 3 * n_models * n_rows * 8
    return weights + activations + indices + data


def memory_limit(device) -> int | None:
    """Bytes the fit may use on ``device``: the accelerator's total memory, else
    the machine's physical memory (None when it cannot be told)."""
    device = torch.device(device)
    if device.type == "cuda":
        try:
            return int(torch.cuda.mem_get_info(device)[1])
        except (RuntimeError, AssertionError):
            return None
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows) or no such name
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def check_fit_memory(est, cfg: FitConfig, n_models: int, n_rows: int, batch: int, device):
    """Refuse a fit whose :func:`fit_memory_bytes` exceeds :func:`memory_limit`,
    naming the parameters that size it, before anything is allocated."""
    limit = memory_limit(device)
    need = fit_memory_bytes(cfg, n_models, n_rows, batch)
    if limit is None or need <= limit:
        return
    n_params = cfg.layout.n_params
    hidden = cfg.units[1:-1]
    layers = f"{hidden!r}" if len(hidden) <= 8 else f"{len(hidden)} layers of up to {max(hidden)}"
    raise FitTooLargeError(
        f"This fit of {type(est).__name__} needs about {_gib(need)} of memory, more than "
        f"the {_gib(limit)} of device={str(torch.device(device))!r}: {n_models} model(s) "
        f"(n_init={est.n_init}) of {n_params:,} parameters each (hidden layers {layers} "
        f"from hidden_layer_sizes={est.hidden_layer_sizes!r}, depth={est.depth!r}, "
        f"width={est.width!r}), {n_rows:,} rows, batch_size {batch}, "
        f"{str(cfg.torch_dtype).removeprefix('torch.')}. Lower n_init or the network size "
        "(hidden_layer_sizes, depth, width)."
    )
