"""``skdl demo``: both libraries timed alike (same threads, interleaved fits, medians)."""

import io
import json
import os
import re
import statistics
import subprocess
import sys

import pytest
import torch

from skdl import _demo_run, cli
from skdl.cli import _demo  # where demo() looks up its process and CPU count


class _InProcess:
    """``cli._demo._DemoProcess`` without the process: ``_demo_run``'s setup and fits, here."""

    order = []

    def __init__(self, library, dataset, seed, threads):
        self.library, self.start = library, 0.0
        self.torch_threads = torch.get_num_threads()
        self.setup = _demo_run.prepare(library, dataset, seed, threads)

    def fit(self, max_iter, verbose):
        self.order.append(self.library)
        return _demo_run.fit_once(self.setup, max_iter, verbose)

    def close(self):
        self.setup.limiter.restore_original_limits()
        torch.set_num_threads(self.torch_threads)


@pytest.fixture
def in_process(monkeypatch):
    monkeypatch.setattr(_demo, "_DemoProcess", _InProcess)
    _InProcess.order = []
    return _InProcess


def test_demo_holds_both_libraries_to_the_same_threads_and_reports_medians(in_process, capsys):
    results = cli.demo("iris", max_iter=2, repeats=3, threads=1)
    out = capsys.readouterr().out
    assert in_process.order == [
        "skdl",
        "scikit-learn",
        "scikit-learn",
        "skdl",
        "skdl",
        "scikit-learn",
    ]
    assert set(results) == {"skdl", "scikit-learn"}
    for r in results.values():
        assert r["threads"] == 1
        assert len(r["fit_runs"]) == 3
        assert r["fit_seconds"] == statistics.median(r["fit_runs"])
        assert r["epochs"] == 2
        assert r["process_seconds"] >= r["fit_runs"][0]
    assert results["scikit-learn"]["device"] == "cpu"
    table = [row.split() for row in out.splitlines() if re.match(r"(skdl|scikit-learn) +0\.", row)]
    assert [row[-1] for row in table] == ["1", "1"]  # the threads column
    text = " ".join(out.split())  # the notes are wrapped
    assert "fit s: the median of 3 fits (interleaved between the libraries)" in text
    assert "Both held to 1 thread (" in text
    assert "CPUs available, load average" in text


def test_demo_with_one_repeat_says_so(in_process, capsys):
    results = cli.demo("iris", max_iter=2, repeats=1, threads=1, compare=False)
    assert list(results) == ["skdl"] and in_process.order == ["skdl"]
    assert "fit s: 1 fit (" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("flag", ["--repeats", "--threads"])
def test_demo_rejects_zero_repeats_or_threads(flag, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["demo", flag, "0"])
    assert info.value.code == 2
    assert f"skdl: error: {flag} must be at least 1, got 0" in capsys.readouterr().err


def test_each_library_process_gets_the_same_thread_variables_and_this_skdl():
    envs = [_demo._demo_command(lib, "iris", 0, 3)[1] for lib in _demo_run.LIBRARIES]
    for env in envs:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            assert env[var] == "3"
        root = env["PYTHONPATH"].split(os.pathsep)[0]
        assert os.path.samefile(os.path.join(root, "skdl", "cli", "__init__.py"), cli.__file__)


def test_the_timed_process_serves_fit_lines(monkeypatch):
    setups, real_prepare = [], _demo_run.prepare

    def prepare(*args):
        setups.append(real_prepare(*args))
        return setups[-1]

    monkeypatch.setattr(_demo_run, "prepare", prepare)
    stdout = io.StringIO()
    try:
        _demo_run.main(
            ["scikit-learn", "iris", "0", "1"], io.StringIO("fit 2 0\nfit 3 0\n"), stdout
        )
    finally:
        for setup in setups:
            setup.limiter.restore_original_limits()
    lines = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert lines[0] == {"ready": True}
    assert [r["epochs"] for r in lines[1:]] == [2, 3]
    assert all(r["threads"] == 1 and r["library"] == "scikit-learn" for r in lines[1:])


def test_a_scikit_learn_process_does_not_import_torch():
    argv, env = _demo._demo_command("scikit-learn", "iris", 0, 1)
    done = subprocess.run(
        argv, env=env, input="fit 2 0\n", capture_output=True, text=True, timeout=60, check=True
    )
    ready, result = map(json.loads, done.stdout.splitlines())
    assert ready == {"ready": True}
    assert result["imported_torch"] is False and result["threads"] == 1
    assert sys.executable == argv[0]


@pytest.mark.parametrize("load, threads", [(0.0, 2), (50.0, 1)])
def test_the_default_threads_are_all_cpus_or_one_on_a_busy_machine(
    in_process, monkeypatch, capsys, load, threads
):
    monkeypatch.setattr(_demo, "_available_cpus", lambda: 2)
    monkeypatch.setattr(_demo.os, "getloadavg", lambda: (load, load, load))
    results = cli.demo("iris", max_iter=2, repeats=1)
    assert {r["threads"] for r in results.values()} == {threads}
    text = " ".join(capsys.readouterr().out.split())
    assert f"Both held to {threads} thread" in text
    busy = "The machine is busy (load 50.0 on 2 CPUs): times vary from run to run, so both ran on 1"
    assert (busy in text) == (load > 2)


def test_verbose_fit_output_stays_off_the_reply_stream(monkeypatch, capsys):
    # verbose lines go to stdout without a terminal (scikit-learn's verbose=True);
    # the timed process replies on its stdout, so a fit's prints go to stderr
    setups, real_prepare = [], _demo_run.prepare

    def prepare(*args):
        setups.append(real_prepare(*args))
        return setups[-1]

    monkeypatch.setattr(_demo_run, "prepare", prepare)
    replies = io.StringIO()
    monkeypatch.setattr(sys, "stdout", replies)
    try:
        _demo_run.main(["skdl", "iris", "0", "1"], io.StringIO("fit 2 1\n"), None)
    finally:
        for setup in setups:
            setup.limiter.restore_original_limits()
    lines = [json.loads(line) for line in replies.getvalue().splitlines()]
    assert lines[0] == {"ready": True} and lines[1]["epochs"] == 2
    assert "Iteration 2, loss = " in capsys.readouterr().err
