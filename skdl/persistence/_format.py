"""The file format's names and tags, its internal error, and the classes it may hold.

A model file is a zip archive of ``params.json`` (:data:`PARAMS_FILE`) and
``weights.safetensors`` (:data:`WEIGHTS_FILE`); values JSON has no literal for
are tagged objects (:data:`_TAGS`). The classes a file may name (the
estimators, the schedules) are looked up by name in skdl's own packages,
never imported because a file names them.
"""

from __future__ import annotations

import math

FORMAT = "skdl"
FORMAT_VERSION = 1
PARAMS_FILE = "params.json"
WEIGHTS_FILE = "weights.safetensors"
_PIP = "pip install safetensors"
# arrays of these kinds go to safetensors; strings and objects stay in the JSON
_TENSOR_KINDS = "biuf"


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
_TENSOR_DTYPES = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64",
}  # fmt: skip


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
    from ..estimators import MLPClassifier, MLPRegressor

    return {c.__name__: c for c in (MLPClassifier, MLPRegressor)}


def _schedule_classes() -> dict:
    from .. import optim

    return {
        name: getattr(optim, name)
        for name in optim.__all__
        if isinstance(getattr(optim, name), type)
        and issubclass(getattr(optim, name), optim.Schedule)
    }


class _Bad(Exception):
    """A problem found inside the file; :func:`load` adds the file name."""


def _problem(exc: BaseException) -> str:
    if isinstance(exc, _Bad):
        return str(exc)
    return f"the file is corrupted or truncated ({type(exc).__name__}: {exc})."
