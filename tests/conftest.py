"""Shared test setup.

SNAPTRACE_STRICT must be set before `tracer` is imported: it makes the tracer's
own bugs raise instead of quietly falling back to an eager capture.
"""
import os
import sys

os.environ["SNAPTRACE_STRICT"] = "1"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # `import helpers` from any rootdir

import pytest  # noqa: E402
import torch  # noqa: E402

if os.environ.get("SNAPTRACE_CHECK_ASSEMBLER"):  # every generated code object checked (tests/assembler_check.py)
    import assembler_check  # noqa: E402
    import core.signatures  # noqa: E402

    core.signatures.assemble_code = assembler_check.checked_assemble_code


def pytest_configure(config):
    config.addinivalue_line("markers", "inductor: compiles with the inductor backend (tiny shapes, a few seconds)")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield
