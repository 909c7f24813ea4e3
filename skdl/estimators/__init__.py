"""The estimators: MLPClassifier and MLPRegressor.

Besides the estimators, the surface the other layers of skdl build on:
the searches' stacked fits (:func:`fit_many`, :func:`continue_many`,
:func:`stack_refusals`, :func:`params_refusal`, :func:`resume_point`, and
:data:`PER_MODEL_PARAMS`, the parameters that may differ inside one stack),
the errors of a fit that does not fit in memory (:class:`FitTooLargeError`,
:class:`OutOfMemoryError`), :func:`resolve_device`, an ensemble's members'
outputs for plotting (:func:`members_outputs`, :func:`decode_proba`),
``predict`` in two steps for many fitted estimators on the same rows
(:func:`check_predict_input`, then :func:`predict_checked` per estimator), and
:func:`register_io`, through which :mod:`skdl.persistence` and
:mod:`skdl.export` provide ``save``, ``load`` and ``to_onnx``.
"""

from ._base import BaseMLP
from ._classifier import MLPClassifier
from ._config import FitTooLargeError, resolve_device
from ._ensemble import decode_proba, members_outputs
from ._faults import OutOfMemoryError
from ._io import register_io
from ._params import PER_MODEL_PARAMS
from ._predict import check_predict_input, predict_checked
from ._regressor import MLPRegressor
from ._stacks import continue_many, fit_many, params_refusal, resume_point, stack_refusals

__all__ = [
    "PER_MODEL_PARAMS",
    "BaseMLP",
    "FitTooLargeError",
    "MLPClassifier",
    "MLPRegressor",
    "OutOfMemoryError",
    "check_predict_input",
    "continue_many",
    "decode_proba",
    "fit_many",
    "members_outputs",
    "params_refusal",
    "predict_checked",
    "register_io",
    "resolve_device",
    "resume_point",
    "stack_refusals",
]
