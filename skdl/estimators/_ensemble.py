"""Deep ensembles (issue 16): the members' spread, bagging inside the stack, OOB scores.

``ensemble=True`` keeps every one of the ``n_init`` members that the engine
trains as one stack (``members_``). This module holds what is specific to
ensembles, as functions of the estimator and arrays:

- the members' outputs and their spread (``predict(X, return_std=True)``, the
  classifiers' ``predict_proba_members``);
- bagging (``bootstrap``, ``max_samples``): each member's rows drawn as
  scikit-learn's :class:`~sklearn.ensemble.BaggingClassifier` draws them, given
  to the engine as per-model row weights (``StackRows.weights``: the draw's
  counts, so member ``j`` is exactly a separate fit with
  ``sample_weight=counts_j`` and ``random_state + j``), and the out-of-bag
  estimate (``oob_score_``, ``oob_decision_function_`` / ``oob_prediction_``)
  as scikit-learn's ``_set_oob_score``.
"""

from __future__ import annotations

import warnings
from numbers import Integral
from types import SimpleNamespace

import numpy as np
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.random import sample_without_replacement
from sklearn.utils.validation import check_is_fitted

BAGGING_ATTRIBUTES = (
    "estimators_samples_",
    "oob_score_",
    "oob_decision_function_",
    "oob_prediction_",
)


def bags(est) -> bool:
    """Whether ``est`` draws a sample per member (``bootstrap`` or ``max_samples``)."""
    return bool(getattr(est, "bootstrap", False)) or getattr(est, "max_samples", None) is not None


def check_params(est) -> None:
    """The rules between ``ensemble``, ``bootstrap``, ``max_samples`` and ``oob_score``."""
    if bags(est) and not est.ensemble:
        given = "bootstrap=True" if est.bootstrap else f"max_samples={est.max_samples!r}"
        raise ValueError(
            f"{given} draws a sample of the rows for each member of an ensemble, so it "
            "needs ensemble=True (and n_init members to bag). Set ensemble=True, or "
            "bootstrap=False and max_samples=None."
        )
    if est.oob_score and not est.bootstrap:
        # scikit-learn's sentence (BaggingClassifier), then the fix
        raise ValueError(
            "Out of bag estimation only available if bootstrap=True. Set bootstrap=True "
            "(with ensemble=True) or oob_score=False."
        )


def check_continuation(est, incremental: bool) -> None:
    """Refuse ``partial_fit`` with bagging: a member's sample is a draw of the
    whole training set, which a stream of chunks never shows at once."""
    if incremental and bags(est):
        given = "bootstrap=True" if est.bootstrap else f"max_samples={est.max_samples!r}"
        raise ValueError(
            f"partial_fit does not support bagging ({given}): each member draws its "
            "sample from the whole training set. Fit on all the data (warm_start=True "
            "continues the members), or set bootstrap=False and max_samples=None."
        )


def resume_sources(est) -> list:
    """What each member of a fitted ensemble continues from (``warm_start``,
    ``partial_fit``): its weights and its optimizer, loop and generator state."""
    members = getattr(est, "members_", None)
    if members is None:
        raise ValueError(
            "This model was fitted with ensemble=False, so it has one network to "
            "continue, not n_init members. Fit from scratch (warm_start=False) to "
            "train an ensemble, or set ensemble=False."
        )
    if len(members) != est.n_init:
        raise ValueError(
            f"n_init={est.n_init}, but the fitted ensemble has {len(members)} members. "
            f"Set n_init={len(members)} to continue them, or fit from scratch "
            "(warm_start=False)."
        )
    states = getattr(est, "_members_solver_state", None) or [None] * len(members)
    return [
        SimpleNamespace(coefs_=coefs, intercepts_=intercepts, _solver_state=state)
        for (coefs, intercepts), state in zip(members, states)
    ]


def n_draws(est, n_samples: int, sample_weight) -> int:
    """The rows drawn per member (scikit-learn's ``_get_n_samples_bootstrap``)."""
    max_samples = est.max_samples
    if max_samples is None:
        m = n_samples
    elif isinstance(max_samples, Integral):
        m = int(max_samples)
    else:
        total = n_samples if sample_weight is None else float(sample_weight.sum())
        m = max(int(max_samples * total), 1)
    if not est.bootstrap and m > n_samples:
        raise ValueError(
            f"Effective max_samples={m} must be <= n_samples={n_samples} to be able to "
            "sample without replacement. Lower max_samples or set bootstrap=True."
        )
    return m


def draw(seed: int, n_samples: int, m: int, bootstrap: bool, sample_weight) -> np.ndarray:
    """One member's in-bag indices, as scikit-learn's ``_generate_bagging_indices``
    draws them from ``seed`` (its one-feature draw comes first there and uses no
    randomness when no features are drawn)."""
    rng = np.random.RandomState(seed)
    if sample_weight is None:
        if bootstrap:
            return rng.randint(0, n_samples, m)
        return sample_without_replacement(n_samples, m, random_state=rng)
    p = sample_weight / sample_weight.sum()
    return rng.choice(n_samples, m, replace=bootstrap, p=p)


def user_weights(est, Y, w):
    """The ``sample_weight`` inside the fit's row weights ``w`` (which carry
    ``class_weight`` too); None where they are all 1, as ``sample_weight=None``."""
    cw = est._row_weights(Y, None)
    cw = np.ones(len(w)) if cw is None else np.asarray(cw, dtype=np.float64)
    if np.array_equal(w, cw):
        return None
    # a row of class weight 0 weighs nothing in training: it is never drawn
    return np.divide(w, cw, out=np.zeros_like(w), where=cw > 0)


def member_weights(models, Y, w) -> tuple[np.ndarray | None, dict]:
    """Per-model row weights ``[K, n]`` for the engine, and each member's in-bag draw.

    ``models`` are the stack's ``(estimator, seed, rows)``. A model of a
    bagging estimator (a member of its ensemble) weighs row ``rows[i]`` by its
    count in the draw (times its class weight, through the fit's ``w``); other
    models weigh every row by 1. Returns ``(None, {})`` when no model bags.
    """
    if not any(bags(est) for est, _, _ in models):
        return None, {}
    n = len(w)
    weights = np.ones((len(models), n))
    drawn = {}
    for k, (est, seed, rows) in enumerate(models):
        if not bags(est):
            continue
        sw = user_weights(est, Y[rows], w[rows])
        m = n_draws(est, len(rows), sw)
        idx = draw(seed, len(rows), m, est.bootstrap, sw)
        counts = np.bincount(idx, minlength=len(rows)).astype(np.float64)
        if sw is not None:  # the draw replaces sample_weight (as scikit-learn's bagging)
            counts = np.divide(counts, sw, out=np.zeros_like(counts), where=sw > 0)
        weights[k] = 0.0
        weights[k, rows] = counts
        drawn[k] = idx
    return weights, drawn


def store_job(est, X, Y, models, idx, drawn: dict) -> None:
    """:func:`store_bagging` for the job whose models are ``models[i]``, ``i in idx``."""
    idx = [int(i) for i in idx]
    job = [drawn[i] for i in idx] if idx[0] in drawn else None
    store_bagging(est, X, Y, models[idx[0]][2], job)


def store_bagging(est, X, Y, rows, drawn: list | None) -> None:
    """``estimators_samples_`` and the out-of-bag estimate of a fitted bagging job.

    ``rows``: the job's rows of ``X``/``Y``; ``drawn``: each member's in-bag
    indices into them (None when the job does not bag).
    """
    for name in BAGGING_ATTRIBUTES:
        est.__dict__.pop(name, None)
    if drawn is None:
        return
    est.estimators_samples_ = [np.asarray(d) for d in drawn]
    if est.oob_score:
        set_oob_score(est, X[rows], Y[rows])


def set_oob_score(est, X, Y) -> None:
    """scikit-learn's ``_set_oob_score``: each row predicted by the members that
    did not draw it (summed probabilities for a classifier, mean prediction for
    a regressor), scored by accuracy or R^2."""
    n = X.shape[0]
    classifier = hasattr(est, "classes_")
    sums = None
    counts = np.zeros(n)
    for member, samples in zip(est.members_, est.estimators_samples_):
        mask = np.ones(n, dtype=bool)
        mask[samples] = False
        if not mask.any():
            continue
        out = est._forward(X[mask], check_input=False, weights=member)
        if classifier:
            out = proba(est, out)
        if sums is None:
            sums = np.zeros((n, out.shape[1]))
        sums[mask] += out
        counts[mask] += 1
    if sums is None:
        sums = np.zeros((n, 2 if classifier and est.n_outputs_ == 1 else Y.shape[1]))
    if (counts == 0).any():
        warnings.warn(
            "Some inputs do not have OOB scores. This probably means too few "
            "estimators were used to compute any reliable oob estimates.",
            UserWarning,
            stacklevel=6,
        )
    if classifier:
        with np.errstate(invalid="ignore", divide="ignore"):
            est.oob_decision_function_ = sums / sums.sum(axis=1)[:, np.newaxis]
        y_true = est._decode(Y if Y.shape[1] > 1 else Y[:, 0])
        y_pred = decode_proba(est, sums)
        est.oob_score_ = float(accuracy_score(y_true, y_pred))
        return
    counts[counts == 0] = 1
    pred = sums / counts[:, None]
    est.oob_prediction_ = pred[:, 0] if pred.shape[1] == 1 else pred
    est.oob_score_ = float(r2_score(Y[:, 0] if Y.shape[1] == 1 else Y, est.oob_prediction_))


def proba(est, out: np.ndarray) -> np.ndarray:
    """A classifier's network outputs ``[n, O]`` as ``predict_proba`` returns them."""
    if est.n_outputs_ == 1:
        p = out[:, 0]
        return np.stack([1 - p, p], axis=1)
    return out


def decode_proba(est, p: np.ndarray):
    """Labels of (summed) probabilities in ``predict_proba``'s layout."""
    if est._label_binarizer.y_type_ == "binary":
        return est._decode(p[:, 1] / np.maximum(p.sum(axis=1), 1e-300))
    return est._decode(p)


# ----------------------------------------------------------------- predict
def members_outputs(est, X) -> np.ndarray:
    """Every member's network outputs ``[n_members, n_samples, n_outputs]``."""
    check_is_fitted(est)
    if getattr(est, "members_", None) is None:
        raise ValueError(
            f"This {type(est).__name__} is not an ensemble: its members' outputs exist only "
            "with ensemble=True. Refit with ensemble=True (and n_init > 1 members)."
        )
    return est._members_forward(X)


def predict_with_std(est, X) -> tuple[np.ndarray, np.ndarray]:
    """The regressor's ``(mean, std)`` over its members (``ddof=0``, as ``np.std``)."""
    check_is_fitted(est)
    if getattr(est, "members_", None) is None:
        raise ValueError(
            f"return_std=True needs an ensemble, the standard deviation being that of "
            f"its members' predictions, but this {type(est).__name__} was fitted with "
            "ensemble=False. Refit with ensemble=True and n_init > 1 (e.g. n_init=5)."
        )
    outs = est._members_forward(X)
    mean, std = outs.mean(0), outs.std(0)
    if mean.shape[1] == 1:
        return mean.ravel(), std.ravel()
    return mean, std
