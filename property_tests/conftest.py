"""Setup for the property tests: strict tracer errors, the hypothesis profile, the coverage report."""
import os

os.environ["SNAPTRACE_STRICT"] = "1"  # before tracer is imported: internal errors raise

from property_tests.coverage import SESSION  # noqa: E402
from property_tests.profiles import load_default  # noqa: E402

load_default()


def pytest_terminal_summary(terminalreporter):
    if SESSION.programs:
        terminalreporter.write_sep("-", "generated program coverage")
        terminalreporter.write_line(SESSION.table())
