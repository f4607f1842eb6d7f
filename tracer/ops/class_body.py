"""Class statements: LOAD_BUILD_CLASS and the opcodes of a class body (the *_NAME family,
LOAD_CLASSDEREF, SETUP_ANNOTATIONS).

`class C(B): ...` compiles to `__build_class__(<body function>, "C", B)`.  LOAD_BUILD_CLASS pushes
the value that models that builtin (vt/objects/local_classes.py); calling it runs the body as an
inlined frame whose `namespace` is a dict in the heap, which these handlers read and write as
CPython does with the body's locals dict: a name is looked up there first, then among the globals
and builtins (LOAD_NAME) or in the cell of an enclosing function (LOAD_CLASSDEREF).
"""
from __future__ import annotations

from core.outcomes import BreakKind, is_stop, raise_error, unsupported
from effects import heap
from tracer.ops.functions import read_cell
from tracer.ops.loads_stores import global_value
from tracer.registry import handles
from vt.data.constant import ConstantVariable
from vt.data.dicts import new_dict_from_entries
from vt.objects.local_classes import BUILD_CLASS


def _namespace(state, ins):
    namespace = state.frame.namespace
    if namespace is None:  # module-level code: never reaches the tracer, which traces functions
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{ins.opname} outside a class body is not traced")
    return namespace


def _entries(state, namespace) -> dict:
    return dict(heap.current(state, namespace).entries)


@handles("LOAD_BUILD_CLASS")
def load_build_class(state, ins):
    return state.advance(push=(BUILD_CLASS,))


@handles("STORE_NAME")
def store_name(state, ins):
    namespace = _namespace(state, ins)
    if is_stop(namespace):
        return namespace
    out = namespace.store_item(state, ConstantVariable(ins.argval), state.peek())
    return out if is_stop(out) else out.advance(pop=1)


@handles("DELETE_NAME")
def delete_name(state, ins):
    namespace = _namespace(state, ins)
    if is_stop(namespace):
        return namespace
    if ins.argval not in _entries(state, namespace):
        return raise_error(NameError, f"name {ins.argval!r} is not defined")
    out = namespace.delete_item(state, ConstantVariable(ins.argval))
    return out if is_stop(out) else out.advance()


@handles("LOAD_NAME")
def load_name(state, ins):
    namespace = _namespace(state, ins)
    if is_stop(namespace):
        return namespace
    value = _entries(state, namespace).get(ins.argval)
    if value is not None:
        return state.advance(push=(value,))
    out = global_value(state, ins.argval)
    if type(out) is not tuple:
        return out
    return out[0].advance(push=(out[1],))


@handles("LOAD_CLASSDEREF")
def load_classderef(state, ins):
    """A free variable read in a class body: the namespace first, then the enclosing function's cell."""
    namespace = _namespace(state, ins)
    if is_stop(namespace):
        return namespace
    value = _entries(state, namespace).get(ins.argval)
    if value is not None:
        return state.advance(push=(value,))
    out = read_cell(state, ins)
    if type(out) is not tuple:
        return out
    return out[0].advance(push=(out[1],))


@handles("SETUP_ANNOTATIONS")
def setup_annotations(state, ins):
    """`__annotations__ = {}` in the namespace, unless the body already has one."""
    namespace = _namespace(state, ins)
    if is_stop(namespace):
        return namespace
    if "__annotations__" in _entries(state, namespace):
        return state.advance()
    state, annotations = new_dict_from_entries(state, ())
    out = namespace.store_item(state, ConstantVariable("__annotations__"), annotations)
    return out if is_stop(out) else out.advance()
