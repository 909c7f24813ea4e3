"""The fitted attributes of a job, from the engine's :class:`~skdl.training.engine.StackResult`.

One store for every solver: the job keeps the model that
:meth:`StackResult.kept <skdl.training.engine.StackResult.kept>` picks among
its ``n_init`` restarts, and ends with scikit-learn's warnings or errors
(non-convergence, divergence, an interruption).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..training.history import History

NONFINITE_WEIGHTS = (
    "Solver produced non-finite parameter weights. The input data may contain large "
    "values and need to be preprocessed."
)
"""scikit-learn's message for a fit that ends with non-finite weights; skdl's own
advice (the epoch, the learning rate) follows it."""

# warnings point at the estimator's fit: warn <- store_job <- _store_jobs <- train_models <- fit
# (skdl.estimators._fitting) <- BaseMLP._fit <- MLPClassifier.fit / MLPRegressor.fit
_STACKLEVEL = 7


def store_job(est, result, idx, incremental: bool) -> None:
    """Set ``est``'s fitted attributes to the model kept among the stack's models ``idx``."""
    store_members(est, result, idx)
    best = result.kept(idx)
    stochastic = result.optimizer is not None
    est.coefs_, est.intercepts_ = result.weights(best)
    est.history_ = History(result.state.history[best])
    est.n_iter_ = int(result.n_iter[best])
    est.t_ = int(result.state.t) if stochastic else 0
    est.loss_curve_ = [r["train_loss"] for r in est.history_]
    est.loss_ = float(result.loss[best])
    vals = [r["val_loss"] for r in est.history_ if r["val_loss"] is not None]
    est.validation_loss_curve_ = vals if vals else None
    if stochastic and est.early_stopping and not incremental:
        _store_validation(est)
    else:
        est.validation_scores_ = None
        est.best_validation_score_ = None
        est.best_loss_ = float(result.state.best_loss[best])
    est._solver_state = _solver_state(est, result, best) if stochastic else None
    if stochastic:
        _raise_or_warn(est, result, best, incremental)
    else:
        _warn_lbfgs(est, result, best)


def _store_validation(est) -> None:
    est.validation_scores_ = [r["val_score"] for r in est.history_]
    # a diverged epoch (nan scores, recorded last) is never the best
    finite = [r for r in est.history_ if np.isfinite(r["val_score"])]
    if not finite:
        best_rec = {"val_score": -np.inf}
    elif est.early_stopping_metric == "loss":
        best_rec = min(finite, key=lambda r: r["val_loss"])
    else:
        best_rec = max(finite, key=lambda r: r["val_score"])
    est.best_validation_score_ = float(best_rec["val_score"])
    est.best_loss_ = None


def _solver_state(est, result, best) -> dict:
    """What ``warm_start`` / ``partial_fit`` / a halving rung resume the model from."""
    keep = slice(best, best + 1)
    return {
        "solver": est.solver,
        "optimizer": {
            n: v.cpu().numpy() for n, v in result.optimizer.state_dict(rows=keep).items()
        },
        "loop": result.state.model(best),
        "generator": result.generators[best].get_state().numpy(),
        # the dropout masks continue across partial_fit / warm_start calls
        "dropout_step": result.dropout_step,
    }


def store_members(est, result, idx) -> None:
    """With ``ensemble=True``, keep every model of this job (``members_``) and
    what each resumes from (``_members_solver_state``: ``warm_start``, ``partial_fit``)."""
    if not est.ensemble:
        for name in ("members_", "members_history_", "_members_solver_state"):
            est.__dict__.pop(name, None)
        return
    est.members_ = [result.weights(int(i)) for i in idx]
    est.members_history_ = [History(result.state.history[int(i)]) for i in idx]
    stochastic = result.optimizer is not None
    est._members_solver_state = (
        [_solver_state(est, result, int(i)) for i in idx] if stochastic else None
    )


def _last_finite(diverged_at: int) -> str:
    if diverged_at <= 1:
        return "its initial weights"
    return f"the weights of epoch {diverged_at - 1}, the last finite one"


def _warn_lbfgs(est, result, best) -> None:
    if result.interrupted:
        warnings.warn(
            f"Training interrupted by user after {est.n_iter_} L-BFGS iterations; the "
            "model keeps the weights of the last completed iteration.",
            UserWarning,
            stacklevel=_STACKLEVEL,
        )
    elif not result.converged[best] and not result.stopped:
        warnings.warn(
            f"lbfgs failed to converge after {est.n_iter_} iterations "
            f"(max_iter={est.max_iter}, max_fun={est.max_fun}). Increase max_iter "
            "or scale the data, e.g. with StandardScaler.",
            ConvergenceWarning,
            stacklevel=_STACKLEVEL,
        )


def _raise_or_warn(est, result, best, incremental) -> None:
    if result.interrupted:
        warnings.warn(
            f"Training interrupted by user after {est.n_iter_} epochs; the model "
            "keeps the weights of the last completed epoch.",
            UserWarning,
            stacklevel=_STACKLEVEL,
        )
        return
    if result.diverged_at[best]:
        _diverged(est, result.diverged_at[best], incremental)
        return
    if result.stopped:  # a callback's request, not a failure to converge
        return
    if not incremental and not result.converged[best] and est.n_iter_ == est.max_iter:
        warnings.warn(
            f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached "
            "and the optimization hasn't converged yet.",
            ConvergenceWarning,
            stacklevel=_STACKLEVEL,
        )


def _diverged(est, epoch, incremental) -> None:
    advice = (
        f"Lower learning_rate_init (currently {est.learning_rate_init}) or "
        "scale X, e.g. with StandardScaler."
    )
    if est.early_stopping and not incremental:
        # scikit-learn's contract: no error, the best validation epoch's
        # weights are kept and validation_scores_ ends in nan
        warnings.warn(
            f"Training diverged at epoch {epoch} (non-finite "
            "loss); the model keeps the weights of its best validation epoch "
            f"(validation score {est.best_validation_score_:.6g}). {advice}",
            ConvergenceWarning,
            stacklevel=_STACKLEVEL + 1,
        )
        return
    raise ValueError(
        f"{NONFINITE_WEIGHTS} Training diverged at epoch {epoch} "
        "(the loss or the weights became non-finite); the model keeps "
        f"{_last_finite(epoch)}. {advice}"
    )
