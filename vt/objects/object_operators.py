"""Python's operators on objects of Python classes: the class's dunders, in CPython's order.

`a + b` tries `type(a).__add__`, then `type(b).__radd__` when the first gives
NotImplemented (the right operand first when its class is a subclass of the
left one's and overrides the reflected method); `x += y` tries `__iadd__` first;
comparisons use the reflected comparison (`a < b` falls back to `b > a`) and
`==` falls back to identity.  Unary operators go to `__neg__`, `__pos__`,
`__invert__`, and `not` to the truth value (vt/objects/object_protocol.py).
"""
from __future__ import annotations

import operator

from core.outcomes import BreakKind, raise_error, unsupported
from vt import registry
from vt.data.constant import ConstantVariable
from vt.objects.object_protocol import (SCALAR_TYPES, call_dunder, class_of, equal_without_code, find_dunder, has_c_method,
                                        has_dunder, is_container_slot, is_user_object, object_truth, opaque_eq)
from vt.objects.object_attributes import lookup
from vt.protocol import identical

_BINARY_DUNDERS = {
    operator.add: "add", operator.sub: "sub", operator.mul: "mul", operator.matmul: "matmul",
    operator.truediv: "truediv", operator.floordiv: "floordiv", operator.mod: "mod", operator.pow: "pow",
    operator.lshift: "lshift", operator.rshift: "rshift", operator.and_: "and", operator.or_: "or",
    operator.xor: "xor",
}
_COMPARISONS = {  # operator -> (dunder, reflected dunder)
    operator.eq: ("__eq__", "__eq__"), operator.ne: ("__ne__", "__ne__"), operator.lt: ("__lt__", "__gt__"),
    operator.le: ("__le__", "__ge__"), operator.gt: ("__gt__", "__lt__"), operator.ge: ("__ge__", "__le__"),
}



def _not_implemented(vt) -> bool:
    return isinstance(vt, ConstantVariable) and vt.constant_value() is NotImplemented


def binary_object_operation(state, fn, a, b, symbol, plain):
    """a <symbol> b with a user object on either side; None when neither side has a Python dunder
    for it (the caller then reports the operation as not modelled)."""
    if plain in _COMPARISONS:
        return _compare(state, plain, a, b, symbol)
    short = _BINARY_DUNDERS.get(plain)
    if short is None:
        return None
    if fn is not plain and has_dunder(state, a, f"__i{short}__"):
        out = call_dunder(state, a, f"__i{short}__", [b])
        if type(out) is not tuple or not _not_implemented(out[1]):
            return out
        state = out[0]
    attempts = [(a, f"__{short}__", b), (b, f"__r{short}__", a)]
    if is_user_object(a) and is_user_object(b) and class_of(state, b) is not class_of(state, a) \
            and issubclass(class_of(state, b), class_of(state, a)) and has_dunder(state, b, f"__r{short}__"):
        attempts.reverse()
    return _first_implemented(state, attempts, symbol, a, b)


def _first_implemented(state, attempts, symbol, a, b):
    for receiver, name, other in attempts:
        if not has_dunder(state, receiver, name):
            continue
        out = call_dunder(state, receiver, name, [other])
        if type(out) is not tuple:
            return out
        if not _not_implemented(out[1]):
            return out
        state = out[0]
    return unsupported(BreakKind.PYTHON_EXCEPTION,
                       f"TypeError: unsupported operand type(s) for {symbol}: {a.describe()} and {b.describe()}")


def _compare(state, plain, a, b, symbol):
    """`a <op> b` as CPython's do_richcompare runs it: the right operand's reflected method first
    when its class is a proper subclass of the left one's, then the left's, then (if not tried) the
    right's; each through the class's slot (`_rich_slot`); then identity for `==` / `!=`."""
    name, reflected = _COMPARISONS[plain]
    attempts = [(a, name, b), (b, reflected, a)]
    if is_user_object(a) and is_user_object(b) and class_of(state, b) is not class_of(state, a) \
            and issubclass(class_of(state, b), class_of(state, a)):
        attempts.reverse()
    if plain in (operator.eq, operator.ne) and not any(find_dunder(state, vt, dunder) is not None
                                                       for vt, dunder, _ in attempts):
        known = equal_without_code(state, a, b)  # enum members compare as their real objects (str mixins too)
        if known is not None:
            return state, ConstantVariable(known == (plain is operator.eq))
    for receiver, dunder, other in attempts:
        out = _rich_slot(state, receiver, dunder, other)
        if out is None:
            continue
        if type(out) is not tuple:
            return out
        if not _not_implemented(out[1]):
            return out
        state = out[0]
    if plain in (operator.eq, operator.ne):  # the last resort: identity
        out = identical(state, a, b)
        if out is None:
            return None
        state, same = out
        opaque = next((vt for vt, other in ((a, b), (b, a)) if not same and opaque_eq(state, vt, other)), None)
        if opaque is not None:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"`{symbol}` with {opaque.describe()} runs the "
                               f"__eq__ of a C base class, which is not traced yet")
        return state, ConstantVariable(same == (plain is operator.eq))
    return raise_error(TypeError, f"'{symbol}' not supported between instances of '{_type_name(state, a)}' "
                       f"and '{_type_name(state, b)}'")


def _type_name(state, vt) -> str:
    kind = class_of(state, vt) if is_user_object(vt) else vt.runtime_type()
    return kind.__name__ if isinstance(kind, type) else vt.type_name()


def _rich_slot(state, vt, dunder: str, other):
    """The comparison slot of `vt`'s class (slot_tp_richcompare): its Python `dunder`, or object's
    default (`==`: identity or NotImplemented; `!=`: the class's `==` inverted; orders:
    NotImplemented).  None for a value that is not an object of a Python class (its C slot gives
    NotImplemented for one, which the other side then answers)."""
    if not is_user_object(vt):
        return _c_container_slot(state, vt, dunder, other)
    if find_dunder(state, vt, dunder) is not None or has_c_method(state, vt, dunder):
        return call_dunder(state, vt, dunder, [other])
    found = lookup(state, class_of(state, vt), dunder)[1]
    if found is not getattr(object, dunder, None):
        if is_container_slot(found, dunder) and isinstance(other, ConstantVariable) \
                and type(other.constant_value()) in SCALAR_TYPES:
            return state, ConstantVariable(NotImplemented)  # a C container's comparison against a number
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"{class_of(state, vt).__name__}.{dunder} is the {dunder} of a C base class, which is "
                           "not traced yet")
    if dunder == "__eq__":
        out = identical(state, vt, other)
        if out is None:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"`is` between {vt.describe()} and "
                               f"{other.describe()} is not known while tracing")
        state, same = out
        return state, ConstantVariable(True if same else NotImplemented)
    if dunder == "__ne__":
        out = _rich_slot(state, vt, "__eq__", other)
        if type(out) is not tuple or _not_implemented(out[1]):
            return out
        state, equal = out
        truth = equal.truth(state)
        if type(truth) is not bool:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, "the result of __eq__ is not known while tracing")
        return state, ConstantVariable(not truth)
    return state, ConstantVariable(NotImplemented)


def _c_container_slot(state, vt, dunder: str, other):
    """A builtin container's own `==` / `!=` against an object of a subclass of its type (`{...} ==
    counter`, after Counter.__eq__ gave NotImplemented): C compares the two dict (list) parts, the
    same either way round, so the subclass's rule for the C method answers.  None otherwise (the
    C slot gives NotImplemented for an object of an unrelated class)."""
    kind = vt.runtime_type()
    if dunder not in ("__eq__", "__ne__") or not is_user_object(other) or not isinstance(kind, type):
        return None
    rule = registry.bound_rule_for(getattr(kind, dunder, None))
    if rule is None or not issubclass(class_of(state, other), kind):
        return None
    return rule(state, other, [vt], {})


_UNARY_SYMBOLS = {"__neg__": "-", "__pos__": "+", "__invert__": "~"}


def own_less_than(state, a, b):
    """`type(a).__lt__(a, b)` when written in Python (no reflected fallback), else None."""
    if find_dunder(state, a, "__lt__") is None:
        return None
    return call_dunder(state, a, "__lt__", [b])


def unary_object_operation(state, opname, vt):
    name = {"UNARY_NEGATIVE": "__neg__", "UNARY_POSITIVE": "__pos__", "UNARY_INVERT": "__invert__"}.get(opname)
    if name is None:
        out = object_truth(state, vt)
        return out if type(out) is not tuple else (out[0], ConstantVariable(not out[1]))
    return call_dunder(state, vt, name, [], {}, f"bad operand type for unary {_UNARY_SYMBOLS[name]}: '{vt.type_name()}'")
