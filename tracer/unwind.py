"""Unwinding a raised exception through the traced frames, as CPython 3.11 does.

A handler or a VT reports that the traced program raised by returning a
`Thrown` record (vt/outcome.py).  `throw` turns it into a modelled exception
object, chains it to the exception being handled (`__context__`), then looks up
the raising instruction in the current frame's exception table: a covering
entry pops the value stack to the entry's depth, pushes the instruction's
offset when the entry asks for it, pushes the exception and jumps to the
handler.  Without one the exception leaves the frame: `Raised`, which an
inlined call turns back into a `Thrown` in its caller's frame.
"""
from __future__ import annotations

import attrs

from core.stops import Raised
from effects import heap
from vt.data.constant import ConstantVariable
from vt.callables.exceptions import exception_from
from core.outcomes import Thrown


def handled_exception(state):
    """The exception the innermost `except` block is handling (sys.exc_info()), or None."""
    if state.frame.handled is not None:
        return state.frame.handled
    for frame in reversed(state.parents):
        if frame.handled is not None:
            return frame.handled
    return None


def _chain_context(state, exc):
    """Set `exc.__context__` to the exception being handled, breaking cycles as CPython does."""
    handled = handled_exception(state)
    if handled is None or handled.oid == exc.oid:
        return state
    # The new exception already in the handled one's chain: cut it there.  A chain that loops
    # without reaching it is left alone; Floyd's slow pointer tells when the walk has come round,
    # as in CPython's _PyErr_SetObject.
    link, slow, toggle = handled, handled, False
    while True:
        current = heap.current(state, link)
        context = current.context
        if context is None:
            break
        if context.oid == exc.oid:
            state = heap.update_object(state, attrs.evolve(current, context=None))
            break
        link = context
        if link.oid == slow.oid:
            break
        if toggle:
            slow = heap.current(state, slow).context
        toggle = not toggle
    return heap.update_object(state, attrs.evolve(heap.current(state, exc), context=handled))


def throw(state, thrown):
    """The State at the handler that catches `thrown`, or `(state, Raised)` if it leaves the frame
    (or Unsupported if the exception itself cannot be modelled)."""
    if thrown.state is not None:
        state = thrown.state
    out = exception_from(state, thrown)
    if type(out) is not tuple:
        if type(out) is Thrown:
            return throw(state, out)  # building the exception raised another one
        return out
    state, exc = out
    if not thrown.reraise:
        state = _chain_context(state, exc)
    return unwind(state, exc)


def unwind(state, exc):
    """Look `exc` up in the exception table at the top frame's instruction."""
    frame = state.frame
    entry = frame.code.handler_at(frame.ip)
    if entry is None:
        return state, Raised(exc)
    push = (ConstantVariable(frame.code.instructions[frame.ip].offset), exc) if entry.lasti else (exc,)
    stack = frame.stack[:entry.depth] + push
    return state.with_frame(frame._replace(ip=entry.target, stack=stack, kw_names=()))
