"""How items of containers compare and hash, the way CPython answers it.

Two questions every container operation asks about its items are answered
here once:

* `equal(state, a, b)`: `a == b` as `list.index`, `in` and `list == list` ask
  it (`PyObject_RichCompareBool`): the *same object* is equal without calling
  `__eq__`, so a tensor is found in a list by identity, while comparing two
  different tensors would need their values and is Unsupported.
* `hashable_key(value)`: the real constant a dict key or set element stands
  for; a tensor key is Unsupported (Python would hash it by identity, and the
  tracer keeps keys as constants), an unhashable key is the TypeError.

Which comparison a value takes part in (sequence, set, mapping, identity) is
each VT's own answer (`comparison_kind`), so this module knows no container
class and every container module can use it.
"""
from __future__ import annotations

import math
import operator

from core.outcomes import BreakKind, is_stop, raise_error, raised, unsupported
from effects import heap
from vt.data.constant import ConstantVariable
from vt.data.object_keys import identity_key, key_vt, refuse_python_eq, resolve_key
from vt.protocol import NOT_CONSTANT, is_identity_key, is_tensor

MAX_DEPTH = 200
COMPARE_SYMBOLS = {"<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
                   ">": operator.gt, ">=": operator.ge}
UNHASHABLE_TYPES = frozenset({list, dict, set, type({}.keys()), type({}.values()), type({}.items())})


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


def hashable_key(value, what: str = "dict key", state=None):
    """The real hashable constant `value` stands for, or Unsupported (check `type(out) is Unsupported`).
    With the `state`, an object of a Python class hashed by identity is a key too (no code runs);
    `key_of` runs a Python `__hash__`."""
    if is_tensor(value):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"a tensor as a {what} is not supported (Python hashes tensors by identity)",
                           "use a number or a string as the key")
    if value.runtime_type() in UNHASHABLE_TYPES and not isinstance(value, ConstantVariable):
        return raise_error(TypeError, f"unhashable type: '{value.type_name()}'")
    constant = value.specialized()  # a symbolic int as a key is specialised to its value
    if constant is NOT_CONSTANT:
        pinned = value.pinned_object()
        if pinned is not NOT_CONSTANT and is_identity_key(pinned):
            return pinned  # a class, a function, `typing.Union`: the object itself, fixed for the capture
        token = identity_key(value)
        if token is not None:  # an nn.Module, an iterator, a class or function the trace made
            return token
        if state is not None and value.dunder_dispatch:
            out = value.hash_key(state)
            if type(out) is tuple and out[0] is state:  # hashed without running code
                return out[1]
            if type(out) is not tuple:
                return out
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{value.describe()} as a {what} is not modelled"
                           + (" here" if value.dunder_dispatch else ""),
                           "use numbers, strings or tuples of them as keys")
    try:
        hash(constant)
    except TypeError as exc:
        return raised(exc)
    if has_nan(constant):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"NaN as a {what} is not modelled (CPython matches it by identity)")
    return constant


_PLAIN_KEYS = frozenset({str, int, bool, type(None)})
"""Constants that are keys as they are: hashable, never NaN, no Python `__hash__` to run."""


def key_of(state, value, what: str = "dict key"):
    """`hashable_key` for operations that can run the key's own Python `__hash__` (an object of a
    class that defines it): (state, real key) or the stop."""
    if type(value) is ConstantVariable and type(value.value) in _PLAIN_KEYS:  # `counts[word]`: the common case
        return state, value.value
    out = value.hash_key(state)
    if out is not None:
        return out
    key = hashable_key(value, what)
    return key if is_stop(key) else (state, key)


def container_key(state, value, keys, vt_of, what: str = "dict key"):
    """The real key a dict or set holding `keys` finds `value` under: `key_of`, then resolved
    against the keys held when a Python `__eq__` decides (vt/data/object_keys.py)."""
    out = key_of(state, value, what)
    if type(out) is not tuple:
        return out
    return resolve_key(out[0], out[1], keys, vt_of)


def container_keys(state, items, what: str = "dict key"):
    """The real keys of `items` added one after the other to a new dict or set (`{a, b}`,
    `dict.fromkeys`): (state, keys with repeats) or the stop; an item equal to an earlier one
    (by a Python `__eq__`) is that earlier key, as the real container keeps the first."""
    keys = []
    for item in items:
        out = container_key(state, item, keys, key_vt, what)
        if type(out) is not tuple:
            return out
        state, key = out
        keys.append(key)
    return state, tuple(keys)


def hashable_keys(items, what: str = "dict key", state=None):
    """hashable_key of each VT: a tuple of real keys, or the first Unsupported."""
    keys = []
    for item in items:
        key = hashable_key(item, what, state)
        if is_stop(key):
            return key
        keys.append(key)
    return tuple(keys)


# -- equality and order --------------------------------------------------------------------------

def same_object(a, b) -> bool:
    """True when the two VTs are one object at run time (heap handles, the same tensor node)."""
    key = a.identity()
    return key is not None and key == b.identity()


def kind(value):
    """The comparison kind of a VT: 'list', 'tuple', 'set' (sets, frozensets, keys views), 'dict',
    'other' for plain constants and objects that only compare by identity, None when unknown."""
    return value.comparison_kind()


def real_set(state, value):
    """The elements of a set-kind VT as a real (unordered) set (objects as their keys)."""
    elements = value.as_python(state)
    if elements is NOT_CONSTANT:
        elements = value.elements(state)
    return set(elements)


def equal(state, a, b, depth: int = 0):
    """`a == b` with CPython's identity shortcut, as a bool, or Unsupported."""
    if same_object(a, b):
        return True
    if depth > MAX_DEPTH:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, "comparing deeply nested containers is not modelled")
    if is_tensor(a) or is_tensor(b):
        return unsupported(BreakKind.DATA_DEPENDENT,
                           f"comparing {a.describe()} with {b.describe()} needs tensor values",
                           "look tensors up by identity, or compare them with torch ops")
    if isinstance(a, ConstantVariable) and isinstance(b, ConstantVariable):
        return _constant_equal(a.constant_value(), b.constant_value())
    known = a.known_equality(state, b)
    if known is None:
        known = b.known_equality(state, a)
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
        return _set_equal(state, a, b)
    if kind_a == "dict":
        left, right = heap.current(state, a).entries, heap.current(state, b).entries
        refused = refuse_python_eq([key for key, _ in left + right], "comparing dicts")
        return refused or _dict_equal(state, left, right, depth)
    return False  # 'other' and not both constants: objects equal only to themselves (iterators, views)


def _set_equal(state, a, b):
    left, right = real_set(state, a), real_set(state, b)
    return refuse_python_eq(list(left) + list(right), "comparing sets") or left == right


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
    if isinstance(a, ConstantVariable) and isinstance(b, ConstantVariable):
        try:
            return bool(COMPARE_SYMBOLS[symbol](a.constant_value(), b.constant_value()))
        except Exception as exc:  # the traced program raises the same
            return raised(exc)
    if is_tensor(a) or is_tensor(b):
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
