"""Building the estimator a file describes: its parameters, then its checked fitted state."""

from __future__ import annotations

import torch

from ._decode import _decode
from ._format import PARAMS_FILE, _Bad, _estimator_classes
from ._schema import _check_classes, _check_fitted, _check_layers, _check_members


def _restore_state(est, fitted: dict) -> None:
    """Set the fitted attributes on ``est``, after checking all of them."""
    from sklearn.preprocessing import LabelBinarizer

    from ..nn.losses import LOSSES
    from ..training.history import History
    from ..training.loop import LoopState

    fitted = _check_fitted(est, fitted)
    _check_layers(est, fitted)
    _check_members(est, fitted)
    lb_state = fitted.pop("_label_binarizer", None)
    solver = fitted.pop("_solver_state", None)
    member_solvers = fitted.pop("_members_solver_state", None)
    lb = None
    if lb_state is not None:
        _check_classes(fitted | {"_label_binarizer": lb_state})
        classes = fitted["classes_"]
        lb_state = dict(lb_state)
        params = {k: lb_state.pop(k) for k in ("neg_label", "pos_label", "sparse_output")}
        lb = LabelBinarizer(**params).fit(classes)
        # fitting on classes_ gives their order back; y_type_ (multilabel, binary)
        # and sparse_input_ are properties of the training target: restore them
        lb.classes_ = classes
        for key, value in lb_state.items():
            setattr(lb, key, value)
        est._label_binarizer = lb
    expected = LOSSES[est._loss_name()].out_activation
    if fitted["out_activation_"] != expected:
        raise _Bad(
            f"its out_activation_ is {fitted['out_activation_']!r:.40}, but a "
            f"{type(est).__name__} with these parameters and classes has {expected!r}."
        )
    for key, value in fitted.items():
        setattr(est, key, value)
    if "history_" in fitted:
        est.history_ = History(est.history_)
    if "members_history_" in fitted:
        est.members_history_ = [History(h) for h in est.members_history_]
    if solver is not None:
        est._solver_state = dict(solver, loop=LoopState(**solver["loop"]))
    if member_solvers is not None:
        est._members_solver_state = [dict(s, loop=LoopState(**s["loop"])) for s in member_solvers]


def _check_device(device) -> None:
    """A device skdl trains on; whether this machine has it is checked at fit/predict
    (a model saved on a GPU loads anywhere, then ``set_params(device='cpu')``)."""
    if isinstance(device, str) and device == "auto":
        return
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError, ValueError):
        kind = None
    if kind not in ("cpu", "cuda", "mps"):
        raise _Bad(
            f"{PARAMS_FILE} holds an invalid parameter: the 'device' parameter must be "
            f"'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'. Got {device!r:.80} instead."
        )


def _build(doc: dict, tensors: dict, device=None):
    cls = _estimator_classes().get(doc.get("estimator"))
    if cls is None:
        raise _Bad(f"it holds an unknown estimator {doc.get('estimator')!r:.80}.")
    params = {k: _decode(v, tensors, f"params.{k}") for k, v in doc["params"].items()}
    fitted = {k: _decode(v, tensors, f"fitted.{k}") for k, v in doc["fitted"].items()}
    if device is not None:  # a model saved on a GPU loads with device='cpu' on a CPU
        params["device"] = device
    try:
        est = cls(**params)
    except TypeError as exc:
        raise _Bad(f"it is incompatible with this skdl: {exc}.") from None
    try:
        est._validate_params()
    except (ValueError, TypeError) as exc:
        raise _Bad(f"{PARAMS_FILE} holds an invalid parameter: {exc}") from None
    _check_device(est.device)
    _restore_state(est, fitted)
    return est
