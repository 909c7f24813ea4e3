"""Tables in, model inputs out: reading CSV/Parquet, the target, and checked cells."""

from __future__ import annotations

from pathlib import Path

from ._common import UsageError, _one_line, _require

# An integer target with at most this many distinct values is taken as class labels.
_MAX_CLASSES = 20


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
