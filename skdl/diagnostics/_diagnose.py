"""Bias/variance diagnosis after the lecture's table: train vs validation score."""

from __future__ import annotations

import html
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._curves import Finding, curve_findings

GOOD_FIT = "good fit"
HIGH_VARIANCE = "high variance (overfitting)"
HIGH_BIAS = "high bias (underfitting)"
HIGH_BIAS_AND_VARIANCE = "high bias and high variance"

# The lecture's remedies, word for word where it has words.
HIGH_BIAS_REMEDIES = (
    "Try a bigger network: more units or layers (hidden_layer_sizes, or depth and width).",
    "Train longer: raise max_iter, or tune the optimizer and learning rate.",
    "Change the architecture (activation, depth vs width).",
    "Taking more data won't help!",
)
HIGH_VARIANCE_REMEDIES = (
    "Take a bigger training set.",
    "Regularization: raise alpha, add dropout, or early_stopping=True.",
    "Change the architecture (a smaller network).",
)


@dataclass(frozen=True)
class Diagnosis:
    """The result of :func:`diagnose`: scores, gaps, verdict and remedies.

    Prints as text (``print(report)``) and renders as a table in notebooks.

    Parameters
    ----------
    train_score : float
        The score on the training data.
    val_score : float
        The score on the validation data.
    target_score : float
        The best achievable score (the lecture's human-level or Bayes score).
    bias_threshold : float
        ``bias`` above this is high bias.
    variance_threshold : float
        ``gap`` above this is high variance.
    findings : tuple of Finding, default=()
        What the training curve shows (divergence, no convergence,
        oscillation), each with its remedies.
    val_label : str, default="validation score"
        What ``val_score`` is, as the report names it (e.g. "score on
        test.csv").

    Attributes
    ----------
    bias : float
        ``target_score - train_score``, the avoidable bias.
    gap : float
        ``train_score - val_score``, the variance.
    high_bias : bool
        ``bias > bias_threshold``.
    high_variance : bool
        ``gap > variance_threshold``.
    verdict : str
        One of ``"good fit"``, ``"high variance (overfitting)"``,
        ``"high bias (underfitting)"``, ``"high bias and high variance"``.
    remedies : tuple of str
        The lecture's remedies for the verdict (empty for a good fit).
    """

    train_score: float
    val_score: float
    target_score: float
    bias_threshold: float
    variance_threshold: float
    findings: tuple[Finding, ...] = ()
    val_label: str = "validation score"

    @property
    def bias(self) -> float:
        return self.target_score - self.train_score

    @property
    def gap(self) -> float:
        return self.train_score - self.val_score

    @property
    def high_bias(self) -> bool:
        return self.bias > self.bias_threshold

    @property
    def high_variance(self) -> bool:
        return self.gap > self.variance_threshold

    @property
    def verdict(self) -> str:
        return {
            (False, False): GOOD_FIT,
            (False, True): HIGH_VARIANCE,
            (True, False): HIGH_BIAS,
            (True, True): HIGH_BIAS_AND_VARIANCE,
        }[(self.high_bias, self.high_variance)]

    @property
    def remedies(self) -> tuple[str, ...]:
        remedies: tuple[str, ...] = ()
        if self.high_bias:
            remedies += HIGH_BIAS_REMEDIES
        if self.high_variance:
            remedies += tuple(r for r in HIGH_VARIANCE_REMEDIES if r not in remedies)
        return remedies

    def _rows(self) -> list[tuple[str, str, str]]:
        def flag(high: bool) -> str:
            return "HIGH" if high else "ok"

        return [
            ("training score", f"{self.train_score:.4f}", ""),
            (self.val_label, f"{self.val_score:.4f}", ""),
            ("target score", f"{self.target_score:.4f}", ""),
            (
                "bias = target - training",
                f"{self.bias:+.4f}",
                f"{flag(self.high_bias)} (threshold {self.bias_threshold:g})",
            ),
            (
                f"variance = training - {self.val_label.removesuffix(' score')}",
                f"{self.gap:+.4f}",
                f"{flag(self.high_variance)} (threshold {self.variance_threshold:g})",
            ),
        ]

    def __str__(self) -> str:
        lines = ["Bias/variance diagnosis"]
        lines += [f"  {name:<34}{value:>8}  {note}".rstrip() for name, value, note in self._rows()]
        lines.append(f"Verdict: {self.verdict}")
        if self.high_bias and self.high_variance:
            lines.append(
                f"  Fix the bias first (training score), then the variance ({self.val_label})."
            )
        lines += [f"  - {r}" for r in self.remedies]
        if self.findings:
            lines.append("Training curve:")
            for f in self.findings:
                lines.append(f"  {f.kind}: {f.message}")
                lines += [f"    - {r}" for r in f.remedies]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = "".join(
            f"<tr><td>{esc(n)}</td><td style='text-align:right'>{esc(v)}</td>"
            f"<td>{esc(note)}</td></tr>"
            for n, v, note in self._rows()
        )
        parts = [
            "<div><strong>Bias/variance diagnosis</strong>",
            f"<table>{rows}</table>",
            f"<p><strong>Verdict: {esc(self.verdict)}</strong></p>",
        ]
        if self.remedies:
            parts.append("<ul>" + "".join(f"<li>{esc(r)}</li>" for r in self.remedies) + "</ul>")
        for f in self.findings:
            items = "".join(f"<li>{esc(r)}</li>" for r in f.remedies)
            parts.append(f"<p><em>{esc(f.kind)}</em>: {esc(f.message)}</p><ul>{items}</ul>")
        parts.append("</div>")
        return "".join(parts)


def _check_score(name: str, value: Any) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value):
        return float(value)
    raise ValueError(f"The {name!r} parameter must be a finite float. Got {value!r} instead.")


def _score_from(estimator: Any, X: Any, y: Any, which: str, explicit: Any) -> float | None:
    """An explicit score, or ``estimator.score(X, y)``, or None when neither is given."""
    has_data = X is not None or y is not None
    if explicit is not None and has_data:
        raise ValueError(f"Pass either {which}_score or X_{which}, y_{which}, not both.")
    if explicit is not None:
        return _check_score(f"{which}_score", explicit)
    if not has_data:
        return None
    if X is None or y is None:
        raise ValueError(f"X_{which} and y_{which} go together: pass both or neither.")
    if estimator is None:
        raise ValueError(f"Scoring X_{which}, y_{which} needs a fitted estimator: pass it first.")
    return float(estimator.score(X, y))


def diagnose(
    estimator: Any = None,
    X_train: Any = None,
    y_train: Any = None,
    X_val: Any = None,
    y_val: Any = None,
    *,
    train_score: float | None = None,
    val_score: float | None = None,
    target_score: float | None = None,
    bias_threshold: float = 0.05,
    variance_threshold: float = 0.05,
    val_label: str = "validation score",
) -> Diagnosis:
    """Diagnose bias and variance from training and validation scores.

    The lecture's table: the bias is how far the training score falls short
    of the target (``target_score - train_score``), the variance is how far
    the validation score falls short of the training score (``train_score -
    val_score``). Each is high above its threshold, which gives one of four
    verdicts, each with the lecture's remedies. With the default thresholds
    (0.05) and a target of 1.0, the lecture's three columns read:

    ======== ========== =================================
    training validation verdict
    ======== ========== =================================
    0.99     0.89       high variance (overfitting)
    0.90     0.89       high bias (underfitting)
    0.89     0.78       high bias and high variance
    ======== ========== =================================

    When the estimator is (or holds) an skdl estimator with a ``history_``,
    its training curve is also read: divergence, stopping at ``max_iter``
    with the loss still falling, an oscillating loss (see :class:`Finding`).
    In a :class:`~sklearn.pipeline.Pipeline` that is its last step with a
    ``history_`` (searched from the last step back), in a fitted search its
    ``best_estimator_``, in a ``TransformedTargetRegressor`` its ``regressor_``.

    Parameters
    ----------
    estimator : fitted estimator, default=None
        The model to diagnose, e.g. a fitted :class:`skdl.MLPClassifier`, or
        a pipeline or search holding one. Its ``score`` method scores the
        data given; the skdl estimator's ``history_`` gives the curve
        findings. None needs both ``train_score`` and ``val_score``.
    X_train, y_train : array-like, default=None
        Training data, scored with ``estimator.score`` for the training
        score. Pass the data given to ``fit`` (see Notes).
    X_val, y_val : array-like, default=None
        Validation data, scored with ``estimator.score`` for the validation
        score. When omitted, the skdl estimator's ``best_validation_score_``
        (from ``early_stopping=True``) is used.
    train_score : float, default=None
        The training score, instead of ``X_train, y_train``.
    val_score : float, default=None
        The validation score, instead of ``X_val, y_val``.
    target_score : float, default=None
        The best score achievable on the task (the lecture's human-level or
        Bayes score). None means 1.0: perfect accuracy, or R² = 1 for a
        regressor.
    bias_threshold : float, default=0.05
        ``target_score - train_score`` above this is high bias.
    variance_threshold : float, default=0.05
        ``train_score - val_score`` above this is high variance.
    val_label : str, default="validation score"
        What the second score is, as the report names it: e.g. "score on
        test.csv" for a score on new data.

    Returns
    -------
    report : Diagnosis
        Scores, bias, gap, verdict, remedies and curve findings.

    Raises
    ------
    ValueError
        When a score is missing (no training score, or no validation score
        and no ``best_validation_score_``), or given twice.

    Notes
    -----
    The training score of an estimator fitted with ``early_stopping=True`` on
    ``X_train`` includes the ``validation_fraction`` held out inside ``fit``;
    that share of unseen samples pulls the training score slightly towards
    the validation score, so the gap is slightly underestimated. Fit on a
    split of your own and pass it as ``X_val, y_val`` for exact scores.

    Examples
    --------
    >>> from skdl.diagnostics import diagnose
    >>> diagnose(train_score=0.99, val_score=0.89).verdict
    'high variance (overfitting)'
    >>> diagnose(train_score=0.90, val_score=0.89).verdict
    'high bias (underfitting)'
    >>> diagnose(train_score=0.89, val_score=0.78).verdict
    'high bias and high variance'
    >>> print(diagnose(train_score=0.90, val_score=0.89, target_score=0.91))
    Bias/variance diagnosis
      training score                      0.9000
      validation score                    0.8900
      target score                        0.9100
      bias = target - training           +0.0100  ok (threshold 0.05)
      variance = training - validation   +0.0100  ok (threshold 0.05)
    Verdict: good fit
    """
    target = 1.0 if target_score is None else _check_score("target_score", target_score)
    for name, value in (
        ("bias_threshold", bias_threshold),
        ("variance_threshold", variance_threshold),
    ):
        if _check_score(name, value) < 0:
            raise ValueError(f"The {name!r} parameter must be >= 0. Got {value!r} instead.")
    if estimator is not None:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(estimator)
    train = _score_from(estimator, X_train, y_train, "train", train_score)
    if train is None:
        raise ValueError(
            "diagnose needs a training score: pass X_train, y_train (the data given to fit) "
            "with the estimator, or train_score=..."
        )
    if not isinstance(val_label, str) or not val_label:
        raise ValueError(f"The 'val_label' parameter must be a non-empty str. Got {val_label!r}.")
    mlp = _trained_network(estimator)
    val = _validation_score(estimator, mlp, X_val, y_val, val_score)
    return Diagnosis(
        train_score=train,
        val_score=val,
        target_score=target,
        bias_threshold=float(bias_threshold),
        variance_threshold=float(variance_threshold),
        findings=_history_findings(mlp),
        val_label=val_label,
    )


def _validation_score(estimator: Any, mlp: Any, X_val: Any, y_val: Any, explicit: Any) -> float:
    """The score on ``X_val, y_val``, or ``explicit``, or the network's early-stopping score."""
    val = _score_from(estimator, X_val, y_val, "val", explicit)
    if val is not None:
        return val
    val = getattr(mlp, "best_validation_score_", None)
    if val is None:
        raise ValueError(
            "diagnose needs a validation score: pass X_val, y_val or val_score=..., or "
            "an estimator fitted with early_stopping=True (its best_validation_score_)."
        )
    return float(val)


def _history_findings(mlp: Any) -> tuple[Finding, ...]:
    """What the training curve of ``mlp`` shows (none without a ``history_``)."""
    history = getattr(mlp, "history_", None)
    if not history:
        return ()
    params = mlp.get_params(deep=False) if hasattr(mlp, "get_params") else {}
    return curve_findings(
        np.array([np.nan if r["train_loss"] is None else r["train_loss"] for r in history]),
        n_iter=getattr(mlp, "n_iter_", None),
        max_iter=params.get("max_iter"),
        learning_rate_init=params.get("learning_rate_init"),
    )


def _trained_network(estimator: Any) -> Any:
    """The fitted skdl estimator (with ``history_``) in ``estimator``, else ``estimator``."""
    found = _find_network(estimator)
    return estimator if found is None else found


def _find_network(estimator: Any) -> Any:
    """``estimator`` if it has a ``history_``, else the first such estimator inside it:
    through pipelines (the last step first), fitted searches (``best_estimator_``) and
    ``TransformedTargetRegressor`` (``regressor_``), nested any way; None if none."""
    if estimator is None or isinstance(estimator, str):  # a 'passthrough' step
        return None
    if hasattr(estimator, "history_"):
        return estimator
    inner = []
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list):
        inner += [step for _, step in reversed(steps)]
    inner += [getattr(estimator, name, None) for name in ("best_estimator_", "regressor_")]
    for candidate in inner:
        found = _find_network(candidate)
        if found is not None:
            return found
    return None
