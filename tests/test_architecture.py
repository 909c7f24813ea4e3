"""The layering of STYLE.md: imports only go down, and `import skdl` stays light."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "skdl"

# package -> top-level modules it may import (besides the standard library)
ALLOWED_THIRD_PARTY = {
    "nn": {"torch", "numpy"},
    "optim": {"torch", "numpy"},
    "training": {"torch", "numpy", "scipy"},
}
# package -> skdl packages it may import (imports only go down)
ALLOWED_INTERNAL = {
    "nn": set(),
    "optim": set(),
    "training": {"nn", "optim"},
    "estimators": {"nn", "optim", "training", "_compat"},
}


def _imports(path: Path):
    """Module-level imports (imports inside functions are lazy and allowed)."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield 0, alias.name
        elif isinstance(node, ast.ImportFrom):
            yield node.level, node.module or ""


@pytest.mark.parametrize("package", sorted(ALLOWED_INTERNAL))
def test_imports_only_go_down(package):
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for path in (ROOT / package).glob("*.py"):
        for level, module in _imports(path):
            top = module.split(".")[0]
            if level == 0 and top not in stdlib and package in ALLOWED_THIRD_PARTY:
                assert top in ALLOWED_THIRD_PARTY[package], f"{path.name} imports {module}"
            if level == 2 and top:  # from ..x import
                assert top in ALLOWED_INTERNAL[package], f"{path.name} imports ..{module}"


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


def test_sklearn_private_helpers_only_in_compat():
    for path in ROOT.rglob("*.py"):
        if path.name == "_compat.py":
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sklearn"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"
