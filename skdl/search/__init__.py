"""Hyperparameter searches that train compatible candidates x folds as one stack.

:class:`GridSearchCV` and :class:`RandomizedSearchCV` are scikit-learn's
searches (same signature, ``cv_results_``, refit) whose candidates that share
a network structure train together, each on its own fold, as one batched
computation.
"""

from ._coarse_to_fine import CoarseToFineSearchCV, narrow
from ._halving import HalvingGridSearchCV, HalvingRandomSearchCV
from ._search import GridSearchCV, RandomizedSearchCV

__all__ = [
    "CoarseToFineSearchCV",
    "GridSearchCV",
    "HalvingGridSearchCV",
    "HalvingRandomSearchCV",
    "RandomizedSearchCV",
    "narrow",
]
