"""Operators: BINARY_OP, COMPARE_OP, IS_OP, CONTAINS_OP, unary ops and subscripts."""
from __future__ import annotations

from tracer.registry import handles
from vt.builtins.builtin_operator import subscript
from vt.data.operators import BINARY_OPS, COMPARE_OPS, binary_operation, unary_operation
from vt.folding import call_constant_fn
from vt.data.constant import ConstantVariable, is_constant_value
from vt.data.equality import contains_in
from core.outcomes import BreakKind, unsupported
from vt.protocol import identical


def _replace_top(state, out, pop):
    if type(out) is not tuple:
        return out
    state, value = out
    return state.advance(pop=pop, push=(value,))


# Numbers and strings known while tracing: the operator itself, on the values (what folding them
# through `binary_operation` comes to, without its dispatch; loops of Python arithmetic are common).
_SCALARS = frozenset({int, float, bool, str})


def _scalar_result(fn, a, b):
    """`fn(a, b)` for two constants of plain scalar types, as a ConstantVariable; None for anything
    else, or when the operator raises (the general path then raises the program's error)."""
    if type(a) is ConstantVariable and type(b) is ConstantVariable and type(a.value) in _SCALARS \
            and type(b.value) in _SCALARS:
        try:
            result = fn(a.value, b.value)
        except Exception:  # noqa: BLE001 - see the docstring
            return None
        return ConstantVariable(result) if is_constant_value(result) else None
    return None


@handles("BINARY_OP")
def binary_op(state, ins):
    symbol, fn, _, plain = BINARY_OPS[ins.arg]
    a, b = state.peek(2), state.peek(1)
    result = _scalar_result(plain, a, b)
    if result is not None:
        return state.advance(pop=2, push=(result,))
    return _replace_top(state, binary_operation(state, fn, a, b, symbol, plain), 2)


@handles("COMPARE_OP")
def compare_op(state, ins):
    symbol = ins.argval
    fn = COMPARE_OPS[symbol]
    a, b = state.peek(2), state.peek(1)
    result = _scalar_result(fn, a, b)
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
