"""Progress of a fit: scikit-learn's lines, plain lines, a tqdm bar, and no tqdm on import."""

import contextlib
import io
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.datasets import make_classification

from skdl import MLPClassifier, MLPRegressor
from skdl.training.progress import Progress

X, Y = make_classification(n_samples=120, n_features=5, random_state=0)


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def _state(epochs, k=1, val=True):
    history = [
        [
            {
                "epoch": e,
                "train_loss": 1.0 / e,
                "val_loss": 2.0 / e if val else None,
                "val_score": 0.5 if val else None,
                "learning_rate": 1e-3,
                "seconds": 0.0,
            }
            for e in range(1, epochs + 1)
        ]
        for _ in range(k)
    ]
    return SimpleNamespace(epoch=epochs, history=history)


def _run(progress, epochs, k=1, stop_at=None):
    """Feed ``epochs`` epochs to ``progress`` as the loop does."""
    with progress as on_epoch:
        for e in range(1, epochs + 1):
            active = np.full(k, e != stop_at)
            on_epoch(_state(e, k), active)
            if not active.any():
                break


def test_verbose_2_prints_sklearn_lines(capsys):
    clf = MLPClassifier(
        hidden_layer_sizes=(4,), max_iter=3, early_stopping=True, verbose=2, random_state=0
    )
    with pytest.warns(Warning):  # ConvergenceWarning after 3 epochs
        clf.fit(X, Y)
    out = capsys.readouterr().out
    assert re.findall(r"^Iteration (\d+), loss = \d+\.\d{8}$", out, re.M) == ["1", "2", "3"]
    assert len(re.findall(r"^Validation score: \d\.\d{6}$", out, re.M)) == 3


def test_verbose_0_prints_nothing(capsys):
    with pytest.warns(Warning):
        MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, Y)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("verbose", [1, True])
def test_verbose_without_terminal_prints_sklearn_lines_to_stdout(capsys, verbose):
    # scikit-learn's verbose=True prints its lines to stdout; a notebook cell, a
    # log capture or redirect_stdout (no terminal) must see them there
    with pytest.warns(Warning):
        MLPClassifier(
            hidden_layer_sizes=(4,), max_iter=5, early_stopping=True, verbose=verbose,
            random_state=0,
        ).fit(X, Y)
    captured = capsys.readouterr()
    assert captured.err == ""
    out = captured.out
    assert re.findall(r"^Iteration (\d+), loss = \d+\.\d{8}$", out, re.M) == list("12345")
    assert len(re.findall(r"^Validation score: \d\.\d{6}$", out, re.M)) == 5


def test_verbose_lines_reach_redirect_stdout():
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), pytest.warns(Warning):
        MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, verbose=True, random_state=0).fit(X, Y)
    assert re.findall(r"^Iteration (\d+), loss = ", buffer.getvalue(), re.M) == ["1", "2", "3"]


def test_verbose_1_on_a_terminal_without_tqdm_prints_sklearn_lines(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    monkeypatch.setattr(sys, "stderr", FakeTTY())
    out = FakeTTY()
    monkeypatch.setattr(sys, "stdout", out)
    with pytest.warns(Warning):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, verbose=1, random_state=0).fit(X, Y)
    assert re.findall(r"^Iteration (\d+), loss = ", out.getvalue(), re.M) == ["1", "2"]


def test_plain_lines_every_tenth_and_the_last():
    stream = io.StringIO()
    _run(Progress(1, total=100, stream=stream), epochs=35)
    epochs = re.findall(r"epoch +(\d+)/100", stream.getvalue())
    assert epochs == ["1", "10", "20", "30", "35"]


def test_plain_lines_early_stop_says_done():
    stream = io.StringIO()
    _run(Progress(1, total=100, stream=stream), epochs=100, stop_at=12)
    last = stream.getvalue().splitlines()[-1]
    assert "epoch  12/100" in last and "done in" in last


def test_tqdm_bar_on_a_terminal_is_closed():
    pytest.importorskip("tqdm")
    stream = FakeTTY()
    progress = Progress(1, total=50, stream=stream, n_models=3)
    _run(progress, epochs=50, k=3, stop_at=7)
    assert progress._bar is None  # closed at the early stop
    text = stream.getvalue()
    assert "7/50" in text and "loss=" in text and "val_score=" in text
    assert "training=0/3" in text


def test_bar_closed_on_exception():
    pytest.importorskip("tqdm")
    progress = Progress(1, total=10, stream=FakeTTY())
    with pytest.raises(RuntimeError, match="boom"):
        with progress as on_epoch:
            on_epoch(_state(1), np.array([True]))
            raise RuntimeError("boom")
    assert progress._bar is None


def test_fit_verbose_1_on_a_terminal(monkeypatch):
    tqdm = pytest.importorskip("tqdm")
    stream = FakeTTY()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(sys, "stdout", FakeTTY())  # a terminal: both streams are one
    before = len(tqdm.tqdm._instances) if hasattr(tqdm.tqdm, "_instances") else 0
    with pytest.warns(Warning):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=4, verbose=1, random_state=0).fit(X, Y)
    text = stream.getvalue()
    assert "4/4" in text and "loss=" in text
    assert len(getattr(tqdm.tqdm, "_instances", ())) == before  # the bar was closed


def test_without_tqdm_falls_back_to_plain_lines(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    stream = FakeTTY()
    _run(Progress(1, total=3, stream=stream), epochs=3)
    assert re.findall(r"epoch (\d)/3", stream.getvalue()) == ["1", "2", "3"]


def test_import_skdl_does_not_import_tqdm():
    def loaded(statement):
        code = f"import sys; {statement}; print(sorted(sys.modules))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        return set(eval(out.stdout))

    baseline = loaded("import torch, sklearn.base, sklearn.utils.validation")
    extra = loaded("import skdl") - baseline
    assert not {m for m in extra if m.split(".")[0] == "tqdm"}
