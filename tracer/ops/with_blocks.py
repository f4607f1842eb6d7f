"""`with` blocks: BEFORE_WITH and WITH_EXCEPT_START.

BEFORE_WITH looks up `__enter__` and `__exit__`, calls `__enter__` and leaves the
bound `__exit__` below its result.  Leaving the block normally calls
`__exit__(None, None, None)` with plain CALL instructions; leaving it by an
exception goes through the exception table to WITH_EXCEPT_START, which calls
`__exit__(type, exc, traceback)`; a true result suppresses the exception.
"""
from __future__ import annotations

from effects import heap
from tracer.registry import handles
from vt.callables.classes import class_vt
from vt.objects.contexts import TracebackVariable
from core.outcomes import Thrown, raise_error


def _protocol_error(manager, missing_exit: bool):
    suffix = " (missed __exit__ method)" if missing_exit else ""
    return raise_error(TypeError, f"'{manager.type_name()}' object does not support the context manager "
                                  f"protocol{suffix}")


def _special(state, manager, name: str):
    out = manager.getattr(state, name)
    if type(out) is Thrown and out.cls is AttributeError:
        return _protocol_error(manager, name == "__exit__")
    return out


@handles("BEFORE_WITH")
def before_with(state, ins):
    manager = state.peek()
    out = _special(state, manager, "__enter__")
    if type(out) is not tuple:
        return out
    state, enter = out
    out = _special(state, manager, "__exit__")
    if type(out) is not tuple:
        return out
    state, exit_method = out
    out = enter.call(state, [], {})
    if type(out) is not tuple:
        return out
    state, entered = out
    return state.advance(pop=1, push=(exit_method, entered))


@handles("WITH_EXCEPT_START")
def with_except_start(state, ins):
    """Stack: [__exit__, lasti, previous exception, exception] -> push __exit__(type, exc, tb)."""
    exit_method, exc = state.peek(4), state.peek()
    out = exit_method.call(state, [class_vt(heap.current(state, exc).cls), exc, TracebackVariable()], {})
    if type(out) is not tuple:
        return out
    state, result = out
    return state.advance(push=(result,))
