"""UserDefinedClassVariable: a class written in Python, used as a value.

A class is a mutable object too (`Cls.count += 1`), so it lives in the heap
like the objects of the class: one record per real class, holding the class
attributes the program wrote (replayed with setattr after the graph runs).
Calling it creates an object inside the trace when CPython's own `__new__` and
the metaclass `type` would: a new heap record, then the class's Python
`__init__` inlined on it.
"""
from __future__ import annotations

import enum
import types

import attrs

from effects import heap
from vt import registry
from vt.callables.builtin import BuiltinVariable
from vt.callables.classes import ClassVariable
from vt.objects.dict_subclass import create_dict_subclass_object, is_dict_subclass
from vt.objects.list_subclass import create_list_subclass_object, is_list_subclass
from vt.callables.functions import UserMethodVariable, lookup_class_attribute
from vt.objects.object_protocol import run_init
from vt.data.operators import compare_classes
from vt.objects.object_attributes import _has_live_attribute, is_vt, lookup
from vt.objects.attributes import store_raw
from vt.protocol import DELETED, MISSING, VariableTracker, is_python_class
from core.outcomes import BreakKind, raise_error, unsupported
from core.sources import AttrSource
from vt.registry import wrap_value
from vt.objects.user_objects import FrozenDataClassVariable, UserDefinedObjectVariable, attribute_values


@attrs.frozen(slots=True)
class UserDefinedClassVariable(VariableTracker):
    """A handle on a Python class in the heap; `attributes` are class attributes written so far."""

    oid: int
    cls: type = attrs.field(eq=False)
    source: object = attrs.field(default=None, eq=False)
    attributes: tuple = attrs.field(default=(), eq=False)

    always_true = True
    made_by_trace = False  # a class statement inside the traced function (vt/objects/local_classes.py)

    def fixed_object(self):
        return self.cls

    def references(self, state):
        return attribute_values(heap.current(state, self))

    def replay_changes(self, emitter):
        return emitter.set_attributes(self, is_class=True)

    @property
    def value(self):
        return self.cls

    def describe(self) -> str:
        return f"class {self.cls.__qualname__}"

    def as_class(self):
        return self.cls

    def getattr(self, state, name):
        _, found = lookup(state, self.cls, name)
        if is_vt(found):  # written by the program: its own __get__, read off the class
            return found.descriptor_get(state, None, self)
        if isinstance(found, classmethod) and type(found.__func__) is types.FunctionType:
            return state, UserMethodVariable(found.__func__, self, AttrSource(AttrSource(self.source, name), "__func__"))
        if found is MISSING and not hasattr(type(self.cls), name):
            return raise_error(AttributeError, f"type object {self.cls.__name__!r} has no attribute {name!r}")
        if isinstance(found, property) or (found is MISSING and name in ("__dict__",)):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{self.describe()}.{name} is not modelled")
        descriptor = found if found is not MISSING else lookup_class_attribute(type(self.cls), name)
        if isinstance(getattr(type(descriptor), "__get__", None), types.FunctionType):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{self.describe()}.{name} is a "
                               f"{type(descriptor).__name__}, a descriptor written in Python, which is not traced here")
        return wrap_value(state, getattr(self.cls, name), AttrSource(self.source, name))

    def setattr(self, state, name, value):
        if type(type(self.cls)) is not type or type(self.cls).__setattr__ is not type.__setattr__:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{self.describe()} has a metaclass with its own "
                               "__setattr__, which is not traced yet")
        if value is DELETED and not _has_live_attribute(heap.current(state, self), name):
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"AttributeError: {name}")
        return store_raw(state, self, name, value)

    def call(self, state, args, kwargs):
        return create_object(state, self, list(args), dict(kwargs))


_PLAIN_TORCH_MODULES = ("torch.utils._pytree",)
"""torch modules whose classes are plain Python records (pytree's `TreeSpec`, `LeafSpec`)."""


def is_user_class(value) -> bool:
    """A class defined in Python that the heap models: not a tuple subclass (named tuples), enum,
    exception, torch or contextlib class (vt/contexts.py models those), with the plain metaclass `type`."""
    module = getattr(value, "__module__", "") or ""
    return isinstance(value, type) and type(value).__call__ is type.__call__ and is_python_class(value) \
        and not issubclass(value, (tuple, enum.Enum, BaseException)) \
        and (not module.startswith(("torch", "contextlib")) or module in _PLAIN_TORCH_MODULES)


def wrap_user_class(state, value, source):
    return heap.existing_object(state, value, lambda state, oid: (state, UserDefinedClassVariable(oid, value, source)))


def object_kind(cls):
    """The VT class for objects of `cls`."""
    import dataclasses


    params = getattr(cls, "__dataclass_params__", None)
    if dataclasses.is_dataclass(cls) and params is not None and params.frozen:
        return FrozenDataClassVariable
    return UserDefinedObjectVariable


def create_object(state, cls_vt, args, kwargs):
    """`Cls(*args, **kwargs)` for a class whose instances start as object.__new__ makes them:
    a new heap object, then `__init__` inlined on it (which must return None)."""
    cls = cls_vt.cls
    if getattr(cls, "__del__", None) is not None:  # its finalizer runs when eager drops the object
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"objects of {cls_vt.describe()}, which has __del__, are "
                           "not traced: __del__ runs when eager drops them")
    if getattr(cls, "__abstractmethods__", None):
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"TypeError: can't instantiate abstract class {cls.__name__}")
    if cls.__new__ is not object.__new__:
        if is_dict_subclass(cls):
            return create_dict_subclass_object(state, cls_vt, args, kwargs)
        if is_list_subclass(cls):
            return create_list_subclass_object(state, cls_vt, args, kwargs)
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{cls_vt.describe()} has its own __new__, which is not "
                           "traced yet")
    if cls_vt.source is None and not cls_vt.made_by_trace:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{cls_vt.describe()} was reached without a source")
    kind = object_kind(cls)
    state, obj = heap.allocate(state, lambda oid: kind(oid, cls, None, None, (), cls_vt.source))
    return run_init(state, cls_vt, obj, args, kwargs)


def _register_class_comparisons():
    for other in (UserDefinedClassVariable, ClassVariable, BuiltinVariable):
        registry.add_binary_rule(UserDefinedClassVariable, other, compare_classes)
        if other is not UserDefinedClassVariable:
            registry.add_binary_rule(other, UserDefinedClassVariable, compare_classes)


_register_class_comparisons()
