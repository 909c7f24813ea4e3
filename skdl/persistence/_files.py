"""The zip archive on disk: written atomically, read within limits.

Writing goes to a temporary file that is renamed over the target; reading
checks every size a header declares before inflating anything, then reads in
bounded chunks, as a header can lie.
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile

import numpy as np

from ._decode import _tensor_ref
from ._format import _TAGS, FORMAT, FORMAT_VERSION, PARAMS_FILE, WEIGHTS_FILE, _Bad

_CHUNK = 1 << 20


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


def _parse_json(raw: bytes, max_depth: int) -> dict:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Bad(f"{PARAMS_FILE} is not valid JSON (not UTF-8: {exc}).") from None
    depth = _json_depth(text)
    if depth > max_depth:
        raise _Bad(
            f"{PARAMS_FILE} nests {depth} levels deep; a model file nests at most {max_depth}."
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


def _read(fh, stn, max_params_bytes: int, max_json_depth: int) -> tuple[dict, dict]:
    """The JSON document and the tensors of an open model file, every limit checked."""
    zf = _open_zip(fh)
    doc = _parse_json(
        _read_member(
            zf,
            PARAMS_FILE,
            max_params_bytes,
            "that a model's parameters may take (MAX_PARAMS_BYTES)",
        ),
        max_json_depth,
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
