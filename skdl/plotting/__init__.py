"""Plots in scikit-learn's ``*Display`` style: training history, schedules, searches.

Each display holds its data, draws with ``plot(ax=None, ...)`` (which sets
``ax_``, ``figure_`` and the artists) and is built by ``from_*`` class
methods. matplotlib is imported inside the plotting calls only, so importing
this module does not import it.
"""

from ._activation import ActivationDisplay
from ._ensemble import EnsembleDisplay
from ._history import TrainingHistoryDisplay
from ._schedule import ScheduleDisplay
from ._search import SearchResultsDisplay

__all__ = [
    "ActivationDisplay",
    "EnsembleDisplay",
    "ScheduleDisplay",
    "SearchResultsDisplay",
    "TrainingHistoryDisplay",
]
