"""MLPClassifier: scikit-learn's multi-layer perceptron classifier, on the engine."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .._compat import _check_partial_fit_first_call, _fit_context
from . import _ensemble
from ._base import BaseMLP
from ._docs import COMMON_ATTRIBUTES, COMMON_PARAMETERS
from ._params import CLASSIFIER_CONSTRAINTS


def _check_class_weight_values(class_weight: dict) -> None:
    """Each weight of a ``class_weight`` dict is a finite non-negative number.

    scikit-learn's ``compute_class_weight`` copies the values into a float array
    as they are: a string fails with numpy's "could not convert string to float"
    (or, for '2', is silently parsed) and None becomes a NaN weight.
    """
    for label, value in class_weight.items():
        if not isinstance(value, Real) or isinstance(value, bool):
            what = "not a number"
        elif not math.isfinite(value):
            what = "not finite"
        elif value < 0:
            what = "negative"
        else:
            continue
        raise ValueError(
            f"class_weight must map each class to a finite non-negative number, but "
            f"the weight of class {label!r} is {value!r} ({what}). Use e.g. "
            f"class_weight={{{label!r}: 1.0, ...}}, class_weight='balanced' or None."
        )


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron classifier trained with PyTorch.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier` (same
    parameters, defaults and fitted attributes) that trains on a GPU when
    there is one and exposes every hyperparameter of the lecture. Softmax and
    cross-entropy for multiclass targets, sigmoid and binary cross-entropy for
    binary and multilabel (indicator) targets.

    Parameters
    ----------
    {COMMON_PARAMETERS}

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight``; 'balanced'
        uses ``n_samples / (n_classes * np.bincount(y))``. A dict maps each
        class to a finite non-negative number (a ValueError naming the class
        otherwise); classes left out weigh 1, as in scikit-learn.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Class labels (per output for multilabel).

    oob_decision_function_ : ndarray of shape (n_samples, n_classes)
        With ``oob_score=True``: the out-of-bag class probabilities of each
        training row (NaN for a row that every member drew).

    {COMMON_ATTRIBUTES}

    See Also
    --------
    MLPRegressor : Multi-layer perceptron regressor.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdl import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(max_iter=300, random_state=0, device="cpu").fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """

    _parameter_constraints: dict = CLASSIFIER_CONSTRAINTS

    def __init__(
        self,
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
        class_weight=None,
    ):
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
        self.class_weight = class_weight

    def _loss_name(self) -> str:
        return "log_loss" if self._label_binarizer.y_type_ == "multiclass" else "binary_log_loss"

    def _score_kind(self) -> str:
        return "multiclass" if self._label_binarizer.y_type_ == "multiclass" else "binary"

    def _stratify(self, Y):
        # don't stratify multilabel targets (as scikit-learn)
        if self._label_binarizer.y_type_ == "multiclass":
            return Y.argmax(1)
        if self._label_binarizer.y_type_ == "binary":
            # as scikit-learn: the binarized column as booleans (the same split as
            # on 0/1; a too-small class is then reported as 'True', as there)
            return Y[:, :1] > 0.5
        return None

    def _row_weights(self, Y, sample_weight):
        if self.class_weight is None:
            return sample_weight
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError(
                "class_weight is not supported for multilabel targets; pass sample_weight instead."
            )
        if isinstance(self.class_weight, dict):
            _check_class_weight_values(self.class_weight)
        y = self._label_binarizer.inverse_transform(Y if Y.shape[1] > 1 else Y[:, 0])
        cw = compute_sample_weight(self.class_weight, y)
        return cw if sample_weight is None else cw * sample_weight

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` "
                        f"has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        return X, self._label_binarizer.transform(y).astype(np.float64)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target class labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : MLPClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            All classes across calls; required on the first call.

        Returns
        -------
        self : MLPClassifier
            The updated estimator.
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X):
        """Predict the class labels of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        check_is_fitted(self)
        return self._predicted(self._ensemble_forward(X))

    def _predicted(self, y_pred):
        """``predict``'s labels from the network outputs ``[n, n_outputs_]``."""
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._decode(y_pred)

    def _decode(self, y_pred):
        # LabelBinarizer.inverse_transform's rule (argmax, or > 0.5 for one output)
        # without its per-call validation, which dominates single-row latency.
        kind = self._label_binarizer.y_type_
        if kind == "multiclass":
            return self.classes_[np.argmax(y_pred, axis=1)]
        if kind == "binary":
            if len(self.classes_) == 1:  # a one-class y (as LabelBinarizer)
                return np.repeat(self.classes_[0], len(y_pred))
            return self.classes_[(y_pred > 0.5).astype(np.intp)]
        return self._label_binarizer.inverse_transform(y_pred)

    def predict_proba(self, X):
        """Probability of each class, in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The predicted probabilities, in X's dtype (float64 if the model
            was trained in float64).
        """
        check_is_fitted(self)
        y_pred = self._ensemble_forward(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def predict_proba_members(self, X):
        """Each member's class probabilities: the ensemble's disagreement.

        :meth:`predict_proba` is their mean over the first axis; their spread
        (e.g. ``.std(axis=0)``, or the share of members voting for the
        predicted class) measures how much the members disagree on each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_members, n_samples, n_classes)
            The probabilities of each member of ``members_``, in the order of
            ``classes_``. Needs ``ensemble=True`` (a ``ValueError`` otherwise).
        """
        outs = _ensemble.members_outputs(self, X)
        return np.stack([_ensemble.proba(self, out) for out in outs])

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            The log-probabilities, in :meth:`predict_proba`'s dtype.
        """
        y_prob = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(y_prob, out=y_prob)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
