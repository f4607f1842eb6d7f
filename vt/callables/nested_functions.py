"""Functions made while tracing (MAKE_FUNCTION: nested defs, lambdas), as objects.

A function is an object like any other: it has attributes (`f.calls = 0`,
`functools.update_wrapper` writing `__name__`, `__doc__`, `__wrapped__`,
`__dict__`), `__annotations__`, and an identity.  So a made function lives in
the heap: the handle on the stack carries its `oid` and the parts a call needs
(code, defaults, cells: fixed by MAKE_FUNCTION), and the heap record holds the
attributes the program wrote.  When it leaves the trace it is built once per
entry, with those attributes, and every reference to it is that one object.
"""
from __future__ import annotations

import types

import attrs

from core.outcomes import BreakKind, raise_error, unsupported
from effects import heap
from vt.callables.functions import BoundMethodVariable, FunctionParts, inline_call
from vt.data.constant import ConstantVariable
from vt.data.dicts import DictVariable, new_dict_from_entries
from vt.data.lists import TupleVariable
from vt.data.module_globals import GlobalsVariable
from vt.objects.attributes import with_written, written
from vt.protocol import DELETED, MISSING, VariableTracker

_READ_ONLY = ("__globals__", "__closure__", "__builtins__")
_NOT_MODELLED = ("__code__", "__defaults__", "__kwdefaults__", "__dict__", "__get__", "__call__")
"""Attributes whose writes are not modelled (reads of the first three are, as MAKE_FUNCTION fixed them)."""


@attrs.frozen(slots=True)
class NestedUserFunctionVariable(VariableTracker):
    """A function made by MAKE_FUNCTION while tracing (a lambda, a nested def, a comprehension):
    a heap handle; `attributes` ((name, VT) pairs, DELETED for a deleted one) are the attributes
    the program wrote, `annotations` the (name, VT) pairs MAKE_FUNCTION was given."""

    oid: int
    parts: FunctionParts = attrs.field(eq=False)
    attributes: tuple = attrs.field(default=(), eq=False)
    annotations: tuple = attrs.field(default=(), eq=False)

    always_true = True

    def runtime_type(self):
        return types.FunctionType

    def references(self, state):
        parts = self.parts
        current = heap.current(state, self)
        return (*parts.defaults, *(value for _, value in parts.kwdefaults), *parts.closure,
                *(value for _, value in current.attributes if value is not DELETED),
                *(value for _, value in current.annotations))

    def rebuild(self, emitter):
        if self.parts.globals is not emitter.state.env.globals:
            return unsupported(BreakKind.UNSUPPORTED_VALUE,
                               f"{self.describe()} was made in another module and cannot leave the trace yet")
        return emitter.function(self)

    def describe(self) -> str:
        return f"function {self.parts.code.co_qualname}"

    def call(self, state, args, kwargs):
        return inline_call(state, self.parts, args, kwargs)

    def descriptor_get(self, state, instance, owner):
        return state, (self if instance is None else BoundMethodVariable(self, instance))

    # -- attributes --------------------------------------------------------------------------------
    def getattr(self, state, name):
        current = heap.current(state, self)
        value = written(current.attributes, name)
        if value is DELETED:
            return _missing(name)
        if value is not MISSING:
            return state, value
        code = self.parts.code
        if name == "__name__":
            return state, ConstantVariable(code.co_name)
        if name == "__qualname__":
            return state, ConstantVariable(code.co_qualname)
        if name == "__module__":
            return state, ConstantVariable(self.parts.globals.get("__name__"))
        if name == "__doc__":
            first = code.co_consts[0] if code.co_consts else None
            return state, ConstantVariable(first if isinstance(first, str) else None)
        if name == "__code__":
            return state, ConstantVariable(code)
        if name in ("__defaults__", "__closure__"):  # what MAKE_FUNCTION fixed
            values = self.parts.defaults if name == "__defaults__" else self.parts.closure
            return state, TupleVariable(tuple(values)) if values else ConstantVariable(None)
        if name == "__kwdefaults__" and not self.parts.kwdefaults:
            return state, ConstantVariable(None)
        if name == "__globals__":
            return state, GlobalsVariable(self.parts.globals, self.parts.globals_source)
        if name == "__annotations__":  # made on first read, then the same dict every time
            state, annotations = new_dict_from_entries(state, current.annotations)
            record = attrs.evolve(heap.current(state, self), attributes=with_written(
                current.attributes, name, annotations))
            return heap.update_object(state, record), annotations
        if name in _NOT_MODELLED or name in _READ_ONLY:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{name} of {self.describe()} is not modelled")
        if hasattr(types.FunctionType, name):  # the rest of what every function has
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{name} of {self.describe()} is not modelled")
        return _missing(name)

    def setattr(self, state, name, value):
        if name in _READ_ONLY:
            return raise_error(AttributeError, "readonly attribute")
        if name in _NOT_MODELLED:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                               f"writing {name} of {self.describe()} is not modelled")
        current = heap.current(state, self)
        if value is DELETED:
            if name in ("__name__", "__qualname__", "__doc__", "__module__", "__annotations__"):
                return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                                   f"deleting {name} of {self.describe()} is not modelled")
            if written(current.attributes, name) in (MISSING, DELETED):
                return _missing(name)
        elif name in ("__name__", "__qualname__") and not isinstance(value.constant_value(), str):
            kind = "qualname" if name == "__qualname__" else "name"
            return raise_error(TypeError, f"__{kind}__ must be set to a string object")
        elif name == "__annotations__" and not isinstance(value, DictVariable) \
                and value.constant_value() is not None:
            return raise_error(TypeError, "__annotations__ must be set to a dict object")
        record = attrs.evolve(current, attributes=with_written(current.attributes, name, value))
        return heap.update_object(state, record)

    def attribute_items(self, state) -> tuple:
        """The attributes a `__dict__` of the function holds: (name, VT) pairs written and not deleted,
        except the ones kept outside `__dict__`."""
        return tuple((name, value) for name, value in heap.current(state, self).attributes
                     if value is not DELETED and name not in _OUTSIDE_DICT)


_OUTSIDE_DICT = ("__name__", "__qualname__", "__doc__", "__module__", "__annotations__")


def _missing(name: str):
    return raise_error(AttributeError, f"'function' object has no attribute {name!r}")


def make_function(state, parts: FunctionParts, annotations: tuple):
    """MAKE_FUNCTION: (state, handle) of a new function object."""
    return heap.allocate(state, lambda oid: NestedUserFunctionVariable(oid, parts, (), tuple(annotations)))


def annotation_pairs(state, value) -> tuple:
    """The (name, VT) pairs of MAKE_FUNCTION's annotations tuple ('a', int, 'return', str, ...)."""
    items = value.unpack(state, None) or ()
    return tuple((items[k].constant_value(), items[k + 1]) for k in range(0, len(items) - 1, 2))
