"""``save``, ``load`` and ``to_onnx`` call what persistence and export register
(``skdl/estimators/_io.py``); that the estimators import neither is checked in
``tests/test_seam_imports.py``."""

import subprocess
import sys

import pytest

from skdl import MLPRegressor
from skdl.estimators import _io


def test_importing_the_estimators_alone_registers_every_function():
    code = (
        "import sys, skdl.estimators._io as io; print(sorted(io._REGISTRY), 'onnx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["['load_as',", "'save',", "'to_onnx']", "False"]


def test_nothing_registered_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(_io, "_REGISTRY", {})
    est = MLPRegressor()
    with pytest.raises(RuntimeError, match="No 'save' function is registered.*skdl.persistence"):
        est.save(tmp_path / "m.skdl")
    with pytest.raises(RuntimeError, match="No 'load_as' function.*skdl.persistence"):
        MLPRegressor.load(tmp_path / "m.skdl")
    with pytest.raises(RuntimeError, match="No 'to_onnx' function.*skdl.export"):
        est.to_onnx()


def test_register_io_refuses_unknown_names():
    with pytest.raises(TypeError, match=r"unknown function names \['dump'\]"):
        _io.register_io(dump=print)
