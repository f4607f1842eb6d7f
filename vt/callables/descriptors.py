"""`staticmethod`, `classmethod` and `property` objects the traced program makes (in the body of
a class defined inside the traced function, mostly as decorators).

They hold the functions they wrap as VTs, so they work whatever those functions are (a nested
`def` with closure cells, a function that existed before the call).  What they do as class
attributes is their descriptor protocol (`descriptor_get`, `descriptor_set`, vt/protocol.py):
the attribute lookup of objects and classes (vt/objects/object_attributes.py) asks them, as
CPython calls `__get__` / `__set__`.  Such objects live only inside the trace: returning one
breaks at RETURN_VALUE (the default `rebuild`).
"""
from __future__ import annotations

import attrs

from core.outcomes import BreakKind, raise_error, unsupported
from vt import registry
from vt.callables.functions import BoundMethodVariable
from vt.data.constant import ConstantVariable
from vt.protocol import DELETED, VariableTracker


@attrs.frozen(slots=True)
class StaticMethodVariable(VariableTracker):
    """`staticmethod(fn)`: read off a class or an object, the function itself."""

    function: VariableTracker

    always_true = True

    def runtime_type(self):
        return staticmethod

    def describe(self) -> str:
        return f"staticmethod of {self.function.describe()}"

    def references(self, state):
        return (self.function,)

    def rebuild(self, emitter):
        return emitter.construct(staticmethod, (self.function,))

    def descriptor_get(self, state, instance, owner):
        return state, self.function

    def getattr(self, state, name):
        if name in ("__func__", "__wrapped__"):
            return state, self.function
        return self.function.getattr(state, name)

    def call(self, state, args, kwargs):  # staticmethod objects are callable since 3.10
        return self.function.call(state, args, kwargs)


@attrs.frozen(slots=True)
class ClassMethodVariable(VariableTracker):
    """`classmethod(fn)`: read off a class or an object, the function bound to the class."""

    function: VariableTracker

    always_true = True

    def runtime_type(self):
        return classmethod

    def describe(self) -> str:
        return f"classmethod of {self.function.describe()}"

    def references(self, state):
        return (self.function,)

    def rebuild(self, emitter):
        return emitter.construct(classmethod, (self.function,))

    def descriptor_get(self, state, instance, owner):
        if owner is None:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"the class of {self.describe()} is not known here")
        return state, BoundMethodVariable(self.function, owner)

    def getattr(self, state, name):
        if name in ("__func__", "__wrapped__"):
            return state, self.function
        return self.function.getattr(state, name)


@attrs.frozen(slots=True)
class PropertyVariable(VariableTracker):
    """`property(fget, fset, fdel, doc)`; `name` is what the class statement bound it to (CPython's
    `__set_name__`), used in the AttributeError of a missing accessor."""

    fget: object = None  # VTs, or None when absent
    fset: object = None
    fdel: object = None
    doc: object = None
    name: str = attrs.field(default=None, eq=False)

    always_true = True

    def runtime_type(self):
        return property

    def describe(self) -> str:
        return f"property {self.name!r}" if self.name else "property"

    def references(self, state):
        return tuple(vt for vt in (self.fget, self.fset, self.fdel, self.doc) if vt is not None)

    def is_data_descriptor(self) -> bool:
        return True

    def rebuild(self, emitter):
        none = ConstantVariable(None)
        return emitter.construct(property, tuple(none if vt is None else vt
                                                 for vt in (self.fget, self.fset, self.fdel, self.doc)))

    def _missing(self, instance, what: str):
        owner = getattr(instance, "cls", None)
        where = f" of {owner.__name__!r} object" if owner is not None else ""
        return raise_error(AttributeError, f"property {self.name!r}{where} has no {what}")

    def descriptor_get(self, state, instance, owner):
        if instance is None:
            return state, self
        if self.fget is None:
            return self._missing(instance, "getter")
        return self.fget.call(state, [instance], {})

    def descriptor_set(self, state, instance, value):
        deleting = value is DELETED
        accessor = self.fdel if deleting else self.fset
        if accessor is None:
            return self._missing(instance, "deleter" if deleting else "setter")
        out = accessor.call(state, [instance] if deleting else [instance, value], {})
        return out if type(out) is not tuple else out[0]

    def getattr(self, state, name):
        if name in ("fget", "fset", "fdel"):
            value = getattr(self, name)
            return state, ConstantVariable(None) if value is None else value
        if name == "__doc__":
            if self.doc is None and self.fget is not None:
                return self.fget.getattr(state, "__doc__")
            return state, ConstantVariable(None) if self.doc is None else self.doc
        if name in ("getter", "setter", "deleter"):
            return state, PropertyCopyVariable(self, {"getter": "fget", "setter": "fset", "deleter": "fdel"}[name])
        return super().getattr(state, name)


@attrs.frozen(slots=True)
class PropertyCopyVariable(VariableTracker):
    """`prop.setter` (and `getter`, `deleter`): called with a function, a copy of the property with
    that accessor replaced."""

    prop: PropertyVariable
    field: str

    always_true = True

    def call(self, state, args, kwargs):
        if len(args) != 1 or kwargs:
            return raise_error(TypeError, f"{self.field[1:]}ter() takes exactly one argument")
        return state, attrs.evolve(self.prop, **{self.field: args[0]})


def _wrapper(kind):
    def rule(state, args, kwargs):
        if len(args) != 1 or kwargs:
            return None
        return state, kind(args[0])
    return rule


def _property(state, args, kwargs):
    names = ("fget", "fset", "fdel", "doc")
    if len(args) > 4 or set(kwargs) - set(names):
        return None
    given = dict(zip(names, args))
    for key, value in kwargs.items():
        if key in given:
            return raise_error(TypeError, f"argument for property() given by name ('{key}') and position")
        given[key] = value
    values = {key: (None if value.constant_value() is None else value) for key, value in given.items()}
    return state, PropertyVariable(**values)


registry.register_builtin_rules({staticmethod: _wrapper(StaticMethodVariable),
                                 classmethod: _wrapper(ClassMethodVariable), property: _property})
