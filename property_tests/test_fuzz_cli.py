"""`python -m tracer fuzz`: a tiny campaign passes; a failing property is written as a runnable reproducer.

How small the shrunk program gets depends on the time budget and the machine's load, so it is not asserted."""
import runpy
import sys

import tools.fuzz
from tools.cli import main


def test_small_campaign_prints_coverage_and_summary(tmp_path, capsys):
    status = main(["fuzz", "--examples", "4", "--seed", "3", "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "construct coverage over 4 programs" in out
    assert "fuzz summary: 4 programs against eager: 0 snaptrace mismatch(es), 0 snaptrace crash(es)" in out
    assert list(tmp_path.iterdir()) == []


def test_failures_are_shrunk_and_written_as_runnable_reproducers(tmp_path, capsys, monkeypatch):
    def always_fails(program, against):
        return "mismatch", ["pretend mismatch"], None

    monkeypatch.setattr(tools.fuzz, "_problems_for", always_fails)
    status = main(["fuzz", "--examples", "3", "--seed", "1", "--out", str(tmp_path), "--quiet",
                   "--shrink-seconds", "5"])
    out = capsys.readouterr().out
    assert status == 1
    assert "[mismatch] pretend mismatch" in out
    scripts = sorted(tmp_path.iterdir())
    assert scripts, out
    text = scripts[0].read_text()
    assert "# pretend mismatch" in text and "def fn(a0" in text and "INPUTS = " in text
    monkeypatch.setattr(sys, "argv", [str(scripts[0])])
    try:
        runpy.run_path(str(scripts[0]), run_name="__main__")
    except SystemExit as exit_status:  # the reproducer runs tracer.check and exits 0 (it agrees with eager)
        assert exit_status.code == 0
