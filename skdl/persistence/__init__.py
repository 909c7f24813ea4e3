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
>>> clf = clf.fit(X, y)
>>> path = os.path.join(tempfile.mkdtemp(), "model.skdl")
>>> save(clf, path)
>>> bool((load(path).predict(X) == clf.predict(X)).all())
True
"""

from __future__ import annotations

import json
import os

import numpy as np
import sklearn
import torch

from ..estimators import register_io

# "x as x" re-exports: the file's member names, and the internals that
# tests/test_persistence.py checks directly (the schema against LoopState, the
# chunked reader)
from ._encode import _Encoder
from ._encode import _fitted_state as _fitted_state
from ._files import _read, _write_atomic
from ._files import _read_member as _read_member
from ._format import (
    FORMAT,
    FORMAT_VERSION,
    _estimator_classes,
    _problem,
    _safetensors_numpy,
)
from ._format import PARAMS_FILE as PARAMS_FILE
from ._format import WEIGHTS_FILE as WEIGHTS_FILE
from ._format import _Bad as _Bad
from ._restore import _build
from ._schema import _CLASSIFIER_SCHEMA as _CLASSIFIER_SCHEMA
from ._schema import _LOOP_KEYS as _LOOP_KEYS
from ._schema import _SCHEMA as _SCHEMA

# The limits are read by save and load at each call, so a program can change them
# (skdl.persistence.MAX_PARAMS_BYTES = ...) for files with a longer history.
# JSON deeper than this is refused before parsing (a saved model nests about 12 deep)
MAX_JSON_DEPTH = 64
# params.json larger than this is refused before reading: it takes about 1 KB an
# epoch of training history, so 64 MiB holds some 70,000 epochs
MAX_PARAMS_BYTES = 64 << 20


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
    from .._version import __version__

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
    ValueError
        If ``device`` is invalid (scikit-learn's ``InvalidParameterError``, a
        ``ValueError``) or not available on this machine.
    """
    stn = _safetensors_numpy()
    name = os.fspath(path)
    if device is not None:  # the argument's own error, before the file's
        from ..estimators import resolve_device

        _estimator_classes()["MLPRegressor"](device=device)._validate_params()
        resolve_device(device)
    with open(name, "rb") as fh:
        try:
            est = _build(*_read(fh, stn, MAX_PARAMS_BYTES, MAX_JSON_DEPTH), device)
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
