"""What every command shares: the user-error type, optional imports, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path


class UsageError(Exception):
    """A user error: reported as ``skdl: error: <message>`` with exit status 2."""


def _require(module: str, what: str):
    """Import an optional dependency, or raise a one-line UsageError naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise UsageError(
            f"{what} needs {package}, which is not installed; install the command "
            f'line\'s dependencies with: pip install "skdl[cli]"'
        ) from None


def _write_atomic(path, write) -> None:
    """Call ``write(file)`` on a temporary file next to ``path``, fsync, rename over ``path``.

    On any failure (disk full, Ctrl-C) an existing ``path`` is left untouched
    and the temporary file is removed.
    """
    import tempfile

    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _check_writable(path, what: str) -> None:
    """Raise UsageError unless ``path`` can be created or overwritten (checked before work)."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise UsageError(f"cannot write {what} to {path}: it is a directory")
    if not folder.is_dir():
        raise UsageError(f"cannot write {what} to {path}: directory {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"cannot write {what} to {path}: permission denied")


def _convergence_warning():
    from sklearn.exceptions import ConvergenceWarning

    return ConvergenceWarning


def _one_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# the name users import it by, shown in tracebacks and doctests
UsageError.__module__ = "skdl.cli"
