"""Operators on containers (lists, tuples, dicts, sets, dict views), and how items compare and hash.

Two questions every container operation asks about its items are answered
here once, the way CPython answers them:

* `equal(state, a, b)`: `a == b` as `list.index`, `in` and `list == list` ask
  it (`PyObject_RichCompareBool`): the *same object* is equal without calling
  `__eq__`, so a tensor is found in a list by identity, while comparing two
  different tensors would need their values and is Unsupported.
* `hashable_key(value)`: the real constant a dict key or set element stands
  for; a tensor key is Unsupported (Python would hash it by identity, and the
  tracer keeps keys as constants), an unhashable key is the TypeError.

The operators themselves are `CONTAINER_BINARY_RULES`, rows merged into
`vt.builtin.BINARY_RULES` and keyed by the operand families like every other
row: comparisons, `+`/`*` of sequences (new objects, or the same list changed
through `state.mutate` for `+=`/`*=`), `| & - ^` of sets, `|` of dicts.  An
operator Python does not define for the two types becomes the TypeError eager
will raise, found by trying it on empty values of the same types.
"""
from __future__ import annotations

import math
import operator

from effects import heap
from vt import registry
from vt.protocol import NOT_CONSTANT
from vt.constant import ConstantVariable
from core.outcomes import BreakKind, unsupported, raise_error, raised, is_stop

MAX_DEPTH = 200
COMPARE_SYMBOLS = {"<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
                   ">": operator.gt, ">=": operator.ge}
UNHASHABLE_FAMILIES = {"list": "list", "dict": "dict", "set": "set", "dict_keys": "dict_keys",
                       "dict_values": "dict_values", "dict_items": "dict_items"}


# -- hashing -------------------------------------------------------------------------------------

def has_nan(value) -> bool:
    """NaN compares unequal to itself, so CPython finds it in dicts and sets only by identity,
    which the tracer does not know for constants."""
    kind = type(value)
    if kind is float:
        return math.isnan(value)
    if kind is complex:
        return math.isnan(value.real) or math.isnan(value.imag)
    if kind in (tuple, frozenset):
        return any(has_nan(item) for item in value)
    return False


def hashable_key(value, what: str = "dict key"):
    """The real hashable constant `value` stands for, or Unsupported (check `type(out) is Unsupported`)."""
    family = value.family
    if family == "tensor":
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"a tensor as a {what} is not supported (Python hashes tensors by identity)",
                           "use a number or a string as the key")
    if family in UNHASHABLE_FAMILIES:
        return raise_error(TypeError, f"unhashable type: '{value.type_name()}'")
    constant = value.constant_value()
    if constant is NOT_CONSTANT:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{value.describe()} as a {what} is not modelled",
                           "use numbers, strings or tuples of them as keys")
    try:
        hash(constant)
    except TypeError as exc:
        return raised(exc)
    if has_nan(constant):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"NaN as a {what} is not modelled (CPython matches it by identity)")
    return constant


def hashable_keys(items, what: str = "dict key"):
    """hashable_key of each VT: a tuple of real keys, or the first Unsupported."""
    keys = []
    for item in items:
        key = hashable_key(item, what)
        if is_stop(key):
            return key
        keys.append(key)
    return tuple(keys)


# -- equality and order --------------------------------------------------------------------------

def same_object(a, b) -> bool:
    """True when the two VTs are one object at run time (heap handles, the same tensor node)."""
    if a.family == "tensor" and b.family == "tensor":
        return a.node == b.node
    oid = getattr(a, "oid", None)
    return oid is not None and oid == getattr(b, "oid", None)


def kind(value):
    """The comparison kind of a VT: 'list', 'tuple', 'set' (sets, frozensets, keys views), 'dict',
    'other' for plain constants and objects that only compare by identity, None when unknown."""
    family = value.family
    if family in ("list", "tuple", "dict", "set"):
        return family
    if family == "dict_keys":
        return "set"
    if family == "constant":
        constant = value.constant_value()
        if isinstance(constant, tuple):
            return "tuple"
        if type(constant) is frozenset:
            return "set"
        return "other"
    if family in ("dict_values", "iterator"):
        return "other"
    return None


def real_set(state, value):
    """The elements of a set-kind VT as a real (unordered) set."""
    if value.family == "constant":
        return set(value.constant_value())
    if value.family == "dict_keys":
        return {key for key, _ in heap.current(state, value.mapping).entries}
    return set(heap.current(state, value).values)


def equal(state, a, b, depth: int = 0):
    """`a == b` with CPython's identity shortcut, as a bool, or Unsupported."""
    if same_object(a, b):
        return True
    if depth > MAX_DEPTH:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, "comparing deeply nested containers is not modelled")
    if a.family == "tensor" or b.family == "tensor":
        return unsupported(BreakKind.DATA_DEPENDENT,
                           f"comparing {a.describe()} with {b.describe()} needs tensor values",
                           "look tensors up by identity, or compare them with torch ops")
    if a.family == "constant" and b.family == "constant":
        return _constant_equal(a.constant_value(), b.constant_value())
    if a.family == "user_object" or b.family == "user_object":
        from vt.object_protocol import equal_without_code

        known = equal_without_code(state, a, b)
        if known is not None:
            return known
    kind_a, kind_b = kind(a), kind(b)
    if kind_a is None or kind_b is None:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"comparing {a.describe()} with {b.describe()} is not modelled")
    if kind_a != kind_b:
        return False  # different builtin types never compare equal
    if kind_a in ("list", "tuple"):
        return _sequence_equal(state, kind_a, a.unpack(state, None), b.unpack(state, None), depth)
    if kind_a == "set":
        return real_set(state, a) == real_set(state, b)
    if kind_a == "dict":
        return _dict_equal(state, heap.current(state, a).entries, heap.current(state, b).entries, depth)
    return False  # 'other' and not both constants: objects equal only to themselves (iterators, views)


def _constant_equal(x, y):
    try:
        result = bool(x == y)
    except Exception as exc:  # the traced program raises the same
        return raised(exc)
    if not result and (has_nan(x) or has_nan(y)):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           "comparing NaN is not modelled (CPython finds it equal to itself by identity)")
    return result


def _sequence_equal(state, which, left, right, depth):
    if which == "list" and len(left) != len(right):
        return False  # lists check lengths first; tuples compare items first
    for x, y in zip(left, right):
        same = equal(state, x, y, depth + 1)
        if same is not True:
            return same
    return len(left) == len(right)


def _dict_equal(state, left, right, depth):
    if len(left) != len(right):
        return False
    others = dict(right)
    for key, value in left:
        if key not in others:
            return False
        same = equal(state, value, others[key], depth + 1)
        if same is not True:
            return same
    return True


def compare(state, symbol: str, a, b, depth: int = 0):
    """`a <symbol> b` for a COMPARE_OP symbol, as a bool, or Unsupported."""
    if symbol in ("==", "!="):
        same = equal(state, a, b, depth)
        return same if type(same) is not bool else same == (symbol == "==")
    if a.family == "constant" and b.family == "constant":
        try:
            return bool(COMPARE_SYMBOLS[symbol](a.constant_value(), b.constant_value()))
        except Exception as exc:  # the traced program raises the same
            return raised(exc)
    if a.family == "tensor" or b.family == "tensor":
        return unsupported(BreakKind.DATA_DEPENDENT, f"`{symbol}` on {a.describe()} and {b.describe()} "
                           "inside a container comparison needs tensor values")
    kind_a, kind_b = kind(a), kind(b)
    if kind_a is None or kind_b is None:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"`{symbol}` between {a.describe()} and {b.describe()} is not modelled")
    if kind_a == kind_b and kind_a in ("list", "tuple"):
        left, right = a.unpack(state, None), b.unpack(state, None)
        for x, y in zip(left, right):
            same = equal(state, x, y, depth + 1)
            if type(same) is not bool:
                return same
            if not same:
                return compare(state, symbol, x, y, depth + 1)
        return COMPARE_SYMBOLS[symbol](len(left), len(right))
    if kind_a == kind_b == "set":
        return COMPARE_SYMBOLS[symbol](real_set(state, a), real_set(state, b))
    return raise_error(TypeError, f"'{symbol}' not supported between instances "
                       f"of '{a.type_name()}' and '{b.type_name()}'")


def contains_in(state, items, item):
    """`item in <sequence of VTs>`: (state, bool constant) or Unsupported; scans in order as CPython."""
    for entry in items:
        same = equal(state, entry, item)
        if type(same) is not bool:
            return same
        if same:
            return state, ConstantVariable(True)
    return state, ConstantVariable(False)


# -- operators -----------------------------------------------------------------------------------

def _repeat_count(value):
    constant = value.constant_value() if value.family == "constant" else None
    if type(constant) in (int, bool):
        return max(int(constant), 0)
    return None


def _list_add(state, a, b, inplace):
    if inplace:  # list.__iadd__ is list.extend: any iterable
        from vt.container_methods import iterable_items

        out = iterable_items(state, b)
        if type(out) is not tuple:
            return out
        state, extra = out
        current = heap.current(state, a)
        return heap.mutate(state, current.with_items(current.items + extra), "list +="), a
    if b.family != "list":
        return None
    from vt.lists import new_list

    return new_list(state, heap.current(state, a).items + heap.current(state, b).items)


def _sequence_mul(state, a, b, inplace):
    sequence, count = (a, _repeat_count(b)) if kind(a) in ("list", "tuple") else (b, _repeat_count(a))
    if count is None or kind(sequence) not in ("list", "tuple"):
        return None
    items = sequence.unpack(state, None) * count
    if sequence.family == "list":
        if inplace and sequence is a:
            return heap.mutate(state, heap.current(state, a).with_items(items), "list *="), a
        from vt.lists import new_list

        return new_list(state, items)
    from vt.lists import TupleVariable

    return state, TupleVariable(tuple(items))


def _tuple_add(state, a, b, inplace):
    if kind(b) != "tuple":
        return None
    if any(v.family == "constant" and type(v.constant_value()) is not tuple for v in (a, b)):
        # torch.Size + tuple is a torch.Size (either way round): computed for real on constants.
        from vt.builtin import call_constant_fn

        return call_constant_fn(state, operator.add, "operator +", (a, b), {})
    from vt.lists import TupleVariable

    return state, TupleVariable(tuple(a.unpack(state, None)) + tuple(b.unpack(state, None)))


def _set_operator(symbol):
    def rule(state, a, b, inplace):
        if kind(b) != "set" or b.family == "dict_keys":
            return None
        from vt.set_methods import set_operator

        return set_operator(state, symbol, a, b, inplace)
    return rule


def _keys_view_operator(symbol):
    def rule(state, a, b, inplace):
        from vt.set_methods import keys_view_operator

        return keys_view_operator(state, symbol, a, b)
    return rule


def _dict_or(state, a, b, inplace):
    from vt.dict_methods import dict_or

    return dict_or(state, a, b, inplace)


ARITHMETIC = {
    ("list", "+"): _list_add, ("list", "*"): _sequence_mul, ("other", "*"): _sequence_mul,
    ("tuple", "+"): _tuple_add, ("tuple", "*"): _sequence_mul,
    ("dict", "|"): _dict_or,
    **{("set", symbol): _set_operator(symbol) for symbol in ("|", "&", "-", "^")},
    **{("keys", symbol): _keys_view_operator(symbol) for symbol in ("|", "&", "-", "^")},
}


def container_operation(state, fn, a, b, symbol, plain):
    """A BINARY_RULES row: comparisons and arithmetic with a container on either side."""
    if symbol in COMPARE_SYMBOLS:
        out = compare(state, symbol, a, b)
        return out if type(out) is not bool else (state, ConstantVariable(out))
    inplace = fn is not plain
    base = symbol[:-1] if inplace else symbol
    left = "keys" if a.family == "dict_keys" else kind(a)
    rule = ARITHMETIC.get((left, base))
    out = rule(state, a, b, inplace) if rule is not None else None
    if out is not None:
        return out
    return _no_operator(state, fn, a, b, symbol, plain)


def _no_operator(state, fn, a, b, symbol, plain):
    """No rule: fold `"%s" % (..)` on plain data; otherwise the TypeError or a limit."""
    if a.family == "constant" and isinstance(a.constant_value(), (str, bytes)) and plain is operator.mod:
        from vt.builtin import call_constant_fn

        return call_constant_fn(state, plain, f"operator {symbol}", (a, b), {})
    samples = _sample(a), _sample(b)
    if NOT_CONSTANT not in samples:
        try:
            plain(*samples)
        except TypeError as exc:
            return raised(exc)
        except Exception:  # noqa: BLE001 - only asking whether the types support the operator
            pass
    return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                       f"`{symbol}` between {a.describe()} and {b.describe()} is not modelled")


def _sample(value):
    """An empty value of the VT's Python type (its own value for constants), to ask Python
    whether an operator exists for two types."""
    family = value.family
    if family == "constant":
        return value.constant_value()
    samples = {"list": list, "tuple": tuple, "dict": dict, "set": set,
               "dict_keys": lambda: {}.keys(), "dict_values": lambda: {}.values(), "dict_items": lambda: {}.items()}
    return samples[family]() if family in samples else NOT_CONSTANT


def _register_container_operations():
    from vt.dicts import DictVariable, DictViewVariable
    from vt.iterators import IteratorVariable
    from vt.lists import ListVariable, TupleVariable
    from vt.sets import SetVariable

    kinds = (ListVariable, TupleVariable, DictVariable, SetVariable, DictViewVariable, ConstantVariable)
    for left in kinds:
        for right in kinds:
            if (left, right) != (ConstantVariable, ConstantVariable):
                registry.add_binary_rule(left, right, container_operation)
    registry.add_binary_rule(ListVariable, IteratorVariable, container_operation)  # `lst += iter(...)`


_register_container_operations()
