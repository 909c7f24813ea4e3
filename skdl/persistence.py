"""Save and load fitted estimators without pickle: safetensors + JSON in one zip file.

pickle and joblib work as scikit-learn users expect (every fitted attribute is
numpy). They also run arbitrary code when loading, so a file from someone else
must be trusted. :func:`save` writes a format that only holds data:

``model.skdl`` is a zip archive with two members

- ``params.json``: the format name and version, the estimator class, the
  skdl / torch / scikit-learn / numpy versions that wrote it, the constructor
  parameters (``get_params``) and the fitted metadata (``n_features_in_``,
  ``classes_`` when not numeric, ``n_outputs_``, ``loss_curve_``,
  ``history_`` ...). Values JSON has no literal for are tagged objects:
  ``{"tuple": [...]}``, ``{"float": "inf"}``, ``{"dict": [[key, value], ...]}``,
  ``{"ndarray": [...], "dtype": "<U1"}``, ``{"device": "cuda:0"}``, a schedule
  object ``{"class": "ExponentialSchedule", "params": {...}}``, and for a numeric
  array ``{"tensor": name, "shape": [...], "dtype": "float32"}``, its values
  stored in
- ``weights.safetensors``: ``coefs_.0``, ``intercepts_.0``, ... , numeric
  ``classes_``, and the optimizer state (so ``warm_start`` and ``partial_fit``
  continue after a load exactly as without it).

:func:`load` reads with limits (``params.json`` at most :data:`MAX_PARAMS_BYTES`,
nested at most :data:`MAX_JSON_DEPTH` deep, the weights at most the size of the
tensors the JSON declares; sizes are checked before anything is inflated),
checks every tensor against the shape and dtype the JSON declares, and sets
only the fitted attributes of a schema, each checked for its type and against
the others (the layer shapes chain from ``n_features_in_`` to ``n_outputs_``,
``classes_`` fit the output layer, the weights are finite). Every malformed
file -- corrupted, truncated, tampered with, incompatible or newer -- raises
:class:`ModelFileError`, a ``ValueError`` naming the file and what is wrong.
safetensors is a core dependency of skdl.

Examples
--------
>>> import numpy as np, skdl, tempfile, os
>>> from skdl.persistence import save, load
>>> X, y = np.random.RandomState(0).rand(20, 3), np.array(["a", "b"] * 10)
>>> clf = skdl.MLPClassifier((4,), max_iter=5, random_state=0, device="cpu")
>>> clf = clf.fit(X, y)  # doctest: +SKIP
>>> path = os.path.join(tempfile.mkdtemp(), "model.skdl")
>>> save(clf, path)  # doctest: +SKIP
>>> (load(path).predict(X) == clf.predict(X)).all()  # doctest: +SKIP
True
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import zipfile
from numbers import Integral, Real

import numpy as np
import sklearn
import torch

from .estimators import register_io

FORMAT = "skdl"
FORMAT_VERSION = 1
PARAMS_FILE = "params.json"
WEIGHTS_FILE = "weights.safetensors"
_PIP = "pip install safetensors"
# JSON deeper than this is refused before parsing (a saved model nests about 12 deep)
MAX_JSON_DEPTH = 64
# params.json larger than this is refused before reading: it takes about 1 KB an
# epoch of training history, so 64 MiB holds some 70,000 epochs
MAX_PARAMS_BYTES = 64 << 20
_CHUNK = 1 << 20
# arrays of these kinds go to safetensors; strings and objects stay in the JSON
_TENSOR_KINDS = "biuf"


def _safetensors_numpy():
    try:
        import safetensors.numpy as stn
    except ImportError as exc:
        raise ImportError(
            "skdl.save and skdl.load store the weights with safetensors, a dependency "
            f"of skdl that is missing here. Install it with `{_PIP}`."
        ) from exc
    return stn


def _estimator_classes() -> dict:
    from .estimators import MLPClassifier, MLPRegressor

    return {c.__name__: c for c in (MLPClassifier, MLPRegressor)}


def _schedule_classes() -> dict:
    from . import optim

    return {
        name: getattr(optim, name)
        for name in optim.__all__
        if isinstance(getattr(optim, name), type)
        and issubclass(getattr(optim, name), optim.Schedule)
    }


# ------------------------------------------------------------------ encoding
class _Encoder:
    """Turns a value into JSON data; numeric arrays go to ``self.tensors``."""

    def __init__(self, tensors: dict | None):
        self.tensors = tensors

    def __call__(self, value, name: str):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, Integral):
            return int(value)
        if isinstance(value, Real):
            value = float(value)
            return value if math.isfinite(value) else {"float": repr(value)}
        if isinstance(value, np.ndarray):
            return self._array(value, name)
        if isinstance(value, tuple):
            return {"tuple": [self(v, f"{name}.{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self(v, f"{name}.{i}") for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {"dict": [[self(k, name), self(v, f"{name}.{k}")] for k, v in value.items()]}
        if isinstance(value, torch.device):
            return {"device": str(value)}
        cls = type(value)
        if _schedule_classes().get(cls.__name__) is cls:
            return {"class": cls.__name__, "params": self(value.get_params(), name)}
        raise TypeError(
            f"Cannot save {name}={value!r}: skdl.save stores only numbers, strings, "
            "tuples, lists, dicts, arrays and skdl.optim schedules. Use an int "
            "random_state / a built-in value, or pickle / joblib for this estimator."
        )

    def _array(self, value: np.ndarray, name: str):
        if self.tensors is not None and value.dtype.kind in _TENSOR_KINDS:
            self.tensors[name] = np.ascontiguousarray(value)
            return {"tensor": name, "shape": list(value.shape), "dtype": value.dtype.name}
        if value.dtype.kind in _TENSOR_KINDS + "UO":
            items = [self(v, name) for v in value.ravel().tolist()]
            return {"ndarray": items, "dtype": value.dtype.str, "shape": list(value.shape)}
        raise TypeError(f"Cannot save {name}: arrays of dtype {value.dtype} are not supported.")


class ModelFileError(ValueError):
    """A model file that :func:`load` refuses: corrupted, truncated, tampered with,
    too large for what it declares, or inconsistent.

    Every malformed file raises this one error (a ``ValueError``), never a raw
    ``zlib``, ``zipfile``, JSON, safetensors or torch error. ``path`` is the
    file, ``problem`` what is wrong with it.
    """

    def __init__(self, path, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(
            f"Cannot load {path}: {problem} Save the model again with skdl.save, "
            "or load a copy of the file that is known to be good."
        )


class _Bad(Exception):
    """A problem found inside the file; :func:`load` adds the file name."""


def _problem(exc: BaseException) -> str:
    if isinstance(exc, _Bad):
        return str(exc)
    return f"the file is corrupted or truncated ({type(exc).__name__}: {exc})."


# Tagged values (see the module docstring): their exact key sets.
_TAGS = {
    frozenset({"float"}): "float",
    frozenset({"tuple"}): "tuple",
    frozenset({"dict"}): "dict",
    frozenset({"device"}): "device",
    frozenset({"ndarray", "dtype", "shape"}): "ndarray",
    frozenset({"tensor", "shape", "dtype"}): "tensor",
    frozenset({"class", "params"}): "class",
}
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
_SCALARS = (type(None), bool, int, float, str)


def _decode(data, tensors: dict, where: str):
    """Rebuild a value from its JSON form; ``where`` names it in messages."""
    if isinstance(data, _SCALARS):
        return data
    if isinstance(data, list):
        return [_decode(v, tensors, f"{where}[{i}]") for i, v in enumerate(data)]
    tag = _TAGS.get(frozenset(data)) if isinstance(data, dict) else None
    if tag is None:
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise _Bad(f"{where} holds an unknown tagged value with keys {keys}.")
    if tag == "float":
        if data["float"] not in _NON_FINITE:
            raise _Bad(
                f"{where} must be 'inf', '-inf' or 'nan' in a {{'float': ...}} value, "
                f"got {data['float']!r}."
            )
        return _NON_FINITE[data["float"]]
    if tag == "tuple":
        return tuple(_decode(_list(data["tuple"], where), tensors, where))
    if tag == "dict":
        out = {}
        for i, pair in enumerate(_list(data["dict"], where)):
            if not isinstance(pair, list) or len(pair) != 2:
                raise _Bad(f"{where} entry {i} must be a [key, value] pair, got {pair!r:.80}.")
            key = _decode(pair[0], tensors, f"{where} key {i}")
            try:
                hash(key)
            except TypeError:
                raise _Bad(f"{where} key {i} is not hashable: {key!r:.80}.") from None
            out[key] = _decode(pair[1], tensors, f"{where}.{key}")
        return out
    if tag == "device":
        if not isinstance(data["device"], str):
            raise _Bad(f"{where} must name a device as a string, got {data['device']!r:.80}.")
        try:
            return torch.device(data["device"])
        except (RuntimeError, ValueError, TypeError):
            raise _Bad(f"{where} is not a torch device: {data['device']!r:.80}.") from None
    if tag == "ndarray":
        return _ndarray(data, tensors, where)
    if tag == "tensor":
        return _tensor(data, tensors, where)
    cls = _schedule_classes().get(data["class"]) if isinstance(data["class"], str) else None
    if cls is None:
        raise _Bad(f"{where} is an unknown schedule class {data['class']!r:.80}.")
    params = _decode(data["params"], tensors, where)
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise _Bad(f"{where}: the parameters of {cls.__name__} must be a dict of names.")
    try:
        return cls(**params).validate()
    except (TypeError, ValueError) as exc:
        raise _Bad(f"{where}: {exc}") from None


def _list(value, where: str) -> list:
    if not isinstance(value, list):
        raise _Bad(f"{where} must hold a list, got {type(value).__name__}.")
    return value


def _shape(value, where: str) -> tuple:
    if (
        not isinstance(value, list)
        or len(value) > 8
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value)
    ):
        raise _Bad(f"{where} has an invalid shape {value!r:.80}.")
    return tuple(value)


def _ndarray(data: dict, tensors: dict, where: str) -> np.ndarray:
    """A string or object array kept in the JSON (numeric ones are tensors)."""
    items = _list(data["ndarray"], where)
    shape = _shape(data["shape"], where)
    if math.prod(shape) != len(items):
        raise _Bad(f"{where} declares shape {shape} but holds {len(items)} values.")
    if not all(isinstance(v, _SCALARS) for v in items):
        raise _Bad(f"{where} must hold only strings, numbers, booleans and nulls.")
    spec = data["dtype"]
    if spec == "|O":
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out.reshape(shape)
    match = re.fullmatch(r"[<>|]U(\d{1,9})", spec) if isinstance(spec, str) else None
    # numpy gives a string array the width of its longest item: a wider declared
    # width would only allocate memory
    width = max((len(str(v)) for v in items), default=1)
    if match is None or not 1 <= int(match.group(1)) <= max(width, 1):
        raise _Bad(f"{where} has an unsupported array dtype {spec!r:.80}.")
    return np.array(items, dtype=spec).reshape(shape)


_TENSOR_DTYPES = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64",
}  # fmt: skip


def _tensor_ref(ref: dict, where: str) -> tuple[str, tuple, str]:
    key, dtype = ref["tensor"], ref["dtype"]
    if not isinstance(key, str) or not isinstance(dtype, str) or dtype not in _TENSOR_DTYPES:
        raise _Bad(f"{where} is an invalid tensor reference {ref!r:.120}.")
    return key, _shape(ref["shape"], where), dtype


def _tensor(ref: dict, tensors: dict, where: str) -> np.ndarray:
    key, shape, dtype = _tensor_ref(ref, where)
    if key not in tensors:
        raise _Bad(f"The weights file has no tensor {key!r}; the file is incomplete.")
    arr = tensors[key]
    if tuple(arr.shape) != shape or arr.dtype.name != dtype:
        raise _Bad(
            f"Tensor {key!r} has shape {tuple(arr.shape)} and dtype {arr.dtype}, but "
            f"{PARAMS_FILE} declares {shape} and {dtype}."
        )
    return np.array(arr, copy=True)


# --------------------------------------------------------------- the state
def _fitted_state(est) -> dict:
    """The public fitted attributes (``name_``), and the rebuildable private ones."""
    state = {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}
    lb = getattr(est, "_label_binarizer", None)
    if lb is not None:
        state["_label_binarizer"] = {
            k: getattr(lb, k) for k in ("neg_label", "pos_label", "sparse_output", "y_type_")
        } | {"sparse_input_": getattr(lb, "sparse_input_", False)}
    solver = getattr(est, "_solver_state", None)
    if solver is not None:
        state["_solver_state"] = dict(solver) | {"loop": dataclasses.asdict(solver["loop"])}
    return state


# ------------------------------------------------------- the fitted schema
# Loading sets only these attributes, each checked for its type and then against
# the others (shapes chain, classes_ fit the output layer, weights are finite);
# a key outside the schema is refused, never set.
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
    from .estimators import MLPClassifier

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
    solver = fitted.get("_solver_state")
    if solver is not None:
        n_params = sum(a.size for a in coefs + intercepts)
        for k, v in solver["optimizer"].items():
            if v.shape[1] not in (1, n_params):
                raise _Bad(
                    f"fitted._solver_state.optimizer.{k} has shape {v.shape}, but the "
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
    for key in ("members_history_", "estimators_samples_"):
        if key in fitted and len(fitted[key]) != len(members):
            raise _Bad(
                f"it has {len(fitted[key])} {key} for {len(members)} members; it is corrupted."
            )
    for i, samples in enumerate(fitted.get("estimators_samples_", [])):
        if samples.size and samples.min() < 0:
            raise _Bad(f"estimators_samples_[{i}] holds negative row indices.")


def _restore_state(est, fitted: dict) -> None:
    """Set the fitted attributes on ``est``, after checking all of them."""
    from sklearn.preprocessing import LabelBinarizer

    from .nn.losses import LOSSES
    from .training.history import History
    from .training.loop import LoopState

    fitted = _check_fitted(est, fitted)
    _check_layers(est, fitted)
    _check_members(est, fitted)
    lb_state = fitted.pop("_label_binarizer", None)
    solver = fitted.pop("_solver_state", None)
    lb = None
    if lb_state is not None:
        _check_classes(fitted | {"_label_binarizer": lb_state})
        classes = fitted["classes_"]
        lb_state = dict(lb_state)
        params = {k: lb_state.pop(k) for k in ("neg_label", "pos_label", "sparse_output")}
        lb = LabelBinarizer(**params).fit(classes)
        # fitting on classes_ gives their order back; y_type_ (multilabel, binary)
        # and sparse_input_ are properties of the training target: restore them
        lb.classes_ = classes
        for key, value in lb_state.items():
            setattr(lb, key, value)
        est._label_binarizer = lb
    expected = LOSSES[est._loss_name()].out_activation
    if fitted["out_activation_"] != expected:
        raise _Bad(
            f"its out_activation_ is {fitted['out_activation_']!r:.40}, but a "
            f"{type(est).__name__} with these parameters and classes has {expected!r}."
        )
    for key, value in fitted.items():
        setattr(est, key, value)
    if "history_" in fitted:
        est.history_ = History(est.history_)
    if "members_history_" in fitted:
        est.members_history_ = [History(h) for h in est.members_history_]
    if solver is not None:
        solver = dict(solver, loop=LoopState(**solver["loop"]))
        est._solver_state = solver


# ----------------------------------------------------------------- public
def save(estimator, path) -> None:
    """Save a fitted skdl estimator to ``path`` without pickle.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        A fitted estimator.
    path : str or path-like
        The file to write (a zip archive; ``.skdl`` is a good extension).

    Raises
    ------
    ImportError
        If safetensors is not installed.
    TypeError
        If a parameter has a value the format cannot hold (e.g. a
        ``numpy.random.RandomState`` as ``random_state``): use pickle / joblib.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    """
    from sklearn.utils.validation import check_is_fitted

    stn = _safetensors_numpy()
    name = type(estimator).__name__
    if _estimator_classes().get(name) is not type(estimator):
        raise TypeError(f"skdl.save saves MLPClassifier and MLPRegressor, not {name}.")
    check_is_fitted(estimator)
    tensors: dict = {}
    encode = _Encoder(tensors)
    from . import __version__

    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "estimator": name,
        "versions": {
            "skdl": __version__,
            "torch": torch.__version__,
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
        },
        "params": {k: encode(v, k) for k, v in estimator.get_params(deep=False).items()},
        "fitted": {k: encode(v, k) for k, v in _fitted_state(estimator).items()},
    }
    text = json.dumps(doc, allow_nan=False, indent=1)
    if len(text.encode()) > MAX_PARAMS_BYTES:
        raise ValueError(
            f"The parameters and fitted metadata of this model take {len(text.encode()):,} "
            f"bytes of JSON, more than the {MAX_PARAMS_BYTES:,} skdl.load reads "
            "(skdl.persistence.MAX_PARAMS_BYTES); its history_ has "
            f"{len(getattr(estimator, 'history_', []))} epochs. Use pickle / joblib for it."
        )
    weights = stn.save(tensors, metadata={"format": FORMAT})
    _write_atomic(os.fspath(path), text, weights)


def _write_atomic(path: str, text: str, weights: bytes) -> None:
    """Write the zip to a temporary file next to ``path``, fsync it, then rename.

    A failure while writing (disk full, Ctrl-C) leaves an existing ``path``
    untouched and removes the temporary file.
    """
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w") as zf:
                zf.writestr(PARAMS_FILE, text, compress_type=zipfile.ZIP_DEFLATED)
                zf.writestr(WEIGHTS_FILE, weights, compress_type=zipfile.ZIP_STORED)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable where the platform allows it
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


def _json_depth(text: str) -> int:
    """The deepest nesting of ``[`` / ``{`` in a JSON text, without recursion.

    Strings are removed first (a bracket inside one does not nest), then the
    depth is a running sum over the brackets, in chunks of bounded memory.
    """
    data = np.frombuffer(_JSON_STRING.sub("", text).encode(), dtype=np.uint8)
    step = np.zeros(256, dtype=np.int32)
    step[[ord("["), ord("{")]] = 1
    step[[ord("]"), ord("}")]] = -1
    depth = deepest = 0
    for start in range(0, len(data), 1 << 20):
        run = depth + np.cumsum(step[data[start : start + (1 << 20)]], dtype=np.int64)
        if len(run):
            deepest, depth = max(deepest, int(run.max())), int(run[-1])
    return deepest


def _refuse_constant(name):
    raise _Bad(f"{PARAMS_FILE} holds {name}, which JSON does not allow (skdl writes none).")


def _parse_json(raw: bytes) -> dict:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Bad(f"{PARAMS_FILE} is not valid JSON (not UTF-8: {exc}).") from None
    depth = _json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise _Bad(
            f"{PARAMS_FILE} nests {depth} levels deep; a model file nests at most {MAX_JSON_DEPTH}."
        )
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        if isinstance(exc, _Bad):
            raise
        raise _Bad(f"{PARAMS_FILE} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _Bad("it is not an skdl model file (no 'format': 'skdl').")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        versions = doc.get("versions")
        writer = versions.get("skdl") if isinstance(versions, dict) else None
        raise _Bad(
            f"it has format version {version!r:.40}, newer than this skdl reads (up to "
            f"{FORMAT_VERSION}); it was written by skdl {writer!r:.40}. Upgrade skdl to "
            "load it."
        )
    for section in ("params", "fitted"):
        if not isinstance(doc.get(section), dict):
            raise _Bad(
                f"it is incompatible with this skdl: {PARAMS_FILE} has no {section!r} section."
            )
    return doc


def _open_zip(fh) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(fh)
    except zipfile.BadZipFile as exc:
        raise _Bad(f"it is not an skdl model file (a zip archive): {exc}.") from None
    names = zf.namelist()
    missing = sorted({PARAMS_FILE, WEIGHTS_FILE} - set(names))
    if missing:
        raise _Bad(f"it is not an skdl model file: it lacks {missing}.")
    if len(names) != 2:
        raise _Bad(f"it holds the members {sorted(names)!r:.200}; a model file holds two.")
    return zf


def _read_member(zf: zipfile.ZipFile, name: str, limit: int, why: str) -> bytes:
    """A member's bytes, refusing more than ``limit`` uncompressed bytes.

    The size its header declares is checked first (a zip bomb costs nothing),
    then the bytes are read in bounded chunks, as a header can lie.
    """
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise _Bad(
            f"{name} declares {info.file_size:,} bytes uncompressed, "
            f"more than the {limit:,} bytes {why}."
        )
    buf = bytearray()
    with zf.open(info) as member:
        while chunk := member.read(min(_CHUNK, limit + 1 - len(buf))):
            buf += chunk
            if len(buf) > limit:
                raise _Bad(f"{name} inflates to more than the {limit:,} bytes {why}.")
    return bytes(buf)


def _tensor_refs(data, refs: dict, where: str) -> dict:
    """Collect ``{name: (shape, dtype)}`` of every tensor the JSON declares."""
    if isinstance(data, list):
        for i, v in enumerate(data):
            _tensor_refs(v, refs, f"{where}[{i}]")
    elif isinstance(data, dict):
        if _TAGS.get(frozenset(data)) == "tensor":
            key, shape, dtype = _tensor_ref(data, where)
            if refs.setdefault(key, (shape, dtype)) != (shape, dtype):
                raise _Bad(f"{PARAMS_FILE} declares tensor {key!r} twice, differently.")
        else:
            for k, v in data.items():
                _tensor_refs(v, refs, f"{where}.{k}")
    return refs


def _weights_limit(refs: dict) -> int:
    """The size of a safetensors file holding exactly these tensors, with room for
    its header: 8 bytes of length, then JSON of about 100 bytes a tensor."""
    data = sum(math.prod(shape) * np.dtype(dtype).itemsize for shape, dtype in refs.values())
    header = 4096 + sum(len(key) + 64 + 24 * len(shape) for key, (shape, _) in refs.items())
    return 8 + header + data


def _read(fh, stn) -> tuple[dict, dict]:
    zf = _open_zip(fh)
    doc = _parse_json(
        _read_member(
            zf,
            PARAMS_FILE,
            MAX_PARAMS_BYTES,
            "that a model's parameters may take (MAX_PARAMS_BYTES)",
        )
    )
    refs = _tensor_refs({"params": doc["params"], "fitted": doc["fitted"]}, {}, "")
    limit = _weights_limit(refs)
    raw = _read_member(zf, WEIGHTS_FILE, limit, f"that the tensors declared in {PARAMS_FILE} take")
    try:
        tensors = stn.load(raw)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own SafetensorError
        raise _Bad(f"{WEIGHTS_FILE} is corrupted: {exc}") from None
    extra = sorted(set(tensors) - set(refs))
    if extra:
        raise _Bad(f"{WEIGHTS_FILE} holds tensors {PARAMS_FILE} does not declare: {extra!r:.200}.")
    return doc, tensors


def _check_device(device) -> None:
    """A device skdl trains on; whether this machine has it is checked at fit/predict
    (a model saved on a GPU loads anywhere, then ``set_params(device='cpu')``)."""
    if isinstance(device, str) and device == "auto":
        return
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError, ValueError):
        kind = None
    if kind not in ("cpu", "cuda", "mps"):
        raise _Bad(
            f"{PARAMS_FILE} holds an invalid parameter: the 'device' parameter must be "
            f"'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'. Got {device!r:.80} instead."
        )


def _build(doc: dict, tensors: dict, device=None):
    cls = _estimator_classes().get(doc.get("estimator"))
    if cls is None:
        raise _Bad(f"it holds an unknown estimator {doc.get('estimator')!r:.80}.")
    params = {k: _decode(v, tensors, f"params.{k}") for k, v in doc["params"].items()}
    fitted = {k: _decode(v, tensors, f"fitted.{k}") for k, v in doc["fitted"].items()}
    if device is not None:  # a model saved on a GPU loads with device='cpu' on a CPU
        params["device"] = device
    try:
        est = cls(**params)
    except TypeError as exc:
        raise _Bad(f"it is incompatible with this skdl: {exc}.") from None
    try:
        est._validate_params()
    except (ValueError, TypeError) as exc:
        raise _Bad(f"{PARAMS_FILE} holds an invalid parameter: {exc}") from None
    _check_device(est.device)
    _restore_state(est, fitted)
    return est


def load(path, device=None):
    """Load an estimator saved by :func:`save`; no pickle is involved.

    Parameters
    ----------
    path : str or path-like
        The file written by :func:`save`.
    device : str or torch.device, default=None
        Set the estimator's ``device`` (e.g. ``'cpu'`` for a model trained on a
        GPU); None keeps the saved one.

    Returns
    -------
    estimator : MLPClassifier or MLPRegressor
        The fitted estimator; it predicts exactly as the saved one.

    Raises
    ------
    ModelFileError
        A ``ValueError`` naming the file and what is wrong with it, for every
        malformed file: not a zip, flipped or missing bytes, bad JSON, missing
        tensors or wrong shapes, an invalid parameter, a newer format version.
    FileNotFoundError, PermissionError
        If the file cannot be opened.
    ImportError
        If safetensors is not installed.
    sklearn.utils._param_validation.InvalidParameterError
        If ``device`` is invalid.
    """
    stn = _safetensors_numpy()
    name = os.fspath(path)
    if device is not None:  # the argument's own error, before the file's
        from .estimators import resolve_device

        _estimator_classes()["MLPRegressor"](device=device)._validate_params()
        resolve_device(device)
    with open(name, "rb") as fh:
        try:
            est = _build(*_read(fh, stn), device)
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - every malformed file gives one error type
            # _Bad is a problem found by a check; anything else (zlib.error,
            # NotImplementedError, BadZipFile, EOFError, ...) a corruption the
            # checks cannot see coming, raised by the zip, JSON or tensor reader
            raise ModelFileError(name, _problem(exc)) from exc
    return est


def load_as(cls, path, device=None):
    """:func:`load`, checking the estimator is a ``cls`` (for ``cls.load``)."""
    est = load(path, device=device)
    if not isinstance(est, cls):
        raise ModelFileError(
            os.fspath(path), f"it holds a {type(est).__name__}, not a {cls.__name__}."
        )
    return est


register_io(save=save, load_as=load_as)  # the estimators' save and load

__all__ = ["FORMAT_VERSION", "ModelFileError", "load", "load_as", "save"]
