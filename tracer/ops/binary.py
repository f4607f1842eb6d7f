"""Operators: BINARY_OP, COMPARE_OP, IS_OP, CONTAINS_OP, unary ops and subscripts."""
from __future__ import annotations

import enum

from core.guards import DistinctObjects, SameObject
from tracer.registry import handles
from vt.builtin_data import real_object
from vt.builtin_operator import subscript
from vt.builtin import BINARY_OPS, COMPARE_OPS, binary_operation, call_constant_fn, unary_operation
from vt.constant import ConstantVariable
from vt.container_ops import contains_in
from core.outcomes import BreakKind, unsupported


def _replace_top(state, out, pop):
    if type(out) is not tuple:
        return out
    state, value = out
    return state.advance(pop=pop, push=(value,))


@handles("BINARY_OP")
def binary_op(state, ins):
    symbol, fn, _, plain = BINARY_OPS[ins.arg]
    out = binary_operation(state, fn, state.peek(2), state.peek(1), symbol, plain)
    return _replace_top(state, out, 2)


@handles("COMPARE_OP")
def compare_op(state, ins):
    symbol = ins.argval
    fn = COMPARE_OPS[symbol]
    return _replace_top(state, binary_operation(state, fn, state.peek(2), state.peek(1), symbol), 2)


@handles("UNARY_NEGATIVE", "UNARY_POSITIVE", "UNARY_INVERT", "UNARY_NOT")
def unary(state, ins):
    return _replace_top(state, unary_operation(state, ins.opname, state.peek()), 1)


@handles("IS_OP")
def is_op(state, ins):
    a, b = state.peek(2), state.peek(1)
    out = identical(state, a, b)
    if out is None:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"`is` between {a.describe()} and {b.describe()} is not known while tracing")
    state, same = out
    return state.advance(pop=2, push=(ConstantVariable(same != bool(ins.arg)),))


def identical(state, a, b):
    """Whether two VTs are one object at run time: (state, bool), or None if unknown."""
    if a.family == "constant" or b.family == "constant":
        return _identical_constants(state, a, b)
    if a.family == "function" and b.family == "function":
        if hasattr(a, "fn") and hasattr(b, "fn"):
            return state, a.fn is b.fn  # functions that existed before the call are guarded by identity
        return state, getattr(a, "parts", None) is getattr(b, "parts", None)  # one MAKE_FUNCTION, one object
    if a.family in _REAL_OBJECT_FAMILIES and b.family in _REAL_OBJECT_FAMILIES:
        return state, real_object(state, a) is real_object(state, b)  # modules, classes, functions: guarded
    if a.family == "tensor" and b.family == "tensor":
        if a.node == b.node:
            return state, True
        first, second = state.graph[a.node], state.graph[b.node]
        if first.op == "placeholder" and second.op == "placeholder":
            # Two inputs seen as different objects: the answer holds only while they stay distinct.
            return state.add_guard(DistinctObjects(first.target, second.target)), False
        return state, False  # an op that returns its input is mapped to the input's own node
    if getattr(a, "oid", None) is not None and getattr(b, "oid", None) is not None:
        return state, a.oid == b.oid
    return None


_REAL_OBJECT_FAMILIES = frozenset({"builtin", "class", "module", "torch_function"})
_SINGLETONS = (None, True, False, Ellipsis, NotImplemented)


def _is_singleton(vt) -> bool:
    value = vt.constant_value()
    return any(value is s for s in _SINGLETONS) or isinstance(value, enum.Enum)  # enum members are too


def _identical_constants(state, a, b):
    """`is` with a constant on either side: exact for singletons, guarded for two inputs."""
    if _is_singleton(a) or _is_singleton(b):
        if a.family == "constant" and b.family == "constant":
            return state, a.constant_value() is b.constant_value()
        return state, False  # a singleton is never a tensor, list or tuple
    if a.family != "constant" or b.family != "constant":
        return state, False  # a number or string is never a tensor, list or tuple
    if a.source is not None and b.source is not None:
        same = a.constant_value() is b.constant_value()
        guard = SameObject(a.source, b.source) if same else DistinctObjects(a.source, b.source)
        return state.add_guard(guard), same
    return None  # whether two equal numbers are one object is up to the interpreter


@handles("CONTAINS_OP")
def contains_op(state, ins):
    item, container = state.peek(2), state.peek(1)
    negate = bool(ins.arg)
    if container.family == "constant":
        if item.family == "constant":  # substrings, ranges, constant tuples: CPython's own `in`
            out = call_constant_fn(state, lambda c, i: i in c, "`in`", (container, item), {})
        else:
            items = container.unpack(state, None)
            out = contains_in(state, items, item) if items is not None else container.contains(state, item)
    else:
        out = container.contains(state, item)
    if type(out) is not tuple:
        return out
    state, found = out
    return state.advance(pop=2, push=(ConstantVariable(found.constant_value() != negate),))


@handles("BINARY_SUBSCR")
def binary_subscr(state, ins):
    return _replace_top(state, subscript(state, state.peek(2), state.peek(1)), 2)
