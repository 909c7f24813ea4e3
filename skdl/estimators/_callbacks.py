"""scikit-learn's callbacks (``sklearn.callback``, scikit-learn >= 1.9) down to each epoch.

With a scikit-learn that has them, the estimators are a
``CallbackSupportMixin``: ``est.set_callbacks(ProgressBar(), ScoringMonitor(...))``
works as on scikit-learn's own estimators, and callbacks set on a
``GridSearchCV`` or a ``Pipeline`` reach into the fit. A fit is one task with
one sub-task per epoch (per L-BFGS iteration for ``solver='lbfgs'``); at the
end of each, the callbacks may ask for a ``fitted_estimator``: a copy of the
estimator holding the weights of that moment (built only when asked for), so
``ScoringMonitor`` scores every epoch. A callback that returns True from
``on_fit_task_end`` stops the training after that epoch, like early stopping,
without a ``ConvergenceWarning``.

With an older scikit-learn, :class:`CallbackSupportMixin` is an empty class
and nothing here runs.
"""

from __future__ import annotations

import numpy as np

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # pragma: no cover - exercised with scikit-learn < 1.9

    class CallbackSupportMixin:
        """Stand-in for scikit-learn < 1.9, which has no callbacks."""

    HAS_CALLBACKS = False
else:
    HAS_CALLBACKS = True


class FitTasks:
    """The task tree of one fit, as scikit-learn's callbacks see it.

    The fit is the root task (``task_name='fit'``); each epoch, or each L-BFGS
    iteration, is a leaf sub-task (``'epoch'``, ``'lbfgs-iter'``) that
    :meth:`begin` opens and :meth:`end` closes. Use :meth:`start`, which gives
    None when no callback and no enclosing meta-estimator's context is set, so
    a plain fit pays nothing.
    """

    def __init__(self, est, X, y, sample_weight, max_subtasks, leaf_name):
        self.est, self.X, self.y = est, X, y
        self.metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.leaf_name = leaf_name
        self.root = est._init_callback_context(task_name="fit", max_subtasks=max_subtasks)
        self.root.call_on_fit_task_begin(estimator=est, X=X, y=y, metadata=self.metadata)
        self._leaf = None
        self.stop_requested = False

    @classmethod
    def start(cls, est, X, y, sample_weight, max_subtasks, leaf_name="epoch"):
        """The fit's tasks, begun; None when no callback can be listening."""
        if not HAS_CALLBACKS:
            return None
        if not getattr(est, "_skl_callbacks", None) and not hasattr(est, "_parent_callback_ctx"):
            return None
        return cls(est, X, y, sample_weight, max_subtasks, leaf_name)

    def begin(self) -> None:
        """Open the next leaf task (an epoch about to run)."""
        self._leaf = self.root.subcontext(task_name=self.leaf_name)
        self._leaf.call_on_fit_task_begin(
            estimator=self.est, X=self.X, y=self.y, metadata=self.metadata
        )

    def end(self, attributes) -> bool:
        """Close the open leaf task; True if a callback asks to stop training.

        ``attributes`` is a callable returning the fitted attributes of the
        moment (``coefs_``, ``intercepts_``, ...): it runs only if a callback
        wants a ``fitted_estimator``.
        """
        leaf, self._leaf = self._leaf, None
        stop = leaf.call_on_fit_task_end(
            estimator=self.est,
            X=self.X,
            y=self.y,
            metadata=self.metadata,
            reconstruction_attributes=attributes,
        )
        self.stop_requested |= bool(stop)
        return bool(stop)

    def finish(self) -> None:
        """Close a leaf left open (an interrupted epoch) and then the fit's task."""
        if self._leaf is not None:
            leaf, self._leaf = self._leaf, None
            leaf.call_on_fit_task_end(estimator=self.est)
        self.root.call_on_fit_task_end(
            estimator=self.est,
            X=self.X,
            y=self.y,
            metadata=self.metadata,
            reconstruction_attributes={},
        )


class CallbackObserver:
    """The engine's observer (:class:`~skdl.training.observers.Observer`) for
    scikit-learn's callbacks: each epoch (each L-BFGS iteration) is a leaf task
    of :class:`FitTasks`, and a callback's ``fitted_estimator`` holds the
    current weights of the model the fit would keep if it ended now
    (:meth:`~skdl.training.observers.EpochState.kept`; L-BFGS: the model
    being optimised)."""

    def __init__(self, tasks: FitTasks):
        self.tasks = tasks

    def on_epoch_begin(self, state) -> None:
        self.tasks.begin()

    def on_epoch_end(self, state) -> bool:
        return self.tasks.end(lambda: epoch_attributes(state))


def epoch_attributes(state) -> dict:
    """The fitted attributes of the moment, for a callback's ``fitted_estimator``:
    the kept model's current weights, epochs run and last training loss."""
    from ..training.engine import model_weights

    k = state.kept(np.arange(len(state.history)))
    coefs, intercepts = model_weights(state.layout, state.params, k)
    history = state.history[k]
    return {
        "coefs_": coefs,
        "intercepts_": intercepts,
        "n_iter_": len(history),
        "loss_": history[-1]["train_loss"] if history else np.nan,
    }
