"""The layering of STYLE.md, checked on every import of every module under skdl/.

Every module (all packages, the top-level modules, ``__init__`` files) and
every import in it, lazy ones inside functions included (``ast.walk``, not
only the module body), plus ``importlib.import_module`` / ``__import__`` /
``optional_import`` called with a literal module name. Three rules:

1. **Imports only go down.** The layers, lowest first::

       base:       _compat, _optional, _version   (shared helpers, importable from anywhere)
       1:          nn, optim
       2:          training
       3:          estimators
       4:          search (and its public name model_selection), diagnostics,
                   plotting, persistence, export
       5:          cli
       6:          the entry points: skdl/__init__.py, __main__, _demo_run (the demo's
                   timed process, a script run as a user's would be)

   A module may import its own package and the layers below its own, never a
   peer (``persistence`` does not import ``export``) nor a layer above. The
   base modules import nothing of skdl.
2. **No private cross-package imports.** From another package, import only
   public modules and public names: ``..estimators._config`` or
   ``from ..estimators import _ensemble`` is a violation; ``from ..estimators
   import MLPClassifier`` and ``from ..training.history import History`` are
   fine. The base modules are meant to be imported (``_compat`` re-exports
   scikit-learn's private names under their own names).
3. **scikit-learn's private modules and names only in ``_compat.py``.**

``nn``, ``optim`` and ``training`` are also held to their third-party
dependencies (``training`` imports no scikit-learn).

Violations that live in files of work still in progress are listed in
:data:`PENDING`; the test fails on any other violation, and on a PENDING
entry that no longer occurs, so the list can only shrink.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "skdl"

BASE = {"_compat", "_optional", "_version"}
ENTRY_POINTS = {"", "__main__", "_demo_run"}  # "" is the skdl package itself
# an importable package -> the layer it belongs to (model_selection re-exports search)
GROUP = {"model_selection": "search"}
RANK = {
    "nn": 1,
    "optim": 1,
    "training": 2,
    "estimators": 3,
    "search": 4,
    "diagnostics": 4,
    "plotting": 4,
    "persistence": 4,
    "export": 4,
    "cli": 5,
    "entry": 6,
}
# package -> top-level modules it may import besides the standard library
ALLOWED_THIRD_PARTY = {
    "nn": {"torch", "numpy"},
    "optim": {"torch", "numpy"},
    "training": {"torch", "numpy", "scipy"},
}
# package -> optional dependencies it may import inside a function (History.to_frame,
# the verbose=1 progress bar), so that importing the package never needs them
ALLOWED_LAZY = {"training": {"pandas", "tqdm"}}

# (importer, imported module): violations in files of work in progress, each
# removed by the change named in its comment.
PENDING: set[tuple[str, str]] = set()


# ------------------------------------------------------------------ the graph
def _module_name(path: Path) -> str:
    parts = ("skdl", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _is_skdl_module(dotted: str) -> bool:
    """Whether ``skdl.a.b`` is a module (a file or a package) under skdl/."""
    rel = Path(*dotted.split(".")[1:]) if "." in dotted else Path()
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def _resolve(importer: str, is_package: bool, level: int, module: str | None) -> str:
    """The absolute name of ``from <level dots><module> import ...`` in ``importer``."""
    if level == 0:
        return module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _literal_import(node: ast.Call) -> str | None:
    """The module named by ``import_module("x")``, ``__import__("x")``, ``optional_import("x")``."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("import_module", "__import__", "optional_import") or not node.args:
        return None
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value[:1] != ".":
        return arg.value
    return None


def _nodes(tree: ast.Module):
    """Every node of ``tree`` (as ``ast.walk``), with whether it is inside a function."""
    todo = [(tree, False)]
    while todo:
        node, lazy = todo.pop()
        yield node, lazy
        inner = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        todo.extend((child, inner) for child in ast.iter_child_nodes(node))


def imports(path: Path, source: str | None = None, lazy: bool = False):
    """Every import of the module at ``path`` (or in ``source``): ``(line, module, name)``.

    ``from pkg import sub`` of a submodule yields the submodule (name None);
    ``from mod import attr`` yields the module and the name; ``import mod`` has
    name None. ``lazy=True`` adds a fourth item: whether the import is inside a
    function.
    """
    importer, package = _module_name(path), _is_package(path)
    source = path.read_text() if source is None else source
    for node, inside in _nodes(ast.parse(source, str(path))):
        for item in _imported(node, importer, package):
            yield (*item, inside) if lazy else item


def _imported(node: ast.AST, importer: str, package: bool):
    """The ``(line, module, name)`` that one node imports (none, or several)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield node.lineno, alias.name, None
    elif isinstance(node, ast.ImportFrom):
        module = _resolve(importer, package, node.level, node.module)
        for alias in node.names:
            sub = f"{module}.{alias.name}"
            if module.split(".")[0] == "skdl" and _is_skdl_module(sub):
                yield node.lineno, sub, None
            else:
                yield node.lineno, module, alias.name
    elif isinstance(node, ast.Call) and (name := _literal_import(node)):
        yield node.lineno, name, None


def _layer(dotted: str) -> str:
    """``nn`` ... ``cli``, ``base`` or ``entry`` for a module ``skdl.<...>``."""
    top = dotted.split(".")[1] if "." in dotted else ""
    if top in BASE:
        return "base"
    if top in ENTRY_POINTS and dotted.count(".") <= 1:
        return "entry"
    return GROUP.get(top, top)


def _private(parts) -> bool:
    return any(p.startswith("_") and not p.startswith("__") for p in parts)


def _problems(importer: str, module: str, name: str | None) -> list[str]:
    """What is wrong with ``importer`` importing ``name`` from ``module`` (or ``module``)."""
    top = module.split(".")[0]
    if top == "sklearn":
        if importer != "skdl._compat" and _private(module.split(".") + [name or ""]):
            return ["a private scikit-learn import outside skdl/_compat.py"]
        return []
    if top != "skdl":
        return []
    own, theirs = _layer(importer), _layer(module)
    if own == theirs or theirs == "base" or module == importer:
        return []
    found = []
    if own == "base":
        found.append("a base module (_compat, _optional, _version) imports skdl")
    elif RANK[theirs] >= RANK[own]:
        found.append(f"{own} (layer {RANK[own]}) imports {theirs} (layer {RANK[theirs]})")
    if _private(module.split(".")[1:] + [name or ""]):
        found.append("a private module or name of another package")
    return found


def _violations() -> dict:
    """``{(importer, module): [message, ...]}`` over every module of skdl/."""
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    found: dict = {}
    for path in sorted(ROOT.rglob("*.py")):
        importer = _module_name(path)
        layer = _layer(importer)
        for line, module, name, inside in imports(path, lazy=True):
            problems = _problems(importer, module, name)
            top = module.split(".")[0]
            allowed = ALLOWED_THIRD_PARTY.get(layer)
            if inside:
                allowed = allowed and allowed | ALLOWED_LAZY.get(layer, set())
            if allowed is not None and top not in stdlib | allowed | {"skdl"}:
                problems.append(f"{layer} may import only {sorted(allowed)} besides skdl")
            for problem in problems:
                what = module + (f" import {name}" if name else "")
                where = f"{path.relative_to(ROOT.parent)}:{line}"
                found.setdefault((importer, module), []).append(f"{where}: {what}: {problem}")
    return found


# ------------------------------------------------------------------ the tests
def test_imports_go_down_and_stay_public():
    found = _violations()
    new = {key: found[key] for key in sorted(set(found) - PENDING)}
    assert not new, "import violations:\n" + "\n".join(m for ms in new.values() for m in ms)


def test_modules_import_only_core_dependencies_at_import_time():
    # optional packages (matplotlib, pandas, onnx, tqdm, skops ...) only inside
    # functions: every module imports, and its doctests collect, on a core install
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((ROOT.parent / "pyproject.toml").read_text())["project"]
    core = {re.split(r"[<>=\[ ]", d)[0] for d in project["dependencies"]}
    core = {{"scikit-learn": "sklearn"}.get(d, d) for d in core}
    core |= {"joblib", "threadpoolctl"}  # scikit-learn's own dependencies
    stdlib = set(sys.stdlib_module_names) | {"__future__", "skdl"}
    eager = sorted(
        f"{path.relative_to(ROOT.parent)}:{line}: {module}"
        for path in ROOT.rglob("*.py")
        for line, module, _, inside in imports(path, lazy=True)
        if not inside and module.split(".")[0] not in stdlib | core
    )
    assert not eager, eager


def test_pending_violations_still_occur():
    # a fixed violation leaves PENDING, so the list cannot hide a new one later
    gone = sorted(PENDING - set(_violations()))
    assert not gone, f"no longer violations, remove them from PENDING: {gone}"


def test_every_module_is_walked():
    # a new package must be given a layer; a lazy import is seen like any other
    modules = {_module_name(p) for p in ROOT.rglob("*.py")}
    layers = {_layer(m) for m in modules}
    assert layers <= set(RANK) | {"base"}, layers - set(RANK) - {"base"}
    assert {"search", "plotting", "diagnostics", "persistence", "cli", "export"} <= layers
    lazy = [
        module
        for _, module, _, inside in imports(ROOT / "persistence" / "_restore.py", lazy=True)
        if inside
    ]
    assert "skdl.training.history" in lazy, "imports inside functions are part of the graph"


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from ..estimators._config import resolve_device", "private"),
        ("from ..estimators import _ensemble", "private"),
        ("from ..export import to_onnx", "imports export"),
        ("def f():\n    from ..cli import main", "imports cli"),
        ("import importlib\nimportlib.import_module('skdl.search._plan')", "private"),
        ("__import__('skdl.cli')", "imports cli"),
        ("from sklearn.utils._param_validation import Interval", "scikit-learn"),
        ("from sklearn.utils.validation import _num_samples", "scikit-learn"),
        ("import sklearn.neural_network._base", "scikit-learn"),
    ],
)
def test_the_rules_catch(source, expected):
    # the checker itself, on a made-up module skdl/diagnostics/_probe.py
    found = [
        p
        for line, module, name in imports(ROOT / "diagnostics" / "_probe.py", source)
        for p in _problems("skdl.diagnostics._probe", module, name)
    ]
    assert any(expected in p for p in found), found


def test_the_rules_allow():
    allowed = [
        ("skdl.cli._commands", "skdl.estimators", "MLPClassifier"),
        ("skdl.persistence._restore", "skdl.training.history", "History"),
        ("skdl.search._fused", "skdl._compat", "_fit_and_score"),
        ("skdl.search._halving", "skdl.search._fused", "_score_fitted"),
        ("skdl.persistence", "skdl._version", "__version__"),
        ("skdl", "skdl.persistence", "save"),
    ]
    for importer, module, name in allowed:
        assert not _problems(importer, module, name), (importer, module, name)


def _loaded_after(statement):
    code = f"import sys; {statement}; print(sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(eval(out.stdout))


def test_import_skdl_is_light():
    # torch itself imports tqdm, and scikit-learn's validation imports pandas when
    # installed: skdl must add nothing heavy beyond what its dependencies load.
    baseline = _loaded_after("import torch, sklearn.base, sklearn.utils.validation")
    loaded = _loaded_after("import skdl")
    for heavy in ("matplotlib", "torch._dynamo", "torch.optim", "pandas", "tqdm"):
        assert heavy not in loaded - baseline, f"import skdl imports {heavy}"
