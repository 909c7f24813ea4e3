"""Reading: JSON data back into values, each tagged value and tensor reference checked."""

from __future__ import annotations

import math
import re

import numpy as np
import torch

from ._format import (
    _NON_FINITE,
    _SCALARS,
    _TAGS,
    _TENSOR_DTYPES,
    PARAMS_FILE,
    _Bad,
    _schedule_classes,
)


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
    return _DECODERS[tag](data, tensors, where)


def _float(data: dict, tensors: dict, where: str) -> float:
    if data["float"] not in _NON_FINITE:
        raise _Bad(
            f"{where} must be 'inf', '-inf' or 'nan' in a {{'float': ...}} value, "
            f"got {data['float']!r}."
        )
    return _NON_FINITE[data["float"]]


def _tuple(data: dict, tensors: dict, where: str) -> tuple:
    return tuple(_decode(_list(data["tuple"], where), tensors, where))


def _dict(data: dict, tensors: dict, where: str) -> dict:
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


def _device(data: dict, tensors: dict, where: str) -> torch.device:
    if not isinstance(data["device"], str):
        raise _Bad(f"{where} must name a device as a string, got {data['device']!r:.80}.")
    try:
        return torch.device(data["device"])
    except (RuntimeError, ValueError, TypeError):
        raise _Bad(f"{where} is not a torch device: {data['device']!r:.80}.") from None


def _schedule(data: dict, tensors: dict, where: str):
    """A schedule object: a class skdl.optim defines, its parameters validated."""
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


# the rebuilder of each tag of _TAGS
_DECODERS = {
    "float": _float,
    "tuple": _tuple,
    "dict": _dict,
    "device": _device,
    "ndarray": _ndarray,
    "tensor": _tensor,
    "class": _schedule,
}
