"""skdl.persistence: save/load round-trips without pickle, and clear errors on bad files."""

import json
import pickle
import sys
import warnings
import zipfile

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import skdl
from skdl import MLPClassifier, MLPRegressor
from skdl.optim import ExponentialSchedule
from skdl.persistence import FORMAT_VERSION, PARAMS_FILE, WEIGHTS_FILE, load, load_as, save

pytest.importorskip("safetensors")

RNG = np.random.RandomState(0)
X = RNG.rand(40, 3)
TINY = dict(hidden_layer_sizes=(4,), max_iter=4, random_state=0, device="cpu")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _roundtrip(est, tmp_path, **kw):
    path = tmp_path / "model.skdl"
    save(est, path)
    return load(path, **kw)


def _same_params(a, b):
    pa, pb = a.get_params(), b.get_params()
    for p in (pa, pb):
        if hasattr(p["learning_rate"], "get_params"):
            p["learning_rate"] = (type(p["learning_rate"]), p["learning_rate"].get_params())
    return pa == pb


CASES = {
    "string-labels": (MLPClassifier(**TINY), np.array(["cat", "dog", "emu", "yak"] * 10)),
    "binary-bool": (MLPClassifier(**TINY), np.arange(40) % 3 == 0),
    "multilabel": (MLPClassifier(**TINY), (RNG.rand(40, 3) > 0.5).astype(int)),
    "int-labels-schedule": (
        MLPClassifier(**TINY, solver="sgd", learning_rate=ExponentialSchedule(0.9)),
        np.arange(40) % 3 + 5,
    ),
    "regressor": (MLPRegressor(**TINY, loss="huber", n_iter_no_change=np.inf), RNG.rand(40)),
    "regressor-2-outputs-float64": (
        MLPRegressor(**(TINY | {"hidden_layer_sizes": (4, 3)}), dtype="float64"),
        RNG.rand(40, 2),
    ),
    "lbfgs-tanh": (
        MLPRegressor(**TINY, solver="lbfgs", activation="tanh"),
        RNG.rand(40),
    ),
    "precision-fp16": (MLPClassifier(**TINY, precision="fp16"), np.arange(40) % 3),
    "precision-bf16-regressor": (MLPRegressor(**TINY, precision="bf16"), RNG.rand(40)),
    "early-stopping-dropout": (
        MLPClassifier(**TINY, early_stopping=True, dropout=0.2, class_weight={0: 1.0, 1: 2.0}),
        np.arange(40) % 2,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_roundtrip_predicts_identically(case, tmp_path):
    est, y = CASES[case]
    est.fit(X, y)
    loaded = _roundtrip(est, tmp_path)
    assert type(loaded) is type(est)
    assert _same_params(loaded, est)
    assert loaded.precision == est.precision
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    if hasattr(est, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
        np.testing.assert_array_equal(loaded.classes_, est.classes_)
        assert loaded.classes_.dtype == est.classes_.dtype
        assert loaded._label_binarizer.y_type_ == est._label_binarizer.y_type_
    for name in ("n_features_in_", "n_outputs_", "out_activation_", "n_layers_", "n_iter_"):
        assert getattr(loaded, name) == getattr(est, name)
    assert loaded.loss_curve_ == est.loss_curve_
    assert list(loaded.history_) == list(est.history_)
    assert type(loaded.history_) is type(est.history_)
    for a, b in zip(loaded.coefs_ + loaded.intercepts_, est.coefs_ + est.intercepts_):
        assert a.dtype == b.dtype and a.flags.writeable
        np.testing.assert_array_equal(a, b)


def test_pandas_feature_names_kept(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    est = MLPClassifier(**TINY).fit(df, np.array(["x", "y"] * 20, dtype=object))
    loaded = _roundtrip(est, tmp_path)
    np.testing.assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)
    np.testing.assert_array_equal(loaded.predict(df), est.predict(df))
    with pytest.warns(UserWarning, match="feature names"):
        loaded.predict(X)  # fitted with names, as the original


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_continues_as_without_save(solver, tmp_path):
    # the optimizer state, shuffling RNG and stopping state travel with the file
    y = np.arange(40) % 2
    est = MLPClassifier(**TINY, solver=solver).fit(X, y)
    loaded = _roundtrip(est, tmp_path)
    for model in (est, loaded):
        model.partial_fit(X, y)
        model.partial_fit(X, y)
    for a, b in zip(loaded.coefs_, est.coefs_):
        np.testing.assert_array_equal(a, b)
    assert loaded.loss_curve_ == est.loss_curve_


def test_device_argument_sets_device(tmp_path):
    est = MLPRegressor(**TINY).fit(X, RNG.rand(40))
    est.set_params(device="auto")
    assert _roundtrip(est, tmp_path).device == "auto"
    loaded = _roundtrip(est, tmp_path, device="cpu")
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_file_is_a_zip_of_json_and_safetensors(tmp_path):
    est = MLPClassifier(**TINY).fit(X, np.array(["a", "b"] * 20))
    path = tmp_path / "m.skdl"
    save(est, path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == [PARAMS_FILE, WEIGHTS_FILE]
        doc = json.loads(zf.read(PARAMS_FILE))
    assert doc["format_version"] == FORMAT_VERSION
    assert set(doc["versions"]) >= {"skdl", "torch", "sklearn"}
    assert doc["fitted"]["classes_"]["ndarray"] == ["a", "b"]  # strings stay in the JSON
    assert doc["fitted"]["coefs_"][0]["tensor"] == "coefs_.0"


def test_pickle_and_joblib_still_work(tmp_path):
    est = MLPClassifier(**TINY).fit(X, np.array(["a", "b"] * 20))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict(X), est.predict(X))
    joblib.dump(est, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").predict(X), est.predict(X))


def test_load_as_checks_the_class(tmp_path):
    est = MLPRegressor(**TINY).fit(X, RNG.rand(40))
    save(est, tmp_path / "m.skdl")
    assert isinstance(load_as(MLPRegressor, tmp_path / "m.skdl"), MLPRegressor)
    with pytest.raises(ValueError, match="holds a MLPRegressor, not a MLPClassifier"):
        load_as(MLPClassifier, tmp_path / "m.skdl")


@pytest.mark.skipif(
    not hasattr(skdl, "save"), reason="skdl.save / BaseMLP.save not wired yet (persistence.py)"
)
def test_public_api(tmp_path):
    est = MLPRegressor(**TINY).fit(X, RNG.rand(40))
    est.save(tmp_path / "m.skdl")
    assert isinstance(skdl.load(tmp_path / "m.skdl", device="cpu"), MLPRegressor)
    assert isinstance(MLPRegressor.load(tmp_path / "m.skdl"), MLPRegressor)
    skdl.save(est, tmp_path / "n.skdl")


# ------------------------------------------------------------------ errors
def test_unfitted_and_unsupported_values_are_rejected(tmp_path):
    with pytest.raises(NotFittedError):
        save(MLPClassifier(), tmp_path / "m.skdl")
    est = MLPClassifier(**(TINY | {"random_state": np.random.RandomState(0)}))
    est.fit(X, np.arange(40) % 2)
    with pytest.raises(TypeError, match="Cannot save random_state=RandomState"):
        save(est, tmp_path / "m.skdl")
    with pytest.raises(TypeError, match="saves MLPClassifier and MLPRegressor"):
        save(object(), tmp_path / "m.skdl")


def test_missing_safetensors_gives_pip_command(tmp_path, monkeypatch):
    est = MLPRegressor(**TINY).fit(X, RNG.rand(40))
    save(est, tmp_path / "m.skdl")
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match="pip install safetensors"):
        save(est, tmp_path / "n.skdl")
    with pytest.raises(ImportError, match="pip install safetensors"):
        load(tmp_path / "m.skdl")


def _rewrite(path, params=None, weights=None, drop=()):
    """Rewrite a saved file with its JSON edited by ``params(doc)`` or new weights bytes."""
    with zipfile.ZipFile(path) as zf:
        text, blob = zf.read(PARAMS_FILE), zf.read(WEIGHTS_FILE)
    if params is not None:
        doc = json.loads(text)
        params(doc)
        text = json.dumps(doc)
    blob = blob if weights is None else weights
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in ((PARAMS_FILE, text), (WEIGHTS_FILE, blob)):
            if name not in drop:
                zf.writestr(name, data)


def _set(*keys, value):
    def edit(doc):
        d = doc
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return edit


def _swap_tensor(blob):
    import safetensors.numpy as stn

    tensors = stn.load(blob)
    tensors["coefs_.0"] = np.zeros((2, 2), dtype=tensors["coefs_.0"].dtype)
    return stn.save(tensors)


def _drop_tensor(blob):
    import safetensors.numpy as stn

    tensors = stn.load(blob)
    del tensors["intercepts_.1"]
    return stn.save(tensors)


CORRUPTIONS = {
    "not-a-zip": (None, None, (), "not an skdl model file"),
    "no-params": (None, None, (PARAMS_FILE,), "lacks"),
    "no-weights": (None, None, (WEIGHTS_FILE,), "lacks"),
    "bad-json": ("bad-json", None, (), "not valid JSON"),
    "not-skdl": (_set("format", value="other"), None, (), "no 'format'"),
    "newer-version": (_set("format_version", value=FORMAT_VERSION + 1), None, (), "Upgrade"),
    "unknown-estimator": (_set("estimator", value="Pipeline"), None, (), "unknown estimator"),
    "bad-param": (_set("params", "activation", value="nope"), None, (), "activation"),
    "unknown-param": (_set("params", "colour", value=1), None, (), "incompatible"),
    "missing-param-section": (lambda d: d.pop("params"), None, (), "incompatible"),
    "garbage-weights": (None, b"\x00" * 20, (), "corrupted"),
    "truncated-weights": (None, "truncate", (), "corrupted"),
    "missing-tensor": (None, _drop_tensor, (), "no tensor 'intercepts_.1'"),
    "wrong-shape": (None, _swap_tensor, (), "has shape \\(2, 2\\)"),
    "shape-declared-and-stored": (
        _set("fitted", "coefs_", 0, "shape", value=[2, 2]),
        _swap_tensor,
        (),
        "Layer 0",
    ),
    "layer-count": (_set("fitted", "n_layers_", value=5), None, (), "weight matrices"),
    "unknown-schedule": (
        _set("params", "learning_rate", value={"class": "os.system", "params": {"dict": []}}),
        None,
        (),
        "unknown schedule",
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupted_file_gives_value_error(case, tmp_path):
    est = MLPClassifier(**(TINY | {"hidden_layer_sizes": (4, 3)})).fit(X, np.arange(40) % 3)
    path = tmp_path / "m.skdl"
    save(est, path)
    params, weights, drop, match = CORRUPTIONS[case]
    if case == "not-a-zip":
        path.write_bytes(b"PK\x03\x04 definitely not a zip")
    elif params == "bad-json":
        with zipfile.ZipFile(path) as zf:
            blob = zf.read(WEIGHTS_FILE)
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(PARAMS_FILE, "{not json")
            zf.writestr(WEIGHTS_FILE, blob)
    else:
        if weights == "truncate":
            with zipfile.ZipFile(path) as zf:
                weights = zf.read(WEIGHTS_FILE)[:-10]
        elif callable(weights):
            with zipfile.ZipFile(path) as zf:
                weights = weights(zf.read(WEIGHTS_FILE))
        _rewrite(path, params, weights, drop)
    with pytest.raises(ValueError, match=match):
        load(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.skdl")


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_save_is_atomic(tmp_path, monkeypatch, exc):
    est = MLPRegressor(**TINY).fit(X, RNG.rand(40))
    path = tmp_path / "m.skdl"
    save(est, path)
    before = path.read_bytes()
    other = MLPRegressor(**(TINY | {"hidden_layer_sizes": (5,)})).fit(X, RNG.rand(40))
    real = zipfile.ZipFile.writestr

    def failing(self, name, data, *a, **kw):
        if name == WEIGHTS_FILE:
            raise exc
        return real(self, name, data, *a, **kw)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing)
    with pytest.raises(type(exc)):
        save(other, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.skdl"]
    np.testing.assert_array_equal(load(path).predict(X), est.predict(X))
    save(other, path)  # and a successful save replaces it
    assert load(path).coefs_[0].shape == (3, 5)


def test_safetensors_is_a_core_dependency():
    import pathlib

    import tomllib

    root = pathlib.Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert any(d.startswith("safetensors") for d in project["dependencies"])
    assert project["optional-dependencies"]["persistence"] == ["safetensors>=0.4"]


# ------------------------------------------- loading never half-succeeds (#12)
from skdl import ModelFileError  # noqa: E402


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    """The bytes of a small saved 3-class classifier (lbfgs: no optimizer state), and
    the model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        y = np.array(["a", "b", "c"])[np.arange(40) % 3]  # classes_ in the JSON
        est = MLPClassifier(**(TINY | {"solver": "lbfgs"})).fit(X, y)
    path = tmp_path_factory.mktemp("small") / "m.skdl"
    save(est, path)
    return path.read_bytes(), est


def _load_or_refuse(path, blob, est=None):
    """Write ``blob`` to ``path`` and load it: a ModelFileError naming the file, or a
    model that predicts (as the original, when ``est`` is given)."""
    path.write_bytes(blob)
    try:
        loaded = load(path)
    except ModelFileError as exc:
        assert str(path) in str(exc)
        return exc
    if est is None:
        assert np.isfinite(loaded.predict_proba(X)).all()
    else:  # intact (comparing the weights is faster than predicting)
        for a, b in zip(loaded.coefs_ + loaded.intercepts_, est.coefs_ + est.intercepts_):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(loaded.classes_, est.classes_)
    return None


def _structure_offsets(blob):
    """Offsets of every zip header byte (local headers, central directory, end record)."""
    with zipfile.ZipFile(__import__("io").BytesIO(blob)) as zf:
        data = []
        for info in zf.infolist():
            n, m = np.frombuffer(blob[info.header_offset + 26 : info.header_offset + 30], "<u2")
            start = info.header_offset + 30 + int(n) + int(m)
            data.append(range(start, start + info.compress_size))
    inside = set().union(*map(set, data))
    return [i for i in range(len(blob)) if i not in inside], sorted(inside)


def test_flipped_byte_anywhere_is_one_error_type(small_file, tmp_path):
    # A third of all offsets escaped as zlib.error, NotImplementedError, EOFError,
    # OSError or BadZipFile; now every header byte (and every 11th data byte) is
    # either refused with ModelFileError or harmless (a timestamp) and loads intact.
    blob, est = small_file
    headers, data = _structure_offsets(blob)
    refused = 0
    for i in headers + data[::11]:
        flipped = bytearray(blob)
        flipped[i] ^= 0xFF
        refused += _load_or_refuse(tmp_path / "m.skdl", bytes(flipped), est) is not None
    assert refused > len(headers) // 2


def test_truncated_file_is_one_error_type(small_file, tmp_path):
    blob, _ = small_file
    for n in list(range(0, len(blob), 13)) + [len(blob) - k for k in range(1, 40)]:
        exc = _load_or_refuse(tmp_path / "m.skdl", blob[:n])
        assert exc is not None, f"a file cut to {n} of {len(blob)} bytes loaded"


def _with_params_text(path, text):
    with zipfile.ZipFile(path) as zf:
        blob = zf.read(WEIGHTS_FILE)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(PARAMS_FILE, text)
        zf.writestr(WEIGHTS_FILE, blob)


@pytest.mark.parametrize("where", ["top", "value"])
def test_deeply_nested_json_is_refused_before_parsing(small_file, tmp_path, where):
    blob, _ = small_file
    path = tmp_path / "m.skdl"
    path.write_bytes(blob)
    if where == "top":  # 100k deep: json.loads raised RecursionError
        text = "[" * 100_000 + "]" * 100_000
    else:  # a parameter nested 480 lists deep: the decoder recursed into it
        with zipfile.ZipFile(path) as zf:
            doc = json.loads(zf.read(PARAMS_FILE))
        text = json.dumps(doc).replace('"alpha": 0.0001', '"alpha": ' + "[" * 480 + "]" * 480)
        assert "[[[" in text
    _with_params_text(path, text)
    with pytest.raises(ModelFileError, match="nests (100000|48\\d) levels deep"):
        load(path)


def test_brackets_inside_strings_do_not_count_as_nesting(small_file, tmp_path):
    blob, est = small_file
    path = tmp_path / "m.skdl"
    path.write_bytes(blob)
    _rewrite(path, _set("versions", "skdl", value='[{"\\' + "[" * 1000))
    np.testing.assert_array_equal(load(path).predict(X), est.predict(X))


@pytest.mark.parametrize(
    "edit, match",
    [
        (_set("params", "device", value={"device": "bogus"}), "not a torch device: 'bogus'"),
        (_set("params", "device", value="bogus"), "'device' parameter must be"),
        (_set("params", "device", value="meta"), "'device' parameter must be"),
        (_set("params", "alpha", value="abc"), "'alpha' parameter"),
        (_set("fitted", "loss_", value={"float": "abc"}), "fitted.loss_ must be 'inf'"),
        (_set("params", "hidden_layer_sizes", value={"tuple": 5}), "must hold a list"),
        (_set("params", "class_weight", value={"dict": [[[1], 2]]}), "not hashable"),
        (
            _set(
                "params",
                "learning_rate",
                value={"class": "StepSchedule", "params": {"dict": [["step_size", 0]]}},
            ),
            "step_size",
        ),
        (
            _set(
                "params",
                "class_weight",
                value={"ndarray": [1, 2, 3], "dtype": "<U999999999", "shape": [3]},
            ),
            "unsupported array dtype",
        ),
        (
            _set("params", "class_weight", value={"ndarray": [1], "dtype": "|O", "shape": [3]}),
            "declares shape",
        ),
        (_set("fitted", "coefs_", 0, "dtype", value="V100000"), "invalid tensor reference"),
        (_set("format_version", value=True), "Upgrade"),
        (_set("fitted", value=[]), "no 'fitted' section"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_bad_values_name_the_file_and_the_value(small_file, tmp_path, edit, match):
    # {"device": "bogus"} raised torch's RuntimeError; 'abc' as a float a message
    # without the file; each is now a ModelFileError naming the file
    blob, _ = small_file
    path = tmp_path / "m.skdl"
    path.write_bytes(blob)
    _rewrite(path, edit)
    with pytest.raises(ModelFileError, match=match) as info:
        load(path)
    assert str(path) in str(info.value) and info.value.path == str(path)


def test_gpu_model_loads_with_device_cpu_and_bad_device_argument_is_the_users(small_file, tmp_path):
    blob, est = small_file
    path = tmp_path / "m.skdl"
    path.write_bytes(blob)
    _rewrite(path, _set("params", "device", value="cuda:7"))
    assert load(path).device == "cuda:7"  # loads anywhere; predicting needs that GPU
    loaded = load(path, device="cpu")
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    with pytest.raises(ValueError, match="device") as info:
        load(path, device="bogus")
    assert not isinstance(info.value, ModelFileError)


def test_model_file_error_is_exported():
    assert issubclass(skdl.ModelFileError, ValueError) and "ModelFileError" in skdl.__all__


# ----------------------------------------------------------- read with limits
def _zip_bytes(members):
    """A zip archive built by hand: ``(name, data, method, crc, file_size)`` per member,
    ``data`` already compressed (method 8: raw deflate) or stored (method 0)."""
    import struct

    out, central = bytearray(), bytearray()
    for name, data, method, crc, size in members:
        offset, raw = len(out), name.encode()
        out += struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data), size, len(raw), 0
        )
        out += raw + data
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc, len(data), size,
            len(raw), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += raw
    k = len(members)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, k, k, len(central), len(out), 0)
    return bytes(out + central + end)


def _bomb(n_mib, tail: bytes):
    """Raw deflate of ``n_mib`` MiB of spaces then ``tail``, built in a blink: after a
    full flush the compressor restarts, so one compressed MiB repeats as is."""
    import zlib

    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b" " * (1 << 20)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    data = block * n_mib + c.compress(tail) + c.flush()
    crc = 0
    for _ in range(n_mib):
        crc = zlib.crc32(chunk, crc)
    return data, zlib.crc32(tail, crc), n_mib * len(chunk) + len(tail)


def test_zip_bomb_is_refused_cheaply(small_file, tmp_path):
    # 206 KiB whose params.json inflates to 200 MiB (valid JSON: spaces, then the
    # document) loaded and cost 400 MiB; now its declared size refuses it unread
    import time
    import tracemalloc

    blob, _ = small_file
    with zipfile.ZipFile(__import__("io").BytesIO(blob)) as zf:
        text, weights = zf.read(PARAMS_FILE), zf.read(WEIGHTS_FILE)
    data, crc, size = _bomb(200, text)
    path = tmp_path / "bomb.skdl"
    weights_member = (WEIGHTS_FILE, weights, 0, zipfile.crc32(weights), len(weights))
    path.write_bytes(_zip_bytes([(PARAMS_FILE, data, 8, crc, size), weights_member]))
    assert path.stat().st_size < 210 * 1024
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match="declares 209,7\\d\\d,\\d\\d\\d bytes uncompressed"):
        load(path)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5 << 20 and elapsed < 0.5, (peak, elapsed)


def test_header_that_understates_the_size_is_refused(small_file, tmp_path):
    # the header says 100 bytes; the stream inflates to 3 MiB: reading stops at the
    # declared size, and the checksum (or the short JSON) refuses it
    data, crc, _ = _bomb(3, b"{}")
    blob, _ = small_file
    with zipfile.ZipFile(__import__("io").BytesIO(blob)) as zf:
        weights = zf.read(WEIGHTS_FILE)
    path = tmp_path / "liar.skdl"
    weights_member = (WEIGHTS_FILE, weights, 0, zipfile.crc32(weights), len(weights))
    path.write_bytes(_zip_bytes([(PARAMS_FILE, data, 8, crc, 100), weights_member]))
    with pytest.raises(ModelFileError):
        load(path)


def test_chunked_read_stops_at_the_limit_even_if_the_header_lies():
    # zipfile itself stops at the size the header declares; the reader does not rely
    # on that: a member whose header says 10 bytes and which yields 3 MiB is cut off
    import io
    import types

    from skdl import persistence

    class LyingZip:
        def getinfo(self, name):
            return types.SimpleNamespace(file_size=10)

        def open(self, info):
            return Counting(b" " * (3 << 20))

    class Counting(io.BytesIO):
        total = 0

        def read(self, n=-1):
            out = super().read(n)
            Counting.total += len(out)
            return out

    with pytest.raises(persistence._Bad, match="inflates to more than the 1,048,576 bytes"):
        persistence._read_member(LyingZip(), PARAMS_FILE, 1 << 20, "at most")
    assert Counting.total == (1 << 20) + 1  # not one chunk more


def test_weights_larger_than_the_declared_tensors_are_refused(small_file, tmp_path):
    # the weights may take what params.json's tensors declare (plus a header), no more
    import safetensors.numpy as stn

    blob, est = small_file
    path = tmp_path / "m.skdl"
    path.write_bytes(blob)
    with zipfile.ZipFile(path) as zf:
        tensors = stn.load(zf.read(WEIGHTS_FILE))
    _rewrite(path, weights=stn.save(tensors, metadata={"pad": " " * 100_000}))
    with pytest.raises(ModelFileError, match="more than the .* bytes that the tensors declared"):
        load(path)
    _rewrite(path, weights=stn.save(tensors | {"extra": np.zeros(1)}))
    with pytest.raises(ModelFileError, match="does not declare: \\['extra'\\]"):
        load(path)


def test_save_refuses_what_load_would_refuse(tmp_path, monkeypatch):
    from skdl import persistence

    est = MLPRegressor(**TINY).fit(X, RNG.rand(40))
    save(est, tmp_path / "m.skdl")
    size = zipfile.ZipFile(tmp_path / "m.skdl").getinfo(PARAMS_FILE).file_size
    monkeypatch.setattr(persistence, "MAX_PARAMS_BYTES", size - 1)
    with pytest.raises(ModelFileError, match="declares .* bytes uncompressed"):
        load(tmp_path / "m.skdl")
    with pytest.raises(ValueError, match="MAX_PARAMS_BYTES"):
        save(est, tmp_path / "n.skdl")
    assert not (tmp_path / "n.skdl").exists()


# ---------------------------------------------------- the schema of fitted state
def _tensors_edit(name, fn):
    def edit(blob):
        import safetensors.numpy as stn

        tensors = stn.load(blob)
        tensors[name] = fn(tensors[name])
        return stn.save(tensors)

    return edit


def _nan_first(a):
    a = a.copy()
    a.flat[0] = np.nan
    return a


SCHEMA_CASES = {
    # found by the adversarial suite: each loaded, then failed or misbehaved later
    "predict-attribute": (_set("fitted", "predict", value=5), None, "unknown fitted .*'predict'"),
    "predict_proba-schedule": (
        _set("fitted", "predict_proba", value={"class": "ExponentialSchedule", "params": {
            "dict": []}}),
        None,
        "unknown fitted .*'predict_proba'",
    ),
    "one-class-for-3-outputs": (
        _set("fitted", "classes_", value={"ndarray": ["a"], "dtype": "<U1", "shape": [1]}),
        None,
        "1 classes_ \\(multiclass\\) for a network with 3 outputs",
    ),
    "nan-weights": (None, _tensors_edit("coefs_.1", _nan_first), "fitted.coefs_\\[1\\] holds NaN"),
    "inf-bias": (
        None, _tensors_edit("intercepts_.0", lambda a: a + np.inf), "intercepts_\\[0\\] holds NaN"
    ),
    # and the rest of the schema
    "private-attribute": (_set("fitted", "_forward", value=1), None, "unknown fitted"),
    "classifier-attribute-on-regressor": (
        lambda d: (d.update(estimator="MLPRegressor"), d["params"].pop("class_weight")),
        None,
        "unknown fitted .*classes_",
    ),
    "missing-n_layers": (lambda d: d["fitted"].pop("n_layers_"), None, "lacks .*n_layers_"),
    "n_iter-string": (_set("fitted", "n_iter_", value="3"), None, "n_iter_ must be an integer"),
    "n_features-bool": (_set("fitted", "n_features_in_", value=True), None, "n_features_in_"),
    "loss_curve-strings": (_set("fitted", "loss_curve_", value=["a"]), None, "must be a number"),
    "history-nested": (_set("fitted", "history_", value=[{"dict": [["epoch", [1]]]}]), None,
                       "history_\\[0\\] must be a record"),
    "out_activation": (_set("fitted", "out_activation_", value="identity"), None,
                       "out_activation_ is 'identity'"),
    "n_features-mismatch": (_set("fitted", "n_features_in_", value=4), None, "should map 4"),
    "n_outputs-mismatch": (_set("fitted", "n_outputs_", value=2), None, "n_outputs_=2"),
    "feature-names-length": (
        _set("fitted", "feature_names_in_", value={"ndarray": ["a"], "dtype": "|O", "shape": [1]}),
        None,
        "1 feature names for n_features_in_=3",
    ),
    "duplicate-classes": (_set("fitted", "classes_", value={"ndarray": ["a", "a", "b"],
                                                           "dtype": "<U1", "shape": [3]}),
                          None, "distinct"),
    "mixed-classes": (_set("fitted", "classes_", value={"ndarray": ["a", 1, "b"],
                                                       "dtype": "|O", "shape": [3]}),
                      None, "distinct"),
    "y_type": (_set("fitted", "_label_binarizer", "dict", 3, 1, value="continuous"), None,
               "y_type_ must be one of"),
    "binarizer-keys": (lambda d: d["fitted"]["_label_binarizer"]["dict"].pop(), None,
                       "_label_binarizer must have the keys"),
    "weights-dtype": (None, _tensors_edit("coefs_.0", lambda a: a.astype(np.int64)),
                      "declares .* float64"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(SCHEMA_CASES))
def test_fitted_state_is_checked_against_the_schema(case, small_file, tmp_path):
    blob, _ = small_file
    path = tmp_path / "m.skdl"
    path.write_bytes(blob)
    edit, weights, match = SCHEMA_CASES[case]
    if weights is not None:
        with zipfile.ZipFile(path) as zf:
            weights = weights(zf.read(WEIGHTS_FILE))
    _rewrite(path, edit, weights)
    with pytest.raises(ModelFileError, match=match):
        load(path)


@pytest.fixture(scope="module")
def adam_file(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPRegressor(**TINY).fit(X, RNG.rand(40))
    path = tmp_path_factory.mktemp("adam") / "m.skdl"
    save(est, path)
    return path.read_bytes(), est


SOLVER_CASES = {
    "optimizer-shape": (
        None, _tensors_edit("_solver_state.optimizer.exp_avg", lambda a: a[:, :5]), "declares"
    ),
    "optimizer-nan": (
        None, _tensors_edit("_solver_state.optimizer.exp_avg", _nan_first), "exp_avg holds NaN"
    ),
    "generator-garbage": (None, _tensors_edit("_solver_state.generator", lambda a: a[:10]),
                          "declares"),
    "loop-k": (_set("fitted", "_solver_state", "dict", 2, 1, "dict", 0, 1, value=2), None,
               "loop.k must be 1"),
    "solver-keys": (lambda d: d["fitted"]["_solver_state"]["dict"].pop(), None,
                    "_solver_state must have the keys"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(SOLVER_CASES))
def test_solver_state_is_checked(case, adam_file, tmp_path):
    blob, _ = adam_file
    path = tmp_path / "m.skdl"
    path.write_bytes(blob)
    edit, weights, match = SOLVER_CASES[case]
    if weights is not None:
        with zipfile.ZipFile(path) as zf:
            weights = weights(zf.read(WEIGHTS_FILE))
    _rewrite(path, edit, weights)
    with pytest.raises(ModelFileError, match=match):
        load(path)


def test_optimizer_state_must_fit_the_network(adam_file, tmp_path):
    import safetensors.numpy as stn

    blob, _ = adam_file
    path = tmp_path / "m.skdl"
    path.write_bytes(blob)
    with zipfile.ZipFile(path) as zf:
        tensors = stn.load(zf.read(WEIGHTS_FILE))
    name = "_solver_state.optimizer.exp_avg"
    tensors[name] = tensors[name][:, :5]
    shape = ("_solver_state", "dict", 1, 1, "dict", 1, 1, "shape")
    _rewrite(path, _set("fitted", *shape, value=[1, 5]), stn.save(tensors))
    with pytest.raises(ModelFileError, match="exp_avg has shape \\(1, 5\\), but the network has"):
        load(path)


def test_generator_state_must_be_a_torch_generators(adam_file, tmp_path):
    import safetensors.numpy as stn

    blob, _ = adam_file
    path = tmp_path / "m.skdl"
    path.write_bytes(blob)
    with zipfile.ZipFile(path) as zf:
        tensors = stn.load(zf.read(WEIGHTS_FILE))
    tensors["_solver_state.generator"] = tensors["_solver_state.generator"][:10]
    shape = ("_solver_state", "dict", 3, 1, "shape")
    _rewrite(path, _set("fitted", *shape, value=[10]), stn.save(tensors))
    with pytest.raises(ModelFileError, match="not the state of a torch generator"):
        load(path)


def test_schema_knows_every_fitted_attribute():
    # the schema is the list of what a fit sets: keep it in step with LoopState
    from skdl import persistence
    from skdl.training.loop import LoopState

    assert persistence._LOOP_KEYS == tuple(f.name for f in __import__("dataclasses").fields(
        LoopState))  # fmt: skip
    for case in sorted(CASES):
        est, y = CASES[case]
        state = persistence._fitted_state(est.fit(X, y))
        schema = persistence._SCHEMA | (
            persistence._CLASSIFIER_SCHEMA if isinstance(est, MLPClassifier) else {}
        )
        assert set(state) <= set(schema), case
