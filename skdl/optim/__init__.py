"""Vectorized optimizers over a stack of K models, and learning-rate schedules."""

from ._base import HYPERPARAMETERS, Optimizer
from .optimizers import (
    OPTIMIZERS,
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    NAdam,
    RAdam,
    RMSprop,
)

__all__ = [
    "HYPERPARAMETERS",
    "OPTIMIZERS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
]
