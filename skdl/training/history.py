"""History: one record per epoch, as a list of dicts with column access."""

from __future__ import annotations

import numpy as np

COLUMNS = ("epoch", "train_loss", "val_loss", "val_score", "learning_rate", "seconds")


class History(list):
    """The training history of one model: a list of per-epoch dicts.

    Each record has the keys ``epoch``, ``train_loss``, ``val_loss``,
    ``val_score``, ``learning_rate`` and ``seconds`` (None where not measured).
    Being a plain list of plain dicts it is JSON-serialisable as is
    (``json.dumps(est.history_)``).

    Examples
    --------
    >>> h = History([{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.25}])
    >>> h.column("train_loss")
    array([0.5 , 0.25])
    """

    def column(self, name: str) -> np.ndarray:
        """The values of one key over the epochs, as a float array (NaN for None)."""
        if self and name not in self[0]:
            raise KeyError(f"History has no column {name!r}; it has {sorted(self[0])}.")
        return np.array([np.nan if r.get(name) is None else r[name] for r in self], dtype=float)

    def to_frame(self):
        """The history as a pandas DataFrame, one row per epoch (needs pandas)."""
        from .._optional import optional_import

        pd = optional_import("pandas", "pandas", "History.to_frame")

        return pd.DataFrame(list(self), columns=list(self[0]) if self else list(COLUMNS))
