"""Data resident on the device, and which rows each model of the stack trains on.

The dataset is moved to the device once (:class:`DeviceData`). Each of the K
models has its own training rows and validation rows (:class:`Members`), so a
stack can hold ``n_init`` restarts on one split or candidates x CV folds on
different splits. Row lists of unequal length are padded with weight 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass
class DeviceData:
    """Features ``X [n, F]``, targets ``Y [n, O]`` and sample weights ``w [n]`` on the device."""

    X: Tensor
    Y: Tensor
    w: Tensor

    @classmethod
    def from_arrays(cls, X, Y, w, dtype, device) -> DeviceData:
        X = torch.as_tensor(np.require(X, requirements=["C", "W"])).to(device=device, dtype=dtype)
        Y = torch.as_tensor(np.require(Y, requirements=["C", "W"])).to(device=device, dtype=dtype)
        w = torch.as_tensor(np.require(w, requirements=["C", "W"])).to(device=device, dtype=dtype)
        return cls(X, Y, w)


def take(t: Tensor, rows: Tensor, ws=None, name: str = "") -> Tensor:
    """``t[rows]`` for a ``[K, B]`` index tensor: rows of ``t`` as ``[K, B, ...]``.

    Through ``index_select`` on the flattened indices: on the CPU 3 to 6 times
    faster than advanced indexing for a stack's batches (``[32, 200]`` rows of a
    ``[1797, 64]`` matrix: 0.07 vs 0.40 ms), the same values. With a
    :class:`~skdl.nn.mlp.Workspace` ``ws``, into its buffer ``name``.
    """
    shape = (*rows.shape, *t.shape[1:])
    out = None if ws is None else ws(name, (rows.numel(), *t.shape[1:]), t)
    return torch.index_select(t, 0, rows.reshape(-1), out=out).view(shape)


def _pad(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(r) for r in rows)
    idx = np.zeros((len(rows), width), dtype=np.int64)
    valid = np.zeros((len(rows), width), dtype=bool)
    for k, r in enumerate(rows):
        idx[k, : len(r)] = r
        valid[k, : len(r)] = True
    return idx, valid


@dataclass
class Members:
    """Per-model row indices into :class:`DeviceData`, padded to equal width.

    ``train`` / ``val`` are lists (one per model) of integer row indices;
    ``val`` is None when no validation split is used.
    """

    train: list[np.ndarray]
    val: list[np.ndarray] | None = None

    def __post_init__(self):
        self.n_train = np.array([len(r) for r in self.train], dtype=np.int64)
        self.padded = bool(self.n_train.min() != self.n_train.max())

    @property
    def k(self) -> int:
        return len(self.train)

    def epoch_order(
        self, generators: list[torch.Generator] | None, device
    ) -> tuple[Tensor, Tensor]:
        """Row order ``[K, m]`` for one epoch and a validity mask (False = padding).

        With ``generators`` each model shuffles its own rows with its own
        generator (so a model's order does not depend on the rest of the stack);
        padding always comes last.
        """
        rows = self.train
        if generators is not None:
            rows = [
                r[torch.randperm(len(r), generator=g).numpy()] for r, g in zip(rows, generators)
            ]
        idx, valid = _pad(rows)
        idx_t = torch.from_numpy(idx).to(device, non_blocking=True)
        valid_t = torch.from_numpy(valid).to(device, non_blocking=True)
        return idx_t, valid_t

    def val_rows(self, device) -> tuple[Tensor, Tensor] | None:
        """Validation rows ``[K, v]`` and their validity mask, or None."""
        if self.val is None:
            return None
        idx, valid = _pad(self.val)
        return torch.from_numpy(idx).to(device), torch.from_numpy(valid).to(device)
