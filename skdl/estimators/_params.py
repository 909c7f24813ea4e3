"""Parameter constraints of the estimators, fed by the registries so they cannot drift."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch

from .._compat import HasMethods, Interval, Options, RealNotInt, StrOptions
from ..nn.activations import ACTIVATIONS
from ..nn.init import INIT_OPTIONS
from ..nn.losses import REGRESSION_LOSSES
from ..optim import OPTIMIZERS, SCHEDULES

SOLVERS = frozenset(OPTIMIZERS) | {"lbfgs", "amsgrad"}
"""Every ``solver``: the vectorized optimizers, 'amsgrad' (Adam with the AMSGrad
fix) and full-batch L-BFGS."""

STOCHASTIC_SOLVERS = SOLVERS - {"lbfgs"}

PENALTIES = {"l2", "l1", "elasticnet"}

MAX_UNITS = 2**31 - 1
"""The most units of one hidden layer (``hidden_layer_sizes``' entries, ``width``)."""
MAX_DEPTH = 10_000
"""The most hidden layers (``depth``, the length of ``hidden_layer_sizes``)."""
MAX_N_INIT = 1_000_000
"""The most restarts (``n_init``) of one fit."""

BASE_CONSTRAINTS: dict = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, MAX_UNITS, closed="both")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "solver": [StrOptions(set(SOLVERS))],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "learning_rate": [StrOptions(set(SCHEDULES)), HasMethods(["__call__", "get_params"])],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "power_t": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
    "tol": [Interval(Real, 0, None, closed="left")],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "momentum": [Interval(Real, 0, 1, closed="both")],
    "nesterovs_momentum": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "epsilon": [Interval(Real, 0, None, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    # skdl's extensions
    "depth": [Interval(Integral, 0, MAX_DEPTH, closed="both"), None],
    "width": [Interval(Integral, 1, MAX_UNITS, closed="both"), None],
    "activation_param": [Interval(Real, 0, None, closed="left"), None],
    "init": [StrOptions(set(INIT_OPTIONS))],
    "penalty": [StrOptions(PENALTIES), None],
    "l1_ratio": [Interval(Real, 0, 1, closed="both")],
    "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
    "early_stopping_metric": [StrOptions({"score", "loss"})],
    "decay_rate": [Interval(Real, 0, None, closed="neither"), None],
    "n_init": [Interval(Integral, 1, MAX_N_INIT, closed="both")],
    "ensemble": ["boolean"],
    "bootstrap": ["boolean"],
    "max_samples": [
        None,
        Interval(Integral, 1, None, closed="left"),
        Interval(RealNotInt, 0, 1, closed="right"),
    ],
    "oob_score": ["boolean"],
    "device": [str, torch.device],
    "dtype": [StrOptions({"auto", "float32", "float64"})],
    "precision": [StrOptions({"bf16", "fp16"}), None],
}

CLASSIFIER_CONSTRAINTS = {
    **BASE_CONSTRAINTS,
    "class_weight": [StrOptions({"balanced"}), dict, None],
}

REGRESSOR_CONSTRAINTS = {
    **BASE_CONSTRAINTS,
    "loss": [StrOptions(set(REGRESSION_LOSSES))],
    "huber_delta": [Interval(Real, 0, None, closed="neither")],
}

PER_MODEL_PARAMS = frozenset(
    {
        "learning_rate_init",
        "alpha",
        "penalty",
        "l1_ratio",
        "momentum",
        "beta_1",
        "beta_2",
        "epsilon",
        "dropout",
        "activation_param",
        "random_state",
        "init",
        "n_init",
        "learning_rate",
        "power_t",
        "decay_rate",
        "validation_fraction",
    }
)
"""Parameters that may differ between the models of one stack (``BaseMLP._fit_many``).
Every other parameter is structural: jobs trained together must share it."""
