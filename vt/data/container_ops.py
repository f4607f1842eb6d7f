"""Operators on containers (lists, tuples, dicts, sets, dict views): `+`, `*`, comparisons, set and dict operators.

The operators are registered as binary rules for every pair of container VT
classes: comparisons (through vt/equality.py), `+`/`*` of sequences (new
objects, or the same list changed through `heap.mutate` for `+=`/`*=`),
`| & - ^` of sets, `|` of dicts.  An operator Python does not define for the
two types becomes the TypeError eager will raise, found by trying it on empty
values of the same types.
"""
from __future__ import annotations

import operator

from core.outcomes import BreakKind, raised, unsupported
from effects import heap
from vt import registry
from vt.data.constant import ConstantVariable
from vt.data.dict_methods import dict_or
from vt.data.dicts import DictVariable, DictViewVariable
from vt.data.equality import COMPARE_SYMBOLS, compare, kind
from vt.folding import call_constant_fn
from vt.protocol import MAX_ITEMS
from vt.iteration import IteratorVariable
from vt.data.iterators import items_of
from vt.data.lists import ListVariable, TupleVariable, made_tuple, new_list
from vt.protocol import NOT_CONSTANT
from vt.data.set_methods import keys_view_operator, set_operator
from vt.data.sets import SetVariable


# -- operators -----------------------------------------------------------------------------------

def _repeat_count(value):
    constant = value.constant_value() if isinstance(value, ConstantVariable) else None
    if type(constant) in (int, bool):
        return max(int(constant), 0)
    return None


def _list_add(state, a, b, inplace):
    if inplace:  # list.__iadd__ is list.extend: any iterable

        out = items_of(state, b)
        if type(out) is not tuple:
            return out
        state, extra = out
        current = heap.current(state, a)
        return heap.mutate(state, current.with_items(current.items + extra), "list +="), a
    if kind(b) != "list":
        return None

    return new_list(state, heap.current(state, a).items + heap.current(state, b).items)


def _sequence_mul(state, a, b, inplace):
    sequence, count = (a, _repeat_count(b)) if kind(a) in ("list", "tuple") else (b, _repeat_count(a))
    if count is None or kind(sequence) not in ("list", "tuple"):
        return None
    items = sequence.unpack(state, None)
    if len(items) * count > MAX_ITEMS:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"a sequence of {len(items)} items repeated {count} times is longer than the tracer "
                           f"models ({MAX_ITEMS} items)")
    items = items * count
    if kind(sequence) == "list":
        if inplace and sequence is a:
            return heap.mutate(state, heap.current(state, a).with_items(items), "list *="), a

        return new_list(state, items)
    if sequence.runtime_type() is tuple and (count == 1 or not items):  # CPython gives `t` itself, or ()
        return state, sequence if count == 1 else ConstantVariable(())
    return made_tuple(state, tuple(items))


def _tuple_add(state, a, b, inplace):
    if kind(b) != "tuple":
        return None
    if any(isinstance(v, ConstantVariable) and type(v.constant_value()) is not tuple for v in (a, b)):
        # torch.Size + tuple is a torch.Size (either way round): computed for real on constants.

        return call_constant_fn(state, operator.add, "operator +", (a, b), {})

    first, second = tuple(a.unpack(state, None)), tuple(b.unpack(state, None))
    for kept, other in ((a, second), (b, first)):  # `t + ()` and `() + t` are `t` itself
        if not other and kept.runtime_type() is tuple:
            return state, kept
    return made_tuple(state, first + second)


def _set_operator(symbol):
    def rule(state, a, b, inplace):
        if kind(b) != "set" or b.runtime_type() is _KEYS:
            return None

        return set_operator(state, symbol, a, b, inplace)
    return rule


def _keys_view_operator(symbol):
    def rule(state, a, b, inplace):
        return keys_view_operator(state, symbol, a, b)
    return rule


def _dict_or(state, a, b, inplace):
    return dict_or(state, a, b, inplace)


ARITHMETIC = {
    ("list", "+"): _list_add, ("list", "*"): _sequence_mul, ("other", "*"): _sequence_mul,
    ("tuple", "+"): _tuple_add, ("tuple", "*"): _sequence_mul,
    ("dict", "|"): _dict_or,
    **{("set", symbol): _set_operator(symbol) for symbol in ("|", "&", "-", "^")},
    **{("keys", symbol): _keys_view_operator(symbol) for symbol in ("|", "&", "-", "^")},
}


def container_operation(state, fn, a, b, symbol, plain):
    """The binary rule of every pair of containers: comparisons and arithmetic with a container on either side."""
    if symbol in COMPARE_SYMBOLS:
        out = compare(state, symbol, a, b)
        return out if type(out) is not bool else (state, ConstantVariable(out))
    inplace = fn is not plain
    base = symbol[:-1] if inplace else symbol
    left = "keys" if a.runtime_type() is _KEYS else kind(a)
    rule = ARITHMETIC.get((left, base))
    out = rule(state, a, b, inplace) if rule is not None else None
    if out is not None:
        return out
    return _no_operator(state, fn, a, b, symbol, plain)


def _no_operator(state, fn, a, b, symbol, plain):
    """No rule: fold `"%s" % (..)` on plain data; otherwise the TypeError or a limit."""
    if isinstance(a, ConstantVariable) and isinstance(a.constant_value(), (str, bytes)) and plain is operator.mod:
        return call_constant_fn(state, plain, f"operator {symbol}", (a, b), {})
    return operator_type_error(plain, symbol, a, b)


def operator_type_error(plain, symbol, a, b, sample=None):
    """The TypeError CPython raises for these two types, found by applying the operator to empty
    values of the same types (`sample` makes them; a limit when either type has no sample)."""
    sample = sample or empty_sample
    samples = sample(a), sample(b)
    if NOT_CONSTANT not in samples:
        try:
            plain(*samples)
        except TypeError as exc:
            return raised(exc)
        except Exception:  # noqa: BLE001 - only asking whether the types support the operator
            pass
    return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                       f"`{symbol}` between {a.describe()} and {b.describe()} is not modelled")


def empty_sample(value):
    """An empty value of the VT's Python type (its own value for constants), to ask Python
    whether an operator exists for two types."""
    if isinstance(value, ConstantVariable):
        return value.constant_value()
    python_type = value.runtime_type()
    if python_type is not None and kind(value) == "tuple" and issubclass(python_type, tuple):
        return ()  # named tuples operate as tuples
    return _SAMPLES[python_type]() if python_type in _SAMPLES else NOT_CONSTANT


_KEYS = type({}.keys())
_SAMPLES = {list: list, tuple: tuple, dict: dict, set: set, _KEYS: lambda: {}.keys(),
            type({}.values()): lambda: {}.values(), type({}.items()): lambda: {}.items()}


def _register_container_operations():
    kinds = (ListVariable, TupleVariable, DictVariable, SetVariable, DictViewVariable, ConstantVariable)
    for left in kinds:
        for right in kinds:
            if (left, right) != (ConstantVariable, ConstantVariable):
                registry.add_binary_rule(left, right, container_operation)
    registry.add_binary_rule(ListVariable, IteratorVariable, container_operation)  # `lst += iter(...)`


_register_container_operations()
