"""Which candidates of a search can train together, and in which stacks.

A search's estimator is an skdl estimator, or a :class:`~sklearn.pipeline.Pipeline`
whose last step is one. Each candidate's parameters split into three parts:
the pipeline's own parameters (its preprocessing steps, its ``memory``...),
the final estimator's *structural* parameters (layer sizes, solver,
``max_iter``...: what the models of one stack must share) and its per-model
parameters (:data:`~skdl.estimators.PER_MODEL_PARAMS`). Candidates
equal in the first two parts form a :class:`Group`: one stack trains all of
them on all folds. A candidate that cannot fuse goes to scikit-learn's own
per-fit path, which reproduces its result (or its error) exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils.multiclass import type_of_target

from ..estimators import PER_MODEL_PARAMS, BaseMLP, params_refusal


@dataclass
class Group:
    """Candidates that train as one stack.

    ``prep_params`` are the pipeline's parameters outside its last step and
    ``structural`` the final estimator's structural parameters, shared by every
    member; ``members`` holds ``(candidate index, candidate parameters, final
    estimator parameters)``.
    """

    prep_params: dict
    structural: dict
    members: list = field(default_factory=list)


def final_step(estimator) -> tuple[str | None, BaseMLP] | None:
    """``(step name, skdl estimator)`` of a searchable estimator, or None if it can't fuse.

    The name is None for a bare skdl estimator.
    """
    if isinstance(estimator, BaseMLP):
        return None, estimator
    if isinstance(estimator, Pipeline) and estimator.steps:
        name, last = estimator.steps[-1]
        if isinstance(last, BaseMLP):
            return name, last
    return None


def _freeze(value):
    """A hashable key for a parameter value; unhashable objects compare by identity."""
    if isinstance(value, dict):
        items = sorted(((k, _freeze(v)) for k, v in value.items()), key=repr)
        return ("dict", tuple(items))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_freeze(v) for v in value))
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return (type(value).__name__, value)


def _split_params(name: str | None, params: dict) -> tuple[dict, dict] | None:
    """``(pipeline params, final estimator params)``; None if the final step is replaced."""
    if name is None:
        return {}, dict(params)
    prefix = name + "__"
    prep, final = {}, {}
    for key, value in params.items():
        if key == name:
            return None
        if key.startswith(prefix):
            final[key[len(prefix) :]] = value
        else:
            prep[key] = value
    return prep, final


def _valid_final(final: BaseMLP, params: dict) -> bool:
    """Whether ``final`` with ``params`` fits the way a stack member does.

    Invalid values go to scikit-learn's path, where ``fit`` reports them;
    'balanced' class weights depend on each fold's class counts.
    """
    est = clone(final).set_params(**params)
    if getattr(est, "class_weight", None) == "balanced":
        return False
    return params_refusal(est) is None


def group_candidates(estimator, candidate_params) -> tuple[list[Group], list[int]]:
    """Sort the candidates into stacks; returns the groups and the indices left to sklearn."""
    name, final = final_step(estimator)
    valid_keys = set(estimator.get_params(deep=True))
    groups: dict = {}
    singles = []
    for index, params in enumerate(candidate_params):
        parts = _split_params(name, params) if set(params) <= valid_keys else None
        if parts is None or not _valid_final(final, parts[1]):
            singles.append(index)
            continue
        prep, own = parts
        structural = {k: v for k, v in own.items() if k.split("__")[0] not in PER_MODEL_PARAMS}
        key = (_freeze(prep), _freeze(structural))
        group = groups.setdefault(key, Group(prep, structural))
        group.members.append((index, params, own))
    return list(groups.values()), singles


def folds_fuse(estimator, y, splits) -> bool:
    """Whether every training fold sees what a stack over the whole ``y`` sees.

    A stack encodes the labels of the whole ``y``; a classifier fitted alone
    on a fold lacking a class would have fewer classes, so such a split
    goes to scikit-learn's path (as does a target the estimators reject).
    """
    if y is None:
        return False
    if not is_classifier(final_step(estimator)[1]):
        return True
    kind = type_of_target(y)
    if kind == "multilabel-indicator":
        return True
    if kind not in ("binary", "multiclass"):
        return False
    y = np.asarray(y)
    n_classes = len(np.unique(y))
    return all(len(np.unique(y[train])) == n_classes for train, _ in splits)


def task_pairs(group: Group, n_splits: int, n_workers: int, by_fold: bool) -> list[list]:
    """Split a group's (member index, split) pairs into ``n_workers`` joblib tasks.

    One task when there is one worker (the biggest stacks). ``by_fold`` keeps
    every split's pairs in one task, so a pipeline's preprocessing is still
    fitted once per split.
    """
    pairs = [(m, s) for s in range(n_splits) for m in range(len(group.members))]
    if n_workers <= 1:
        return [pairs]
    if by_fold:
        folds = np.array_split(np.arange(n_splits), min(n_workers, n_splits))
        return [[(m, s) for m, s in pairs if s in set(f.tolist())] for f in folds]
    chunks = np.array_split(np.arange(len(pairs)), min(n_workers, len(pairs)))
    return [[pairs[i] for i in chunk] for chunk in chunks]


MIN_SHARED_STACK = 8
"""A split with at least this many fits of a group gets stacks of its own: the
models of a stack on one split (one ``random_state``) read the same batches,
gathered once (:meth:`~skdl.training.data.StackRows.shares_order`). Fewer go
into stacks with other splits' fits, where a bigger stack gains more than the
shared gather would."""


def stack_chunks(splits: list[int], size: int) -> list[np.ndarray]:
    """Indices into ``splits`` (each fit's split) in stacks of at most ``size`` fits.

    A split with :data:`MIN_SHARED_STACK` fits or more is cut into stacks of
    its own, as even as can be; the other fits are pooled, in order, and cut
    the same way.
    """
    by_split: dict[int, list[int]] = {}
    for i, s in enumerate(splits):
        by_split.setdefault(s, []).append(i)
    own = [ix for ix in by_split.values() if len(ix) >= MIN_SHARED_STACK]
    pooled = [i for ix in by_split.values() if len(ix) < MIN_SHARED_STACK for i in ix]
    chunks = []
    for ix in [*own, pooled] if pooled else own:
        arr = np.asarray(ix, dtype=int)
        chunks += np.array_split(arr, -(-len(arr) // size))
    return chunks
