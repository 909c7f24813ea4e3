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

:func:`load` rebuilds the estimator from these, checks every tensor against
the shape and dtype the JSON declares and the layer sizes against each other,
and raises a ``ValueError`` naming the problem for a corrupted, truncated,
incompatible or newer file. safetensors is a core dependency of skdl.

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
import zipfile
from numbers import Integral, Real

import numpy as np
import sklearn
import torch

FORMAT = "skdl"
FORMAT_VERSION = 1
PARAMS_FILE = "params.json"
WEIGHTS_FILE = "weights.safetensors"
_PIP = "pip install safetensors"
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


def _decode(data, tensors: dict, name: str):
    if isinstance(data, list):
        return [_decode(v, tensors, name) for v in data]
    if not isinstance(data, dict):
        return data
    if "float" in data:
        return float(data["float"])
    if "tuple" in data:
        return tuple(_decode(v, tensors, name) for v in data["tuple"])
    if "dict" in data:
        return {_decode(k, tensors, name): _decode(v, tensors, name) for k, v in data["dict"]}
    if "device" in data:
        return torch.device(data["device"])
    if "ndarray" in data:
        items = [_decode(v, tensors, name) for v in data["ndarray"]]
        dtype = np.dtype(data["dtype"])
        out = np.empty(len(items), dtype=dtype) if dtype.kind == "O" else None
        if out is not None:
            out[:] = items
        else:
            out = np.array(items, dtype=dtype)
        return out.reshape(data["shape"])
    if "tensor" in data:
        return _tensor(data, tensors)
    if "class" in data:
        cls = _schedule_classes().get(data["class"])
        if cls is None:
            raise ValueError(f"{name} is an unknown schedule class {data['class']!r}.")
        return cls(**_decode(data["params"], tensors, name))
    raise ValueError(f"{name} holds an unknown tagged value with keys {sorted(data)}.")


def _tensor(ref: dict, tensors: dict) -> np.ndarray:
    key = ref["tensor"]
    if key not in tensors:
        raise ValueError(f"The weights file has no tensor {key!r}; the file is incomplete.")
    arr = tensors[key]
    if list(arr.shape) != list(ref["shape"]) or arr.dtype.name != ref["dtype"]:
        raise ValueError(
            f"Tensor {key!r} has shape {tuple(arr.shape)} and dtype {arr.dtype}, but "
            f"{PARAMS_FILE} declares {tuple(ref['shape'])} and {ref['dtype']}."
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


def _restore_state(est, fitted: dict) -> None:
    from sklearn.preprocessing import LabelBinarizer

    from .training.history import History
    from .training.loop import LoopState

    lb_state = fitted.pop("_label_binarizer", None)
    solver = fitted.pop("_solver_state", None)
    for key, value in fitted.items():
        setattr(est, key, value)
    if "history_" in fitted:
        est.history_ = History(est.history_)
    if lb_state is not None:
        classes = np.asarray(est.classes_)
        params = {k: lb_state.pop(k) for k in ("neg_label", "pos_label", "sparse_output")}
        lb = LabelBinarizer(**params).fit(classes)
        # fitting on classes_ gives their order back; y_type_ (multilabel, binary)
        # and sparse_input_ are properties of the training target: restore them
        lb.classes_ = classes
        for key, value in lb_state.items():
            setattr(lb, key, value)
        est._label_binarizer = lb
    if solver is not None:
        solver["loop"] = LoopState(**solver["loop"])
        est._solver_state = solver


def _check_layers(est) -> None:
    coefs, intercepts = est.coefs_, est.intercepts_
    if len(coefs) != len(intercepts) or len(coefs) != est.n_layers_ - 1:
        raise ValueError(
            f"The file has {len(coefs)} weight matrices and {len(intercepts)} bias "
            f"vectors for n_layers_={est.n_layers_}; it is corrupted."
        )
    n_in = est.n_features_in_
    for i, (w, b) in enumerate(zip(coefs, intercepts)):
        if w.ndim != 2 or w.shape[0] != n_in or b.shape != (w.shape[1],):
            raise ValueError(
                f"Layer {i} has weights of shape {w.shape} and biases of shape {b.shape}, "
                f"but it should map {n_in} inputs; the file is corrupted."
            )
        n_in = w.shape[1]
    if n_in != est.n_outputs_:
        raise ValueError(
            f"The last layer has {n_in} outputs but n_outputs_={est.n_outputs_}; "
            "the file is corrupted."
        )


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
    if getattr(estimator, "members_", None) is not None:
        raise ValueError(
            "skdl.save does not store ensembles (ensemble=True) yet; refit with "
            "ensemble=False, or use joblib to keep the ensemble."
        )
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


def _read(path) -> tuple[dict, dict]:
    stn = _safetensors_numpy()
    try:
        with zipfile.ZipFile(os.fspath(path)) as zf:
            names = set(zf.namelist())
            missing = {PARAMS_FILE, WEIGHTS_FILE} - names
            if missing:
                raise ValueError(f"{path} is not an skdl model file: it lacks {sorted(missing)}.")
            text, weights = zf.read(PARAMS_FILE), zf.read(WEIGHTS_FILE)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path} is not an skdl model file (a zip archive): {exc}") from exc
    try:
        doc = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{PARAMS_FILE} in {path} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path} is not an skdl model file (no 'format': 'skdl').")
    version = doc.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} has format version {version!r}, newer than this skdl reads "
            f"(up to {FORMAT_VERSION}); it was written by skdl "
            f"{doc.get('versions', {}).get('skdl')}. Upgrade skdl to load it."
        )
    try:
        tensors = stn.load(weights)
    except Exception as exc:  # safetensors raises its own SafetensorError
        raise ValueError(f"{WEIGHTS_FILE} in {path} is corrupted: {exc}") from exc
    return doc, tensors


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
    ValueError
        If the file is corrupted (not a zip, bad JSON, missing tensors, wrong
        shapes), incompatible (an invalid parameter) or of a newer format version.
    ImportError
        If safetensors is not installed.
    """
    doc, tensors = _read(path)
    cls = _estimator_classes().get(doc.get("estimator"))
    if cls is None:
        raise ValueError(f"{path} holds an unknown estimator {doc.get('estimator')!r}.")
    try:
        params = {k: _decode(v, tensors, k) for k, v in doc["params"].items()}
        fitted = {k: _decode(v, tensors, k) for k, v in doc["fitted"].items()}
        if device is not None:
            params["device"] = device
        est = cls(**params)
        est._validate_params()
        _restore_state(est, fitted)
        _check_layers(est)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path} is incompatible with this skdl: {exc!r}") from exc
    return est


def load_as(cls, path, device=None):
    """:func:`load`, checking the estimator is a ``cls`` (for ``cls.load``)."""
    est = load(path, device=device)
    if not isinstance(est, cls):
        raise ValueError(f"{path} holds a {type(est).__name__}, not a {cls.__name__}.")
    return est


__all__ = ["FORMAT_VERSION", "load", "load_as", "save"]
