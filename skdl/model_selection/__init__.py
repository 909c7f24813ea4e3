"""Model selection, in scikit-learn's layout: ``from skdl.model_selection import GridSearchCV``."""

from ..search import (
    CoarseToFineSearchCV,
    GridSearchCV,
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
)

__all__ = [
    "CoarseToFineSearchCV",
    "GridSearchCV",
    "HalvingGridSearchCV",
    "HalvingRandomSearchCV",
    "RandomizedSearchCV",
]
