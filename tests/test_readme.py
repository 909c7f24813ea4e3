"""What the README and the packaging metadata say matches the code."""

import re
from pathlib import Path

import pytest

from skdl.estimators._params import SOLVERS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
NUMBERS = "zero one two three four five six seven eight nine ten eleven twelve thirteen".split()


def test_readme_counts_and_lists_the_solvers():
    row = re.search(r"^\| optimizers \| `solver` in (.*) \|$", README, re.M).group(1)
    assert {s.strip() for s in row.split(",")} == set(SOLVERS)
    count = re.search(r"\b(\w+)\s+solvers\b", README.replace("\n", " ")).group(1)
    assert count == NUMBERS[len(SOLVERS)], count
    assert not re.search(r"\b(ten|eleven)\s+optimizers\b", README.replace("\n", " "))


def test_license_is_an_spdx_string_and_setuptools_supports_it():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "BSD-3-Clause"
    # SPDX strings (PEP 639) need setuptools >= 77
    (requirement,) = [r for r in meta["build-system"]["requires"] if r.startswith("setuptools")]
    assert int(re.search(r">=\s*(\d+)", requirement).group(1)) >= 77


def test_install_lines_pin_cpu_torch_and_readme_says_how_to_build_the_docs():
    bench = (ROOT / "benchmarks" / "README.md").read_text()
    for text in (README, bench):
        for line in re.findall(r"^pip install .*$", text, re.M):
            if "-e \".[docs]\"" in line:  # after the first command: torch is there
                continue
            assert "torch==2.13.0" in line, line
    assert 'pip install -e ".[docs]"' in README and "mkdocs serve" in README


def test_the_readme_test_command_runs_the_doctests():
    # `python -m pytest -q -p no:cacheprovider` (README, .ci/run) collects the Examples
    # sections of skdl's docstrings; each example must have run, not only been found
    import doctest
    import importlib

    import tomllib

    assert "python -m pytest -q -p no:cacheprovider" in README
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    options = options["ini_options"]
    assert "--doctest-modules" in options["addopts"].split()
    assert {"tests", "skdl"} <= set(options["testpaths"])
    finder = doctest.DocTestFinder()
    found = 0
    for path in sorted((ROOT / "skdl").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        module = importlib.import_module(name)
        found += sum(1 for test in finder.find(module, name) if test.examples)
    assert found >= 28, f"{found} docstrings with examples"
