"""Data on the device, and which rows each model of the stack trains on.

The dataset is moved to the device once (:class:`DeviceData`) when it fits
comfortably there; otherwise it stays in host memory and each batch's rows are
gathered on the host and copied over (streamed). Each of the K models has its
own training rows and validation rows (:class:`StackRows`), so a stack can hold
``n_init`` restarts on one split or candidates x CV folds on different splits.
Row lists of unequal length are padded with weight 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

RESIDENT_FRACTION = 0.5
"""The data stays on an accelerator when it takes at most this fraction of the
device's free memory (the rest is for the models, their optimizer state and
a step's intermediates); larger data is streamed from host memory."""


def _free_bytes(device: torch.device) -> int | None:
    """Free memory of ``device`` in bytes; None where the data always stays
    (the CPU, and MPS, whose memory is the host's)."""
    if device.type != "cuda":
        return None
    free, _total = torch.cuda.mem_get_info(device)
    return int(free)


def keeps_resident(nbytes: int, device: torch.device) -> bool:
    """Whether data of ``nbytes`` is moved to ``device`` once (else streamed)."""
    free = _free_bytes(device)
    return free is None or nbytes <= RESIDENT_FRACTION * free


class _Stager:
    """Streams batches from host memory: each batch's rows are gathered into one
    of two staging buffers (page-locked on CUDA) and copied to the device
    without blocking, so the host gathers the next batch while the device
    computes. A buffer is rewritten only after its previous copy has finished."""

    def __init__(self, device: torch.device):
        self.device = device
        # CPU-only torch has no pinned allocator
        self.pin = device.type == "cuda" and torch.cuda.is_available()
        self.buffers: list[dict] = [{}, {}]
        self.copied: list = [None, None]  # per buffer: the CUDA event after its copy
        self.turn = 0

    def fetch(self, tensors: list[Tensor], rows: Tensor) -> list[Tensor]:
        slot, self.turn = self.turn, self.turn ^ 1
        if self.copied[slot] is not None:
            self.copied[slot].synchronize()
        flat = rows.reshape(-1)
        out = []
        for i, t in enumerate(tensors):
            shape = (flat.numel(), *t.shape[1:])
            buf = self.buffers[slot].get((i, shape))
            if buf is None:
                buf = torch.empty(shape, dtype=t.dtype, pin_memory=self.pin)
                self.buffers[slot][(i, shape)] = buf
            torch.index_select(t, 0, flat, out=buf)
            moved = buf.to(self.device, non_blocking=self.pin)
            out.append(moved.view(*rows.shape, *t.shape[1:]))
        if self.pin:
            self.copied[slot] = torch.cuda.Event()
            self.copied[slot].record()
        return out

    def put(self, tensors: list[Tensor]) -> list[Tensor]:
        """Host tensors (a densified sparse batch) on the device: through a staging
        buffer and without blocking on CUDA, a plain ``.to`` elsewhere (no copy on the CPU)."""
        if not self.pin:
            return [t.to(self.device) for t in tensors]
        slot, self.turn = self.turn, self.turn ^ 1
        if self.copied[slot] is not None:
            self.copied[slot].synchronize()
        out = []
        for i, t in enumerate(tensors):
            key = ("put", i, tuple(t.shape), t.dtype)
            buf = self.buffers[slot].get(key)
            if buf is None:
                buf = self.buffers[slot][key] = torch.empty_like(t, pin_memory=True)
            out.append(buf.copy_(t).to(self.device, non_blocking=True))
        self.copied[slot] = torch.cuda.Event()
        self.copied[slot].record()
        return out


@dataclass
class DeviceData:
    """Features ``X [n, F]``, targets ``Y [n, O]`` and sample weights ``w [n]``.

    On ``device``, or in host memory when ``streamed`` (then row indices live on
    the host too, :attr:`index_device`, and :meth:`batch` copies each batch over).
    A scipy sparse ``X`` (a one-hot encoding of many categories) stays a CSR
    matrix in host memory and is streamed: :meth:`batch` densifies only each
    batch's rows, so memory grows with the batch, not with ``n x F``.
    """

    X: Tensor
    Y: Tensor
    w: Tensor
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    streamed: bool = False
    _stager: _Stager | None = field(default=None, repr=False)

    @classmethod
    def from_arrays(cls, X, Y, w, dtype, device, stream: bool | None = None) -> DeviceData:
        """The arrays as ``dtype`` tensors; ``stream`` None decides by
        :func:`keeps_resident`, True/False forces it."""
        device = torch.device(device)
        if sp.issparse(X):
            Y, w = (
                torch.as_tensor(np.require(a, requirements=["C", "W"])).to(dtype=dtype)
                for a in (Y, w)
            )
            X = sp.csr_matrix(X)
            return cls(X, Y, w, device=device, streamed=True, _stager=_Stager(device))
        host = [
            torch.as_tensor(np.require(a, requirements=["C", "W"])).to(dtype=dtype)
            for a in (X, Y, w)
        ]
        if stream is None:
            stream = not keeps_resident(sum(t.nbytes for t in host), device)
        if stream:
            return cls(*host, device=device, streamed=True, _stager=_Stager(device))
        return cls(*(t.to(device) for t in host), device=device)

    @property
    def index_device(self) -> torch.device:
        """Where row-index tensors into this data must be."""
        return torch.device("cpu") if self.streamed else self.device

    def batch(self, rows: Tensor, workspace=None) -> tuple[Tensor, Tensor]:
        """``(X[rows], Y[rows])`` on the device for a ``[K, B]`` index tensor."""
        if sp.issparse(self.X):
            flat = rows.reshape(-1)
            dense = self.X[flat.numpy()].toarray()
            x = torch.from_numpy(dense).to(dtype=self.Y.dtype).view(*rows.shape, -1)
            x, y = self._stager.put([x, take(self.Y, rows)])
            return x, y
        if self.streamed:
            x, y = self._stager.fetch([self.X, self.Y], rows)
            return x, y
        return take(self.X, rows, workspace, "x"), take(self.Y, rows, workspace, "y")

    def on_device(self, t: Tensor) -> Tensor:
        """A tensor computed from this data's host copy, moved to the device."""
        return t.to(self.device) if self.streamed else t


def take(t: Tensor, rows: Tensor, workspace=None, name: str = "") -> Tensor:
    """``t[rows]`` for a ``[K, B]`` index tensor: rows of ``t`` as ``[K, B, ...]``.

    Through ``index_select`` on the flattened indices, one gather kernel, where
    advanced indexing with a 2-D index takes torch's general indexing path,
    several times slower on the CPU for a stack's batches (the training step
    that ``benchmarks/ab_step.py`` times gathers a batch this way); the same
    values. With a
    :class:`~skdl.nn.mlp.Workspace` ``workspace``, into its buffer ``name``.
    """
    shape = (*rows.shape, *t.shape[1:])
    out = None if workspace is None else workspace(name, (rows.numel(), *t.shape[1:]), t)
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
class StackRows:
    """Per-model row indices into :class:`DeviceData`, padded to equal width.

    ``train`` / ``val`` are lists (one per model) of integer row indices;
    ``val`` is None when no validation split is used. ``weights`` (or None) is a
    ``[K, n]`` array of per-model row weights: model ``k`` weighs data row ``i``
    by ``data.w[i] * weights[k, i]`` in training and validation (bagging: each
    member's bootstrap counts, as a separate fit with those ``sample_weight``).
    """

    train: list[np.ndarray]
    val: list[np.ndarray] | None = None
    weights: np.ndarray | None = None

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

    def shares_order(self, generators: list[torch.Generator] | None) -> bool:
        """Whether every model reads the same rows in the same order in every
        epoch: the same training rows and, with ``generators`` (shuffling), the
        same generator state. A search's candidates on one fold with one
        ``random_state`` do; a stack of ``n_init`` restarts (a seed each) does not.
        Then each batch is gathered once and read by every model."""
        if self.k < 2 or self.padded:
            return False
        first = self.train[0]
        if not all(r is first or np.array_equal(r, first) for r in self.train[1:]):
            return False
        if generators is None:
            return True
        state = generators[0].get_state()
        return all(torch.equal(g.get_state(), state) for g in generators[1:])

    def row_weights(self, idx: Tensor) -> Tensor | None:
        """The per-model weights of the rows ``idx [K, m]`` (same device), or None."""
        if self.weights is None:
            return None
        cached = getattr(self, "_weights_t", None)
        if cached is None or cached.device != idx.device:
            cached = self._weights_t = torch.as_tensor(self.weights).to(idx.device)
        return torch.gather(cached, 1, idx)

    def val_rows(self, device) -> tuple[Tensor, Tensor] | None:
        """Validation rows ``[K, v]`` and their validity mask, or None."""
        if self.val is None:
            return None
        idx, valid = _pad(self.val)
        return torch.from_numpy(idx).to(device), torch.from_numpy(valid).to(device)
