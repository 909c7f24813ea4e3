"""GridSearchCV and RandomizedSearchCV: scikit-learn's searches, fused.

Each class is scikit-learn's class (same ``__init__``, same attributes, same
``cv_results_``) with :class:`~skdl.search._base.FusedSearchMixin` in front.
"""

from __future__ import annotations

from sklearn import model_selection as _sk
from sklearn.model_selection import ParameterGrid, ParameterSampler

from ._base import FusedSearchMixin

_COMMON_PARAMETERS = """\
scoring : str, callable, list, tuple or dict, default=None
        Strategy to evaluate the performance of the cross-validated model on
        the test set: a scorer name, a callable, None (the estimator's
        ``score``), or for several metrics a list or tuple of names, a dict
        of name to callable, or a callable returning a dict.

    n_jobs : int, default=None
        Number of joblib tasks to run in parallel. A group of candidates
        that train together is split into ``n_jobs`` tasks (by folds for a
        pipeline, so each fold's preprocessing is still fitted once), each
        training its fits as stacks; candidates that do not fuse are one
        task per fit, as in scikit-learn. ``None`` means 1 unless in a
        :func:`joblib.parallel_config` context; ``-1`` uses all processors.

    refit : bool, str, or callable, default=True
        Refit an estimator with the best parameters on the whole dataset
        (an ordinary ``fit``, not fused). For several metrics, the name of
        the scorer that picks the best parameters; a callable takes
        ``cv_results_`` and returns ``best_index_`` (then ``best_score_`` is
        not set).

    cv : int, cross-validation generator or an iterable, default=None
        The splitting strategy: None (5-fold), an int (folds of a
        ``(Stratified)KFold``), a CV splitter, or an iterable of
        ``(train, test)`` index arrays.

    verbose : int, default=0
        Verbosity: >0 prints the number of fits and of fused stacks, >1 the
        score of each fit, >2 also its fold and candidate.

    pre_dispatch : int or str, default='2*n_jobs'
        Number of joblib tasks dispatched ahead of time.

    error_score : 'raise' or numeric, default=np.nan
        Score of a fit that fails. With 'raise' the error is raised; a fit
        that fails in a stack (a diverged training) is run again alone first,
        so its error and warning are exactly scikit-learn's.

    return_train_score : bool, default=False
        Whether ``cv_results_`` includes the training scores."""

_ATTRIBUTES = """\
cv_results_ : dict of numpy (masked) ndarrays
        scikit-learn's keys (``params``, ``param_<name>``, ``mean_test_<scorer>``,
        ``std_test_<scorer>``, ``rank_test_<scorer>``, ``split<i>_test_<scorer>``,
        the train scores, ``mean_fit_time``...), plus ``epoch_curves`` (unless
        the whole search ran scikit-learn's way, see Notes): per candidate, a
        list with one dict per split mapping 'train_loss', 'val_loss' and
        'val_score' to their per-epoch values (None where the fit recorded
        none, e.g. 'val_score' without early stopping; the whole entry is None
        for a fit that failed or an estimator without ``history_``), and
        ``split<i>_n_iter``: each fit's ``n_iter_`` (epochs, or L-BFGS
        iterations; NaN for a failed fit). A fused fit's ``fit_time`` is the
        wall time of the task that trained it divided by the number of fits
        in that task.

    best_estimator_ : estimator
        The estimator refitted on the whole data with the best parameters
        (when ``refit`` is not False).

    best_score_ : float
        Mean cross-validated score of the best candidate.

    best_params_ : dict
        Parameters of the best candidate.

    best_index_ : int
        Index of the best candidate in ``cv_results_``.

    scorer_ : function or a dict
        The scorer(s) used on the held-out data.

    n_splits_ : int
        The number of cross-validation splits.

    refit_time_ : float
        Seconds spent refitting the best model on the whole dataset.

    multimetric_ : bool
        Whether several scorers were used.

    classes_ : ndarray of shape (n_classes,)
        The class labels (a classifier refitted).

    n_features_in_ : int
        Number of features seen during fit (when refitted).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when they are all strings."""

_NOTES = """\
What fuses: the estimator is an skdl estimator, or a
    :class:`~sklearn.pipeline.Pipeline` whose last step is one. Candidates
    equal in their structural parameters (layer sizes, solver, ``max_iter``,
    ...) and in their preprocessing parameters form a group; a group's
    candidates x folds train together as stacks of models (one stack per
    joblib task on a GPU, stacks of at most 32 models on the CPU), each
    model on its own fold with its own per-model hyperparameters (learning
    rate, ``alpha``, dropout, the Adam betas, ``random_state``...). In a pipeline
    the preprocessing steps are fitted once per fold and per distinct
    preprocessing parameters. Every fit of a stack equals the fit it
    replaces up to floating-point rounding.

    What falls back to scikit-learn's per-fit path (same results): a
    candidate that replaces the final step or has an invalid value,
    ``class_weight='balanced'``, every candidate when a split's training
    rows lack a class. The whole search runs scikit-learn's own ``fit`` for a
    non-skdl estimator, fit parameters other than ``sample_weight`` (or any
    fit parameter with a pipeline or with metadata routing enabled), and
    scikit-learn callbacks (``set_callbacks``) on the search, its estimator
    or a pipeline step.

    Fits that stop at ``max_iter`` without converging are reported in one
    :class:`~sklearn.exceptions.ConvergenceWarning` per search ("160 of the
    search's 161 fits did not converge (159 of the 160 cross-validation fits,
    and the refit); ..."), not one per fit; ``cv_results_['split<i>_n_iter']``
    says which. A search run scikit-learn's own way warns as scikit-learn
    does, once per fit."""


class GridSearchCV(FusedSearchMixin, _sk.GridSearchCV):
    __doc__ = f"""Exhaustive search over a parameter grid, fitting candidates x folds as stacks.

    A drop-in for :class:`sklearn.model_selection.GridSearchCV`: the same
    parameters, attributes and ``cv_results_``, computed the same way, except
    that the candidates that can train together do, as one batched stack of
    models (see Notes).

    Parameters
    ----------
    estimator : estimator object
        The estimator to tune: an skdl estimator or a pipeline ending with
        one fuses; any other scikit-learn estimator is searched as
        scikit-learn does.

    param_grid : dict or list of dictionaries
        Parameter names mapped to lists of values to try, or a list of such
        dicts (each spans its own grid).

    {_COMMON_PARAMETERS}

    Attributes
    ----------
    {_ATTRIBUTES}

    See Also
    --------
    RandomizedSearchCV : Search over parameter distributions.
    sklearn.model_selection.GridSearchCV : The search this one fuses.

    Notes
    -----
    {_NOTES}

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdl import MLPClassifier
    >>> from skdl.model_selection import GridSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(
    ...     MLPClassifier(max_iter=50, random_state=0, device="cpu"),
    ...     {{"learning_rate_init": [0.001, 0.01], "alpha": [1e-4, 1e-2]}},
    ...     cv=3,
    ... ).fit(X, y)
    >>> sorted(search.best_params_)
    ['alpha', 'learning_rate_init']
    >>> len(search.cv_results_["epoch_curves"])
    4
    """

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        """Search all candidates in ``param_grid``."""
        if callback_ctx is not None:  # scikit-learn's own fit, with its callbacks
            return super()._run_search(evaluate_candidates, callback_ctx=callback_ctx)
        evaluate_candidates(ParameterGrid(self.param_grid))


class RandomizedSearchCV(FusedSearchMixin, _sk.RandomizedSearchCV):
    __doc__ = f"""Randomized search over hyperparameters, fitting candidates x folds as stacks.

    A drop-in for :class:`sklearn.model_selection.RandomizedSearchCV`: the
    same parameters, sampled candidates, attributes and ``cv_results_``,
    except that the candidates that can train together do, as one batched
    stack of models (see Notes). Sampling per-model hyperparameters only
    (learning rate, ``alpha``, dropout, betas...) puts every candidate in
    one stack.

    Parameters
    ----------
    estimator : estimator object
        The estimator to tune: an skdl estimator or a pipeline ending with
        one fuses; any other scikit-learn estimator is searched as
        scikit-learn does.

    param_distributions : dict or list of dicts
        Parameter names mapped to distributions (with an ``rvs`` method) or
        lists of values; a list of dicts first picks a dict uniformly.

    n_iter : int, default=10
        Number of parameter settings sampled.

    {_COMMON_PARAMETERS}

    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of the candidates.

    Attributes
    ----------
    {_ATTRIBUTES}

    See Also
    --------
    GridSearchCV : Search over a grid of parameters.
    sklearn.model_selection.RandomizedSearchCV : The search this one fuses.

    Notes
    -----
    {_NOTES}

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from skdl import MLPClassifier
    >>> from skdl.model_selection import RandomizedSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = RandomizedSearchCV(
    ...     MLPClassifier(max_iter=50, random_state=0, device="cpu"),
    ...     {{"learning_rate_init": loguniform(1e-3, 1e-1), "alpha": loguniform(1e-5, 1e-1)}},
    ...     n_iter=4,
    ...     cv=3,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> search.cv_results_["mean_test_score"].shape
    (4,)
    """

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        """Search ``n_iter`` candidates sampled from ``param_distributions``."""
        if callback_ctx is not None:  # scikit-learn's own fit, with its callbacks
            return super()._run_search(evaluate_candidates, callback_ctx=callback_ctx)
        evaluate_candidates(
            ParameterSampler(self.param_distributions, self.n_iter, random_state=self.random_state)
        )
