"""Every ```python block of README.md and docs/**/*.md runs as written.

The blocks of one file run in order in one namespace, as a reader pasting them
into one Python session would (the README's later blocks use the ``X``, ``y``
and ``clf`` of its first), in a temporary working directory, with matplotlib's
non-interactive Agg backend.

A block that is an illustration only (it needs a cluster, say) is skipped when
the line right before its opening fence is the marker ``<!-- no-run -->``
(an HTML comment: neither GitHub nor mkdocs shows it). Keep such blocks rare:
a skipped block is an untested one.
"""

from __future__ import annotations

import re
import textwrap
import warnings
from pathlib import Path

import pytest

# imported before the blocks change the working directory, so that they use this
# checkout's skdl whatever sys.path's '' then points to
import skdl  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
NO_RUN = "<!-- no-run -->"
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*$")


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """``(line number, code, skipped)`` of each ```python block of a Markdown text.

    Fences may be indented (a block inside a list item); the block is dedented.
    ``skipped`` is True when the line before the opening fence is ``<!-- no-run -->``.
    """
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        start, indent, lang = i, match["indent"], match["lang"]
        i += 1
        body = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        if lang == "python":
            skipped = start > 0 and lines[start - 1].strip() == NO_RUN
            code = textwrap.dedent("\n".join(body)) if indent or body else ""
            blocks.append((start + 1, code, skipped))
    return blocks


def _documents() -> list[Path]:
    docs = sorted((ROOT / "docs").rglob("*.md"))
    return [p for p in [ROOT / "README.md", *docs] if python_blocks(p.read_text())]


DOCUMENTS = _documents()


def test_extractor_finds_blocks_and_the_marker():
    text = (
        "x\n```python\na = 1\n```\n\n<!-- no-run -->\n```python\nb = 2\n```\n"
        "1. item\n\n   ```python\n   c = 3\n   ```\n```bash\nls\n```\n"
    )
    assert python_blocks(text) == [(2, "a = 1", False), (7, "b = 2", True), (12, "c = 3", False)]


def test_every_document_with_python_is_collected():
    names = {p.relative_to(ROOT).as_posix() for p in DOCUMENTS}
    assert "README.md" in names and "docs/plots-and-diagnosis.md" in names


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_blocks_run(path, tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    name = path.relative_to(ROOT).as_posix()
    try:
        for line, code, skipped in python_blocks(path.read_text()):
            if skipped:
                continue
            with warnings.catch_warnings():
                # the snippets' short trainings may stop at max_iter, and
                # plt.show() under Agg says it cannot show: not failures
                warnings.filterwarnings("ignore", message=".*non-interactive.*")
                warnings.filterwarnings("ignore", category=UserWarning, module="matplotlib")
                try:
                    exec(compile(code, f"{name}:{line}", "exec"), namespace)
                except Exception as exc:
                    pytest.fail(
                        f"the python block at {name}, line {line}, fails: "
                        f"{type(exc).__name__}: {exc}"
                    )
    finally:
        plt.close("all")
