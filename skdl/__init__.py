"""skdl: scikit-learn estimators for deep learning on PyTorch."""

from .estimators import MLPClassifier, MLPRegressor
from .persistence import load, save

__version__ = "0.1.0.dev0"

__all__ = ["MLPClassifier", "MLPRegressor", "__version__", "load", "save"]
