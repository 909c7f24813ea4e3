"""The model file of ``skdl fit`` (skops.io, no pickle), and reading either format."""

from __future__ import annotations

import sys
from pathlib import Path

from ._common import UsageError, _one_line, _require, _write_atomic

_MODEL_FORMAT = "skdl-cli-model/2"


def save_model(path, model, **info) -> None:
    """Write ``model`` and ``info`` (target, task, scores) to ``path`` with skops.io.

    The file is a zip archive of JSON and ``.npy`` arrays (no pickle); loading
    it constructs only scikit-learn, numpy and skdl classes (see
    :func:`load_model`). It is written to a temporary file next to ``path``
    and renamed over it, so a failure leaves an existing ``path`` intact.
    """
    import zipfile

    sio = _require("skops.io", "writing the model file")
    doc = {"format": _MODEL_FORMAT, "model": model, **info}
    _write_atomic(path, lambda fh: sio.dump(doc, fh, compression=zipfile.ZIP_DEFLATED))


def load_model(path) -> dict:
    """Load a file written by ``skdl fit`` (:func:`save_model`) or by :func:`skdl.save`.

    Neither is a pickle, and loading runs no code from the file: ``skdl fit``'s
    file is read with ``skops.io.load``, trusting exactly the types the file
    names when each is a class of scikit-learn, numpy or skdl that is already
    imported (nothing is imported because a file names it); ``skdl.save``'s
    file is read with :func:`skdl.load`.

    Returns
    -------
    saved : dict
        ``"model"`` and whatever :func:`save_model` stored with it.

    Raises
    ------
    UsageError
        If the file is missing, is not a model file, is corrupted, or names a
        type outside scikit-learn, numpy and skdl (the message names the type).
    """
    import zipfile

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise UsageError(
            f"{path} is not a skdl model file ({_describe(path)}); a model file is the "
            f"zip archive that `skdl fit DATA --target COL --out FILE` or skdl.save() writes"
        ) from None
    if "params.json" in names:  # skdl.save's format
        from ..persistence import load

        try:
            return {"model": load(path)}
        except (ValueError, ImportError) as exc:
            raise UsageError(f"cannot read model file {path}: {_one_line(exc)}") from None
    if "schema.json" not in names:
        raise UsageError(
            f"{path} is not a skdl model file (a zip archive without a model); a model file "
            f"is what `skdl fit DATA --target COL --out FILE` or skdl.save() writes"
        )
    sio = _require("skops.io", "reading the model file")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # a corrupted schema: skops raises many types
        raise UsageError(
            f"cannot read model file {path}: {type(exc).__name__}: {_one_line(exc)}"
        ) from None
    trusted = trusted_types(untrusted, path)
    try:
        saved = sio.load(path, trusted=trusted)
    except Exception as exc:
        raise UsageError(
            f"cannot read model file {path}: {type(exc).__name__}: {_one_line(exc)}"
        ) from None
    if not isinstance(saved, dict) or saved.get("format") != _MODEL_FORMAT:
        saved = {"model": saved}
    if not hasattr(saved.get("model"), "predict"):
        kind = type(saved.get("model")).__name__
        raise UsageError(f"model file {path} holds a {kind}, not a model")
    return saved


# Root packages whose classes a model file may name (see trusted_types).
_TRUSTED_PACKAGES = ("sklearn", "numpy", "skdl")


def trusted_types(names, path="the model file") -> list[str]:
    """The subset of skops type ``names`` to trust; refuse a file naming any other type.

    A name is trusted when it is a class defined in scikit-learn, numpy or skdl
    and its module is already imported (skdl imports its own; a module named
    only by the file is never imported, so reading a file runs none of its
    choice). Functions, and classes of any other package, are refused.

    Parameters
    ----------
    names : list of str
        What ``skops.io.get_untrusted_types`` returns for the file.
    path : str or Path
        The file, for the message.

    Returns
    -------
    trusted : list of str
        ``names`` (all of them are trusted).

    Raises
    ------
    UsageError
        Naming the first type that is not trusted.

    Examples
    --------
    >>> trusted_types(["skdl.training.history.History", "numpy.dtype"])
    ['skdl.training.history.History', 'numpy.dtype']
    >>> trusted_types(["builtins.eval"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    skdl.cli.UsageError: the model file needs the type builtins.eval, ...
    """
    from .. import estimators, optim  # noqa: F401  (skdl's classes are in sys.modules)
    from ..training import history, loop  # noqa: F401

    for name in names:
        module, _, attr = name.rpartition(".")
        obj = getattr(sys.modules.get(module), attr, None) if module else None
        if not (
            module.split(".")[0] in _TRUSTED_PACKAGES
            and isinstance(obj, type)
            and obj.__module__.split(".")[0] in _TRUSTED_PACKAGES
        ):
            raise UsageError(
                f"{path} needs the type {name}, which skdl does not load: a model file "
                "may hold only scikit-learn, numpy and skdl classes. If you trust the "
                f"file's source, load it with skops.io.load(path, trusted=[{name!r}, ...])"
            )
    return list(names)


def _describe(path) -> str:
    """What a file that is not a zip archive looks like, from its first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head[:1] == b"\x80" or head[:2] in (b"x\x9c", b"x\xda", b"\x1f\x8b"):
        return "it looks like a pickle or a compressed joblib file, which skdl does not load"
    if head.startswith(b"PAR1"):
        return "it is a Parquet file"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "it is not a zip archive"
    if "," in text.split("\n", 1)[0]:
        return "it looks like a CSV table"
    return "it is a text file"
