"""BaseMLP: the scikit-learn contract around the K-model training engine.

``fit`` and ``partial_fit`` are thin wrappers over :meth:`BaseMLP._fit`. The
estimator validates, builds the spec of a stack (``n_init`` models), calls the
engine and stores the kept model's weights as scikit-learn's fitted
attributes (numpy arrays on the CPU, so a model trained on a GPU pickles and
loads anywhere); each step is a module of this package:

- :mod:`._fitting`: the orchestration (validation, rows, observers, the call to
  :func:`skdl.training.engine.fit_stack`);
- :mod:`._spec`: the engine's plain spec from the estimators' parameters;
- :mod:`._store`: the fitted attributes from the engine's result;
- :mod:`._predict`: the forward pass of a fitted model.
"""

from __future__ import annotations

import functools
from abc import ABCMeta, abstractmethod

from sklearn.base import BaseEstimator

from . import _fitting, _predict
from ._callbacks import CallbackSupportMixin
from ._params import BASE_CONSTRAINTS, STOCHASTIC_SOLVERS


@functools.cache
def _param_names(cls) -> list:
    return BaseEstimator._get_param_names.__func__(cls)


class BaseMLP(CallbackSupportMixin, BaseEstimator, metaclass=ABCMeta):
    """Shared machinery of :class:`MLPClassifier` and :class:`MLPRegressor`."""

    _parameter_constraints: dict = BASE_CONSTRAINTS

    @classmethod
    def _get_param_names(cls):
        # scikit-learn reads the signature of __init__ on every get_params /
        # clone / set_params: read it once per class. A fused search clones
        # once per candidate and fold (four get_params per clone-and-fit).
        return list(_param_names(cls))

    # ---------------------------------------------------------------- hooks
    @abstractmethod
    def _validate_input(self, X, y, incremental: bool, reset: bool):
        """Return validated ``X`` and the encoded 2-D float target."""

    @abstractmethod
    def _loss_name(self) -> str:
        """Key of :data:`skdl.nn.losses.LOSSES` for this target."""

    @abstractmethod
    def _predicted(self, outputs):
        """What ``predict`` returns, from the network outputs ``[n, n_outputs_]``."""

    @abstractmethod
    def _score_kind(self) -> str:
        """'multiclass', 'binary' or 'r2': the validation score."""

    def _stratify(self, Y):
        return None

    def _check_solver(self):
        """``partial_fit`` exists only for the stochastic solvers (as scikit-learn)."""
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} "
                "is not stochastic."
            )
        return True

    def _check_target(self, Y, cfg, n_samples) -> None:
        """Refuse a target the training dtype cannot hold (the regressor's)."""

    def _row_weights(self, y_encoded, sample_weight):
        return sample_weight

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, sample_weight=None, incremental=False):
        return _fitting.fit(self, X, y, sample_weight, incremental)

    def _fit_many(self, X, y, jobs, sample_weight=None, progress=None) -> list:
        """Fit one copy of this estimator per job, all as one stack.

        Parameters
        ----------
        X, y : the whole data set.
        jobs : list of (params, rows)
            Each job is a clone of ``self`` with ``params`` set, fitted on
            ``X[rows], y[rows]`` (e.g. a search candidate on a CV fold). Every
            job must share this estimator's structure (:data:`STRUCTURAL`).
        sample_weight : array-like of shape (n_samples,), default=None
        progress : SearchProgress, default=None
            The search's bar, advanced by the stack's model-epochs.

        Returns
        -------
        estimators : list, one per job
            The fitted estimator, identical to ``clone(self).set_params(**params)
            .fit(X[rows], y[rows])`` up to floating-point rounding, or the
            ``ValueError`` its fit raised (a diverged training).
        """
        return _fitting.fit_many(self, X, y, jobs, sample_weight, progress)

    def _continue_many(self, X, y, models, rows, sample_weight=None, progress=None) -> list:
        """Train fitted models further, all as one stack, by ``self.max_iter`` epochs.

        Each model continues from its own weights, optimizer and loop state,
        shuffling generator and dropout step (what ``warm_start=True`` keeps),
        so with a schedule indexed by epoch and no early stopping, ``e1`` epochs
        then ``e2 - e1`` more equal a fresh fit of ``e2`` epochs.

        Parameters
        ----------
        X, y : the whole data set.
        models : list of fitted estimators with ``n_init=1``, each fitted by a
            stochastic solver on ``X[rows[i]]``, all at the same epoch (and
            dropout step), sharing this estimator's structure.
        rows : list of index arrays, one per model.
        sample_weight : array-like of shape (n_samples,), default=None
        progress : SearchProgress, default=None
            As in :meth:`_fit_many`.

        Returns
        -------
        estimators : list, one per model
            The model trained further (in place), or the ``ValueError`` its
            training raised (a diverged training).
        """
        return _fitting.continue_many(self, X, y, models, rows, sample_weight, progress)

    # -------------------------------------------------------------- predict
    _forward = _predict.forward
    _ensemble_forward = _predict.ensemble_forward
    _members_forward = _predict.members_forward

    # ---------------------------------------------------------- persistence
    def to_onnx(self, path=None):
        """This fitted model as an ONNX graph (see :func:`skdl.export.to_onnx`).

        Parameters
        ----------
        path : str or path-like, default=None
            Where to write the ``.onnx`` file.

        Returns
        -------
        model : onnx.ModelProto
        """
        from ._io import registered

        return registered("to_onnx")(self, path)

    def save(self, path):
        """Save the fitted model to ``path`` without pickle (see :func:`skdl.save`).

        Parameters
        ----------
        path : str or path-like
            The file to write: a zip of ``params.json`` and ``weights.safetensors``.
        """
        from ._io import registered

        registered("save")(self, path)

    @classmethod
    def load(cls, path, device=None):
        """Load a model written by :meth:`save` (see :func:`skdl.load`).

        Parameters
        ----------
        path : str or path-like
            The file written by :meth:`save`.
        device : str or torch.device, default=None
            The ``device`` to set (e.g. ``'cpu'``); None keeps the saved one.

        Returns
        -------
        estimator : an instance of this class, fitted.
        """
        from ._io import registered

        return registered("load_as")(cls, path, device=device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


__all__ = ["BaseMLP"]
