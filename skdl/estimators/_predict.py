"""Prediction: a fitted estimator's network outputs, as numpy arrays.

One model runs with 2-D products (:func:`skdl.nn.mlp.forward_rows`) in chunks
of :data:`PREDICT_CHUNK` rows, or, below ``NUMPY_ROWS`` rows on the CPU, in
numpy (:mod:`skdl.nn.rows`). Rows whose forward pass overflows are computed
again in float64 (:func:`forward_wide`). The weights' tensors are kept between
calls by :class:`InferenceWeights`.

:func:`check_predict_input` and :func:`predict_checked` split ``predict`` in
two: rows validated once (as ``predict`` validates them), then predicted by
many fitted estimators, each through its own forward pass and decoding, so
each gets what its ``predict`` returns for those rows, bit for bit. A fused
search scores its fits on one split's rows this way.
"""

from __future__ import annotations

import contextlib
import weakref

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_array, validate_data

from ..nn.activations import ACTIVATIONS
from ..nn.losses import LOSSES
from ..nn.mlp import FEW_ROWS, forward_rows
from ..nn.rows import NUMPY_ROWS, ROW_ACTIVATIONS, ROW_OUTPUTS, forward_numpy
from ..training.threads import cpu_threads, step_flops
from ._config import prediction_device
from ._faults import predict_in_chunks

PREDICT_CHUNK = 65536

# how predict validates X (check_array's parameters): CSR and CSC rows stay
# sparse, float32 and float64 stay as they are, other dtypes (integers, bools)
# become float64, as scikit-learn's MLP converts them (exact for integers up
# to 2**53, where float32 rounds those above 2**24)
PREDICT_INPUT = {"accept_sparse": ["csr", "csc"], "dtype": (np.float64, np.float32)}


def _to_dense(X) -> np.ndarray:
    return X.toarray() if sp.issparse(X) else X


def _check(est, X):
    return validate_data(est, X, reset=False, **PREDICT_INPUT)


def check_predict_input(X):
    """``X`` converted as ``predict`` converts it, for any fitted estimator.

    This is ``predict``'s validation less its checks against one estimator
    (the number of features and their names, which the caller checks): the
    same ``check_array`` call, so the same array (dtype, layout), or the same
    error. Its result may be passed to :func:`predict_checked` of any estimator
    fitted on ``X.shape[1]`` features without names.
    """
    return check_array(X, input_name="X", **PREDICT_INPUT)


def predict_checked(est, X):
    """``est.predict(X)`` of rows ``X`` from :func:`check_predict_input`, not validated again.

    The estimator's own forward pass (the members' mean for an ensemble) and
    decoding of its outputs, so the result is ``est.predict(X)``'s, bit for
    bit. ``est`` must be fitted, on ``X.shape[1]`` features without names.
    """
    return est._predicted(ensemble_forward(est, X, check_input=False))


def members_forward(est, X, check_input=True) -> np.ndarray:
    """Every ensemble member's outputs (after the output activation), ``[M, n, O]``."""
    if check_input:
        X = _check(est, X)
    return np.stack([forward(est, X, check_input=False, weights=m) for m in est.members_])


def ensemble_forward(est, X, check_input=True) -> np.ndarray:
    """The network outputs, averaged over the members of an ensemble."""
    if getattr(est, "members_", None) is None:
        return forward(est, X, check_input)
    return members_forward(est, X, check_input).mean(0)


def forward(est, X, check_input=True, weights=None) -> np.ndarray:
    """Network outputs (after the output activation), numpy ``[n, O]`` in the
    common dtype of X and the weights (as scikit-learn's).

    ``weights``: ``(coefs, intercepts)`` of an ensemble member to use instead
    of ``coefs_`` / ``intercepts_``."""
    if check_input:
        X = _check(est, X)
    device = prediction_device(est.device, owner=est)
    # The outputs have scikit-learn's dtype: X's and the weights' common one.
    # On the CPU, compute in it too (float64 X: no extra rounding, and results
    # independent of how rows are chunked, as scikit-learn's subset-invariance
    # check requires; float32: half the memory traffic); on an accelerator,
    # in the weights' dtype.
    out_dtype = np.result_type(X.dtype, est.coefs_[0].dtype)
    wide = est.coefs_[0].dtype == np.float64 or (device.type == "cpu" and out_dtype == np.float64)
    if device.type == "cpu" and X.shape[0] < NUMPY_ROWS and est.activation in ROW_ACTIVATIONS:
        return _forward_few(est, X, weights, np.float64 if wide else np.float32, out_dtype)
    return _forward_torch(
        est, X, weights, device, torch.float64 if wide else torch.float32, out_dtype
    )


def _modes(est, n_rows, device):
    """Inference mode and the thread setting, for more than a few rows: below
    ``FEW_ROWS`` no tensor here requires a gradient and no parallel region
    starts, and switching the modes would cost more than the arithmetic."""
    if n_rows < FEW_ROWS:
        return contextlib.nullcontext()
    modes = contextlib.ExitStack()
    modes.enter_context(torch.inference_mode())
    units = [c.shape[0] for c in est.coefs_] + [est.n_outputs_]
    modes.enter_context(cpu_threads(device, step_flops(units, min(n_rows, PREDICT_CHUNK)) / 3))
    return modes


def _forward_torch(est, X, member, device, dtype, out_dtype) -> np.ndarray:
    if member is None:
        weights, biases = _WEIGHTS.get(est, dtype, device)
    else:
        coefs, intercepts = member
        weights = [torch.as_tensor(c).to(device=device, dtype=dtype) for c in coefs]
        biases = [torch.as_tensor(b).to(device=device, dtype=dtype).view(-1) for b in intercepts]
    act = ACTIVATIONS[est.activation]
    act_param = act_param_tensor(est, dtype, device)
    act_param = None if act_param is None else act_param.view(1, 1)
    output = LOSSES[est._loss_name()].output
    out = np.empty((X.shape[0], est.n_outputs_), dtype=out_dtype)

    def run(start, stop):
        chunk = _to_dense(X[start:stop])
        x = torch.as_tensor(np.require(chunk, requirements=["C", "W"]))
        x = x.to(device=device, dtype=dtype)
        # a pre-activation that is not finite is an overflow: in the outputs
        # (sigmoid/softmax may hide it) or in a hidden layer (tanh, logistic,
        # ReLU at -inf would hide it). First one check of every layer's total
        # (not finite if any pre-activation is not, or if the sum overflows);
        # only then the rows' own sums, to find which rows overflowed
        totals = []
        z = forward_rows(weights, biases, x, act, act_param, totals, per_row=False)
        total = z.sum()
        for t in totals:
            total = total + t
        ok = None
        if not bool(torch.isfinite(total)):
            sums = []
            z = forward_rows(weights, biases, x, act, act_param, sums)
            probe = torch.cat([z, *sums], 1) if sums else z
            ok = torch.isfinite(probe).all(1)
            ok = None if bool(ok.all()) else ok
        if ok is not None:
            result = np.empty(tuple(z.shape), dtype=np.float64)
            ok_rows = ok.cpu().numpy()
            result[ok_rows] = output(z[ok].double()).cpu().numpy()
            result[~ok_rows] = forward_wide(est, chunk[~ok_rows], member)
        else:
            result = output(z.double()).cpu().numpy()
        out[start:stop] = result

    with _modes(est, X.shape[0], device):
        predict_in_chunks(run, X.shape[0], PREDICT_CHUNK, est=est)
    return out


def _forward_few(est, X, weights, dtype, out_dtype) -> np.ndarray:
    """:func:`forward` of fewer than ``NUMPY_ROWS`` rows, in numpy (see
    :mod:`skdl.nn.rows`): ``coefs_`` already are arrays, and a numpy
    operation costs a fraction of a torch one on a row."""
    coefs, intercepts = (est.coefs_, est.intercepts_) if weights is None else weights
    coefs = [np.asarray(c, dtype=dtype) for c in coefs]
    intercepts = [np.asarray(b, dtype=dtype).reshape(-1) for b in intercepts]
    x = np.asarray(_to_dense(X), dtype=dtype)
    param = act_param_value(est)
    z, finite = forward_numpy(coefs, intercepts, x, est.activation, param)
    output = ROW_OUTPUTS[LOSSES[est._loss_name()].out_activation]
    if finite:
        return output(z.astype(np.float64)).astype(out_dtype, copy=False)
    _, ok = forward_numpy(coefs, intercepts, x, est.activation, param, per_row=True)
    result = np.empty(z.shape, dtype=np.float64)
    result[ok] = output(z[ok].astype(np.float64))
    result[~ok] = forward_wide(est, x[~ok], weights)
    return result.astype(out_dtype)


def forward_wide(est, x, weights=None) -> np.ndarray:
    """The float64 outputs of rows ``x`` (numpy) whose forward pass overflowed:
    a pre-activation, in a hidden layer or the outputs, is not finite.

    Finite X near the largest float32 makes a float32 pass overflow to inf,
    and inf - inf or inf * 0 to NaN; tanh, the logistic or ReLU turn an inf
    into a finite value that may be wrong (scikit-learn, computing the same
    network in float64 sums, returns the right one). The rows are computed
    again in float64 on the CPU; a NaN left then is refused, never returned.
    """
    coefs, intercepts = (est.coefs_, est.intercepts_) if weights is None else weights
    coefs = [np.asarray(c, dtype=np.float64) for c in coefs]
    intercepts = [np.asarray(b, dtype=np.float64).reshape(-1) for b in intercepts]
    x = np.asarray(x, dtype=np.float64)
    loss = LOSSES[est._loss_name()]
    if est.activation in ROW_ACTIVATIONS:
        z, _ = forward_numpy(coefs, intercepts, x, est.activation, act_param_value(est))
        result = ROW_OUTPUTS[loss.out_activation](z)
    else:
        act_param = act_param_tensor(est, torch.float64, torch.device("cpu"))
        act_param = None if act_param is None else act_param.view(1, 1)
        tensors = [torch.as_tensor(a) for a in (*coefs, *intercepts)]
        n = len(coefs)
        with torch.inference_mode():
            act = ACTIVATIONS[est.activation]
            z = forward_rows(tensors[:n], tensors[n:], torch.as_tensor(x), act, act_param)
            result = loss.output(z).numpy()
    if np.isnan(result).any():
        _refuse(est, x, coefs, intercepts)
    return result


def _refuse(est, x, coefs, intercepts):
    finite = all(np.isfinite(a).all() for a in (*coefs, *intercepts))
    why = (
        "the activations overflow even in float64"
        if finite
        else "the fitted coefs_/intercepts_ hold NaN or infinite values"
    )
    weight = max((float(np.abs(a).max()) for a in coefs if a.size), default=0.0)
    raise ValueError(
        f"{type(est).__name__} cannot predict these rows: {why} (X has values "
        f"up to {float(np.abs(x).max()):.3g} in magnitude, the largest weight is "
        f"{weight:.3g}). Scale X as the training data (e.g. StandardScaler in a "
        "Pipeline), or refit the model (e.g. with a lower learning_rate_init or alpha)."
    )


def act_param_value(est) -> float | None:
    """The slope of ``leaky_relu`` or alpha of ``elu`` (None for the others)."""
    default = ACTIVATIONS[est.activation].default_param
    if default is None:
        return None
    return float(default if est.activation_param is None else est.activation_param)


def act_param_tensor(est, dtype, device):
    value = act_param_value(est)
    if value is None:
        return None
    return torch.full((1, 1, 1), value, dtype=dtype, device=device)


class InferenceWeights:
    """Each fitted estimator's ``coefs_`` / ``intercepts_`` as ``[n_in, n_out]`` /
    ``[n_out]`` tensors of one dtype on one device, kept between predict calls.

    Converting them is a sizeable part of a few-row ``predict``, whose latency
    ``benchmarks/inference.py`` measures (P1). The kept tensors are used again only while
    ``coefs_`` and ``intercepts_`` hold the same arrays (not reassigned, not
    refitted) with the same values: tensors that share the arrays' memory
    (same dtype, on the CPU) see in-place edits by themselves; converted copies
    are checked against a snapshot of the arrays' bytes, so an edit in place is
    never missed and the cache never changes a result.

    The tensors are held here, by estimator, rather than on the estimator:
    ``predict`` must leave its ``__dict__`` unchanged (scikit-learn's
    ``check_dict_unchanged``), and a pickle or a clone never carries tensors.
    """

    def __init__(self) -> None:
        self._kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get(self, est, dtype, device) -> tuple[list, list]:
        arrays = (*est.coefs_, *est.intercepts_)
        kept = self._kept.get(est)
        if kept is not None and _still_valid(kept, arrays, (dtype, device)):
            return kept["weights"], kept["biases"]
        tensors, snapshots = [], []
        for a in arrays:
            t = torch.as_tensor(a).to(device=device, dtype=dtype)
            shares = t.device.type == "cpu" and t.data_ptr() == np.asarray(a).ctypes.data
            tensors.append(t)
            # the bytes: comparing them is one memcmp, several times faster
            # than np.array_equal on small arrays
            snapshots.append(None if shares else (a.dtype, a.shape, a.tobytes()))
        n = len(est.coefs_)
        weights, biases = tensors[:n], [t.view(-1) for t in tensors[n:]]
        self._kept[est] = {
            "key": (dtype, device),
            "arrays": arrays,
            "snapshots": snapshots,
            "weights": weights,
            "biases": biases,
        }
        return weights, biases


def _still_valid(kept, arrays, key) -> bool:
    return (
        kept["key"] == key
        and len(kept["arrays"]) == len(arrays)
        and all(a is b for a, b in zip(arrays, kept["arrays"]))
        and all(
            snap is None or (a.dtype == snap[0] and a.shape == snap[1] and a.tobytes() == snap[2])
            for a, snap in zip(arrays, kept["snapshots"])
        )
    )


_WEIGHTS = InferenceWeights()
