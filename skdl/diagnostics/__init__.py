"""Bias/variance diagnosis after the lecture: train vs validation score -> verdict, remedies."""

from ._curves import Finding, curve_findings
from ._diagnose import (
    GOOD_FIT,
    HIGH_BIAS,
    HIGH_BIAS_AND_VARIANCE,
    HIGH_VARIANCE,
    Diagnosis,
    diagnose,
)

__all__ = [
    "GOOD_FIT",
    "HIGH_BIAS",
    "HIGH_BIAS_AND_VARIANCE",
    "HIGH_VARIANCE",
    "Diagnosis",
    "Finding",
    "curve_findings",
    "diagnose",
]
