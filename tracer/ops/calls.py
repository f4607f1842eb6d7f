"""Calls: PRECALL, KW_NAMES and CALL (3.11's calling convention)."""
from __future__ import annotations

from tracer.registry import handles
from vt.base import NULL


@handles("PRECALL")
def precall(state, ins):
    # Nothing to do; jump() keeps the pending KW_NAMES for the CALL that follows.
    return state.jump(ins.index + 1)


@handles("KW_NAMES")
def kw_names(state, ins):
    return state.with_kw_names(ins.argval)


@handles("CALL")
def call(state, ins):
    """Stack: [NULL, callable, *args] or [callable, self, *args]; KW_NAMES names the last args."""
    argc = ins.arg
    stack = state.frame.stack
    depth = len(stack)
    first, second = stack[depth - argc - 2], stack[depth - argc - 1]
    args = list(stack[depth - argc:])
    if first is NULL:
        fn = second
    else:
        fn = first
        args.insert(0, second)
    names = state.frame.kw_names
    kwargs = {}
    if names:
        kwargs = dict(zip(names, args[len(args) - len(names):]))
        args = args[:len(args) - len(names)]
    out = fn.call(state, args, kwargs)
    if type(out) is not tuple:
        return out
    state, value = out
    return state.advance(pop=argc + 2, push=(value,))
