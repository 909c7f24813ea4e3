"""Bad input, systematically: every invalid hyperparameter and malformed data set
ends in a ``ValueError``/``TypeError`` whose message names the problem, never in
another exception type (SPEC 3).

Three layers: a table of hand-picked invalid values per constrained parameter
(each its own test, so a failure names the case); hypothesis drawing arbitrary
values of every parameter, judged by the estimator's own constraint table; and
hypothesis corrupting a small valid data set (NaN, inf, object columns, ragged
rows, empty, 1-D, huge values, mismatched ``sample_weight``...). Large but
valid values may train, or stop with the divergence message.
"""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import make_constraint

from skdl import MLPClassifier, MLPRegressor
from skdl.optim import CosineSchedule, ExponentialSchedule, StepSchedule

RNG = np.random.RandomState(0)
X = RNG.rand(20, 3)
Y_CLF = np.arange(20) % 2
Y_REG = RNG.rand(20)
BASE = dict(hidden_layer_sizes=(3,), max_iter=2, random_state=0, device="cpu")
DIVERGED = "Training diverged at epoch"
# derandomize: the same examples on every run (STYLE: fix the seed, never retry)
SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _make(kind, **params):
    cls = MLPClassifier if kind == "clf" else MLPRegressor
    return cls(**(BASE | params))


DEFAULT = object()


def _fit(est, X=X, y=DEFAULT, **fit_params):
    y = (Y_CLF if isinstance(est, MLPClassifier) else Y_REG) if y is DEFAULT else y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        return est.fit(X, y, **fit_params)


def _check_error(exc, *names):
    """The documented outcome of a bad input: ValueError or TypeError naming it."""
    assert isinstance(exc, (ValueError, TypeError)), (
        f"{type(exc).__name__} instead of ValueError/TypeError: {exc}"
    )
    msg = str(exc)
    assert any(re.search(n, msg, re.IGNORECASE) for n in names), (
        f"{type(exc).__name__} message does not name {names}: {msg!r}"
    )


def _fit_or_error(est, names, X=X, y=DEFAULT, **fit_params):
    """Fit; any exception must be a ValueError/TypeError naming one of ``names``."""
    try:
        _fit(est, X, y, **fit_params)
    except Exception as exc:  # noqa: BLE001 - the type is what is being tested
        _check_error(exc, *names)
        return exc
    return None


# --------------------------------------------------- 1. hand-picked values
INVALID = {
    "hidden_layer_sizes": [0, -3, [3, 0], [3, -1], [2.5], ["a"], [[1, 2]], [np.nan], [np.inf],
                           "abc", None, 1.5],
    "activation": ["bogus", "RELU", None, 1, ["relu"]],
    "solver": ["bogus", None, 3],
    "alpha": [-1e-3, -np.inf, np.nan, np.inf, "0.1", None],
    "batch_size": [0, -1, 1.5, "big", None, np.nan],
    "learning_rate": ["bogus", None, 1, ExponentialSchedule(-1.0), StepSchedule(step_size=0),
                      CosineSchedule(t_max=-1)],
    "learning_rate_init": [0, -0.1, np.nan, np.inf, "0.1", None],
    "power_t": [-0.5, np.nan, "x"],
    "max_iter": [0, -1, 2.5, np.nan, "10", None],
    "shuffle": ["yes", 2, None],
    "random_state": [-1, 2**40, 1.5, "seed", [1]],
    "tol": [-1e-4, np.nan, "x"],
    "verbose": ["x", -1, 1.5],
    "warm_start": ["no", 2],
    "momentum": [-0.1, 1.5, np.nan, "x"],
    "nesterovs_momentum": ["x", 2],
    "early_stopping": ["x", 2],
    "validation_fraction": [1.0, 1.5, -0.1, np.nan, "x"],
    "beta_1": [1.0, -0.1, 2, np.nan],
    "beta_2": [1.0, -0.1, np.nan],
    "epsilon": [0, -1e-8, np.nan],
    "n_iter_no_change": [0, -1, 2.5, -np.inf, "x"],
    "max_fun": [0, -1, 2.5],
    "depth": [-1, 1.5, "x"],
    "width": [0, -1, 1.5, "x"],
    "activation_param": [-0.1, np.nan, "x", np.inf],
    "init": ["bogus", None, 1],
    "penalty": ["l3", 1, "L2"],
    "l1_ratio": [-0.1, 1.1, np.nan],
    "dropout": [1.0, -0.1, [0.5, 1.0], [0.1, 0.2], ["a"], [[0.1]], [np.nan], "x", None],
    "early_stopping_metric": ["acc", None],
    "decay_rate": [0, -0.5, np.nan, "x"],
    "n_init": [0, -1, 1.5],
    "device": ["gpu", "cuda:99", "cuda:-1", "meta", "xpu", "vulkan", 5, None]
              + ([] if torch.backends.mps.is_available() else ["mps"]),
    "dtype": ["float16", "int32", None, np.float32],
}  # fmt: skip
INVALID_CLF = {"class_weight": ["bogus", {"a": 1.0}, [1, 2], 1.0, {0: -1.0}]}
INVALID_REG = {"loss": ["bogus", "log_loss", None], "huber_delta": [0, -1, np.nan]}
# names the message may use instead of the parameter's own
ALIASES = {"learning_rate": ("learning_rate", "t_max", "step_size", "decay_rate")}

CASES = [
    (kind, name, value)
    for kind, extra in (("clf", INVALID_CLF), ("reg", INVALID_REG))
    for name, values in (INVALID | extra).items()
    for value in values
]


@pytest.mark.parametrize("kind, name, value", CASES, ids=[f"{k}-{n}={v!r}" for k, n, v in CASES])
def test_invalid_hyperparameter(kind, name, value):
    est = _make(kind, **{name: value})
    if name == "learning_rate" and hasattr(value, "get_params"):
        est.set_params(solver="sgd")
    with pytest.raises((ValueError, TypeError)) as info:
        _fit(est)
    _check_error(info.value, *ALIASES.get(name, (name,)))


CROSS = [
    ({"early_stopping": True, "validation_fraction": 0.0}, ("validation_fraction",)),
    ({"solver": "lbfgs", "penalty": "l1"}, ("penalty",)),
    ({"early_stopping": True, "validation_fraction": 0.01}, ("validation_fraction",)),
    ({"depth": 2, "width": 0}, ("width",)),
    ({"dropout": [0.1, 0.1], "hidden_layer_sizes": (3,)}, ("dropout",)),
]


@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("params, names", CROSS, ids=[str(p) for p, _ in CROSS])
def test_invalid_combination(kind, params, names):
    with pytest.raises((ValueError, TypeError)) as info:
        _fit(_make(kind, **params))
    _check_error(info.value, *names)


# --------------------------------------------- 2. hypothesis: any value
# Positive ints stay small so that a valid draw (n_init=40, depth=40) is still a tiny fit.
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["auto", "relu", "sgd", "l1", "cuda", "gpu", "meta", "float16", "cpu:0"]),
    st.lists(st.integers(-3, 6), max_size=3),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=2),
    st.lists(st.lists(st.integers(0, 3), max_size=2), max_size=2),
    st.dictionaries(st.one_of(st.text(max_size=2), st.integers(-1, 2)), st.floats(), max_size=2),
    st.sampled_from([object(), 1 + 2j, b"x", np.float32, (), np.array([[1, 2]])]),
)


def _float_sizes(value) -> bool:
    """True for a non-empty flat list of floats (a valid but possibly huge network)."""
    try:
        array = np.asarray(value, dtype=object)
    except ValueError:  # ragged nested lists: newer numpy refuses to build them
        return False
    flat = np.ravel(array)
    return array.ndim > 0 and flat.size > 0 and isinstance(flat[0], (float, np.floating))


def _satisfies_constraints(est, name, value) -> bool:
    constraints = type(est)._parameter_constraints[name]
    return any(make_constraint(c).is_satisfied_by(value) for c in constraints)


@settings(max_examples=300, **SETTINGS)
@given(
    kind=st.sampled_from(["clf", "reg"]),
    name=st.sampled_from(sorted(MLPRegressor._parameter_constraints)),
    value=ANY_VALUE,
)
def test_any_hyperparameter_value(kind, name, value):
    if kind == "clf" and name in ("loss", "huber_delta"):
        name = "class_weight"
    # big valid sizes (a 1e16-unit layer) would be big fits, not bad input
    assume(not (name == "hidden_layer_sizes" and _float_sizes(value)))
    est = _make(kind, **{name: value})
    names = (name, DIVERGED)
    if name == "class_weight":
        names += ("class",)
    exc = _fit_or_error(est, names)
    if not _satisfies_constraints(est, name, value):
        assert exc is not None, f"{name}={value!r} violates the constraints but fit passed"
        assert name in str(exc)
    elif exc is None:
        assert est.predict(X).shape[0] == len(X)


@settings(max_examples=100, **SETTINGS)
@given(
    kind=st.sampled_from(["clf", "reg"]),
    solver=st.sampled_from(["sgd", "adam", "rmsprop", "adagrad", "lbfgs"]),
    learning_rate_init=st.floats(1.0, 1e30),
    alpha=st.floats(0.0, 1e30),
    momentum=st.floats(0.0, 1.0),
    beta_1=st.floats(0.0, 0.999999),
    activation=st.sampled_from(["relu", "tanh", "elu", "softplus", "logistic", "identity"]),
)
@example(  # found by hypothesis: the weights overflow in the update of a finite-loss epoch
    kind="clf",
    solver="sgd",
    learning_rate_init=5.181369733244519e16,
    alpha=7.383379346476454e22,
    momentum=0.0,
    beta_1=0.0,
    activation="relu",
)
@example(  # found by hypothesis: finite weights whose float64 forward pass gives NaN
    kind="reg",
    solver="sgd",
    learning_rate_init=5.4903362528425846e22,
    alpha=5.4903362528425846e22,
    momentum=0.0,
    beta_1=0.0,
    activation="identity",
)
def test_large_but_valid_hyperparameters_train_or_diverge(kind, **params):
    est = _make(kind, **params)
    exc = _fit_or_error(est, (DIVERGED,))
    if exc is None:
        # finite but huge weights can overflow even a float64 forward pass: a clear
        # refusal then, never a silent NaN (issue 12, item 12)
        try:
            pred = est.predict(X)
        except ValueError as err:
            assert "cannot predict these rows" in str(err)
        else:
            assert pred.shape[0] == len(X)
            assert pred.dtype.kind != "f" or not np.isnan(pred).any(), "NaN predictions"
    assert all(np.isfinite(c).all() for c in est.coefs_), "non-finite weights after fit"


# -------------------------------------------------- 3. hypothesis: bad data
def _with_cell(X, i, j, value, dtype=float):
    X = np.array(X, dtype=dtype)
    X[i % X.shape[0], j % X.shape[1]] = value
    return X


@st.composite
def bad_data(draw):
    """(kind, X, y, fit_params, message pattern) for one corruption of a valid set."""
    kind = draw(st.sampled_from(["clf", "reg"]))
    y = Y_CLF if kind == "clf" else Y_REG
    i, j = draw(st.integers(0, 19)), draw(st.integers(0, 2))
    what = draw(
        st.sampled_from(
            [
                "nan", "inf", "object", "ragged", "empty", "no-features", "1d", "3d", "complex",
                "strings", "sparse-nan", "sw-length", "sw-nan", "sw-negative", "sw-2d", "sw-zero",
                "y-length", "y-nan", "y-one-class", "y-none", "y-3d", "y-mixed", "huge",
                "none", "predict-features", "predict-nan", "predict-1d",
            ]
        )
    )  # fmt: skip
    fit: dict = {}
    if what == "nan":
        return kind, _with_cell(X, i, j, np.nan), y, fit, "NaN"
    if what == "inf":
        sign = draw(st.sampled_from([1, -1]))
        return kind, _with_cell(X, i, j, sign * np.inf), y, fit, "infinity"
    if what == "object":
        junk = draw(st.sampled_from(["a", "1,5", None, b"x", [1]]))
        return kind, _with_cell(X, i, j, junk, object), y, fit, "float|number|sequence|NaN"
    if what == "ragged":
        rows = [list(r) for r in X]
        rows[i] = rows[i][: draw(st.integers(0, 2))]
        return kind, rows, y, fit, "inhomogeneous|sequence"
    if what == "empty":
        n = draw(st.integers(0, 3))
        return kind, np.empty((0, n)), np.empty(0), fit, "0 sample|0 feature"
    if what == "no-features":
        return kind, np.empty((20, 0)), y, fit, "0 feature"
    if what == "1d":
        return kind, X[:, j], y, fit, "2D array"
    if what == "3d":
        return kind, X[:, :, None], y, fit, "dim 3"
    if what == "complex":
        return kind, X + 1j, y, fit, "Complex"
    if what == "strings":
        return kind, X.astype(str).astype(object) + "x", y, fit, "float"
    if what == "sparse-nan":
        Xs = sp.csr_matrix(X)
        Xs.data[i] = np.nan
        return kind, Xs, y, fit, "NaN"
    if what.startswith("sw-"):
        n = draw(st.sampled_from([0, 1, 19, 21]))
        sw = {
            "sw-length": np.ones(n),
            "sw-nan": _with_cell(np.ones((20, 1)), i, 0, np.nan).ravel(),
            "sw-negative": _with_cell(np.ones((20, 1)), i, 0, -draw(st.floats(1e-6, 1e6))).ravel(),
            "sw-2d": np.ones((20, 2)),
            "sw-zero": np.zeros(20),
        }[what]
        return kind, X, y, {"sample_weight": sw}, "sample.weight|NaN|Negative|0 sample"
    if what == "y-length":
        return kind, X, y[: draw(st.integers(0, 19))], fit, "inconsistent|0 sample"
    if what == "y-nan":
        return kind, X, _with_cell(y[:, None], i, 0, np.nan).ravel(), fit, "NaN|Unknown label"
    if what == "y-one-class":
        # valid, as in scikit-learn: the classifier predicts the one class
        return "clf", X, np.full(20, draw(st.sampled_from([0, 1, "a"]))), fit, None
    if what == "y-none":
        return kind, X, None, fit, "requires y"
    if what == "y-3d":
        return kind, X, np.zeros((20, 2, 2)), fit, "dim 3"
    if what == "y-mixed":
        return "clf", X, np.array([1, "a"] * 10, dtype=object), fit, "str|int|label|mix"
    if what == "huge":
        value = draw(st.sampled_from([1e30, -1e30, 1e38, 1e39, 1e300, -1e300]))
        target = draw(st.sampled_from(["X", "y"]))
        if target == "y" and kind == "reg":
            return kind, X, _with_cell(y[:, None], i, 0, value).ravel(), fit, None
        return kind, _with_cell(X, i, j, value), y, fit, None
    if what == "none":
        return kind, None, y, fit, "2D array|None"
    return kind, X, y, {"predict": what}, None


PREDICT_BAD = {
    "predict-features": (RNG.rand(5, 4), "features"),
    "predict-nan": (_with_cell(RNG.rand(5, 3), 1, 1, np.nan), "NaN"),
    "predict-1d": (RNG.rand(3), "2D array"),
}


@settings(max_examples=300, **SETTINGS)
@given(case=bad_data())
def test_malformed_data(case):
    kind, Xb, yb, fit_params, pattern = case
    predict = fit_params.pop("predict", None)
    est = _make(kind)
    if pattern is None and predict is None:  # large but valid values
        exc = _fit_or_error(est, (DIVERGED,), X=Xb, y=yb)
        if exc is None:
            assert est.predict(X).shape == (20,)
        assert all(np.isfinite(c).all() for c in est.coefs_), "non-finite weights after fit"
        return
    if predict is not None:
        _fit(est)
        Xp, pattern = PREDICT_BAD[predict]
        for method in ("predict", "predict_proba") if kind == "clf" else ("predict", "score"):
            args = (Xp,) if method != "score" else (Xp, np.zeros(len(Xp)))
            with pytest.raises((ValueError, TypeError)) as info:
                getattr(est, method)(*args)
            _check_error(info.value, pattern)
        return
    with pytest.raises((ValueError, TypeError)) as info:
        _fit(est, Xb, yb, **fit_params)
    _check_error(info.value, pattern)


# ------------------------------------- 4. hypothesis: tampered model files
# skdl.load on a file with flipped bytes, cut short, or with its JSON or tensors
# edited: either the one error type, ModelFileError naming the file, or a whole
# model that predicts finite values (never a raw error, never a half-loaded model).
MODELS = {
    # string classes (in the JSON) and Adam's solver state (in the tensors)
    "clf": lambda: MLPClassifier(**BASE).fit(X, np.array(["a", "b", "c", "d"] * 5)),
    "reg": lambda: MLPRegressor(**(BASE | {"solver": "lbfgs"})).fit(X, RNG.rand(20, 2)),
}
_SAVED: dict = {}


def _saved(kind):
    """(file bytes, params.json document, tensors) of a small saved model, made once."""
    if kind not in _SAVED:
        import io
        import json
        import tempfile
        import zipfile

        import safetensors.numpy as stn

        from skdl import save

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = MODELS[kind]()
        with tempfile.TemporaryDirectory() as tmp:
            save(est, f"{tmp}/m.skdl")
            with open(f"{tmp}/m.skdl", "rb") as fh:
                blob = fh.read()
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            doc = json.loads(zf.read("params.json"))
            tensors = stn.load(zf.read("weights.safetensors"))
        _SAVED[kind] = blob, doc, tensors
    return _SAVED[kind]


def _paths(node, prefix=()):
    """Every position in a JSON document, as a tuple of keys and indices."""
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(
        node, list) else ()  # fmt: skip
    for key, child in items:
        yield from _paths(child, (*prefix, key))


def _zip(text, weights):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("params.json", text, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("weights.safetensors", weights)
    return buf.getvalue()


TENSOR_NAMES = ["coefs_.0", "coefs_.1", "intercepts_.0", "classes_", "nope", "_solver_state.loop.k"]
JSON_VALUE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(),  # NaN / Infinity as JSON constants too
        st.text(max_size=5),
        st.sampled_from(["inf", "nan", "cuda", "bogus", "float64", "<U99999999", "|O", "auto",
                         "multiclass", "softmax", "identity", "predict", "coefs_"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=4), inner, max_size=3),
        st.builds(lambda v: {"float": v}, inner),
        st.builds(lambda v: {"tuple": v}, inner),
        st.builds(lambda v: {"dict": v}, st.lists(st.lists(inner, max_size=3), max_size=2)),
        st.builds(lambda v: {"device": v}, inner),
        st.builds(lambda v, s: {"ndarray": v, "dtype": "|O", "shape": s}, inner, inner),
        st.builds(
            lambda n, s, d: {"tensor": n, "shape": s, "dtype": d},
            st.sampled_from(TENSOR_NAMES),
            st.lists(st.integers(-1, 5), max_size=3),
            st.sampled_from(["float64", "float32", "int64", "uint8", "V8", "object"]),
        ),
        st.builds(
            lambda c, p: {"class": c, "params": p},
            st.sampled_from(["ExponentialSchedule", "StepSchedule", "os.system", "History"]),
            inner,
        ),
        st.builds(lambda n: [[[[[[[[n]]]]]]]] if n % 2 else "[" * (n * 50), st.integers(1, 20)),
    ),
    max_leaves=6,
)  # fmt: skip


@st.composite
def tampered_file(draw):
    """(kind, the file's bytes, what was done) for one tampering of a saved model."""
    import json

    import safetensors.numpy as stn

    kind = draw(st.sampled_from(sorted(MODELS)))
    blob, doc, tensors = _saved(kind)
    how = draw(st.sampled_from(["flip", "truncate", "json", "json-text", "tensor"]))
    if how == "flip":
        data = bytearray(blob)
        for _ in range(draw(st.integers(1, 3))):
            data[draw(st.integers(0, len(blob) - 1))] ^= draw(st.integers(1, 255))
        return kind, bytes(data), how
    if how == "truncate":
        return kind, blob[: draw(st.integers(0, len(blob) - 1))], how
    weights = stn.save(tensors, metadata={"format": "skdl"})
    if how == "json-text":  # edit the text: drop or repeat a stretch of it
        text = json.dumps(doc)
        i, j = sorted(draw(st.lists(st.integers(0, len(text)), min_size=2, max_size=2)))
        text = text[:i] + draw(st.sampled_from(["", text[i:j], "[" * 5000, "\\ud800"])) + text[j:]
        return kind, _zip(text, weights), how
    if how == "tensor":  # valid checksums, edited values
        name = draw(st.sampled_from(sorted(tensors)))
        array = tensors[name].copy()
        if array.size:
            value = draw(st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 3.5, -1e3, 255]))
            if array.dtype.kind in "iub":
                value = 255 if not np.isfinite(value) else int(value) % 256
            array.flat[draw(st.integers(0, array.size - 1))] = value
        shape = draw(st.sampled_from([None, (array.size,), (1, array.size), (0,)]))
        if shape is not None:
            array = np.resize(array, shape)
        return kind, _zip(json.dumps(doc), stn.save(tensors | {name: array})), how
    doc = json.loads(json.dumps(doc))
    paths = list(_paths(doc))
    path = paths[draw(st.integers(0, len(paths) - 1))]
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    op = draw(st.sampled_from(["replace", "delete", "add"] if path else ["replace"]))
    if not path:
        doc = draw(JSON_VALUE)
    elif op == "replace":
        parent[path[-1]] = draw(JSON_VALUE)
    elif op == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        key = draw(st.sampled_from(["predict", "_forward", "coefs_", "classes_", "x_", "class"]))
        parent[key] = draw(JSON_VALUE)
    else:
        parent.insert(path[-1], draw(JSON_VALUE))
    return kind, _zip(json.dumps(doc), weights), f"{how}-{op}-{path}"


@settings(max_examples=300, **SETTINGS)
@given(case=tampered_file())
def test_tampered_model_file(case, tmp_path):
    from skdl import ModelFileError, load

    kind, data, how = case
    path = tmp_path / "m.skdl"
    path.write_bytes(data)
    try:
        est = load(path)
    except ModelFileError as exc:
        assert str(path) in str(exc)
        return
    except Exception as exc:  # noqa: BLE001 - the type is what is being tested
        pytest.fail(f"{how}: {type(exc).__name__} instead of ModelFileError: {exc}")
    # a whole model: it predicts, with finite values (on this machine's CPU: a
    # tampered 'device' that names a GPU is a valid model for another machine)
    est.set_params(device="cpu")
    pred = est.predict(X)
    assert pred.shape[0] == len(X)
    out = est.predict_proba(X) if kind == "clf" else pred
    assert np.isfinite(out).all(), how
