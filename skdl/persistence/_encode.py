"""Writing: an estimator's parameters and fitted state as JSON data and named arrays."""

from __future__ import annotations

import dataclasses
import math
from numbers import Integral, Real

import numpy as np
import torch

from ._format import _TENSOR_KINDS, _schedule_classes


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
        state["_solver_state"] = _solver_dict(solver)
    members = getattr(est, "_members_solver_state", None)
    if members is not None:
        state["_members_solver_state"] = [_solver_dict(s) for s in members]
    return state


def _solver_dict(solver: dict) -> dict:
    return dict(solver) | {"loop": dataclasses.asdict(solver["loop"])}
