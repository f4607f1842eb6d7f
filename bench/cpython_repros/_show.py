"""Helper shared by the reproducers: run a function eagerly and through snaptrace, print both.

Each reproducer is a standalone script: `python bench/cpython_repros/NAME.py`.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import tracer.capture  # noqa: E402
from tracer import compile  # noqa: E402


def outcome(fn, args=()):
    try:
        return f"returns {fn(*args)!r}"
    except BaseException as exc:  # noqa: BLE001
        return f"raises {type(exc).__name__}: {exc}"


def show(fn, *args, strict=False, breaks=True):
    """Print eager's and snaptrace's outcome of fn(*args) (and strict mode's, where the tracer's
    own exceptions propagate instead of becoming an eager fallback)."""
    print(f"--- {fn.__name__}")
    print("  eager:    ", outcome(fn, args))
    traced = compile(fn)
    print("  snaptrace:", outcome(traced, args))
    if breaks:
        for b in traced.graph_breaks:
            print("     break:", " ".join(str(b.reason).split())[:150])
    if strict:
        tracer.capture.STRICT = True  # what SNAPTRACE_STRICT=1 sets when tracer is imported
        try:
            print("  strict:   ", outcome(compile(fn), args))
        finally:
            tracer.capture.STRICT = False
