"""The schema of fitted state: what a file may set on an estimator, each value checked.

Loading sets only these attributes, each checked for its type and then against
the others (shapes chain, classes_ fit the output layer, weights are finite);
a key outside the schema is refused, never set.
"""

from __future__ import annotations

import numpy as np
import torch

from ._decode import _list
from ._format import _Bad


def _int(value, where, lo=0):
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value < 2**62:
        raise _Bad(f"{where} must be an integer >= {lo}, got {value!r:.80}.")
    return value


def _bool(value, where):
    if not isinstance(value, bool):
        raise _Bad(f"{where} must be true or false, got {value!r:.80}.")
    return value


def _str(value, where):
    if not isinstance(value, str):
        raise _Bad(f"{where} must be a string, got {value!r:.80}.")
    return value


def _real(value, where, none=False):
    if value is None and none:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _Bad(f"{where} must be a number, got {value!r:.80}.")
    return float(value)


def _reals(value, where, none=False, item_none=False):
    if value is None and none:
        return None
    return [_real(v, f"{where}[{i}]", item_none) for i, v in enumerate(_list(value, where))]


def _records(value, where):
    """Epoch records of a history: dicts of names to numbers or None."""
    records = _list(value, where)
    for i, r in enumerate(records):
        if not isinstance(r, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, (int, float))) for k, v in r.items()
        ):
            raise _Bad(f"{where}[{i}] must be a record of numbers, got {r!r:.80}.")
    return records


def _array(value, where, kinds, ndim, finite=False):
    if not isinstance(value, np.ndarray) or value.dtype.kind not in kinds or value.ndim != ndim:
        raise _Bad(
            f"{where} must be a {ndim}-d array of kind {kinds!r}, got "
            f"{getattr(value, 'dtype', type(value).__name__)} of shape "
            f"{getattr(value, 'shape', None)}."
        )
    if finite and not np.isfinite(value).all():
        raise _Bad(f"{where} holds NaN or infinite values; a fitted model's are finite.")
    return value


def _arrays(value, where, ndim):
    return [_array(v, f"{where}[{i}]", "f", ndim, True) for i, v in enumerate(_list(value, where))]


def _names(value, where):
    _array(value, where, "OU", 1)
    if not all(isinstance(v, str) for v in value):
        raise _Bad(f"{where} must hold strings.")
    return value


def _exact_keys(value, where, keys):
    if not isinstance(value, dict) or set(value) != set(keys):
        got = sorted(map(str, value)) if isinstance(value, dict) else type(value).__name__
        raise _Bad(f"{where} must have the keys {sorted(keys)}, got {got!r:.200}.")
    return value


_LB_KEYS = ("neg_label", "pos_label", "sparse_output", "y_type_", "sparse_input_")
_Y_TYPES = ("binary", "multiclass", "multilabel-indicator")


def _label_binarizer(value, where):
    _exact_keys(value, where, _LB_KEYS)
    neg, pos = _int(value["neg_label"], f"{where}.neg_label", -(2**62)), value["pos_label"]
    if _int(pos, f"{where}.pos_label", -(2**62)) <= neg:
        raise _Bad(f"{where}: neg_label must be less than pos_label.")
    _bool(value["sparse_output"], f"{where}.sparse_output")
    _bool(value["sparse_input_"], f"{where}.sparse_input_")
    if value["y_type_"] not in _Y_TYPES:
        raise _Bad(f"{where}.y_type_ must be one of {_Y_TYPES}, got {value['y_type_']!r:.80}.")
    return value


_LOOP_KEYS = ("k", "epoch", "t", "lr_factor", "best_loss", "best_score", "no_improve", "history")
_SOLVER_KEYS = ("solver", "optimizer", "loop", "generator", "dropout_step")


def _solver_state(value, where):
    if value is None:
        return None
    _exact_keys(value, where, _SOLVER_KEYS)
    _str(value["solver"], f"{where}.solver")
    opt = value["optimizer"]
    if not isinstance(opt, dict) or not all(isinstance(k, str) for k in opt):
        raise _Bad(f"{where}.optimizer must be a dict of named arrays.")
    for k, v in opt.items():
        _array(v, f"{where}.optimizer.{k}", "fiu", 2, True)
        if v.shape[0] != 1:
            raise _Bad(f"{where}.optimizer.{k} must hold one row, got shape {v.shape}.")
    loop = _exact_keys(value["loop"], f"{where}.loop", _LOOP_KEYS)
    if _int(loop["k"], f"{where}.loop.k") != 1:
        raise _Bad(f"{where}.loop.k must be 1 (one model), got {loop['k']!r}.")
    _int(loop["epoch"], f"{where}.loop.epoch")
    _int(loop["t"], f"{where}.loop.t")
    for k, kinds in (
        ("lr_factor", "f"),
        ("best_loss", "f"),
        ("best_score", "f"),
        ("no_improve", "iu"),
    ):
        arr = _array(loop[k], f"{where}.loop.{k}", kinds, 1, finite=k == "lr_factor")
        if arr.shape != (1,):
            raise _Bad(f"{where}.loop.{k} must have shape (1,), got {arr.shape}.")
    history = _list(loop["history"], f"{where}.loop.history")
    if len(history) != 1:
        raise _Bad(f"{where}.loop.history must hold one model's history.")
    _records(history[0], f"{where}.loop.history[0]")
    gen = _array(value["generator"], f"{where}.generator", "u", 1)
    try:
        torch.Generator().set_state(torch.from_numpy(np.ascontiguousarray(gen, dtype=np.uint8)))
    except (RuntimeError, TypeError, ValueError):
        raise _Bad(f"{where}.generator is not the state of a torch generator.") from None
    _int(value["dropout_step"], f"{where}.dropout_step")
    return value


def _members(value, where):
    """An ensemble's ``members_``: (coefs, intercepts) pairs of finite arrays."""
    members = _list(value, where)
    for i, m in enumerate(members):
        if not isinstance(m, tuple) or len(m) != 2:
            raise _Bad(f"{where}[{i}] must be a (coefs, intercepts) pair.")
        _arrays(m[0], f"{where}[{i}][0]", 2)
        _arrays(m[1], f"{where}[{i}][1]", 1)
    return members


def _members_solver_state(value, where):
    """An ensemble's members' resume states, one :func:`_solver_state` each."""
    if value is None:
        return None
    return [_solver_state(s, f"{where}[{i}]") for i, s in enumerate(_list(value, where))]


def _histories(value, where):
    return [_records(h, f"{where}[{i}]") for i, h in enumerate(_list(value, where))]


def _samples(value, where):
    return [_array(v, f"{where}[{i}]", "iu", 1) for i, v in enumerate(_list(value, where))]


def _float_array(value, where):
    """A float array of 1 or 2 dimensions (NaN allowed: out-of-bag estimates)."""
    ndim = getattr(value, "ndim", 1)
    return _array(value, where, "f", ndim if ndim in (1, 2) else 1)


_SCHEMA = {
    "n_features_in_": lambda v, w: _int(v, w, 1),
    "feature_names_in_": _names,
    "n_outputs_": lambda v, w: _int(v, w, 1),
    "n_layers_": lambda v, w: _int(v, w, 2),
    "out_activation_": _str,
    "coefs_": lambda v, w: _arrays(v, w, 2),
    "intercepts_": lambda v, w: _arrays(v, w, 1),
    "history_": _records,
    "n_iter_": _int,
    "t_": _int,
    "loss_curve_": _reals,
    "loss_": _real,
    "validation_loss_curve_": lambda v, w: _reals(v, w, none=True),
    "validation_scores_": lambda v, w: _reals(v, w, none=True, item_none=True),
    "best_validation_score_": lambda v, w: _real(v, w, none=True),
    "best_loss_": lambda v, w: _real(v, w, none=True),
    "_solver_state": _solver_state,
    # ensembles (ensemble=True, bagging), checked against coefs_ by _check_members
    "members_": _members,
    "members_history_": _histories,
    "_members_solver_state": _members_solver_state,
    "estimators_samples_": _samples,
    "oob_score_": _real,
}
_CLASSIFIER_SCHEMA = {
    "classes_": lambda v, w: _array(v, w, "biufUO", 1),
    "_label_binarizer": _label_binarizer,
}
_CLASSIFIER_OPTIONAL = {"oob_decision_function_": lambda v, w: _array(v, w, "f", 2)}
_REGRESSOR_OPTIONAL = {"oob_prediction_": _float_array}
_REQUIRED = (
    "n_features_in_",
    "n_outputs_",
    "n_layers_",
    "out_activation_",
    "coefs_",
    "intercepts_",
)


def _check_fitted(est, fitted: dict) -> dict:
    """The fitted attributes, each checked against the schema of ``est``'s class."""
    from ..estimators import MLPClassifier

    schema = dict(_SCHEMA)
    required = list(_REQUIRED)
    if isinstance(est, MLPClassifier):
        schema |= _CLASSIFIER_SCHEMA | _CLASSIFIER_OPTIONAL
        required += list(_CLASSIFIER_SCHEMA)
    else:
        schema |= _REGRESSOR_OPTIONAL
    unknown = sorted(set(fitted) - set(schema))
    if unknown:
        raise _Bad(
            f"it holds unknown fitted attributes {unknown!r:.200} for a "
            f"{type(est).__name__}; it has only {sorted(k for k in schema if k[0] != '_')}."
        )
    missing = [k for k in required if k not in fitted]
    if missing:
        raise _Bad(f"it lacks the fitted attributes {missing}; the file is incomplete.")
    return {k: schema[k](v, f"fitted.{k}") for k, v in fitted.items()}


def _check_layers(est, fitted: dict) -> None:
    coefs, intercepts = fitted["coefs_"], fitted["intercepts_"]
    n_layers = fitted["n_layers_"]
    if len(coefs) != len(intercepts) or len(coefs) != n_layers - 1:
        raise _Bad(
            f"it has {len(coefs)} weight matrices and {len(intercepts)} bias "
            f"vectors for n_layers_={n_layers}; it is corrupted."
        )
    n_in = fitted["n_features_in_"]
    for i, (w, b) in enumerate(zip(coefs, intercepts)):
        if w.shape[0] != n_in or b.shape != (w.shape[1],):
            raise _Bad(
                f"Layer {i} has weights of shape {w.shape} and biases of shape {b.shape}, "
                f"but it should map {n_in} inputs; the file is corrupted."
            )
        n_in = w.shape[1]
    if n_in != fitted["n_outputs_"]:
        raise _Bad(
            f"the last layer has {n_in} outputs but n_outputs_={fitted['n_outputs_']}; "
            "the file is corrupted."
        )
    dtypes = sorted({a.dtype.name for a in coefs + intercepts})
    if dtypes not in (["float32"], ["float64"]):
        raise _Bad(f"its weights must all be float32 or all float64, got {dtypes}.")
    names = fitted.get("feature_names_in_")
    if names is not None and len(names) != fitted["n_features_in_"]:
        raise _Bad(
            f"it has {len(names)} feature names for n_features_in_={fitted['n_features_in_']}."
        )
    n_params = sum(a.size for a in coefs + intercepts)
    solvers = [("_solver_state", fitted.get("_solver_state"))]
    solvers += [
        (f"_members_solver_state[{i}]", s)
        for i, s in enumerate(fitted.get("_members_solver_state") or ())
    ]
    for name, solver in solvers:
        if solver is None:
            continue
        for k, v in solver["optimizer"].items():
            if v.shape[1] not in (1, n_params):
                raise _Bad(
                    f"fitted.{name}.optimizer.{k} has shape {v.shape}, but the "
                    f"network has {n_params} weights."
                )


def _check_classes(fitted: dict) -> None:
    classes, lb = fitted["classes_"], fitted["_label_binarizer"]
    n_out, kind = fitted["n_outputs_"], lb["y_type_"]
    expected = 2 if kind == "binary" else n_out
    if (kind == "binary") != (n_out == 1) or len(classes) != expected:
        raise _Bad(
            f"it has {len(classes)} classes_ ({kind}) for a network with {n_out} outputs; "
            f"a {kind} classifier with {n_out} outputs has {expected}."
        )
    try:
        distinct = len(np.unique(classes)) == len(classes)
    except TypeError:  # labels of mixed types do not sort
        distinct = False
    if not distinct:
        raise _Bad(f"its classes_ must be distinct labels of one type, got {classes!r:.120}.")


def _check_members(est, fitted: dict) -> None:
    """An ensemble's members have the shapes and dtypes of ``coefs_``/``intercepts_``,
    one history and (bagging) one sample each, and exist only with ``ensemble=True``."""
    members = fitted.get("members_")
    bagged = [k for k in ("estimators_samples_", "oob_score_") if k in fitted]
    if members is None:
        if "members_history_" in fitted or bagged:
            raise _Bad("it holds an ensemble's histories or samples but no members_.")
        return
    if not est.ensemble:
        raise _Bad("it holds members_ but its parameters have ensemble=False.")
    if not members:
        raise _Bad("its members_ is empty; an ensemble has at least one member.")
    expected = [(a.shape, a.dtype) for a in (*fitted["coefs_"], *fitted["intercepts_"])]
    for i, (coefs, intercepts) in enumerate(members):
        got = [(a.shape, a.dtype) for a in (*coefs, *intercepts)]
        if got != expected:
            raise _Bad(
                f"member {i} has weights of shapes {[g[0] for g in got]} and dtypes "
                f"{sorted({str(g[1]) for g in got})}, but coefs_ and intercepts_ have "
                f"{[e[0] for e in expected]}; the file is corrupted."
            )
    for key in ("members_history_", "estimators_samples_", "_members_solver_state"):
        if fitted.get(key) is not None and len(fitted[key]) != len(members):
            raise _Bad(
                f"it has {len(fitted[key])} {key} for {len(members)} members; it is corrupted."
            )
    for i, samples in enumerate(fitted.get("estimators_samples_", [])):
        if samples.size and samples.min() < 0:
            raise _Bad(f"estimators_samples_[{i}] holds negative row indices.")
