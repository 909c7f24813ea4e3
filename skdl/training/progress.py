"""Progress reports of a fit: observers (:mod:`skdl.training.observers`) of the engine.

``verbose=1`` shows a tqdm bar (epochs, training loss, validation loss and
score, learning rate, ETA) on stderr when both stdout and stderr are a terminal
and tqdm is installed; otherwise (a notebook, a log capture,
``contextlib.redirect_stdout``, CI) it prints scikit-learn's lines to stdout, as
scikit-learn's ``verbose=True`` does ("Iteration %d, loss = %.8f", "Validation
score: %f"); ``verbose=2`` always prints those. Given an explicit ``stream``,
``verbose=1`` draws the bar there if it is a terminal, else plain lines every
few epochs. tqdm is imported only when a bar is opened, so ``import skdl``
does not import it.
"""

from __future__ import annotations

import sys
import time

import numpy as np

# verbose=1 without a terminal: about this many lines per fit (plus the last epoch).
_PLAIN_LINES = 10


def _current_record(state, active):
    """Record of this epoch to show: model 0's, else the first model that trained.

    With ``n_init > 1`` (or a search stack) the models share the epoch; model 0
    stands for them until it stops, then the first model still recording.
    """
    for k in range(len(state.history)):
        hist = state.history[k]
        if hist and hist[-1]["epoch"] == state.epoch:
            return hist[-1]
    return None


def _fmt_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}:{m:02d}:{s:02d}" if hours else f"{m:02d}:{s:02d}"


def _fields(rec) -> dict:
    """Short name -> formatted value of the numbers a record has."""
    out = {"loss": f"{rec['train_loss']:.4g}"}
    if rec.get("val_loss") is not None:
        out["val_loss"] = f"{rec['val_loss']:.4g}"
    if rec.get("val_score") is not None:
        out["val_score"] = f"{rec['val_score']:.4f}"
    if rec.get("learning_rate") is not None:
        out["lr"] = f"{rec['learning_rate']:.3g}"
    return out


class Progress:
    """Report the epochs of one fit; a context manager that yields the callback.

    Parameters
    ----------
    verbose : int or bool
        0 reports nothing (the callback is None), 1 a progress bar or plain
        lines, 2 and above scikit-learn's per-epoch lines.
    total : int
        Number of epochs the fit may run (``max_iter``).
    desc : str, default="fit"
        Label in front of the bar and the plain lines.
    stream : file-like, default=None
        Where a bar or plain lines go. None (what the estimators pass): a bar on
        ``sys.stderr`` when stdout and stderr are terminals, else scikit-learn's
        lines on ``sys.stdout``. scikit-learn's lines (``verbose >= 2``) always go
        to ``sys.stdout``.
    n_models : int, default=1
        Models trained together; with more than one, the bar counts those still
        training and shows the numbers of model 0 (see :func:`_current_record`).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> rec = {"epoch": 1, "train_loss": 0.5, "val_loss": None, "val_score": 0.75,
    ...        "learning_rate": 1e-3, "seconds": 0.01}
    >>> state = SimpleNamespace(epoch=1, history=[[rec]])
    >>> with Progress(2, total=10) as on_epoch:
    ...     on_epoch(state, np.array([True]))
    Iteration 1, loss = 0.50000000
    Validation score: 0.750000
    """

    def __init__(self, verbose, total: int, desc: str = "fit", stream=None, n_models: int = 1):
        self.verbose = int(verbose)
        self.total = int(total)
        self.desc = desc
        self.stream = stream
        self.n_models = n_models
        self._bar = None
        self._start_epoch = None
        self._tic = None
        self._every = max(1, self.total // _PLAIN_LINES)
        self._last_line = None

    # ----------------------------------------------------------- context
    def __enter__(self):
        if self.verbose <= 0:
            return None
        default = self.stream is None
        if default:
            self.stream = sys.stderr
            if self.verbose == 1 and not (_isatty(sys.stdout) and _isatty(sys.stderr)):
                # not a terminal: scikit-learn's lines, on stdout, where a
                # notebook cell, a log capture or redirect_stdout look for them
                self.verbose = 2
        if self.verbose == 1 and _isatty(self.stream):
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm is optional: scikit-learn's or plain lines instead
                tqdm = None
                if default:
                    self.verbose = 2
            if tqdm is not None:
                self._bar = tqdm(
                    total=self.total,
                    desc=self.desc,
                    unit="epoch",
                    file=self.stream,
                    dynamic_ncols=True,
                    leave=True,
                )
        self._tic = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def close(self) -> None:
        """Close the bar (also on early stop or an exception); print the last plain line."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.verbose == 1 and self._last_line is not None:
            print(self._last_line, file=self.stream, flush=True)
        self._last_line = None

    # ----------------------------------------------------------- observer
    def on_epoch_begin(self, state) -> None:
        """Nothing to show before an epoch."""

    def on_epoch_end(self, state) -> bool:
        """Show the epoch that ended (:class:`~skdl.training.observers.EpochState`); never stops."""
        self(state, state.active)
        return False

    def __call__(self, state, active) -> None:
        rec = _current_record(state, active)
        if rec is None:
            return
        if self._start_epoch is None:
            self._start_epoch = rec["epoch"] - 1
        done = rec["epoch"] - self._start_epoch
        if self.verbose >= 2:
            print(f"Iteration {rec['epoch']}, loss = {rec['train_loss']:.8f}")
            if rec["val_score"] is not None:
                print(f"Validation score: {rec['val_score']:.6f}")
            return
        fields = _fields(rec)
        n_active = int(np.count_nonzero(active))
        if self.n_models > 1:
            fields["training"] = f"{n_active}/{self.n_models}"
        if self._bar is not None:
            self._bar.set_postfix(fields, refresh=False)
            self._bar.update(1)
            return
        line = self._plain_line(done, fields, stopped=n_active == 0)
        if done % self._every == 0 or done == 1:
            print(line, file=self.stream, flush=True)
            self._last_line = None
        else:
            self._last_line = line  # printed at close if it is the last epoch

    def _plain_line(self, done: int, fields: dict, stopped: bool) -> str:
        elapsed = time.perf_counter() - self._tic
        numbers = "  ".join(f"{k}={v}" for k, v in fields.items())
        if stopped or done >= self.total:
            when = f"done in {_fmt_seconds(elapsed)}"
        else:
            when = f"eta {_fmt_seconds(elapsed / done * (self.total - done))}"
        width = len(str(self.total))
        return f"{self.desc}: epoch {done:>{width}}/{self.total}  {numbers}  {when}"


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


# ---------------------------------------------------------------- searches
class StackBar:
    """A stack's observer advancing a search's :class:`SearchProgress` by the
    models that trained each epoch; :meth:`finish` adds the epochs that models
    stopped early did not run, so the stack counts ``K x max_iter`` in all."""

    def __init__(self, bar: SearchProgress, total: int):
        self.bar = bar
        self.total = int(total)

    def on_epoch_begin(self, state) -> None:
        """Nothing to count before an epoch."""

    def on_epoch_end(self, state) -> bool:
        self.bar.advance(state.n_trained)
        return False

    def finish(self, n_iter) -> None:
        self.bar.advance(self.total - int(np.sum(n_iter)))


class SearchProgress:
    """One bar over every model a search trains, counted in model-epochs.

    A search's ``verbose >= 1`` opens one for the whole search; each batch of
    candidates (``evaluate_candidates`` call: a halving rung, a coarse-to-fine
    round) adds the epochs its fits may run to the total (:meth:`extend`):
    ``max_iter x n_init`` per candidate and split, or the epochs a resumed
    fit adds. When the fits run in this
    thread, each stack advances it epoch by epoch (:meth:`advance`, called by
    the training loop for the models that trained) and then by the epochs its
    early-stopped models skipped; fits in other processes move it as their
    results come back (:meth:`advance_to`, which the search calls either way).
    A tqdm bar on a terminal, else plain lines at every tenth of the way.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with SearchProgress(40, desc="search", stream=out) as bar:
    ...     bar.advance(40)
    >>> print(out.getvalue().split("  eta")[0].split("  done")[0])
    search: 40/40 model-epochs (100%)
    """

    def __init__(self, total: int, desc: str = "search", stream=None):
        self.total = max(int(total), 1)
        self._planned = int(total) > 0  # whether total counts planned epochs (not the floor 1)
        self.desc = desc
        self.stream = stream
        self.done = 0
        self._bar = None
        self._tic = None
        self._next_line = 0
        self._fields = {}

    def __enter__(self):
        if self.stream is None:
            self.stream = sys.stderr
        if _isatty(self.stream):
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(
                    total=self.total,
                    desc=self.desc,
                    unit="model-epoch",
                    file=self.stream,
                    dynamic_ncols=True,
                    leave=True,
                )
        self._tic = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.done > 0:
            self._print(final=True)  # the one "done" line, when the search ends
        return False

    def extend(self, n: int) -> None:
        """Add ``n`` model-epochs to the total: the next rung or round of a search
        that evaluates its candidates in several batches, on the same bar."""
        if n <= 0:
            return
        self.total = self.total + int(n) if self.done or self._planned else max(int(n), 1)
        self._planned = True
        if self._bar is not None:
            self._bar.total = self.total
            self._bar.refresh()

    def advance(self, n: int) -> None:
        """Count ``n`` more model-epochs (clipped at the total)."""
        n = min(int(n), self.total - self.done)
        if n <= 0:
            return
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self._next_line <= self.done < self.total:
            self._print()  # at the total, the search may add a rung: its end prints

    def advance_to(self, done: int) -> None:
        """Count up to ``done`` model-epochs (no-op if already there)."""
        self.advance(done - self.done)

    def note(self, **fields) -> None:
        """Show ``name=value`` next to the count (e.g. the best score so far)."""
        self._fields.update(fields)
        if self._bar is not None:
            self._bar.set_postfix(self._fields, refresh=False)

    def _print(self, final: bool = False) -> None:
        elapsed = time.perf_counter() - self._tic
        numbers = "".join(f"  {k}={v}" for k, v in self._fields.items())
        if final:
            when = f"done in {_fmt_seconds(elapsed)}"
        else:
            when = f"eta {_fmt_seconds(elapsed / self.done * (self.total - self.done))}"
        pct = 100 * self.done // self.total
        print(
            f"{self.desc}: {self.done}/{self.total} model-epochs ({pct}%){numbers}  {when}",
            file=self.stream,
            flush=True,
        )
        step = max(1, self.total // _PLAIN_LINES)
        self._next_line = (
            (self.done // step + 1) * step if self.done < self.total else (self.total + 1)
        )
