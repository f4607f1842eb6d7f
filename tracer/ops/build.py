"""Building and unpacking tuples, lists, dicts and slices."""
from __future__ import annotations

from tracer.registry import handles
from vt.constant import ConstantVariable
from vt.dicts import new_dict
from vt.lists import TupleVariable, new_list
from vt.outcome import BreakKind, unsupported


def _top(state, count):
    stack = state.frame.stack
    return tuple(stack[len(stack) - count:]) if count else ()


@handles("BUILD_TUPLE")
def build_tuple(state, ins):
    return state.advance(pop=ins.arg, push=(TupleVariable(_top(state, ins.arg)),))


@handles("BUILD_LIST")
def build_list(state, ins):
    state2, value = new_list(state, _top(state, ins.arg))
    return state2.advance(pop=ins.arg, push=(value,))


@handles("LIST_EXTEND")
def list_extend(state, ins):
    target = state.peek(ins.arg + 1)
    items = state.peek().unpack(state, None)
    if items is None:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"extending a list with {state.peek().describe()} is not modelled")
    current = state.current(target)
    return state.mutate(current.with_items(current.items + tuple(items)), "list.extend").advance(pop=1)


@handles("LIST_TO_TUPLE")
def list_to_tuple(state, ins):
    items = state.peek().unpack(state, None)
    return state.advance(pop=1, push=(TupleVariable(tuple(items)),))


@handles("UNPACK_SEQUENCE")
def unpack_sequence(state, ins):
    value = state.peek()
    items = value.unpack(state, ins.arg)
    if items is None:
        known = value.unpack(state, None)
        if known is not None:
            problem = "too many values" if len(known) > ins.arg else "not enough values"
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"ValueError: {problem} to unpack "
                               f"(expected {ins.arg}, got {len(known)})")
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"unpacking {value.describe()} is not modelled")
    return state.advance(pop=1, push=tuple(reversed(items)))


@handles("BUILD_SLICE")
def build_slice(state, ins):
    parts = [part.constant_value() for part in _top(state, ins.arg)]
    if any(type(part) is not int and part is not None for part in parts):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, "slice bounds must be ints known while tracing")
    return state.advance(pop=ins.arg, push=(ConstantVariable(slice(*parts)),))


@handles("BUILD_MAP")
def build_map(state, ins):
    flat = _top(state, 2 * ins.arg)
    out = new_dict(state, flat[0::2], flat[1::2])
    if type(out) is not tuple:
        return out
    state2, value = out
    return state2.advance(pop=2 * ins.arg, push=(value,))


@handles("BUILD_CONST_KEY_MAP")
def build_const_key_map(state, ins):
    keys = state.peek().unpack(state, ins.arg)
    out = new_dict(state, keys, _top(state, ins.arg + 1)[:-1])
    if type(out) is not tuple:
        return out
    state2, value = out
    return state2.advance(pop=ins.arg + 1, push=(value,))
