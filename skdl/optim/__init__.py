"""Vectorized optimizers over a stack of K models, and learning-rate schedules."""

from ._base import HYPERPARAMETERS, SCALER_STATE, Optimizer
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
from .schedules import (
    SCHEDULES,
    AdaptiveSchedule,
    ConstantSchedule,
    CosineSchedule,
    ExponentialSchedule,
    InverseTimeSchedule,
    InvScalingSchedule,
    Schedule,
    StepSchedule,
    resolve_schedule,
)

__all__ = [
    "HYPERPARAMETERS",
    "OPTIMIZERS",
    "SCALER_STATE",
    "SCHEDULES",
    "AdaptiveSchedule",
    "ConstantSchedule",
    "CosineSchedule",
    "ExponentialSchedule",
    "InverseTimeSchedule",
    "InvScalingSchedule",
    "Schedule",
    "StepSchedule",
    "resolve_schedule",
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
