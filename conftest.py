"""Doctests of skdl's modules: skipped, not failed, where an optional package is missing.

The README's test command runs them (``--doctest-modules`` over ``skdl/`` in
pyproject.toml). Every skdl module imports only core dependencies at import
time (tests/test_architecture.py checks it), so collecting them never fails;
an example that imports an optional package (matplotlib, pandas) is skipped
when that package is not installed, as tests/plotting does with importorskip.
"""

import ast
import importlib.util

import pytest


def _imported_tops(source: str) -> set:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a continuation line of a longer example
        return set()
    tops = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return tops


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules
        return False


def pytest_collection_modifyitems(config, items):
    for item in items:
        test = getattr(item, "dtest", None)  # a doctest item holds its doctest.DocTest
        if test is None:
            continue
        needed = set().union(*(_imported_tops(ex.source) for ex in test.examples))
        missing = sorted(m for m in needed if not _installed(m))
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"the example needs {', '.join(missing)}"))
