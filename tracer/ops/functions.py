"""Making functions and using closure cells: MAKE_FUNCTION, MAKE_CELL, the *_DEREF family."""
from __future__ import annotations

from effects import heap
from tracer.registry import handles
from vt.callables.functions import CellVariable, FunctionParts
from vt.callables.nested_functions import annotation_pairs, make_function as new_function
from vt.callables.lazy import LazyVariable, realize_if_lazy
from core.outcomes import name_error

_DEFAULTS, _KWDEFAULTS, _ANNOTATIONS, _CLOSURE = 0x01, 0x02, 0x04, 0x08


@handles("MAKE_FUNCTION")
def make_function(state, ins):
    """Stack (bottom to top): [defaults] [kwdefaults] [annotations] [closure] code."""
    flags = ins.arg
    stack = state.frame.stack
    depth = len(stack)
    code = stack[depth - 1].constant_value()
    position = depth - 2
    closure = kwdefaults = defaults = ()
    if flags & _CLOSURE:
        closure = stack[position].unpack(state, None)
        position -= 1
    annotations = ()
    if flags & _ANNOTATIONS:
        annotations = annotation_pairs(state, stack[position])
        position -= 1
    if flags & _KWDEFAULTS:
        mapping = heap.current(state, stack[position])
        kwdefaults = tuple(mapping.entries)
        position -= 1
    if flags & _DEFAULTS:
        defaults = stack[position].unpack(state, None)
        position -= 1
    info = state.frame.code
    parts = FunctionParts(code, info.globals, info.globals_source, tuple(defaults), kwdefaults, tuple(closure))
    state, made = new_function(state, parts, annotations)
    return state.advance(pop=depth - 1 - position, push=(made,))


@handles("MAKE_CELL")
def make_cell(state, ins):
    """Wrap the slot's current value (an argument, or nothing yet) in a new cell."""
    current = state.frame.locals[ins.arg]
    state, cell = heap.allocate(state, lambda oid: CellVariable(oid, current))
    return state.next_with(locals=state.frame.locals.set(ins.arg, cell))


@handles("COPY_FREE_VARS")
def copy_free_vars(state, ins):
    # The frame was built with its closure cells already in their slots.
    return state.jump(ins.index + 1)


@handles("LOAD_CLOSURE")
def load_closure(state, ins):
    return state.advance(push=(state.frame.locals[ins.arg],))


def read_cell(state, ins):
    """The contents of the cell in slot `ins.arg`: (state, vt), or NameError when it is empty."""
    cell = heap.current(state, state.frame.locals[ins.arg])
    contents = cell.contents
    if contents is None:
        return name_error(ins.argval, f"cannot access free variable {ins.argval!r} where it is not associated with a value in enclosing scope")
    if type(contents) is LazyVariable:  # realized once: the cell now holds the real VT
        out = realize_if_lazy(state, contents)
        if type(out) is not tuple:
            return out
        state, contents = out
        state = heap.update_object(state, cell.with_contents(contents))
    return state, contents


@handles("LOAD_DEREF")
def load_deref(state, ins):
    out = read_cell(state, ins)
    if type(out) is not tuple:
        return out
    return out[0].advance(push=(out[1],))


@handles("STORE_DEREF")
def store_deref(state, ins):
    cell = heap.current(state, state.frame.locals[ins.arg])
    return heap.mutate(state, cell.with_contents(state.peek()), f"store to closure variable {ins.argval!r}").advance(pop=1)


@handles("DELETE_DEREF")
def delete_deref(state, ins):
    cell = heap.current(state, state.frame.locals[ins.arg])
    if cell.contents is None:
        return name_error(ins.argval, f"cannot access free variable {ins.argval!r} where it is not associated with a value in enclosing scope")
    return heap.mutate(state, cell.with_contents(None), f"delete of closure variable {ins.argval!r}").advance()
