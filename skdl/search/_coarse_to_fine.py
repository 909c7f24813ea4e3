"""CoarseToFineSearchCV: rounds of random search, each one narrowed around the best so far.

The "random, coarse to fine" search: sample candidates at random from wide
ranges, then zoom in on the region of the best ones and sample again. Each
round is one call of scikit-learn's ``evaluate_candidates`` callback, so with
an skdl estimator a round's candidates x folds train as stacks, and any other
estimator is searched by scikit-learn's own ``fit``. The narrowing itself is
the pure function :func:`narrow`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Integral, Real

import numpy as np
from scipy.stats import loguniform, randint, uniform
from sklearn import model_selection as _sk
from sklearn.model_selection import ParameterSampler
from sklearn.utils import check_random_state

from .._compat import Interval
from ._base import FusedSearchMixin, _Evaluator
from ._halving import _HalvingEvaluator
from ._plan import final_step
from ._search import _ATTRIBUTES, _COMMON_PARAMETERS, _NOTES

_LOG_UNIFORM = {"loguniform", "reciprocal"}


def narrow(param_distributions, top_params, shrink):
    """Distributions narrowed around the values of the top candidates.

    Each numeric range becomes the smallest window that holds the top
    candidates' values, widened (around its centre) to at least ``shrink``
    times the original width, then shifted and clipped to stay inside the
    original range. The width is measured in log space for a log-uniform
    distribution, so it narrows by orders of magnitude. Lists of values keep
    the values that appear among the top candidates, in their order.

    Parameters
    ----------
    param_distributions : dict or list of dicts
        Parameter names mapped to distributions or lists of values, as for
        :class:`~sklearn.model_selection.ParameterSampler`. What is narrowed:
        ``scipy.stats.loguniform(a, b)`` (log space), ``uniform(loc, scale)``
        and ``randint(low, high)`` (an integer range, at least one value wide);
        any other distribution is returned unchanged. For a list of dicts,
        each dict is narrowed with the top candidates it could have sampled
        (same names, listed values among its lists), and the dicts that
        sampled none of them are dropped (all are kept if none did).

    top_params : list of dict
        Parameters of the top candidates. Names absent from it (or an empty
        list) leave their distribution unchanged.

    shrink : float in (0, 1]
        Least width of a narrowed range, as a fraction of the original's
        width (1 keeps numeric ranges as they are).

    Returns
    -------
    param_distributions : dict or list of dicts
        New distributions of the same form; the input is not modified.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from skdl.search import narrow
    >>> space = {"alpha": loguniform(1e-6, 1e-2), "activation": ["relu", "tanh"]}
    >>> top = [{"alpha": 1e-4, "activation": "relu"}, {"alpha": 2e-4, "activation": "relu"}]
    >>> new = narrow(space, top, shrink=0.5)
    >>> [float(f"{b:.1e}") for b in new["alpha"].support()], new["activation"]
    ([1.4e-05, 0.0014], ['relu'])
    """
    if isinstance(param_distributions, Mapping):
        return _narrow_dict(param_distributions, top_params, shrink)
    spaces = list(param_distributions)
    owned = [[p for p in top_params if _belongs(p, space)] for space in spaces]
    if not any(owned):
        return [dict(space) for space in spaces]
    return [_narrow_dict(s, tops, shrink) for s, tops in zip(spaces, owned) if tops]


def _narrow_dict(space, top_params, shrink) -> dict:
    return {
        name: _narrow_one(dist, [p[name] for p in top_params if name in p], shrink)
        for name, dist in space.items()
    }


def _belongs(params, space) -> bool:
    """Whether ``space`` could have sampled ``params`` (names, and values of its lists)."""
    if set(params) != set(space):
        return False
    return all(
        hasattr(dist, "rvs") or any(_same(params[name], v) for v in dist)
        for name, dist in space.items()
    )


def _same(a, b) -> bool:
    """Equality that tolerates values without a boolean ``==`` (arrays, estimators)."""
    if a is b:
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _narrow_one(dist, values, shrink):
    if not values:
        return dist
    if not hasattr(dist, "rvs"):
        if isinstance(dist, str) or not isinstance(dist, (Sequence, np.ndarray)):
            return dist
        kept = [v for v in dist if any(_same(v, t) for t in values)]
        return kept or dist
    name = getattr(getattr(dist, "dist", None), "name", None)
    if name not in {*_LOG_UNIFORM, "uniform", "randint"}:
        return dist  # any other distribution, scipy's or one of the user's: sampled as is
    lo, hi = (float(b) for b in dist.support())
    if name in _LOG_UNIFORM and _loc(dist) == 0:
        inside = [min(max(float(v), lo), hi) for v in values]
        a, b = _window(math.log(lo), math.log(hi), [math.log(v) for v in inside], shrink)
        # exp(log(x)) may round past x: keep the top values and the original bounds exact
        return loguniform(max(min(math.exp(a), *inside), lo), min(max(math.exp(b), *inside), hi))
    if name == "uniform":
        a, b = _window(lo, hi, values, shrink)
        return uniform(a, b - a)
    if name == "randint":
        a, b = _window(lo, hi, values, shrink)
        return randint(max(math.floor(a), int(lo)), min(math.ceil(b), int(hi)) + 1)
    return dist


def _loc(dist) -> float:
    """The ``loc`` of a frozen scipy distribution with two shape parameters."""
    return dist.kwds.get("loc", dist.args[2] if len(dist.args) > 2 else 0)


def _window(lo, hi, values, shrink) -> tuple[float, float]:
    """The window of ``[lo, hi]`` around ``values``, at least ``shrink * (hi - lo)`` wide."""
    values = [min(max(float(v), lo), hi) for v in values]
    top_lo, top_hi = min(values), max(values)
    width = max(top_hi - top_lo, shrink * (hi - lo))
    start = min(max((top_lo + top_hi - width) / 2, lo), hi - width)
    return max(start, lo), min(start + width, hi)


def _rank_key(results, refit) -> str:
    """The ``rank_test_*`` key that orders candidates: the refit metric's."""
    if isinstance(refit, str) and f"rank_test_{refit}" in results:
        return f"rank_test_{refit}"
    if "rank_test_score" in results:
        return "rank_test_score"
    return min(key for key in results if key.startswith("rank_test_"))


def top_candidates(results, k, refit=True, rows=None) -> list[dict]:
    """Parameters of the ``k`` best candidates of ``cv_results_``, best first.

    Candidates are ordered by the rank of the refit metric (``refit`` when it
    names a scorer, else ``'score'``, else the first scorer by name); ties and
    failed fits (ranked last by scikit-learn) keep their order of evaluation.
    ``rows``: the indices of the rows to choose from (default: all).
    """
    ranks = np.asarray(results[_rank_key(results, refit)])
    rows = np.arange(len(ranks)) if rows is None else np.asarray(rows, dtype=int)
    order = rows[np.argsort(ranks[rows], kind="stable")[:k]]
    return [results["params"][i] for i in order]


def halving_rungs(n_candidates: int, max_resources: int, factor: float) -> list[tuple[int, int]]:
    """``(n_candidates, n_resources)`` of each rung of one successive-halving round.

    As many rungs as scikit-learn's halving needs to end with fewer than
    ``factor`` candidates (``1 + floor(log_factor(n_candidates))``), fewer when
    the first rung would get less than one epoch. Each rung keeps
    ``ceil(n / factor)`` of the previous rung's ``n`` candidates and
    ``factor`` times its resources; the last rung trains ``max_resources``
    epochs exactly, the full fit.

    >>> halving_rungs(27, 90, 3)
    [(27, 3), (9, 10), (3, 30), (1, 90)]
    >>> halving_rungs(10, 4, 2)
    [(10, 1), (5, 2), (3, 4)]
    """
    n_rungs = 1
    while factor**n_rungs <= n_candidates:
        n_rungs += 1
    while n_rungs > 1 and max_resources / factor ** (n_rungs - 1) < 1:
        n_rungs -= 1
    rungs, n = [], n_candidates
    for i in range(n_rungs):
        resources = int(max_resources / factor ** (n_rungs - 1 - i))
        rungs.append((n, max_resources if i == n_rungs - 1 else max(resources, 1)))
        n = math.ceil(n / factor)
    return rungs


def _full_budget_rows(results) -> np.ndarray | None:
    """Rows of ``cv_results_`` trained with the most resources (the last rungs of
    halving rounds); None without halving (every row counts)."""
    if "n_resources" not in results:
        return None
    n_resources = np.asarray(results["n_resources"])
    return np.flatnonzero(n_resources == n_resources.max())


class CoarseToFineSearchCV(FusedSearchMixin, _sk.RandomizedSearchCV):
    __doc__ = f"""Random search in rounds, each round narrowed around the best candidates so far.

    Round 0 samples ``n_iter`` candidates from ``param_distributions``, as
    :class:`RandomizedSearchCV` does (the same candidates for the same
    ``random_state``). Each later round samples ``n_iter`` candidates from
    :func:`narrow` of the original distributions around the ``top_k`` best
    candidates of all the rounds so far: round ``r``'s numeric ranges are at
    least ``shrink ** r`` times as wide as the original ones (in log space for
    ``loguniform``), and its lists keep the values of the top candidates.
    ``cv_results_`` holds every round's candidates, in order, with an int
    array ``cv_results_["round"]``; the best candidate is chosen among all of
    them.

    With ``halving=True`` each round is a successive halving over the epochs
    (``max_iter``), as :class:`HalvingRandomSearchCV` with
    ``resource='max_iter'`` does: the round's candidates first train a few
    epochs, the best ``1 / factor`` of them train ``factor`` times longer, and
    so on (:func:`halving_rungs`), the last rung training the estimator's
    full ``max_iter``. Kept candidates resume their models instead of
    training again (see :class:`HalvingRandomSearchCV`). ``cv_results_``
    then also has ``iter`` (the rung within its round) and ``n_resources``
    (the rung's epochs); the narrowing and the best candidate only consider
    candidates trained for the full ``max_iter``.

    Parameters
    ----------
    estimator : estimator object
        The estimator to tune: an skdl estimator or a pipeline ending with
        one trains each round's candidates x folds as stacks; any other
        scikit-learn estimator is searched as scikit-learn does.

    param_distributions : dict or list of dicts
        Parameter names mapped to distributions (with an ``rvs`` method) or
        lists of values; a list of dicts first picks a dict uniformly. Only
        ``scipy.stats`` ``loguniform``, ``uniform``, ``randint`` and lists
        narrow between rounds; other distributions are sampled unchanged.

    n_iter : int, default=10
        Number of candidates sampled per round. When every parameter is a
        list, a round samples without replacement, as
        :class:`~sklearn.model_selection.ParameterSampler` does, so it may
        hold fewer candidates.

    n_rounds : int, default=3
        Number of rounds; the search evaluates ``n_iter * n_rounds`` candidates.

    top_k : int, default=3
        Number of best candidates (of all rounds so far) around which the next
        round's ranges are narrowed.

    shrink : float in (0, 1], default=0.5
        Least width of each round's numeric ranges relative to the previous
        round's: round ``r`` spans at least ``shrink ** r`` of the original
        width (wider when the top candidates are further apart). 1 never
        narrows numeric ranges.

    halving : bool, default=False
        Whether each round is a successive halving over ``max_iter`` (see
        above) rather than ``n_iter`` full fits.

    factor : float, default=3
        With ``halving=True``: each rung keeps ``ceil(n / factor)`` of its
        ``n`` candidates and trains them ``factor`` times as many epochs.
        Must be above 1.

    {_COMMON_PARAMETERS}

    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of the candidates of every round.

    Attributes
    ----------
    {_ATTRIBUTES}

    See Also
    --------
    RandomizedSearchCV : One round of random search.
    narrow : The narrowing of the distributions between rounds.
    sklearn.model_selection.HalvingRandomSearchCV : Rounds over growing resources.

    Notes
    -----
    Narrowing follows the "coarse to fine" advice for random search of
    hyperparameters (Bergstra and Bengio, "Random Search for Hyper-Parameter
    Optimization", JMLR 2012, and Ng's deep learning course). Every round
    uses the same folds unless ``cv`` is a splitter that shuffles without a
    fixed ``random_state``.

    {_NOTES}

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from skdl import MLPClassifier
    >>> from skdl.model_selection import CoarseToFineSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = CoarseToFineSearchCV(
    ...     MLPClassifier(max_iter=30, random_state=0, device="cpu"),
    ...     {{"learning_rate_init": loguniform(1e-3, 1e-1), "alpha": loguniform(1e-5, 1e-1)}},
    ...     n_iter=3,
    ...     n_rounds=2,
    ...     cv=3,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> search.cv_results_["round"].tolist()
    [0, 0, 0, 1, 1, 1]
    """

    _parameter_constraints: dict = {
        **_sk.RandomizedSearchCV._parameter_constraints,
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "top_k": [Interval(Integral, 1, None, closed="left")],
        "shrink": [Interval(Real, 0, 1, closed="right")],
        "halving": ["boolean"],
        "factor": [Interval(Real, 1, None, closed="neither")],
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        n_iter=10,
        n_rounds=3,
        top_k=3,
        shrink=0.5,
        halving=False,
        factor=3,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        random_state=None,
        error_score=np.nan,
        return_train_score=False,
    ):
        super().__init__(
            estimator,
            param_distributions,
            n_iter=n_iter,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            random_state=random_state,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.n_rounds = n_rounds
        self.top_k = top_k
        self.shrink = shrink
        self.halving = halving
        self.factor = factor

    @property
    def _evaluator(self):
        """Halving rounds resume their rungs' models; plain rounds fit afresh."""
        return _HalvingEvaluator if self.halving else _Evaluator

    @property
    def resource(self) -> str | None:
        """The parameter halving rounds grow: the final estimator's ``max_iter``."""
        if not self.halving:
            return None
        name, _ = final_step(self.estimator)
        return "max_iter" if name is None else f"{name}__max_iter"

    @staticmethod
    def _select_best_index(refit, refit_metric, results):
        """The best candidate; with halving rounds, among those trained for the full
        ``max_iter`` (as scikit-learn's halving picks among its last rung)."""
        rows = _full_budget_rows(results)
        if callable(refit) or rows is None:
            return _sk.RandomizedSearchCV._select_best_index(refit, refit_metric, results)
        ranks = np.asarray(results[f"rank_test_{refit_metric}"])[rows]
        return int(rows[np.argmin(ranks)])

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        """Evaluate ``n_rounds`` rounds, each sampled around the best candidates so far."""
        rng = check_random_state(self.random_state)
        space, results = self.param_distributions, None
        search_ctx = _begin(callback_ctx, self, "search", max_subtasks=self.n_rounds)
        for round_ in range(self.n_rounds):
            if results is not None:
                top = top_candidates(results, self.top_k, self.refit, _full_budget_rows(results))
                top = [{k: v for k, v in p.items() if k != self.resource} for p in top]
                space = narrow(self.param_distributions, top, self.shrink**round_)
            candidates = list(ParameterSampler(space, self.n_iter, random_state=rng))
            if self.verbose > 0:
                print(f"Round {round_}: {len(candidates)} candidates")
            round_ctx = _begin(
                search_ctx,
                self,
                "coarse-to-fine-round",
                max_subtasks=len(candidates) * self.n_splits_,
                sequential_subtasks=False,
            )
            if self.halving:
                results = self._halving_round(evaluate_candidates, candidates, round_, round_ctx)
            else:
                more = {"round": [round_] * len(candidates)}
                results = evaluate_candidates(candidates, more_results=more, callback_ctx=round_ctx)
            if round_ctx is not None:
                round_ctx.call_on_fit_task_end(estimator=self)
        if search_ctx is not None:
            search_ctx.call_on_fit_task_end(estimator=self)

    def _halving_round(self, evaluate_candidates, candidates, round_, round_ctx):
        """One round as successive halving over ``max_iter``; returns ``cv_results_``."""
        resource = self.resource
        if any(resource in c for c in candidates):
            raise ValueError(
                f"Cannot use parameter {resource} as the resource of halving rounds since "
                "it is part of the searched parameters; remove it from "
                "param_distributions or set halving=False."
            )
        _, final = final_step(self.estimator)
        max_iter = int(final.get_params()["max_iter"])
        results = None
        for rung, (n, n_resources) in enumerate(
            halving_rungs(len(candidates), max_iter, self.factor)
        ):
            if results is not None:  # the previous rung's best n, best first
                rows = np.flatnonzero(
                    (np.asarray(results["round"]) == round_)
                    & (np.asarray(results["iter"]) == rung - 1)
                )
                kept = top_candidates(results, n, self.refit, rows)
                candidates = [{k: v for k, v in p.items() if k != resource} for p in kept]
            if self.verbose > 0:
                print(f"Round {round_}, rung {rung}: {n} candidates, {n_resources} epochs")
            more = {
                "round": [round_] * n,
                "iter": [rung] * n,
                "n_resources": [n_resources] * n,
            }
            params = [{**c, resource: n_resources} for c in candidates]
            results = evaluate_candidates(params, more_results=more, callback_ctx=round_ctx)
        return results


def _begin(ctx, search, task_name, **kwargs):
    """A begun sub-task of scikit-learn's callback context ``ctx``; None without one
    (skdl's fused ``fit`` runs no scikit-learn callbacks)."""
    if ctx is None:
        return None
    return ctx.subcontext(task_name=task_name, **kwargs).call_on_fit_task_begin(estimator=search)
