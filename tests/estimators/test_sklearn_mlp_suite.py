"""scikit-learn's own MLP tests, run against skdl's classes.

The installed scikit-learn's ``sklearn/neural_network/tests/test_mlp.py`` is
copied at test time into a temporary directory with one change: its import of
``MLPClassifier`` and ``MLPRegressor`` comes from skdl. It then runs in a
subprocess (its module-level data and its warnings filters stay out of this
session). Nothing of scikit-learn's test code is committed here.

Every test must pass except those in ``EXCLUDED``: they read attributes that are
private to scikit-learn's implementation, which a drop-in does not have.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sklearn

SOURCE = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
REPO = Path(__file__).resolve().parents[2]

EXCLUDED = {
    "test_gradient": "calls scikit-learn's private _loss_grad_lbfgs and _unpack",
    "test_learning_rate_warmstart": "reads the private _optimizer.learning_rate",
    "test_adaptive_learning_rate": "reads the private _optimizer.learning_rate",
    "test_n_iter_no_change": "reads the private _no_improvement_count",
    "test_n_iter_no_change_inf": "reads the private _no_improvement_count",
}

IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"

CONFTEST = """
import os

import pytest


@pytest.fixture
def global_random_seed():
    # scikit-learn's fixture: one seed, from its environment variable, default 42
    return int(os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED", "42").split("-")[0])


def pytest_collection_finish(session):
    import sys

    module = sys.modules["test_mlp"]
    names = module.MLPClassifier.__module__, module.MLPRegressor.__module__
    print("MLP classes under test:", *names)
"""


def _rewired(text: str) -> str:
    assert IMPORT in text, "scikit-learn's test module no longer imports the MLPs in one line"
    text = text.replace(IMPORT, "from skdl import MLPClassifier, MLPRegressor")
    leftover = re.findall(r"^(?:from|import) sklearn\.neural_network\b.*", text, flags=re.M)
    assert not leftover, f"scikit-learn's MLPs are still imported: {leftover}"
    return text


@pytest.mark.skipif(not SOURCE.exists(), reason="scikit-learn installed without its tests")
def test_sklearn_mlp_tests_pass_on_skdl(tmp_path):
    (tmp_path / "test_mlp.py").write_text(_rewired(SOURCE.read_text()))
    (tmp_path / "conftest.py").write_text(CONFTEST)
    deselect = [f"--deselect=test_mlp.py::{name}" for name in EXCLUDED]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "-rf", *deselect],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    # the copy must have run skdl's classes, not scikit-learn's
    assert re.search(r"MLP classes under test: skdl\.\S+ skdl\.", out), out[-3000:]
    failed = re.findall(r"^FAILED (\S+)", out, flags=re.M)
    assert proc.returncode == 0, (
        f"scikit-learn's MLP tests failing on skdl: {failed}\n{out[-6000:]}"
    )
    n_excluded = int(re.search(r"(\d+) deselected", out).group(1))
    assert n_excluded == len(EXCLUDED), "an excluded test no longer exists: update EXCLUDED"


def test_rewired_copy_imports_skdl():
    if not SOURCE.exists():
        pytest.skip("scikit-learn installed without its tests")
    text = _rewired(SOURCE.read_text())
    assert "from skdl import MLPClassifier, MLPRegressor" in text
