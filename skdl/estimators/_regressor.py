"""MLPRegressor: scikit-learn's multi-layer perceptron regressor, on the engine."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .._compat import _assert_all_finite, _fit_context
from . import _ensemble
from ._base import BaseMLP
from ._docs import COMMON_ATTRIBUTES, COMMON_PARAMETERS
from ._params import REGRESSOR_CONSTRAINTS


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron regressor trained with PyTorch.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor` (same
    parameters, defaults and fitted attributes) that trains on a GPU when
    there is one and exposes every hyperparameter of the lecture.

    Parameters
    ----------
    loss : {{'squared_error', 'absolute_error', 'huber', 'poisson'}}, \
default='squared_error'
        The loss. 'squared_error' is half the squared error and 'poisson' the
        half Poisson deviance with a log link (exp output, needs ``y >= 0``),
        exactly as scikit-learn's; 'huber' is quadratic within ``huber_delta``
        and linear beyond, robust to outliers.

    {COMMON_PARAMETERS}

    huber_delta : float, default=1.0
        Where the 'huber' loss turns from quadratic to linear.

    Attributes
    ----------
    {COMMON_ATTRIBUTES}

    oob_prediction_ : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        With ``oob_score=True``: the out-of-bag prediction of each training
        row (0 for a row that every member drew).

    See Also
    --------
    MLPClassifier : Multi-layer perceptron classifier.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skdl import MLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1, random_state=0)
    >>> reg = MLPRegressor(max_iter=500, learning_rate_init=0.01, random_state=0,
    ...                    device="cpu").fit(X, y)
    >>> round(reg.score(X, y), 2) > 0.9
    True
    """

    _parameter_constraints: dict = REGRESSOR_CONSTRAINTS

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        depth=None,
        width=None,
        activation_param=None,
        init="auto",
        penalty="l2",
        l1_ratio=0.15,
        dropout=0.0,
        early_stopping_metric="score",
        decay_rate=None,
        n_init=1,
        ensemble=False,
        bootstrap=False,
        max_samples=None,
        oob_score=False,
        device="auto",
        dtype="auto",
        precision=None,
        huber_delta=1.0,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.depth = depth
        self.width = width
        self.activation_param = activation_param
        self.init = init
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.dropout = dropout
        self.early_stopping_metric = early_stopping_metric
        self.decay_rate = decay_rate
        self.n_init = n_init
        self.ensemble = ensemble
        self.bootstrap = bootstrap
        self.max_samples = max_samples
        self.oob_score = oob_score
        self.device = device
        self.dtype = dtype
        self.precision = precision
        self.huber_delta = huber_delta

    def _loss_name(self) -> str:
        return self.loss

    def _score_kind(self) -> str:
        return "r2"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        # scikit-learn checks an object y's finiteness before converting it to
        # float, so None (NaN once converted) got through to the training
        _assert_all_finite(y, input_name="y", estimator_name=type(self).__name__)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "loss='poisson' needs non-negative targets, but y has values < 0. Use "
                "loss='squared_error' or shift y."
            )
        return X, np.asarray(y, dtype=np.float64)

    def _check_target(self, Y, cfg, n_samples) -> None:
        """Refuse a y whose losses overflow the training dtype.

        The squared error of a batch sums ``(z - y)**2 / 2`` over its rows and
        outputs; the other losses grow as ``|y|``. So ``|y|`` must stay below
        ``(max / (4 * rows * outputs)) ** (1 / power)`` of the training dtype:
        about 6.5e17 in float32 and 4.7e152 in float64 for batches of 200 rows.
        """
        if Y.size == 0:
            return
        biggest = float(np.max(np.abs(Y)))
        power = 2 if self.loss == "squared_error" else 1
        rows = n_samples if self.solver == "lbfgs" else cfg.batch_size(n_samples)
        dtype = cfg.torch_dtype
        limit = (torch.finfo(dtype).max / (4.0 * rows * Y.shape[1])) ** (1.0 / power)
        if biggest <= limit:
            return
        name = str(dtype).removeprefix("torch.")
        fix = (
            "Scale y, e.g. with sklearn.compose.TransformedTargetRegressor("
            "regressor=..., transformer=StandardScaler())"
        )
        if dtype != torch.float64:
            fix += ", or train in float64 with dtype='float64'"
            if self.precision is not None:
                fix += " and precision=None"
        raise ValueError(
            f"y has values up to {biggest:.3g} in magnitude, too large to train on in "
            f"{name} with loss={self.loss!r}: the losses of a batch overflow {name} "
            f"beyond |y| of about {limit:.2g}. {fix}."
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : MLPRegressor
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : MLPRegressor
            The updated estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X, return_std=False):
        """Predict with the fitted network (the members' mean for an ensemble).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        return_std : bool, default=False
            Also return the standard deviation of the members' predictions
            (``np.std`` over the members, ``ddof=0``), the ensemble's
            uncertainty, as :class:`~sklearn.gaussian_process.GaussianProcessRegressor`
            and :class:`~sklearn.linear_model.BayesianRidge` return theirs.
            Needs ``ensemble=True`` (a ``ValueError`` otherwise).

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values, in X's dtype (float64 if the model was
            trained in float64), as scikit-learn's.
        y_std : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            With ``return_std=True``: the members' standard deviation.
        """
        check_is_fitted(self)
        if return_std:
            return _ensemble.predict_with_std(self, X)
        return self._predicted(self._ensemble_forward(X))

    def _predicted(self, y_pred):
        """``predict``'s values from the network outputs ``[n, n_outputs_]``."""
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred
