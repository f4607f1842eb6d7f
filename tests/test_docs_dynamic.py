"""docs/dynamic_shapes.md is executable: its ```python blocks run in order, in one namespace, and
the outputs the page shows are the real ones."""
import os

os.environ["SNAPTRACE_STRICT"] = "1"  # tracer bugs raise instead of falling back; set before importing tracer

import pathlib  # noqa: E402

import pytest  # noqa: E402

from test_docs_tutorial import python_blocks  # noqa: E402

PAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "dynamic_shapes.md"


def test_dynamic_shapes_page_runs(capsys):
    blocks = python_blocks(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 6, "the page lost its code blocks"
    namespace = {"__name__": "dynamic_shapes"}
    for first_line, source in blocks:
        code = compile("\n" * (first_line - 1) + source, str(PAGE), "exec")
        try:
            exec(code, namespace)
        except Exception as exc:
            pytest.fail(f"the block at docs/dynamic_shapes.md:{first_line} raised {type(exc).__name__}: {exc}")
    printed = capsys.readouterr().out.splitlines()
    assert printed[:4] == ["2", "torch.is_grad_enabled() is True, default dtype is torch.float32",
                           "x: Tensor(dtype=torch.float32, device=cpu, shape=(*, 8), stride=(8, 1), "
                           "storage_offset=0, requires_grad=False)", "x.size(0) >= 2"]
    assert "['x.size(0) >= 5', '2 <= x.size(0) <= 4']" in printed
    assert "def forward(self, x_size0, x_size1, x):" in printed
    assert printed[-1] == "[3]"
