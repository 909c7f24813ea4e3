"""Export a fitted MLP to ONNX, built directly from ``coefs_`` and ``intercepts_``.

The graph is the network itself: per layer ``MatMul -> Add -> activation``,
then the output activation (softmax/logistic probabilities for classifiers,
identity or exp for regressors). A deep ensemble (``ensemble=True``) is every
member's network side by side and a ``Mean`` node over their outputs (mean
probabilities, mean prediction), as ``predict_proba`` / ``predict``. It needs
the ``onnx`` package only to build the model; nothing of torch is traced, so
any fitted skdl model exports the same way, whatever device it was trained on.
"""

from __future__ import annotations

import numpy as np

from .estimators import register_io

OPSET = 17


def _activation(helper, name: str, param, x: str, out: str, nodes: list) -> None:
    if name == "identity":
        nodes.append(helper.make_node("Identity", [x], [out]))
    elif name == "relu":
        nodes.append(helper.make_node("Relu", [x], [out]))
    elif name == "tanh":
        nodes.append(helper.make_node("Tanh", [x], [out]))
    elif name == "logistic":
        nodes.append(helper.make_node("Sigmoid", [x], [out]))
    elif name == "leaky_relu":
        nodes.append(helper.make_node("LeakyRelu", [x], [out], alpha=float(param)))
    elif name == "elu":
        nodes.append(helper.make_node("Elu", [x], [out], alpha=float(param)))
    elif name == "selu":
        nodes.append(helper.make_node("Selu", [x], [out]))
    elif name == "softplus":
        nodes.append(helper.make_node("Softplus", [x], [out]))
    elif name == "silu":
        nodes.append(helper.make_node("Sigmoid", [x], [out + "_s"]))
        nodes.append(helper.make_node("Mul", [x, out + "_s"], [out]))
    elif name == "gelu":  # exact form: 0.5 * x * (1 + erf(x / sqrt(2)))
        nodes += [
            helper.make_node("Div", [x, "sqrt2"], [out + "_d"]),
            helper.make_node("Erf", [out + "_d"], [out + "_e"]),
            helper.make_node("Add", [out + "_e", "one"], [out + "_a"]),
            helper.make_node("Mul", [x, out + "_a"], [out + "_m"]),
            helper.make_node("Mul", [out + "_m", "half"], [out]),
        ]
    else:  # pragma: no cover - every registry entry is handled above
        raise ValueError(f"activation {name!r} has no ONNX export")


def _network(helper, numpy_helper, est, coefs, intercepts, prefix, out_name, dtype, param,
             nodes, inits) -> None:  # fmt: skip
    """Append one network's nodes (names prefixed by ``prefix``) and weights."""
    from sklearn.base import is_classifier

    x, last = "X", len(coefs) - 1
    for i, (w, b) in enumerate(zip(coefs, intercepts)):
        W, B = f"{prefix}W{i}", f"{prefix}b{i}"
        inits += [
            numpy_helper.from_array(np.asarray(w, dtype=dtype), W),
            numpy_helper.from_array(np.asarray(b, dtype=dtype), B),
        ]
        nodes += [
            helper.make_node("MatMul", [x, W], [f"{prefix}mm{i}"]),
            helper.make_node("Add", [f"{prefix}mm{i}", B], [f"{prefix}z{i}"]),
        ]
        x = f"{prefix}z{i}"
        if i < last:
            _activation(helper, est.activation, param, x, f"{prefix}a{i}", nodes)
            x = f"{prefix}a{i}"
    out_act = est.out_activation_
    if out_act == "softmax":
        nodes.append(helper.make_node("Softmax", [x], [out_name], axis=1))
    elif out_act == "logistic" and est.n_outputs_ == 1 and is_classifier(est):
        # binary: two columns [1 - p, p], as predict_proba
        nodes += [
            helper.make_node("Sigmoid", [x], [f"{prefix}p1"]),
            helper.make_node("Sub", ["one", f"{prefix}p1"], [f"{prefix}p0"]),
            helper.make_node("Concat", [f"{prefix}p0", f"{prefix}p1"], [out_name], axis=1),
        ]
    elif out_act == "logistic":
        nodes.append(helper.make_node("Sigmoid", [x], [out_name]))
    elif out_act == "exp":
        nodes.append(helper.make_node("Exp", [x], [out_name]))
    else:
        nodes.append(helper.make_node("Identity", [x], [out_name]))


def to_onnx(est, path=None, *, dtype=np.float32):
    """The fitted estimator as an ONNX model (``onnx.ModelProto``), saved to ``path`` if given.

    The input is ``X`` (float, shape ``[n, n_features_in_]``); the output is
    ``probabilities`` for classifiers (columns in the order of ``classes_``)
    and ``predictions`` (shape ``[n, n_outputs_]``) for regressors.

    Parameters
    ----------
    est : fitted MLPClassifier or MLPRegressor
    path : str or path-like, default=None
        Where to write the ``.onnx`` file.
    dtype : numpy dtype, default=np.float32
        Precision of the exported weights and of the input.

    Returns
    -------
    model : onnx.ModelProto
    """
    from sklearn.base import is_classifier
    from sklearn.utils.validation import check_is_fitted

    from ._optional import optional_import

    onnx = optional_import("onnx", "onnx", "to_onnx")
    from onnx import TensorProto, helper, numpy_helper

    from .nn.activations import ACTIVATIONS

    check_is_fitted(est)
    elem = TensorProto.FLOAT if np.dtype(dtype) == np.float32 else TensorProto.DOUBLE
    consts = {"sqrt2": np.sqrt(2.0), "one": 1.0, "half": 0.5}
    inits = [numpy_helper.from_array(np.asarray(v, dtype=dtype), k) for k, v in consts.items()]
    param = est.activation_param
    if param is None:
        param = ACTIVATIONS[est.activation].default_param
    out_name = "probabilities" if is_classifier(est) else "predictions"
    members = getattr(est, "members_", None)
    nodes: list = []
    if members is None:
        _network(helper, numpy_helper, est, est.coefs_, est.intercepts_, "", out_name,
                 dtype, param, nodes, inits)  # fmt: skip
    else:
        # a deep ensemble (ensemble=True): every member's outputs (probabilities
        # after the output activation, as predict_proba), then their mean
        outs = [f"m{j}_{out_name}" for j in range(len(members))]
        for j, (coefs, intercepts) in enumerate(members):
            _network(helper, numpy_helper, est, coefs, intercepts, f"m{j}_", outs[j],
                     dtype, param, nodes, inits)  # fmt: skip
        nodes.append(helper.make_node("Mean", outs, [out_name]))
    width = 2 if out_name == "probabilities" and est.n_outputs_ == 1 else est.n_outputs_
    graph = helper.make_graph(
        nodes,
        type(est).__name__,
        [helper.make_tensor_value_info("X", elem, [None, est.n_features_in_])],
        [helper.make_tensor_value_info(out_name, elem, [None, width])],
        initializer=inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="skdl"
    )
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, str(path))
    return model


register_io(to_onnx=to_onnx)  # the estimators' to_onnx
