"""skdl: scikit-learn estimators for deep learning on PyTorch."""

from . import export  # noqa: F401  (registers the estimators' to_onnx)
from .estimators import MLPClassifier, MLPRegressor
from .persistence import ModelFileError, load, save

__version__ = "0.1.0.dev0"

__all__ = ["MLPClassifier", "MLPRegressor", "ModelFileError", "__version__", "load", "save"]
