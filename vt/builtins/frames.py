"""Builtins that read the frame they are called from (or its caller's): `locals()`, `vars()` and
`dir()` without arguments, `eval` / `exec` without namespaces, `sys._getframe`, `sys.exc_info`,
`sys.exception`.

They are never modelled: each is a graph break that runs for real in the step function, whose
frame is laid out like the user's (graph/resume_code.py), so what they see is what eager sees.
The break is marked `needs_frame`, so a callee that stops at one of them is called as it is from
the step function instead of through a compiled entry of its own, whose frames would sit between
it and its caller.
"""
from __future__ import annotations

import sys

from core.outcomes import needs_frame
from vt import registry


@registry.builtin_rule(locals)
def _locals(state, args, kwargs):
    return needs_frame("locals() reads the frame and runs for real")


@registry.builtin_rule(dir)
def _dir(state, args, kwargs):
    if args or kwargs:
        return None
    return needs_frame("dir() without an argument reads the frame and runs for real")


@registry.builtin_rule(eval, exec)
def _eval(state, args, kwargs):
    if len(args) + len(kwargs) >= 3:  # both namespaces given: not the frame's
        return None
    return needs_frame("eval() / exec() without both namespaces read the frame and run for real")


@registry.builtin_rule(sys._getframe, sys.exc_info, sys.exception)
def _frame_functions(state, args, kwargs):
    return needs_frame("sys._getframe(), sys.exc_info() and sys.exception() read the frame and run for real")


_FRAME_NAMES = frozenset(("_getframe", "currentframe", "exc_info", "exception", "locals", "vars", "eval", "exec"))


def reads_frames(code) -> bool:
    """Whether a function's code names something that reads frames (`sys._getframe(1)`,
    `inspect.currentframe()`, `locals()`): called from a step function, such a function must run
    as it is, since a compiled entry would put its own frames between it and its caller."""
    return not _FRAME_NAMES.isdisjoint(code.co_names)
