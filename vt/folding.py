"""Calling functions on values known while tracing: builtin rules, and folding pure functions.

`call_builtin` is what calling a builtin or library function means: a rule for
its class family (exception classes), then its registered rules in order, then,
for a pure function, folding.  `call_constant_fn` folds: when every argument is
plain data known while tracing (constants, and tuples, lists, dicts, sets of
them), the real function runs on fresh copies of the arguments
(`VariableTracker.as_python`) and its result comes back as VTs
(`registry.from_python`, new lists, dicts and sets becoming new heap objects).
An exception it raises is the traced program's exception.
"""
from __future__ import annotations

import inspect

from core.outcomes import BreakKind, raise_error, raised, unsupported
from vt import registry
from vt.protocol import NOT_CONSTANT, real_value


def call_builtin(state, fn, args, kwargs, source=None):
    """Calling the builtin or library function `fn`: a rule for its class family (exception
    classes), its registered rules in order, then folding when it is pure and every argument is
    known, else a limit."""
    class_rule = registry.class_rule_for(fn)
    if class_rule is not None:
        return class_rule(state, fn, source, args, kwargs)
    for rule in registry.builtin_rules(fn):
        out = rule(state, args, kwargs)
        if out is not None:
            return out
    if registry.is_pure(fn):
        return call_constant_fn(state, fn, f"{fn.__name__}()", args, kwargs)
    name = getattr(fn, "__name__", None) or repr(fn)
    return unsupported(BreakKind.UNSUPPORTED_CALL, f"builtin {name}() is not modelled",
                       "move this call out of the traced function")


def call_constant_fn(state, fn, what, args, kwargs):
    """Call a pure function at trace time on arguments that are plain data known while tracing
    (constants, and tuples, lists, dicts, sets of them); the result comes back as VTs."""
    if args and _joins(fn) and args[0].as_python(state) is NOT_CONSTANT:
        out = call_builtin(state, list, [args[0]], {})  # join reads any iterable once, in order: its items
        if type(out) is not tuple:
            return out
        state, listed = out
        args = (listed, *args[1:])
    values = [real_argument(state, arg) for arg in args]  # fixed objects (classes, ...) pass as themselves
    kw_values = {key: real_argument(state, arg) for key, arg in kwargs.items()}
    if any(v is NOT_CONSTANT for v in values) or any(v is NOT_CONSTANT for v in kw_values.values()):
        return unsupported(BreakKind.UNSUPPORTED_CALL,
                           f"{what} with arguments ({', '.join(a.describe() for a in args)}) is not modelled")
    try:
        result = fn(*values, **kw_values)
    except Exception as exc:  # the traced program raises this; the eager run will too
        return raised(exc)
    out = registry.from_python(state, result)
    if out is None:
        return unsupported(BreakKind.UNSUPPORTED_VALUE,
                           f"{what} returned a {type(result).__name__}, which is not modelled")
    return out


def real_argument(state, vt):
    """The real value a folded call receives for `vt`: plain data as a fresh copy, fixed objects as
    themselves, and tuples of either (`dict[str, int]`'s `(str, int)`); else NOT_CONSTANT."""
    value = real_value(state, vt)
    if value is NOT_CONSTANT and vt.comparison_kind() == "tuple":
        items = vt.unpack(state, None)
        if items is not None and vt.runtime_type() is tuple:
            value = tuple(real_argument(state, item) for item in items)
            return NOT_CONSTANT if NOT_CONSTANT in value else value
    return value


def class_subscript(state, cls, index):
    """`cls[index]` for a class with `__class_getitem__` (`list[int]`, `dict[str, int]`): the alias,
    computed while tracing (it is a fixed value), or None when that does not apply."""
    key = real_argument(state, index)
    if not isinstance(cls, type) or key is NOT_CONSTANT or not hasattr(cls, "__class_getitem__"):
        return None
    try:
        result = cls[key]
    except Exception as exc:  # the program raises the same
        return raised(exc)
    return registry.from_python(state, result)


def _joins(fn) -> bool:
    """`sep.join` of a str or bytes constant, whose argument may be any iterable."""
    return getattr(fn, "__name__", None) == "join" and type(getattr(fn, "__self__", None)) in (str, bytes)


# -- arguments of builtin rules ---------------------------------------------------------------------

def bind(stub, args, kwargs, what):
    """The arguments by parameter name (absent ones None), or the TypeError CPython would raise."""
    try:
        bound = inspect.signature(stub).bind(*args, **kwargs)
    except TypeError as exc:
        return raise_error(TypeError, f"{what}: {exc}")
    bound.apply_defaults()
    return bound.arguments


def given(value):
    """None for an argument left out or passed as None, else the VT."""
    if value is None or value.constant_value() is None:
        return None
    return value
