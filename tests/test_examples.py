"""Every script in examples/ runs with --fast, exits 0 and writes its PNG to --out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs_fast_and_saves_a_png(script: Path, tmp_path: Path) -> None:
    takes_out = '"--out"' in script.read_text()
    out = tmp_path / "figures"
    command = [sys.executable, str(script), "--fast"]
    if takes_out:
        command += ["--out", str(out)]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert result.stdout.strip(), "the example printed nothing"
    if takes_out:
        # scripts without --out (lecture_hyperparameters.py) only print tables
        assert list(out.glob("*.png")), f"no PNG written to {out}"
