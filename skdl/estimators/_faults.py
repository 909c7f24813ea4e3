"""Running out of device memory: smaller prediction chunks, a clear training error.

A GPU has a fixed amount of memory, and ``torch.OutOfMemoryError`` out of a
fit or a prediction is a raw torch trace that does not say what to change.
Prediction has a free knob, the chunk size, so it halves it and retries;
training does not (the batch size changes the result), so it fails with a
message naming the options.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import torch

# torch >= 2.5 exposes it at the top level; before, only as torch.cuda.OutOfMemoryError
OutOfMemoryError = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError


def _free_cache() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def predict_in_chunks(
    fn: Callable[[int, int], None], n_rows: int, chunk: int, *, est=None, min_chunk: int = 1
) -> int:
    """Call ``fn(start, stop)`` over ``range(n_rows)`` in chunks, halving on OOM.

    Parameters
    ----------
    fn : callable
        ``fn(start, stop)`` computes (and stores) the rows ``start:stop``. It
        must be safe to call again for the same rows after it raised.
    n_rows : int
        The number of rows.
    chunk : int
        The first chunk size tried.
    est : estimator, default=None
        Named in the error message when even ``min_chunk`` rows do not fit.
    min_chunk : int, default=1
        The smallest chunk tried before giving up.

    Returns
    -------
    chunk : int
        The chunk size that worked (the caller may start from it next time).

    Raises
    ------
    torch.OutOfMemoryError
        With :func:`oom_message` when ``min_chunk`` rows do not fit either.
    """
    chunk = max(int(chunk), min_chunk)
    start = 0
    while start < n_rows:
        stop = min(start + chunk, n_rows)
        try:
            fn(start, stop)
        except OutOfMemoryError as exc:
            _free_cache()
            if chunk <= min_chunk:
                raise OutOfMemoryError(oom_message(exc, est, "predicting")) from exc
            chunk = max(chunk // 2, min_chunk)
            continue
        start = stop
    return chunk


def oom_message(exc: BaseException, est=None, during: str = "training") -> str:
    """A message for an out-of-memory error that names what to change."""
    name = type(est).__name__ if est is not None else "the model"
    device = getattr(est, "device", None)
    where = f" on device={device!r}" if device is not None else ""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if during == "predicting":
        fix = (
            "Predict on fewer rows at a time, or move the model to the CPU with "
            "set_params(device='cpu')"
        )
    else:
        sizes = ""
        if est is not None:
            sizes = (
                f" (currently batch_size={getattr(est, 'batch_size', None)!r}, "
                f"hidden_layer_sizes={getattr(est, 'hidden_layer_sizes', None)!r}, "
                f"n_init={getattr(est, 'n_init', None)!r})"
            )
        fix = (
            f"Lower batch_size, the network size or n_init{sizes}, use "
            "dtype='float32', or train on the CPU with device='cpu'"
        )
    return f"Out of memory{where} while {during} {name}. {fix}. (torch: {first})"


@contextmanager
def oom_guard(est, during: str = "training"):
    """Re-raise ``torch.OutOfMemoryError`` (or a host ``MemoryError``) inside the
    block with :func:`oom_message`."""
    try:
        yield
    except OutOfMemoryError as exc:
        _free_cache()
        raise OutOfMemoryError(oom_message(exc, est, during)) from exc
    except RuntimeError as exc:
        # the CPU allocator reports a failed allocation as a plain RuntimeError
        if "can't allocate memory" not in str(exc):
            raise
        raise MemoryError(oom_message(exc, est, during)) from exc
    except MemoryError as exc:
        # numpy's allocator (scikit-learn's initial draw, init='auto') raises MemoryError
        if str(exc).startswith("Out of memory") or isinstance(exc, ValueError):
            raise  # already explained (a FitTooLargeError is a MemoryError and a ValueError)
        raise MemoryError(oom_message(exc, est, during)) from exc


__all__ = ["OutOfMemoryError", "oom_guard", "oom_message", "predict_in_chunks"]
