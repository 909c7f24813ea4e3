"""Model selection, in scikit-learn's layout: ``from skdl.model_selection import GridSearchCV``."""

from ..search import GridSearchCV, RandomizedSearchCV

__all__ = ["GridSearchCV", "RandomizedSearchCV"]
