"""The four runners: scikit-learn, skorch, a hand-written torch loop, skdl.

Each ``fit_*(w, data, seed, device)`` builds a fresh model, times ``fit`` with
``time.perf_counter`` (model construction included; data preparation, which is
the same for all, excluded), and returns a :class:`FitResult` with the epochs
the library reports it ran and the held-out score (accuracy or R^2). The fitted
model exposes ``predict`` (and ``predict_proba`` for classifiers).
"""

from __future__ import annotations

import functools
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from common import ADAM, ALPHA, Data, FitResult, Workload
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from torch import nn


def build_module(n_in: int, hidden: tuple[int, ...], n_out: int) -> nn.Sequential:
    """Linear-ReLU stack ending in a Linear layer (logits or the regression output)."""
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(n_in, h), nn.ReLU()]
        n_in = h
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


def score(w: Workload, d: Data, y_pred: np.ndarray) -> float:
    y_pred = np.asarray(y_pred).ravel()
    if w.task == "classification":
        return float(accuracy_score(d.y_test, y_pred))
    return float(r2_score(d.y_test, y_pred))


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


@functools.cache
def adam_impl(device: str) -> dict:
    """``fused=True`` where this torch supports it on ``device``, else ``foreach``."""
    p = nn.Parameter(torch.zeros(2, device=device))
    try:
        opt = torch.optim.Adam([p], fused=True)
        p.grad = torch.ones_like(p)
        opt.step()
        return {"fused": True}
    except (RuntimeError, TypeError, ValueError):
        return {"foreach": True}


def sklearn_params(w: Workload, seed: int) -> dict:
    """scikit-learn's MLP parameters; skdl is a drop-in and takes the same ones."""
    return {
        "hidden_layer_sizes": w.hidden,
        "activation": "relu",
        "solver": "adam",
        "alpha": ALPHA,
        "batch_size": w.batch_size,
        "learning_rate_init": ADAM["lr"],
        "beta_1": ADAM["betas"][0],
        "beta_2": ADAM["betas"][1],
        "epsilon": ADAM["eps"],
        "max_iter": w.epochs,
        # tol=0 and n_iter_no_change > max_iter: no tolerance-based stopping.
        "tol": 0.0,
        "n_iter_no_change": w.epochs + 1,
        "early_stopping": False,
        "shuffle": True,
        "random_state": seed,
    }


def _timed_fit(est, X, y, device: str) -> float:
    with warnings.catch_warnings():
        # Reaching max_iter is the intent here, not a convergence problem.
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        est.fit(X, y)
        _sync(device)
        return time.perf_counter() - t0


def fit_sklearn(w: Workload, d: Data, seed: int, device: str) -> FitResult:
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    cls = MLPClassifier if w.task == "classification" else MLPRegressor
    est = cls(**sklearn_params(w, seed))
    secs = _timed_fit(est, d.X_train, d.y_train, "cpu")
    return FitResult(secs, int(est.n_iter_), score(w, d, est.predict(d.X_test)), est)


def fit_skdl(w: Workload, d: Data, seed: int, device: str) -> FitResult:
    import skdl

    cls = skdl.MLPClassifier if w.task == "classification" else skdl.MLPRegressor
    est = cls(**sklearn_params(w, seed), device=device)
    secs = _timed_fit(est, d.X_train, d.y_train, device)
    return FitResult(secs, int(est.n_iter_), score(w, d, est.predict(d.X_test)), est)


def fit_skorch(w: Workload, d: Data, seed: int, device: str) -> FitResult:
    from skorch import NeuralNetClassifier, NeuralNetRegressor

    t0 = time.perf_counter()
    torch.manual_seed(seed)
    common = {
        "module": build_module(d.X_train.shape[1], w.hidden, d.n_outputs).to(
            torch.from_numpy(d.X_train[:1]).dtype
        ),
        "optimizer": torch.optim.Adam,
        "lr": ADAM["lr"],
        "optimizer__betas": ADAM["betas"],
        "optimizer__eps": ADAM["eps"],
        "batch_size": w.batch_size,
        "max_epochs": w.epochs,
        "train_split": None,
        "iterator_train__shuffle": True,
        "device": device,
        "verbose": 0,
    }
    if w.task == "classification":
        net = NeuralNetClassifier(criterion=nn.CrossEntropyLoss, **common)
        y = d.y_train
    else:
        net = NeuralNetRegressor(**common)  # MSELoss; skorch wants y of shape (n, 1)
        y = d.y_train.reshape(-1, 1)
    net.fit(d.X_train, y)
    _sync(device)
    secs = time.perf_counter() - t0
    return FitResult(secs, len(net.history), score(w, d, net.predict(d.X_test)), net)


class HandModel:
    """Predict methods for the hand loop's module (inference_mode, no checks)."""

    def __init__(self, module: nn.Module, task: str, device: str):
        self.module, self.task, self.device = module.eval(), task, device

    def _out(self, X: np.ndarray) -> torch.Tensor:
        with torch.inference_mode():
            return self.module(torch.from_numpy(X).to(self.device))

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = self._out(X)
        out = out.argmax(1) if self.task == "classification" else out[:, 0]
        return out.cpu().numpy()

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return torch.softmax(self._out(X), dim=1).cpu().numpy()


def fit_hand(w: Workload, d: Data, seed: int, device: str) -> FitResult:
    """The overhead floor: tensors, randperm slices, fused Adam, one sync an epoch."""
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    X = torch.from_numpy(d.X_train).to(device)
    y = torch.from_numpy(d.y_train).to(device)
    module = build_module(X.shape[1], w.hidden, d.n_outputs).to(device, X.dtype)
    opt = torch.optim.Adam(module.parameters(), **ADAM, **adam_impl(device))
    if w.task == "classification":
        loss_fn = F.cross_entropy
    else:
        loss_fn, y = F.mse_loss, y[:, None]  # (n, 1), like the module's output
    n, B, history = X.shape[0], w.batch_size, []
    for _ in range(w.epochs):
        perm = torch.randperm(n, device=device)
        total = torch.zeros((), device=device)
        for i in range(0, n, B):
            idx = perm[i : i + B]
            loss = loss_fn(module(X[idx]), y[idx])
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            total += loss.detach() * idx.numel()
        history.append(total.item() / n)  # the one host sync per epoch
    secs = time.perf_counter() - t0
    model = HandModel(module, w.task, device)
    return FitResult(secs, len(history), score(w, d, model.predict(d.X_test)), model)


# Table order: (a) sklearn, (b) skorch, (c) hand loop (the floor), (d) skdl.
RUNNERS = {
    "scikit-learn": fit_sklearn,
    "skorch": fit_skorch,
    "torch loop": fit_hand,
    "skdl": fit_skdl,
}
FLOOR, BASELINE = "torch loop", "scikit-learn"
