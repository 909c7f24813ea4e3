"""The seams of issue 13, lazy imports included: the estimators do not import
persistence or export (those register into ``skdl/estimators/_io.py``), and
the layers above the estimators (search, plotting, diagnostics) import nothing
private from another skdl package, nor any scikit-learn private but through
``skdl/_compat.py``."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "skdl"
UPPER = ("search", "plotting", "diagnostics")


def _imports(source: str, package: list[str]):
    """``(module, names)`` of every import in ``source``, at module level or inside
    functions, the module absolute (``package``, e.g. ``['skdl', 'search']``,
    resolves relative imports)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            yield module, [alias.name for alias in node.names]


def _modules(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        yield path, list(path.relative_to(ROOT.parent).parts[:-1])


def _private(module: str, names: list[str]) -> list[str]:
    """The private parts of ``from module import names`` (``skdl.<package>.``
    itself excluded): underscored modules below it, underscored names."""
    parts = module.split(".")[2:] if module.startswith("skdl.") else module.split(".")[1:]
    return [p for p in parts + names if p.startswith("_")]


def test_the_walker_sees_lazy_and_relative_imports():
    source = (
        "def save(self):\n    from ..persistence import save\n    from ..estimators import _base\n"
    )
    found = dict(_imports(source, ["skdl", "estimators"]))
    assert found == {"skdl.persistence": ["save"], "skdl.estimators": ["_base"]}
    assert _private("skdl.estimators", ["_base"]) == ["_base"]
    assert _private("skdl.estimators._config", ["resolve_device"]) == ["_config"]


def test_no_estimator_module_imports_persistence_or_export():
    for path, package in _modules("estimators"):
        for module, names in _imports(path.read_text(), package):
            targets = {module} | {f"{module}.{n}" for n in names}
            for target in targets:
                assert target.split(".")[:2] not in (["skdl", "persistence"], ["skdl", "export"]), (
                    f"{path.name} imports {target}"
                )


@pytest.mark.parametrize("layer", UPPER)
def test_upper_layers_import_nothing_private(layer):
    for path, package in _modules(layer):
        for module, names in _imports(path.read_text(), package):
            where = f"{layer}/{path.name} imports {names} from {module}"
            if module.startswith("sklearn"):
                assert not _private(module, names), where
            elif module.startswith("skdl.") and module.split(".")[1] not in (layer, "_compat"):
                assert not _private(module, names), where
