"""A missing optional dependency fails with one line naming the skdl extra that installs it.

Each package is made unimportable with ``sys.modules[name] = None`` (Python then
raises ``ModuleNotFoundError`` on ``import name``), so the tests run with
everything installed.
"""

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from skdl import MLPClassifier
from skdl._optional import EXTRAS, MissingOptionalDependency, optional_import
from skdl.cli import main

ROOT = Path(__file__).resolve().parents[1]
X = np.random.default_rng(0).normal(size=(40, 3))
Y = (X[:, 0] > 0).astype(int)


def _hide(monkeypatch, *names):
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


def _one_line(exc, package, extra):
    message = str(exc.value)
    assert "\n" not in message
    assert f'requires {package}: pip install "skdl[{extra}]"' in message, message
    assert isinstance(exc.value, ImportError)


@pytest.fixture(scope="module")
def fitted():
    return MLPClassifier((4,), max_iter=3, random_state=0).fit(X, Y)


def test_optional_import_returns_the_module():
    import json

    assert optional_import("json", "all", "x") is json


def test_optional_import_names_feature_package_and_extra(monkeypatch):
    _hide(monkeypatch, "matplotlib", "matplotlib.pyplot")
    with pytest.raises(MissingOptionalDependency) as exc:
        optional_import("matplotlib.pyplot", feature="my plot")
    assert str(exc.value) == 'my plot requires matplotlib: pip install "skdl[plots]"'
    assert exc.value.name == "matplotlib"
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_plots_without_matplotlib(monkeypatch, fitted):
    from skdl.plotting import TrainingHistoryDisplay

    _hide(monkeypatch, "matplotlib", "matplotlib.pyplot")
    with pytest.raises(ImportError) as exc:
        TrainingHistoryDisplay.from_estimator(fitted)
    _one_line(exc, "matplotlib", "plots")
    assert str(exc.value).startswith("TrainingHistoryDisplay requires")


def test_history_to_frame_without_pandas(monkeypatch, fitted):
    _hide(monkeypatch, "pandas")
    with pytest.raises(ImportError) as exc:
        fitted.history_.to_frame()
    _one_line(exc, "pandas", "pandas")


def test_to_onnx_without_onnx(monkeypatch, fitted):
    from skdl.export import to_onnx

    _hide(monkeypatch, "onnx")
    with pytest.raises(ImportError) as exc:
        to_onnx(fitted)
    _one_line(exc, "onnx", "onnx")


def _cli_error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_cli_without_pandas_is_one_line(monkeypatch, capsys, tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("x,label\n1,a\n2,b\n")
    _hide(monkeypatch, "pandas")
    err = _cli_error(capsys, ["fit", str(data), "--target", "label"])
    assert err.startswith("skdl: error: ") and "\n" not in err
    assert "pandas" in err and err.endswith('pip install "skdl[cli]"')


def test_cli_parquet_without_pyarrow_is_one_line(monkeypatch, capsys, tmp_path):
    data = tmp_path / "data.parquet"
    data.write_bytes(b"PAR1")
    _hide(monkeypatch, "pyarrow")
    err = _cli_error(capsys, ["fit", str(data), "--target", "label"])
    assert err.startswith("skdl: error: ") and "\n" not in err
    assert "needs pyarrow" in err and err.endswith('pip install "skdl[cli]"')


def _extras():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def test_all_extra_covers_every_optional_feature_and_test_covers_all():
    extras = _extras()
    runtime = ["plots", "pandas", "onnx", "progress", "cli", "dask"]
    for name in runtime:
        assert set(extras[name]) <= set(extras["all"]), name
    assert set(extras["all"]) <= set(extras["test"])
    # every extra a message can name exists
    assert set(EXTRAS.values()) <= set(extras)
    # and every optional package is in the extra the messages name
    for module, extra in EXTRAS.items():
        names = {re.split(r"[\[<>=]", req)[0] for req in extras[extra]}
        assert module in names or (module == "distributed" and "dask" in names), module


def test_readme_first_command_installs_all():
    readme = (ROOT / "README.md").read_text()
    first = re.search(r"```bash\n(.*?)\n```", readme, re.S).group(1)
    assert '".[all]"' in first and "python -m skdl demo" in first
