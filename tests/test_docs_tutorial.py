"""docs/tutorial.md is executable: its ```python blocks run in order, in one namespace.

Each block is compiled with the tutorial's path as its file name and padded so that line numbers
are the tutorial's own; graph breaks and FX node metadata then point at the right line of the doc.
"""
import os

os.environ["SNAPTRACE_STRICT"] = "1"  # tracer bugs raise instead of falling back; set before importing tracer

import pathlib  # noqa: E402
import re  # noqa: E402

import pytest  # noqa: E402

TUTORIAL = pathlib.Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list:
    """(first line number, source) of every ```python block, in order."""
    blocks = []
    for match in _FENCE.finditer(text):
        first_line = text.count("\n", 0, match.start(1)) + 1
        blocks.append((first_line, match.group(1)))
    return blocks


def test_python_blocks_are_found():
    text = "intro\n```python\na = 1\n```\n\n```text\nnot code\n```\n```python\nb = a + 1\n```\n"
    assert python_blocks(text) == [(3, "a = 1\n"), (10, "b = a + 1\n")]


def test_tutorial_runs(capsys):
    blocks = python_blocks(TUTORIAL.read_text(encoding="utf-8"))
    assert len(blocks) >= 5, "the tutorial lost its code blocks"
    namespace = {"__name__": "tutorial"}
    for first_line, source in blocks:
        code = compile("\n" * (first_line - 1) + source, str(TUTORIAL), "exec")
        try:
            exec(code, namespace)
        except Exception as exc:
            pytest.fail(f"the block at docs/tutorial.md:{first_line} raised {type(exc).__name__}: {exc}")
    printed = capsys.readouterr().out
    assert "<snaptrace scores: 1 capture(s), 1 graph(s), 0 break(s)>" in printed
