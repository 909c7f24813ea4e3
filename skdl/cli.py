"""The ``skdl`` command line: ``python -m skdl {demo,fit,predict,diagnose}``.

``demo`` is the README's main job: train skdl's MLPClassifier on a dataset
that ships with scikit-learn, show progress, and print its test accuracy and
fit time next to scikit-learn's MLPClassifier on the same split.

``fit DATA.csv --target COL --out model.skdl`` trains a pipeline (one-hot
encoding of the categorical columns, scaling of the numeric ones, an MLP with
early stopping) on a CSV or Parquet table, ``predict`` writes its predictions,
and ``diagnose`` compares its training score with its score on new data.
These three need ``pip install "skdl[cli]"`` (pandas, skops, pyarrow).

The model file ``fit`` writes is a skops.io zip archive, not a pickle:
loading it constructs only scikit-learn, numpy and skdl classes and runs no
code chosen by the file (:func:`load_model`); ``predict`` and ``diagnose``
also read the files :func:`skdl.save` writes.

User errors (a missing file or column, an empty table, an unreadable model,
a text or infinite cell in a numeric column, a missing optional dependency)
end with one line ``skdl: error: ...`` on stderr and exit status 2, as
argparse's own errors do.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
import warnings
from pathlib import Path

DATASETS = ("digits", "breast_cancer", "wine", "iris")
_MODEL_FORMAT = "skdl-cli-model/2"
# An integer target with at most this many distinct values is taken as class labels.
_MAX_CLASSES = 20


class UsageError(Exception):
    """A user error: reported as ``skdl: error: <message>`` with exit status 2."""


def _load(name):
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _demo_command(library, dataset, seed, threads) -> tuple[list, dict]:
    """The argv and environment of a library's timed process, held to ``threads``."""
    script = Path(__file__).with_name("_demo_run.py")
    argv = [sys.executable, str(script), library, dataset, str(seed), str(threads)]
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    # the process imports this copy of skdl, not whichever one is installed
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return argv, env


class _DemoProcess:
    """A fresh Python process that trains one library's MLP on request (``skdl/_demo_run.py``)."""

    def __init__(self, library, dataset, seed, threads):
        import subprocess

        argv, env = _demo_command(library, dataset, seed, threads)
        self.library = library
        self.start = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self._reply()  # {"ready": true}: imported, data loaded and scaled

    def _reply(self) -> dict:
        import json

        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise UsageError(
                f"the demo's {self.library} process failed (exit status "
                f"{self.proc.returncode}); its error is printed above"
            )
        return json.loads(line)

    def fit(self, max_iter: int, verbose: int) -> dict:
        self.proc.stdin.write(f"fit {max_iter} {verbose}\n")
        self.proc.stdin.flush()
        return self._reply()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def demo(
    dataset: str = "digits",
    max_iter: int = 200,
    seed: int = 0,
    compare: bool = True,
    repeats: int = 3,
    threads: int | None = None,
) -> dict:
    """Train on ``dataset``, time it against scikit-learn, print a report, return the numbers.

    Each library runs in a fresh Python process of its own, held to
    ``threads`` threads for torch and for the BLAS scikit-learn multiplies
    with (default: the CPUs this process may use, or 1 when the load average
    exceeds them: on a busy machine more threads wait for each other, and
    scikit-learn's OpenBLAS threads spin). Each trains ``repeats``
    models, the fits interleaved (skdl, scikit-learn, then scikit-learn,
    skdl, ...). Returns, per library: ``fit_seconds``, the median time of the
    MLP's ``fit`` alone (``fit_runs``: every fit's); ``process_seconds``, the
    time from starting the process to the first fit's score (interpreter,
    imports, data, scaling, fit, scoring: a one-fit script's run); the test
    accuracy, epochs, device and threads.
    """
    import statistics

    from sklearn import __version__ as sk_version

    if repeats < 1:
        raise UsageError(f"--repeats must be at least 1, got {repeats}")
    cpus = _available_cpus()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    busy = load > cpus
    chosen = threads is None
    if chosen:  # on a busy machine, more threads only wait for each other
        threads = 1 if busy else cpus
    if threads < 1:
        raise UsageError(f"--threads must be at least 1, got {threads}")
    X, y = _load(dataset)
    print(
        f"skdl demo: {dataset} ({X.shape[0]} samples, {X.shape[1]} features, "
        f"{len(set(y))} classes), 75/25 stratified split",
        flush=True,
    )
    libraries = ["skdl", "scikit-learn"] if compare else ["skdl"]
    runs = {name: [] for name in libraries}
    processes = {}
    try:
        for r in range(repeats):
            for name in libraries if r % 2 == 0 else libraries[::-1]:
                if name not in processes:  # started when first needed: one process at a time
                    processes[name] = _DemoProcess(name, dataset, seed, threads)
                # one progress bar, on a terminal: the first fit (elsewhere verbose
                # would print scikit-learn's line per epoch, as its verbose=True)
                verbose = int(name == "skdl" and r == 0 and _isatty(sys.stderr))
                runs[name].append(processes[name].fit(max_iter, verbose))
                if r == 0:
                    runs[name][0]["process_seconds"] = time.perf_counter() - processes[name].start
    finally:
        for process in processes.values():
            process.close()
    results = {}
    for name, done in runs.items():
        fits = [d["fit_seconds"] for d in done]
        results[name] = {
            "accuracy": done[0]["accuracy"],
            "fit_seconds": statistics.median(fits),
            "process_seconds": done[0]["process_seconds"],
            "epochs": done[0]["epochs"],
            "device": done[0]["device"],
            "threads": max(d["threads"] for d in done),
            "fit_runs": fits,
        }
    print()
    print(
        f"{'model':<14}{'test accuracy':>14}{'fit s':>8}{'process s':>11}"
        f"{'epochs':>8}  {'device':<8}{'threads':>7}"
    )
    for name, r in results.items():
        print(
            f"{name:<14}{r['accuracy']:>14.4f}{r['fit_seconds']:>8.2f}"
            f"{r['process_seconds']:>11.2f}{r['epochs']:>8d}  {r['device']:<8}{r['threads']:>7d}"
        )
    print()
    fits = "1 fit" if repeats == 1 else f"the median of {repeats} fits"
    notes = [
        f"fit s: {fits} (interleaved between the libraries) of the MLP alone on "
        "standardized data; process s: from starting a fresh Python process to its first "
        "fit's score (imports, data, scaling, fit, scoring).",
        f"Both held to {threads} thread{'s' * (threads != 1)} (torch.set_num_threads, "
        f"threadpoolctl, OMP/OPENBLAS/MKL_NUM_THREADS) on {_cpu_name()}, {cpus} CPUs "
        f"available, load average {load:.2f} at the start; torch {_torch_version()}, "
        f"scikit-learn {sk_version}. Change with --repeats and --threads.",
    ]
    if busy:
        why = f"The machine is busy (load {load:.1f} on {cpus} CPUs): times vary from run to run"
        if chosen:
            why += ", so both ran on 1 thread (more would wait for each other; --threads N)."
        elif threads > 1:
            why += f", and {threads} threads may wait for each other (--threads 1 avoids it)."
        notes.append(why if why.endswith(".") else why + ".")
    for note in notes:
        print(textwrap.fill(note, width=88))
    return results


def _cpu_name() -> str:
    import platform

    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _torch_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return "(not installed)"


# ------------------------------------------------------------------ data
def read_table(path):
    """Read a CSV or Parquet file (by its suffix) into a DataFrame.

    Parameters
    ----------
    path : str or Path
        ``.parquet``/``.pq`` files are read with :func:`pandas.read_parquet`,
        anything else with :func:`pandas.read_csv`.

    Returns
    -------
    frame : pandas.DataFrame
        At least one row and one column.

    Raises
    ------
    UsageError
        If the file is missing, empty, or cannot be parsed.
    """
    pd = _require("pandas", "reading a CSV or Parquet table")
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise UsageError(f"{path} is empty") from None
    except ImportError:  # no Parquet engine
        raise UsageError(
            f"reading the Parquet file {path} needs pyarrow, which is not installed; "
            'install the command line\'s dependencies with: pip install "skdl[cli]"'
        ) from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise UsageError(f"cannot read {path}: {_one_line(exc)}") from None
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise UsageError(f"{path} is empty (no data rows)")
    return frame


def split_target(frame, target: str, path):
    """Return ``(X, y)``: the table without ``target``, and ``target`` (rows with a value)."""
    if target not in frame.columns:
        available = ", ".join(map(str, frame.columns))
        raise UsageError(f"column {target!r} not found in {path}; available columns: {available}")
    if frame.shape[1] < 2:
        raise UsageError(f"{path} has no feature columns besides the target {target!r}")
    frame = frame[frame[target].notna()]
    if frame.shape[0] == 0:
        raise UsageError(f"column {target!r} of {path} has no values")
    return frame.drop(columns=[target]), frame[target]


def infer_task(y) -> str:
    """'classification' or 'regression' for the target column ``y``.

    Labels that are not numbers (strings, booleans, categories) are classes; so
    are integer values (also written as floats, ``1.0``) with at most
    ``_MAX_CLASSES`` distinct values. Anything else is a regression target.

    Examples
    --------
    >>> import pandas as pd
    >>> infer_task(pd.Series(["a", "b", "a"])), infer_task(pd.Series([0.0, 1.0, 1.0]))
    ('classification', 'classification')
    >>> infer_task(pd.Series([0.5, 1.25, 3.0]))
    'regression'
    """
    import pandas as pd

    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return "classification"
    values = y.to_numpy(dtype=float)
    integral = bool((values == values.round()).all())
    return "classification" if integral and y.nunique() <= _MAX_CLASSES else "regression"


def make_model(X, task: str, max_iter: int, seed: int, verbose: int = 1, categorical=()):
    """The pipeline ``fit`` trains: encode and scale the columns of ``X``, then an MLP.

    Parameters
    ----------
    X : pandas.DataFrame
        The features; object, category, string and boolean columns are
        one-hot encoded (unknown categories ignored at predict time), numeric
        columns get missing values filled with the median and are standardised.
    task : {'classification', 'regression'}
    max_iter : int
        Epochs of the MLP (with early stopping on a 10% validation split).
    seed : int
        ``random_state`` of the MLP.
    verbose : int, default=1
    categorical : sequence of str, default=()
        Columns to one-hot encode even if they hold numbers.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Steps ``"prep"`` (a ColumnTransformer) and ``"mlp"``.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from . import MLPClassifier, MLPRegressor

    numeric = _numeric_features(X, categorical)
    categorical = [c for c in X.columns if c not in numeric]
    prep = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ]
    )
    cls = MLPClassifier if task == "classification" else MLPRegressor
    mlp = cls(early_stopping=True, max_iter=max_iter, random_state=seed, verbose=verbose)
    return Pipeline([("prep", prep), ("mlp", mlp)])


def _numeric_features(X, categorical=()) -> list:
    """The columns of ``X`` that :func:`make_model` scales (the others are one-hot encoded)."""
    return [c for c in X.columns if _is_numeric(X[c]) and c not in categorical]


def _is_numeric(column) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


# A text column whose non-empty cells are at least this share numbers is a
# numeric column with typos ("twelve" among numbers): refused, not one-hot encoded.
_NUMERIC_SHARE = 0.9
_SHOW_CELLS = 5


def _cells(mask, column) -> str:
    """'2 cells: row 17 ('twelve'), row 40 ('n/a')' for the True entries of ``mask``."""
    import numpy as np

    hits = mask[mask].index
    shown = ", ".join(
        f"row {i + 1 if isinstance(i, (int, np.integer)) else i} ({_cell(column[i])})"
        for i in hits[:_SHOW_CELLS]
    )
    more = f" and {len(hits) - _SHOW_CELLS} more" if len(hits) > _SHOW_CELLS else ""
    return f"{len(hits)} cell{'s' * (len(hits) > 1)}: {shown}{more}"


def _cell(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def check_typo_columns(X, path, categorical=()) -> None:
    """Refuse text columns that hold numbers except in a few cells (typos).

    A column is refused when at least 90% of its non-empty cells (and at least
    one) are numbers and the others are not: one-hot encoding it would make a
    category of every number. Rows are counted from 1, the header not counted.

    Raises
    ------
    UsageError
        Naming the column, the rows and cells, and the fixes.
    """
    import pandas as pd

    for name in X.columns:
        column = X[name]
        if name in categorical or not (
            pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)
        ):
            continue
        filled = column.notna()
        numbers = pd.to_numeric(column.where(filled), errors="coerce").notna()
        text = filled & ~numbers
        if text.any() and numbers.sum() >= _NUMERIC_SHARE * filled.sum():
            raise UsageError(
                f"column {name!r} of {path} holds numbers except in {_cells(text, column)}; "
                "correct those cells or leave them empty (missing numbers are filled with "
                f"the column's median), or pass --categorical {name} if the column is "
                "categories (rows counted from 1 after the header)"
            )


def numeric_cells(X, columns, path, imputed: bool = True):
    """``X`` with ``columns`` as float; refuse text or infinite cells in them.

    Parameters
    ----------
    X : pandas.DataFrame
    columns : list
        The columns the model takes as numbers.
    path : str or Path
        The file, for the message.
    imputed : bool, default=True
        Whether the model fills missing numbers (then emptying a cell is a fix).

    Raises
    ------
    UsageError
        Naming the column, the rows and cells, and the fix.
    """
    import numpy as np
    import pandas as pd

    X = X.copy()
    empty = " or leave them empty (the training median is used)" if imputed else ""
    for name in columns:
        column = X[name]
        values = column if _is_numeric(column) else pd.to_numeric(column, errors="coerce")
        text = column.notna() & values.isna()
        if text.any():
            raise UsageError(
                f"column {name!r} of {path} must hold numbers (the model was trained on "
                f"numbers) but has text in {_cells(text, column)}; correct those "
                f"cells{empty} (rows counted from 1 after the header)"
            )
        values = values.astype(float)
        infinite = pd.Series(np.isinf(values.to_numpy()), index=values.index)
        if infinite.any():
            raise UsageError(
                f"column {name!r} of {path} has infinite values in "
                f"{_cells(infinite, column)}; replace them with finite numbers{empty} "
                "(rows counted from 1 after the header)"
            )
        X[name] = values
    return X


def _model_numeric_columns(model, X) -> tuple[list, bool]:
    """The columns ``model`` takes as numbers, and whether it imputes missing ones."""
    prep = getattr(model, "named_steps", {}).get("prep")
    if prep is not None and hasattr(prep, "transformers_"):
        numeric = [cols for name, _, cols in prep.transformers_ if name == "numeric"]
        return (list(numeric[0]) if numeric else []), True
    if prep is not None:  # some other pipeline: leave its columns to it
        return [], True
    return list(X.columns), False


def make_search(pipe, kind: str, n_iter: int, seed: int):
    """skdl's fused search over learning rate, alpha, width and depth.

    ``kind='random'``: RandomizedSearchCV with ``n_iter`` candidates;
    ``kind='coarse-to-fine'``: CoarseToFineSearchCV, 3 rounds sharing ``n_iter``.
    """
    from scipy.stats import loguniform

    from .model_selection import CoarseToFineSearchCV, RandomizedSearchCV

    space = {
        "mlp__learning_rate_init": loguniform(1e-4, 3e-2),
        "mlp__alpha": loguniform(1e-6, 1e-2),
        "mlp__width": [32, 64, 128, 256],
        "mlp__depth": [1, 2, 3],
    }
    pipe.set_params(mlp__verbose=0)
    if kind == "coarse-to-fine":
        per_round = max(1, n_iter // 3)
        return CoarseToFineSearchCV(
            pipe, space, n_iter=per_round, n_rounds=3, cv=3, random_state=seed, verbose=1
        )
    return RandomizedSearchCV(pipe, space, n_iter=n_iter, cv=3, random_state=seed, verbose=1)


# ----------------------------------------------------------------- model file
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
        from .persistence import load

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
    from . import estimators, optim  # noqa: F401  (skdl's classes are in sys.modules)
    from .training import history, loop  # noqa: F401

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


def _plot_loss(mlp, path) -> Path | None:
    """Save the loss curve(s) of ``mlp`` as a PNG, if matplotlib is installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(1, len(mlp.loss_curve_) + 1), mlp.loss_curve_, label="train loss")
    val = getattr(mlp, "validation_loss_curve_", None)
    if val:
        ax.plot(range(1, len(val) + 1), val, label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


# ----------------------------------------------------------------- commands
def fit(args) -> dict:
    """``skdl fit``: train, print the scores, save the model (and a loss-curve PNG)."""
    frame = read_table(args.data)
    X, y = split_target(frame, args.target, args.data)
    task = infer_task(y) if args.task == "auto" else args.task
    if task == "regression" and not _is_numeric(y):
        raise UsageError(f"--task regression needs a numeric target; {args.target!r} is not")
    _check_writable(args.out, "the model")
    _require("skops.io", "writing the model file")  # before training, not after
    categorical = list(dict.fromkeys(args.categorical or ()))
    unknown = [c for c in categorical if c not in X.columns]
    if unknown:
        raise UsageError(f"--categorical {unknown[0]}: no such feature column in {args.data}")
    check_typo_columns(X, args.data, categorical)
    model = make_model(X, task, args.max_iter, args.seed, categorical=categorical)
    X = numeric_cells(X, _numeric_features(X, categorical), args.data)
    print(f"skdl fit: {len(X)} rows, {X.shape[1]} features, target {args.target!r} ({task})")
    search = (
        None if args.search == "none" else make_search(model, args.search, args.n_iter, args.seed)
    )
    tic = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=_convergence_warning())
            (search or model).fit(X, y)
    except ValueError as exc:
        raise UsageError(f"fit failed: {_one_line(exc)}") from None
    seconds = time.perf_counter() - tic
    if search is not None:
        model = search.best_estimator_
        best = ", ".join(f"{k[5:]}={v:.3g}" for k, v in sorted(search.best_params_.items()))
        print(f"best parameters: {best}")
    mlp = model.named_steps["mlp"]
    train_score = float(model.score(X, y))
    val_score = float(search.best_score_) if search is not None else mlp.best_validation_score_
    metric = "accuracy" if task == "classification" else "R2"
    val_name = "cross-validation" if search is not None else "validation"
    print(f"train {metric}: {train_score:.4f}  {val_name} {metric}: {val_score:.4f}")
    print(f"epochs: {mlp.n_iter_}  fit seconds: {seconds:.2f}")
    info = dict(target=args.target, task=task, train_score=train_score, val_score=val_score)
    try:
        save_model(args.out, model, **info)
    except OSError as exc:
        raise UsageError(
            f"the model was trained but could not be written to {args.out}: "
            f"{exc.strerror or _one_line(exc)}"
        ) from None
    print(f"saved model to {args.out}")
    png = _plot_loss(mlp, Path(args.out).with_suffix(".loss.png"))
    if png is not None:
        print(f"saved loss curve to {png}")
    return info


def predict(args) -> None:
    """``skdl predict``: write predictions (and class probabilities) as CSV.

    The output file is written whole or not at all (a temporary file renamed
    over ``--out``), after every prediction has been made.
    """
    pd = _require("pandas", "skdl predict")
    if args.out != "-":
        _check_writable(args.out, "the predictions")
    saved = load_model(args.model)
    model = saved["model"]
    frame = read_table(args.data)
    X = _model_input(model, frame, saved.get("target"), args.data)
    try:
        out = pd.DataFrame({"prediction": model.predict(X)}, index=frame.index)
        if hasattr(model, "predict_proba") and hasattr(model, "classes_"):
            proba = model.predict_proba(X)
            for j, c in enumerate(model.classes_):
                out[f"proba_{c}"] = proba[:, j]
    except (ValueError, TypeError) as exc:
        raise UsageError(f"cannot predict on {args.data}: {_one_line(exc)}") from None
    if args.out == "-":
        out.to_csv(sys.stdout, index=False)
        return
    text = out.to_csv(index=False).encode()
    try:
        _write_atomic(args.out, lambda fh: fh.write(text))
    except OSError as exc:
        raise UsageError(
            f"cannot write the predictions to {args.out}: {exc.strerror or _one_line(exc)}"
        ) from None
    print(f"wrote {len(out)} predictions to {args.out}")


def diagnose(args) -> dict:
    """``skdl diagnose``: training score vs the score on DATA, the gap, and a verdict."""
    saved = load_model(args.model)
    model = saved["model"]
    frame = read_table(args.data)
    X, y = split_target(frame, args.target, args.data)
    X = _model_input(model, X, None, args.data)
    try:
        score = float(model.score(X, y))
    except (ValueError, TypeError) as exc:
        raise UsageError(f"cannot score the model on {args.data}: {_one_line(exc)}") from None
    train_score = saved.get("train_score")
    print(f"score on {args.data}: {score:.4f}")
    if train_score is None:
        print("training score: unknown (the model file was not written by `skdl fit`)")
        return {"score": score}
    print(f"training score: {train_score:.4f}")
    print(f"gap (train - data): {train_score - score:.4f}")
    try:
        from .diagnostics import diagnose as verdict_of
    except ImportError:
        return {"score": score, "train_score": train_score}
    verdict = verdict_of(
        model,  # for its training curve's findings; the scores are the ones above
        train_score=train_score,
        val_score=score,
        val_label=f"score on {Path(args.data).name}",
    )
    print(verdict)
    return {"score": score, "train_score": train_score, "verdict": verdict}


def _features(model, frame, target, path):
    """The columns of ``frame`` the model was fitted on (the target dropped)."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        X = frame.drop(columns=[target]) if target in frame.columns else frame
        n_features = getattr(model, "n_features_in_", X.shape[1])
        if X.shape[1] != n_features:
            raise UsageError(
                f"{path} has {X.shape[1]} columns but the model takes {n_features} "
                "(it was fitted without column names, so the columns must be exactly its inputs)"
            )
        return X
    missing = [str(c) for c in names if c not in frame.columns]
    if missing:
        raise UsageError(f"{path} lacks the model's columns: {', '.join(missing)}")
    return frame[list(names)]


def _model_input(model, frame, target, path):
    """The model's columns of ``frame``, its numeric ones checked and made float."""
    X = _features(model, frame, target, path)
    numeric, imputed = _model_numeric_columns(model, X)
    X = numeric_cells(X, numeric, path, imputed=imputed)
    if getattr(model, "feature_names_in_", None) is None:
        return X.to_numpy()
    return X


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


# ----------------------------------------------------------------- parser
# Help is terminal text (argparse prints it as written): no reStructuredText.
_DESCRIPTION = """\
skdl: scikit-learn's MLPClassifier and MLPRegressor on PyTorch, from the shell.
A user error (a missing file or column, a bad cell, an unreadable model) ends
with one line "skdl: error: ..." and exit status 2.

examples:
  skdl demo                                          # skdl vs scikit-learn
  skdl fit data.csv --target label --out model.skdl  # train, save the model
  skdl predict model.skdl new.csv --out preds.csv    # predictions as CSV
  skdl diagnose model.skdl test.csv --target label   # train vs test score

"skdl COMMAND --help" describes a command."""

_COMMAND_HELP = {
    "demo": (
        "Train skdl's MLPClassifier on a dataset bundled with scikit-learn, then print\n"
        "its test accuracy and fit time next to scikit-learn's MLPClassifier.",
        "example:\n  skdl demo --dataset wine --max-iter 100",
    ),
    "fit": (
        "Train a model on a CSV or Parquet table: text columns are one-hot encoded,\n"
        "numeric ones get missing cells filled with the median and are scaled, then an\n"
        "MLP trains with early stopping. Prints the scores and saves the model (a zip\n"
        'archive without pickle) and a loss-curve PNG. Needs pip install "skdl[cli]".',
        "example:\n  skdl fit data.csv --target label --out model.skdl --search random --n-iter 20",
    ),
    "predict": (
        "Write the predictions of a model (from skdl fit or skdl.save()) on a CSV or\n"
        "Parquet table as CSV: a prediction column, and proba_<class> columns for a\n"
        "classifier. The output file is written whole or not at all.",
        "example:\n  skdl predict model.skdl new.csv --out preds.csv",
    ),
    "diagnose": (
        "Score a model on a table with the true values and compare with its training\n"
        "score: the gap and a verdict (bias or variance).",
        "example:\n  skdl diagnose model.skdl test.csv --target label",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``skdl`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="skdl",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="train on a bundled dataset and compare with scikit-learn")
    p.add_argument("--dataset", choices=DATASETS, default="digits")
    p.add_argument("--max-iter", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-compare", action="store_true", help="skip scikit-learn's MLP")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per library (median)")
    p.add_argument(
        "--threads", type=int, help="threads for both libraries (default: all CPUs; 1 when busy)"
    )

    p = sub.add_parser("fit", help="train a model on a CSV or Parquet table")
    p.add_argument("data", help="CSV or Parquet (.parquet) file")
    p.add_argument("--target", required=True, help="column to predict")
    p.add_argument("--task", choices=("auto", "classification", "regression"), default="auto")
    p.add_argument("--search", choices=("none", "random", "coarse-to-fine"), default="none")
    p.add_argument(
        "--n-iter", type=int, default=10, help="candidates of the search, in all (default 10)"
    )
    p.add_argument(
        "--max-iter", type=int, default=200, help="epochs, early stopping on (default 200)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--categorical",
        action="append",
        metavar="COL",
        help="one-hot encode COL even if it holds numbers (repeat for more columns)",
    )
    p.add_argument(
        "--out", default="model.skdl", help="model file to write, no pickle (default model.skdl)"
    )

    p = sub.add_parser("predict", help="write a model's predictions as CSV")
    p.add_argument("model", help="model file written by skdl fit or skdl.save()")
    p.add_argument("data", help="CSV or Parquet file with the model's feature columns")
    p.add_argument("--out", default="-", help="CSV file to write ('-': standard output)")

    p = sub.add_parser("diagnose", help="training score vs the score on new data")
    p.add_argument("model", help="model file written by skdl fit or skdl.save()")
    p.add_argument("data", help="CSV or Parquet file with the target column")
    p.add_argument("--target", required=True, help="column with the true values")
    for name, p in sub.choices.items():
        description, example = _COMMAND_HELP.get(name, (None, None))
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        p.description = p.description or description
        p.epilog = p.epilog or example
    return parser


def main(argv=None) -> int:
    """Run the command line; returns 0, or exits with status 2 on a user error."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            demo(
                args.dataset,
                args.max_iter,
                args.seed,
                compare=not args.no_compare,
                repeats=args.repeats,
                threads=args.threads,
            )
        elif args.command == "fit":
            fit(args)
        elif args.command == "predict":
            predict(args)
        elif args.command == "diagnose":
            diagnose(args)
    except UsageError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
