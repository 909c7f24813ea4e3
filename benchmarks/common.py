"""Workloads, shared settings and table formatting for the benchmark runners.

Every library sees the same standardized float32 arrays, the same architecture,
epochs, batch size and Adam settings. ``alpha`` (L2) is 0 for all four: the
libraries do not apply it the same way (scikit-learn adds ``0.5 * alpha *
||W||^2 / batch_size`` on weights only; skorch has no such term), so the only
equal setting is none.
"""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass, field

import numpy as np
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

ADAM = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}
ALPHA = 0.0
TEST_SIZE = 0.25


@dataclass(frozen=True)
class Workload:
    """One training workload: a data set and the training settings."""

    name: str
    dataset: str  # "digits", "make_classification" or "make_regression"
    task: str  # "classification" or "regression"
    hidden: tuple[int, ...]
    batch_size: int
    epochs: int
    n_samples: int = 0  # 0: the data set's own size (digits)
    n_features: int = 0
    n_classes: int = 0

    @property
    def description(self) -> str:
        if self.dataset == "digits":
            size = "1,797 × 64, 10 classes"
        else:
            size = f"{self.n_samples:,} × {self.n_features}"
            size += f", {self.n_classes} classes" if self.n_classes else ""
        return (
            f"{self.dataset} ({size}), hidden {self.hidden}, batch "
            f"{self.batch_size}, {self.epochs} epochs"
        )


@dataclass
class Data:
    """Train/test split, float32 (or float64) X, int64 (classification) or X-typed y."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_outputs: int


@dataclass
class FitResult:
    """What one runner reports for one fit."""

    seconds: float
    epochs: int
    score: float
    model: object = field(default=None, repr=False)


def workloads(quick: bool = False) -> dict[str, Workload]:
    """The issue's workloads; ``quick`` shrinks sizes and epochs for a smoke test."""
    q = quick
    specs = [
        Workload("W1", "digits", "classification", (100,), 200, 5 if q else 50),
        Workload(
            "W2",
            "make_classification",
            "classification",
            (256, 256),
            256,
            2 if q else 5,
            n_samples=2_000 if q else 50_000,
            n_features=100,
            n_classes=5,
        ),
        Workload(
            "W3",
            "make_regression",
            "regression",
            (128, 128),
            128,
            2 if q else 10,
            n_samples=1_000 if q else 20_000,
            n_features=50,
        ),
    ]
    return {w.name: w for w in specs}


def make_data(w: Workload, seed: int = 0, dtype=np.float32) -> Data:
    """Generate, split 75/25 and standardize (X, and y for regression); X in ``dtype``."""
    if w.dataset == "digits":
        X, y = load_digits(return_X_y=True)
    elif w.task == "classification":
        X, y = make_classification(
            n_samples=w.n_samples,
            n_features=w.n_features,
            n_informative=w.n_features // 2,
            n_classes=w.n_classes,
            random_state=seed,
        )
    else:
        X, y = make_regression(
            n_samples=w.n_samples,
            n_features=w.n_features,
            n_informative=w.n_features // 2,
            noise=10.0,
            random_state=seed,
        )
    stratify = y if w.task == "classification" else None
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=TEST_SIZE, random_state=seed, stratify=stratify
    )
    scaler = StandardScaler().fit(X_tr)
    X_tr = scaler.transform(X_tr).astype(dtype)
    X_te = scaler.transform(X_te).astype(dtype)
    if w.task == "classification":
        y_tr, y_te = y_tr.astype(np.int64), y_te.astype(np.int64)
        n_out = int(np.unique(y_tr).size)
    else:
        # R^2 is invariant to an affine map of y applied to both y_true and y_pred.
        mu, sd = y_tr.mean(), y_tr.std()
        y_tr = ((y_tr - mu) / sd).astype(dtype)
        y_te = ((y_te - mu) / sd).astype(dtype)
        n_out = 1
    return Data(X_tr, y_tr, X_te, y_te, n_out)


def env_lines(threads: int, device: str) -> list[str]:
    """Versions and settings, printed above the tables."""
    import sklearn
    import torch

    versions = [f"python {platform.python_version()}", f"torch {torch.__version__}"]
    versions.append(f"scikit-learn {sklearn.__version__}")
    for mod in ("skorch", "skdl"):
        try:
            m = __import__(mod)
            versions.append(f"{mod} {getattr(m, '__version__', '?')}")
        except Exception as exc:  # a missing optional library is a table row, too
            versions.append(f"{mod} unavailable ({type(exc).__name__})")
    return [
        f"- Machine: {platform.machine()}, {os.cpu_count()} logical CPUs, {_cpu_model()}",
        f"- Versions: {', '.join(versions)}",
        f"- Threads: torch.set_num_threads({threads}) and threadpoolctl "
        f"limit {threads} (BLAS/OpenMP, for scikit-learn); device={device}",
    ]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def fmt_s(x: float) -> str:
    if x != x:  # nan
        return "—"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def fmt_ratio(x: float, ref: float) -> str:
    if x != x or ref != ref or ref == 0:
        return "—"
    return f"{x / ref:.2f}×"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)
