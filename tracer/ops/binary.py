"""Operators: BINARY_OP, COMPARE_OP, IS_OP, CONTAINS_OP, unary ops and subscripts."""
from __future__ import annotations

from tracer.registry import handles
from vt.builtins.builtin_operator import subscript
from vt.data.operators import BINARY_OPS, COMPARE_OPS, scalar_result, binary_operation, unary_operation
from vt.folding import call_constant_fn
from vt.data.constant import ConstantVariable
from vt.data.equality import contains_in
from core.outcomes import BreakKind, unsupported
from vt.protocol import identical


def _replace_top(state, out, pop):
    if type(out) is not tuple:
        return out
    state, value = out
    return state.advance(pop=pop, push=(value,))


@handles("BINARY_OP")
def binary_op(state, ins):
    symbol, fn, _, plain = BINARY_OPS[ins.arg]
    stack = state.frame.stack
    a, b = stack[-2], stack[-1]
    result = scalar_result(plain or fn, a, b)  # loops of Python arithmetic: no rule lookup
    if result is not None:
        return state.advance(pop=2, push=(result,))
    return _replace_top(state, binary_operation(state, fn, a, b, symbol, plain), 2)


@handles("COMPARE_OP")
def compare_op(state, ins):
    symbol = ins.argval
    fn = COMPARE_OPS[symbol]
    stack = state.frame.stack
    a, b = stack[-2], stack[-1]
    result = scalar_result(fn, a, b)
    if result is not None:
        return state.advance(pop=2, push=(result,))
    return _replace_top(state, binary_operation(state, fn, a, b, symbol), 2)


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


@handles("CONTAINS_OP")
def contains_op(state, ins):
    item, container = state.peek(2), state.peek(1)
    negate = bool(ins.arg)
    if isinstance(container, ConstantVariable):
        if isinstance(item, ConstantVariable):  # substrings, ranges, constant tuples: CPython's own `in`
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
