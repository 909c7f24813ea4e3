"""skdl: scikit-learn estimators for deep learning on PyTorch."""

from . import export  # noqa: F401  (registers the estimators' to_onnx)
from ._version import __version__
from .estimators import MLPClassifier, MLPRegressor
from .persistence import ModelFileError, load, save

__all__ = ["MLPClassifier", "MLPRegressor", "ModelFileError", "__version__", "load", "save"]
