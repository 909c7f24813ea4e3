"""The only importer of scikit-learn's private helpers.

skdl relies on a few of scikit-learn's internals where re-implementing them
would mean drifting from scikit-learn's exact behaviour (the search's
evaluation of one candidate on one split, its failure reporting, the
parameter constraints every estimator declares). They are imported here,
once, so a scikit-learn upgrade that moves one breaks in one place. The
searches also call private methods that they inherit from
:class:`sklearn.model_selection.GridSearchCV` (``_get_scorers``,
``_get_routed_params_for_fit``, ``_format_results``, ``_select_best_index``);
those need no import.
"""

from sklearn.base import _fit_context
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.metrics._scorer import _MultimetricScorer, _PassthroughScorer, _Scorer
from sklearn.model_selection._search_successive_halving import BaseSuccessiveHalving
from sklearn.model_selection._validation import (
    _fit_and_score,
    _insert_error_scores,
    _warn_or_raise_about_fit_failures,
)
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    RealNotInt,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.multiclass import _check_partial_fit_first_call
from sklearn.utils.validation import (
    _assert_all_finite,
    _check_method_params,
    _check_sample_weight,
    _num_samples,
)

__all__ = [
    "BaseSuccessiveHalving",
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "Options",
    "RealNotInt",
    "StrOptions",
    "_MultimetricScorer",
    "_PassthroughScorer",
    "_Scorer",
    "_assert_all_finite",
    "_check_method_params",
    "_check_partial_fit_first_call",
    "_check_sample_weight",
    "_fit_and_score",
    "_fit_context",
    "_insert_error_scores",
    "_num_samples",
    "_safe_indexing",
    "_warn_or_raise_about_fit_failures",
    "validate_parameter_constraints",
]
