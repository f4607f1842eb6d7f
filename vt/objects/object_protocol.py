"""Builtins on objects of Python classes: dispatch to the class's Python dunders (the operators
are in vt/objects/object_operators.py).

`len`, indexing, `in`, `iter`, `bool`, `str`,
`repr`, `hash` and calls go to `__len__`, `__getitem__`, `__contains__`,
`__iter__`, `__bool__`, `__str__`, `__repr__`, `__hash__` and `__call__`.
Only dunders written in Python are inlined; one inherited from C (`object`'s
defaults aside) is a graph break with its name.
"""
from __future__ import annotations

import collections
import sys
import types

from effects import heap
from vt.data.constant import ConstantVariable
from vt.objects.getattr_variable import builtin_method
from vt.iteration import IteratorVariable, iterate_items
from vt.data.object_keys import ObjectKey
from vt.protocol import MISSING, NOT_CONSTANT
from vt.objects.object_attributes import (call_hook, class_hook, class_source_of, hook_source, is_vt, lookup,
                                          python_hook)
from core.outcomes import raise_error, Thrown, Unsupported, BreakKind, unsupported
from vt import registry

def is_user_object(vt) -> bool:
    return vt.dunder_dispatch


def class_of(state, vt):
    return heap.current(state, vt).cls


def find_dunder(state, vt, name):
    """(hook, source) of a dunder on the object's class that is not C's: a Python function, a
    function the program stored on the class, or the Unsupported that a dunder set to None (which
    blocks the operation) or to another object gives; None when the class has none of its own."""
    if not is_user_object(vt):
        return None
    record = heap.current(state, vt)
    hook = class_hook(state, record.cls, name)
    if hook is None:
        return None
    source = None if is_vt(hook) or type(hook) is Unsupported else \
        hook_source(state, record.cls, class_source_of(record), name)
    return hook, source


def call_dunder(state, vt, name, args, kwargs=None, missing=""):
    """type(vt).name(vt, *args) when written in Python; else Unsupported (`missing` says why)."""
    found = find_dunder(state, vt, name)
    if found is not None and type(found[0]) is Unsupported:
        return found[0]
    if found is None:
        record = heap.current(state, vt)

        method = builtin_method(state, vt, lookup(state, record.cls, name)[1], name)
        if method is not None:
            return method[1].call(method[0], args, kwargs or {})
        if lookup(state, record.cls, name)[1] is MISSING:
            if missing:
                return raise_error(TypeError, missing)
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"TypeError: {name}")
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"{record.cls.__name__}.{name} is written in C, which is not traced yet")
    fn, source = found
    return call_hook(state, fn, source, [vt, *args], kwargs or {})


def call_dunder_discard(state, vt, name, args, missing):
    out = call_dunder(state, vt, name, args, {}, f"{heap.current(state, vt).cls.__name__!r} object {missing}")
    return out if type(out) is not tuple else out[0]


def object_truth(state, vt):
    """bool(obj): (state, bool) through __bool__ (which must give a bool), then __len__ (checked as
    len() checks it: the nb_bool slot exists only with __bool__), else True."""
    if find_dunder(state, vt, "__bool__") is not None:
        out = call_dunder(state, vt, "__bool__", [])
        if type(out) is not tuple:
            return out
        state, result = out
        kind = result.runtime_type()
        if isinstance(kind, type) and kind is not bool:
            return raise_error(TypeError, f"__bool__ should return bool, returned {kind.__name__}")
        truth = result.truth(state)
        if type(truth) is not bool:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"__bool__ of {vt.describe()} did not give a "
                               "value known while tracing")
        return state, truth
    if find_dunder(state, vt, "__len__") is not None or has_c_method(state, vt, "__len__"):
        out = object_len(state, vt)
        return out if type(out) is not tuple else (out[0], out[1].constant_value() != 0)
    truth = vt.truth(state)
    if type(truth) is bool:
        return state, truth
    return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"the truth value of {vt.describe()} is not modelled")


def has_c_method(state, vt, name) -> bool:
    """The object's class inherits `name` from a builtin base whose C method has a rule (a dict
    subclass's `__len__`, a list subclass's `__add__`)."""
    if not is_user_object(vt):
        return False
    found = lookup(state, class_of(state, vt), name)[1]
    return found is not MISSING and registry.bound_rule_for(found) is not None


def has_dunder(state, vt, name) -> bool:
    """The object has `name` as a Python dunder or as a C method with a rule: either is called."""
    return find_dunder(state, vt, name) is not None or has_c_method(state, vt, name)


_CONTAINER_EQS = frozenset({dict.__eq__, collections.OrderedDict.__eq__, list.__eq__, tuple.__eq__, set.__eq__,
                            frozenset.__eq__})
SCALAR_TYPES = (type(None), bool, int, float, complex, str, bytes)


def is_container_slot(found, dunder: str) -> bool:
    """`found` is the C comparison `dunder` of a builtin container (it gives NotImplemented for a
    value that is not one)."""
    return any(found is getattr(kind, dunder, None)
               for kind in (dict, collections.OrderedDict, list, tuple, set, frozenset))


def opaque_eq(state, vt, other) -> bool:
    """The object's class compares with the `__eq__` of a C base (a set or tuple subclass), which
    has no rule: answering by identity could be wrong (a container's `__eq__` against a number,
    a string or None gives NotImplemented, so identity is right there)."""
    if not is_user_object(vt):
        return False
    found = lookup(state, class_of(state, vt), "__eq__")[1]
    if found is MISSING or found is object.__eq__ or type(found).__name__ == "function" \
            or registry.bound_rule_for(found) is not None:
        return False
    return not (found in _CONTAINER_EQS and isinstance(other, ConstantVariable)
                and type(other.constant_value()) in SCALAR_TYPES)


def object_len(state, vt):
    """len(obj): `__len__`'s result read as an index (TypeError for a non-int), >= 0 (ValueError)."""
    out = call_dunder(state, vt, "__len__", [], {}, f"object of type '{vt.type_name()}' has no len()")
    if type(out) is not tuple:
        return out
    state, result = out
    value, kind = result.constant_value(), result.runtime_type()
    if type(value) is bool or type(value) is int:
        if value < 0:
            return raise_error(ValueError, "__len__() should return >= 0")
        if value > sys.maxsize:
            return raise_error(OverflowError, "cannot fit 'int' into an index-sized integer")
        return state, ConstantVariable(int(value))
    if isinstance(kind, type) and not hasattr(kind, "__index__"):
        return raise_error(TypeError, f"'{kind.__name__}' object cannot be interpreted as an integer")
    return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"the result of __len__ of {vt.describe()} is not known")


def object_getitem(state, vt, index):
    return call_dunder(state, vt, "__getitem__", [index], {}, f"'{vt.type_name()}' object is not subscriptable")


def iterate_object(state, vt):
    """iter(obj): through __iter__ (its result iterated again; `collections.abc.Sequence.__iter__` is a
    generator reading self[i] as it goes, so items added meanwhile are seen), or the old
    __getitem__ protocol breaks."""
    if find_dunder(state, vt, "__iter__") is None and find_dunder(state, vt, "__getitem__") is not None:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"iterating over {vt.describe()} through __getitem__ "
                           "(the old sequence protocol) is not traced yet")
    out = call_dunder(state, vt, "__iter__", [], {}, f"'{vt.type_name()}' object is not iterable")
    if type(out) is not tuple:
        return out
    state, iterator = out
    if is_user_object(iterator):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"__iter__ of {vt.describe()} returned an object with "
                           "__next__, which is not traced yet", "make __iter__ a generator (yield)")
    if isinstance(iterator, IteratorVariable):
        return state, iterator
    return iterator.iterate(state)


def contains_object(state, vt, item):
    if lookup(state, class_of(state, vt), "__contains__")[1] is not MISSING:
        out = call_dunder(state, vt, "__contains__", [item])
        if type(out) is not tuple:
            return out
        state, found = out
        truth = found.truth(state)
        if type(truth) is not bool:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, "__contains__ did not give a value known while tracing")
        return state, ConstantVariable(truth)
    out = iterate_object(state, vt)
    if type(out) is Thrown and out.exception is None and out.cls is TypeError \
            and str(out.args[0]).endswith("is not iterable"):  # `in`'s own message (PySequence_Contains)
        return raise_error(TypeError, f"argument of type '{vt.type_name()}' is not iterable")
    if type(out) is not tuple:
        return out
    return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"`in` on {vt.describe()} without __contains__ is not "
                       "traced yet")


def object_text(name):
    """str(obj) / repr(obj) / hash(obj) through the Python dunder; object's defaults break."""
    def rule(state, args, kwargs):
        if len(args) == 1 and not kwargs and name != "__hash__" and _plain_class(args[0].fixed_object()):
            cls = args[0].fixed_object()  # fixed: the class is guarded, and its metaclass's text is C code
            return state, ConstantVariable(str(cls) if name == "__str__" else repr(cls))
        if len(args) != 1 or kwargs or not is_user_object(args[0]):
            return None
        vt = args[0]
        if name == "__str__" and find_dunder(state, vt, "__str__") is None:
            return object_text("__repr__")(state, args, kwargs)
        if name == "__hash__":
            found = lookup(state, class_of(state, vt), "__hash__")[1]
            if found is None:
                return unsupported(BreakKind.PYTHON_EXCEPTION, f"TypeError: unhashable type: {vt.describe()!r}")
        if find_dunder(state, vt, name) is None:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{name[2:-2]}() of {vt.describe()} uses object's "
                               "default, which depends on its address")
        dunder = find_dunder(state, vt, name)[0]
        model = None if is_vt(dunder) or type(dunder) is Unsupported else registry.dunder_model_for(dunder)
        if model is not None:
            return model(state, vt)
        return _checked_result(call_dunder(state, vt, name, []), name)
    return rule


def _checked_result(out, name: str):
    """The result of `__str__` / `__repr__` / `__hash__`, type-checked as CPython checks it."""
    if type(out) is not tuple:
        return out
    state, result = out
    kind, value = result.runtime_type(), result.constant_value()
    if name == "__hash__":
        if type(value) is bool or type(value) is int:
            value = int(value)
            value = -2 if value == -1 else value if -sys.maxsize - 1 <= value <= sys.maxsize else hash(value)
            return state, ConstantVariable(value)
        if isinstance(kind, type) and not issubclass(kind, int):
            return raise_error(TypeError, "__hash__ method should return an integer")
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, "the result of __hash__ is not known while tracing")
    if type(value) is str:
        return out
    if isinstance(kind, type) and not issubclass(kind, str):
        return raise_error(TypeError, f"{name} returned non-string (type {kind.__name__})")
    return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"the result of {name} is not known while tracing")


def _plain_class(value) -> bool:
    """A class whose metaclass writes its text in C (`<class 'torch.Tensor'>`), so no user code runs."""
    return isinstance(value, type) and not isinstance(type(value).__repr__, types.FunctionType) \
        and not isinstance(type(value).__str__, types.FunctionType)


def _len_rule(state, args, kwargs):
    if len(args) == 1 and not kwargs and is_user_object(args[0]):
        return object_len(state, args[0])
    return None


def _bool_rule(state, args, kwargs):
    if len(args) == 1 and not kwargs and is_user_object(args[0]):
        out = object_truth(state, args[0])
        return out if type(out) is not tuple else (out[0], ConstantVariable(out[1]))
    return None


def _reversed_rule(state, args, kwargs):
    """reversed(obj): its `__reversed__` (Python, or a C base's with a rule), else the sequence
    protocol (`__len__` and `__getitem__`, read up front), else the TypeError."""
    if len(args) != 1 or kwargs or not is_user_object(args[0]):
        return None
    vt = args[0]
    if has_dunder(state, vt, "__reversed__"):
        out = call_dunder(state, vt, "__reversed__", [])
        return out if type(out) is not tuple or isinstance(out[1], IteratorVariable) else out[1].iterate(out[0])
    if lookup(state, class_of(state, vt), "__reversed__")[1] is not MISSING:  # a C base's, with no rule
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"reversed() of {vt.describe()} goes through a C "
                           "__reversed__, which is not traced")
    if not (has_dunder(state, vt, "__len__") and has_dunder(state, vt, "__getitem__")):
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"TypeError: {vt.describe()!r} is not reversible")
    out = object_len(state, vt)
    if type(out) is not tuple:
        return out
    state, length = out
    items = []
    for index in reversed(range(length.constant_value())):
        out = object_getitem(state, vt, ConstantVariable(index))
        if type(out) is not tuple:
            return out
        state, item = out
        items.append(item)
    return iterate_items(state, tuple(items))


OBJECT_BUILTIN_RULES = {
    len: _len_rule, bool: _bool_rule, reversed: _reversed_rule, str: object_text("__str__"), repr: object_text("__repr__"),
    hash: object_text("__hash__"),
}
"""Rules tried before the builtin's own rule when the argument is an object of a Python class."""
registry.register_builtin_rules(OBJECT_BUILTIN_RULES, first=True)


_OBJECT_HASH = object.__dict__["__hash__"]
_OBJECT_EQ = object.__dict__["__eq__"]


def object_hash_key(state, vt):
    """The real key an object of a Python class is in a dict or set (vt/data/object_keys.py):
    hashed by identity when its class keeps object's `__hash__`, else by its Python `__hash__`,
    inlined; (state, key) or the stop (an unhashable class raises eager's TypeError)."""
    record = heap.current(state, vt)
    cls = record.cls
    found_hash = lookup(state, cls, "__hash__")[1]
    if found_hash is None or (is_vt(found_hash) and found_hash.constant_value() is None):
        return raise_error(TypeError, f"unhashable type: {cls.__name__!r}")
    found_eq = lookup(state, cls, "__eq__")[1]
    python_eq = found_eq is not _OBJECT_EQ
    if python_eq and python_hook(state, cls, "__eq__") is None:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{cls.__name__}.__eq__ is written in C; objects of it "
                           "as dict keys are not modelled")
    identity = vt.identity()
    if found_hash is _OBJECT_HASH:
        pinned = vt.pinned_object()
        if pinned is not NOT_CONSTANT:
            return state, ObjectKey(identity, hash(pinned), vt, True, python_eq)
        return state, ObjectKey(identity, hash(identity), vt, False, python_eq)
    if python_hook(state, cls, "__hash__") is None:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{cls.__name__}.__hash__ is written in C; objects of it "
                           "as dict keys are not modelled")
    out = call_dunder(state, vt, "__hash__", [])
    if type(out) is not tuple:
        return out
    state, result = out
    value = result.constant_value()
    if not isinstance(value, int):
        if isinstance(result, ConstantVariable):
            return raise_error(TypeError, "__hash__ method should return an integer")
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{cls.__name__}.__hash__ did not give an int known "
                           "while tracing")
    return state, ObjectKey(identity, value, vt, True, python_eq)


def equal_without_code(state, a, b):
    """`a == b` when it needs no Python code: objects whose class keeps object's __eq__ compare by
    identity; enum members (fixed, guarded by identity) compare as their real objects.  None if unknown."""
    import enum

    def plain(vt):
        return is_user_object(vt) and lookup(state, class_of(state, vt), "__eq__")[1] is object.__eq__

    def member(vt):
        return is_user_object(vt) and issubclass(class_of(state, vt), enum.Enum) and heap.current(state, vt).value is not None

    if plain(a) and plain(b):
        return a.oid == b.oid
    if member(a) and (member(b) or isinstance(b, ConstantVariable)):
        other = heap.current(state, b).value if member(b) else b.constant_value()
        return bool(heap.current(state, a).value == other)
    if member(b) and isinstance(a, ConstantVariable):
        return bool(heap.current(state, b).value == a.constant_value())
    return None


def run_init(state, cls_vt, obj, args, kwargs):
    """`cls.__init__(obj, *args, **kwargs)` on a new object: its Python __init__, or object's."""
    cls = cls_vt.cls
    init = python_hook(state, cls, "__init__")
    if init is None:
        if cls.__init__ is object.__init__:
            if args or kwargs:
                return unsupported(BreakKind.PYTHON_EXCEPTION, f"TypeError: {cls.__name__}() takes no arguments")
            return state, obj
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{cls_vt.describe()} has an __init__ written in C")
    out = call_hook(state, init, hook_source(state, cls, cls_vt.source, "__init__"), [obj, *args], kwargs)
    if type(out) is not tuple:
        return out
    state, result = out
    if result.constant_value() is not None:
        return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: __init__() should return None")
    return state, obj
