"""Calls: PRECALL, KW_NAMES and CALL (3.11's calling convention), and CALL_FUNCTION_EX (`f(*a, **k)`)."""
from __future__ import annotations

from effects import heap
from tracer.registry import handles
from vt.data.dicts import DictVariable
from vt.protocol import NULL
from vt.data.iterators import items_of
from core.outcomes import BreakKind, unsupported, raise_error
from tracer.ops.unpack_errors import function_text, not_iterable_after_star


def callee_position(frame):
    """Where the callable of the CALL / CALL_FUNCTION_EX at `frame.ip` sits on the stack, or None."""
    instruction = frame.instruction
    stack = frame.stack
    if instruction.opname == "CALL":
        first = len(stack) - instruction.arg - 2
        return first + 1 if stack[first] is NULL else first
    if instruction.opname == "CALL_FUNCTION_EX":
        return len(stack) - 2 - (instruction.arg & 1)
    return None


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


@handles("CALL_FUNCTION_EX")
def call_function_ex(state, ins):
    """`f(*args, **kwargs)`. Stack: [NULL, callable, args, kwargs if arg & 1].

    `args` may be any iterable (CPython turns it into a tuple, draining an
    iterator); `kwargs` is the dict the compiler built with DICT_MERGE, whose
    keys must be strings.
    """
    has_kwargs = ins.arg & 1
    fn, positional = state.peek(2 + has_kwargs), state.peek(1 + has_kwargs)
    kwargs = {}
    if has_kwargs:
        mapping = state.peek()
        if not isinstance(mapping, DictVariable):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"**{mapping.describe()} is not modelled")
        for key, value in heap.current(state, mapping).entries:
            if type(key) is not str:
                return raise_error(TypeError, "keywords must be strings")
            kwargs[key] = value
    out = items_of(state, positional)
    if type(out) is not tuple:
        return not_iterable_after_star(out, positional, function_text(state, fn))
    state, args = out
    out = fn.call(state, list(args), kwargs)
    if type(out) is not tuple:
        return out
    state, value = out
    return state.advance(pop=3 + has_kwargs, push=(value,))
