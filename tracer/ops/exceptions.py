"""Raising and catching: RAISE_VARARGS, RERAISE, PUSH_EXC_INFO, POP_EXCEPT, CHECK_EXC_MATCH,
LOAD_ASSERTION_ERROR.

These handlers only say *what* is raised (a `Thrown` record) or keep the
"exception being handled" of the frame up to date; where the exception goes is
decided by the unwinder (tracer/unwind.py) from the 3.11 exception table.
"""
from __future__ import annotations

import attrs

from effects import heap
from tracer.registry import handles
from tracer.unwind import handled_exception
from vt.callables.builtin import BuiltinVariable
from vt.data.constant import ConstantVariable
from vt.callables.exceptions import exception_value, matches
from core.outcomes import Thrown, raise_error


@handles("RAISE_VARARGS")
def raise_varargs(state, ins):
    """`raise` (re-raise the handled exception), `raise exc`, `raise exc from cause`."""
    if ins.arg == 0:
        handled = handled_exception(state)
        if handled is None:
            return raise_error(RuntimeError, "No active exception to reraise")
        return Thrown(exception=handled, reraise=True)
    cause = None
    if ins.arg == 2:
        cause_value = state.peek()
        if cause_value.constant_value() is None:
            cause = ConstantVariable(None)
        else:
            out = exception_value(state, cause_value, "exception causes must derive from BaseException")
            if type(out) is not tuple:
                return out
            state, cause = out
    out = exception_value(state, state.peek(ins.arg), "exceptions must derive from BaseException")
    if type(out) is not tuple:
        return out
    state, exc = out
    if cause is not None:
        current = heap.current(state, exc)
        link = None if isinstance(cause, ConstantVariable) else cause
        state = heap.mutate(state, attrs.evolve(current, cause=link, suppress_context=True), "raise ... from")
    return Thrown(exception=exc, state=state)


@handles("RERAISE")
def reraise(state, ins):
    """Raise the exception on top of the stack again (the end of a `finally` or an unmatched `except`)."""
    return Thrown(exception=state.peek(), reraise=True)


@handles("PUSH_EXC_INFO")
def push_exc_info(state, ins):
    """Entering a handler: save the exception handled so far below the new one, which becomes it."""
    exc = state.peek()
    previous = handled_exception(state)
    state = state.advance(pop=1, push=(ConstantVariable(None) if previous is None else previous, exc))
    return state.with_frame(state.frame._replace(handled=exc))


@handles("POP_EXCEPT")
def pop_except(state, ins):
    """Leaving a handler: the saved exception is handled again."""
    saved = state.peek()
    handled = None if isinstance(saved, ConstantVariable) else saved
    state = state.advance(pop=1)
    return state.with_frame(state.frame._replace(handled=handled))


@handles("CHECK_EXC_MATCH")
def check_exc_match(state, ins):
    """`except classes:`: replace the classes by whether the exception below matches them."""
    found = matches(state, state.peek(2), state.peek())
    if type(found) is not bool:
        return found
    return state.advance(pop=1, push=(ConstantVariable(found),))


@handles("LOAD_ASSERTION_ERROR")
def load_assertion_error(state, ins):
    return state.advance(push=(BuiltinVariable(AssertionError),))


