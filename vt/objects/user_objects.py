"""Objects of the user's own classes and torch.nn.Module trees, read-only.

An object that existed before the call is guarded by identity, and every
attribute the trace reads is wrapped through its own source (`m.weight`,
`m.layer1`, `obj.scale`), so it gets its own guard: parameters and buffers
become graph inputs, plain attributes become guarded constants, submodules
become modules again.  Methods and properties written in Python are inlined
with the object as `self`; calling a module inlines its class's `forward`.
Objects of Python classes are heap handles (UserDefinedObjectVariable): attribute
reads and writes go through vt/object_attributes.py, operators and builtins
through vt/object_protocol.py.
"""
from __future__ import annotations

import types

import attrs
import torch

from core.guards import NotInInstanceDict
from effects import heap
from vt import registry
from vt.data.operators import no_binary_rule
from vt.data.constant import ConstantVariable
from vt.callables.exceptions import ExceptionSuperVariable, ExceptionVariable
from vt.callables.functions import CellVariable, UserMethodVariable, call_function_from, lookup_class_attribute
from vt.objects.getattr_variable import builtin_method
from vt.callables.lazy import realize_if_lazy
from vt.objects.object_attributes import (attribute_source, call_hook, class_hook, class_record, class_source_of,
    class_vt_of, hook_source, instance_dict, is_vt, lookup, own_attribute, python_method, read_attribute,
    write_attribute)
from vt.objects.object_operators import binary_object_operation, own_less_than, unary_object_operation
from vt.objects.object_protocol import (call_dunder, call_dunder_discard, contains_object, equal_without_code,
    iterate_object, object_getitem, object_hash_key, object_truth)
from vt.protocol import DELETED, MISSING, NOT_CONSTANT, VariableTracker
from core.outcomes import BreakKind, Unsupported, unsupported, raise_error
from core.sources import AttrSource, ItemSource
from vt.registry import wrap_value



def _method_source(obj_source, name: str):
    return AttrSource(AttrSource(obj_source, "__class__"), name)


def attribute_values(record) -> list:
    """The live attribute values a heap object or class was given, plus a dict or list subclass's items."""
    values = [value for _, value in record.attributes if value is not DELETED]
    values.extend(value for _, value in getattr(record, "entries", None) or ())
    values.extend(getattr(record, "items", None) or ())  # a list subclass's list part
    return values


def _read_attribute(state, vt, obj, name: str):
    """obj.name for a Python-level object `obj` (VT `vt`), CPython's lookup order."""
    cls = type(obj)
    if name == "__class__":
        return wrap_value(state, cls, AttrSource(vt.source, "__class__"))
    found = lookup_class_attribute(cls, name)
    if isinstance(found, property):
        if found.fget is None:
            return raise_error(AttributeError, f"property {name!r} has no getter")
        return call_function_from(state, found.fget, AttrSource(_method_source(vt.source, name), "fget"), [vt], {})
    own = instance_dict(obj) or {}
    if found is MISSING or not hasattr(found, "__get__") or isinstance(found, (staticmethod, classmethod)) \
            or type(found) is types.FunctionType:
        if name in own:
            return wrap_value(state, own[name], AttrSource(vt.source, name))
        if vt.source is not None and vt.source.made_per_call():
            state = state.add_guard(NotInInstanceDict(vt.source, name))
    if type(found) is types.FunctionType:
        return state, UserMethodVariable(found, vt, _method_source(vt.source, name))
    if isinstance(found, staticmethod):
        return wrap_value(state, found.__func__, _method_source(vt.source, name))
    if found is not MISSING and not hasattr(found, "__get__"):
        return wrap_value(state, found, _method_source(vt.source, name))
    if found is MISSING and type(lookup_class_attribute(cls, "__getattr__")) is types.FunctionType:
        return call_function_from(state, lookup_class_attribute(cls, "__getattr__"), _method_source(vt.source, "__getattr__"),
                              [vt, ConstantVariable(name)], {})
    if found is MISSING:
        return raise_error(AttributeError, f"{cls.__name__!r} object has no attribute {name!r}")
    return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                       f"attribute {name!r} of a {cls.__name__} is a {type(found).__name__} descriptor, "
                       "which is not traced yet")


@attrs.frozen(slots=True)
class PythonObjectRecord(VariableTracker):
    """What every heap record of an object of a Python class shares, whatever else it models: its
    class is its run-time type, operators and builtins run the class's dunders, and it leaves the
    trace as `cls.__new__(cls)` plus its attributes (or, if it existed before, by replaying them)."""

    dunder_dispatch = True

    def pinned_object(self):
        """An object that existed before the call and is guarded by identity."""
        if self.source is None or self.source.made_per_call() or self.value is None:
            return NOT_CONSTANT
        return self.value

    def getitem(self, state, index):
        return object_getitem(state, self, index)

    def bool_value(self, state):
        return object_truth(state, self)

    def known_equality(self, state, other):
        return equal_without_code(state, self, other)

    def hash_key(self, state):
        return object_hash_key(state, self)

    def own_less_than(self, state, other):
        return own_less_than(state, self, other)

    def runtime_type(self):
        return self.cls  # guarded by the object's identity, or made in the trace

    def references(self, state):
        return attribute_values(heap.current(state, self))

    def rebuild(self, emitter):
        record = class_record(emitter.state, self.cls)
        if self.source is None and getattr(record, "made_by_trace", False):
            return emitter.instance(self, record)  # of a class the traced function defines: made again first
        return emitter.instance(self)

    def replay_changes(self, emitter):
        return emitter.set_attributes(self, is_class=False)


@attrs.frozen(slots=True)
class UserDefinedObjectVariable(PythonObjectRecord):
    """A handle on an object of a Python class in the heap.

    `value` is the real object when it existed before the call (guarded by identity,
    `source` says where it came from), None when the traced code created it.
    `attributes` are the attributes the program wrote so far, in first-write order
    (see vt/object_attributes.py); `cls_source` reaches the class of a created object.
    """

    oid: int
    cls: type = attrs.field(eq=False)
    value: object = attrs.field(default=None, eq=False)
    source: object = attrs.field(default=None, eq=False)
    attributes: tuple = attrs.field(default=(), eq=False)
    cls_source: object = attrs.field(default=None, eq=False)

    def describe(self) -> str:
        return f"{self.cls.__name__} object"

    # -- as a class attribute: an object of a descriptor class (its Python __get__ / __set__ / __delete__)
    def descriptor_get(self, state, instance, owner):
        if not hasattr(self.cls, "__get__"):
            return state, self
        getter = class_hook(state, self.cls, "__get__")
        if getter is None or type(getter) is Unsupported:
            return getter or unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{self.describe()} as a class attribute: "
                                         "its __get__ is written in C, which is not traced")
        if owner is None:  # read through `instance`: its class is the owner
            if not getattr(instance, "dunder_dispatch", False):
                return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{self.describe()} read as a class attribute "
                                   f"through {instance.describe()} is not traced")
            out = class_vt_of(state, heap.current(state, instance))
            if type(out) is not tuple:
                return out
            state, owner = out
        arguments = [self, ConstantVariable(None) if instance is None else instance, owner]
        return call_hook(state, getter, self._hook_source(state, "__get__"), arguments)

    def is_data_descriptor(self) -> bool:
        return hasattr(self.cls, "__set__") or hasattr(self.cls, "__delete__")

    def descriptor_set(self, state, instance, value):
        name = "__delete__" if value is DELETED else "__set__"
        hook = class_hook(state, self.cls, name)
        if hook is None or type(hook) is Unsupported:
            return hook or unsupported(BreakKind.UNSUPPORTED_OPERATION, f"writing through {self.describe()}, whose "
                                       f"{name} is written in C or missing, is not traced")
        out = call_hook(state, hook, self._hook_source(state, name), [self, instance] + ([] if value is DELETED
                                                                                         else [value]))
        return out[0] if type(out) is tuple else out

    def _hook_source(self, state, name):
        return hook_source(state, self.cls, class_source_of(heap.current(state, self)), name)

    def getattr(self, state, name):
        return read_attribute(state, self, name)

    def setattr(self, state, name, value):
        return write_attribute(state, self, name, value)

    def call(self, state, args, kwargs):
        return call_dunder(state, self, "__call__", list(args), kwargs, f"'{self.type_name()}' object is not callable")

    def truth(self, state):
        if all(lookup(state, self.cls, name)[1] is MISSING for name in ("__bool__", "__len__")):
            return True
        return super().truth(state)

    def iterate(self, state):
        return iterate_object(state, self)

    def contains(self, state, item):
        return contains_object(state, self, item)

    def store_item(self, state, key, value):
        return call_dunder_discard(state, self, "__setitem__", [key, value], "does not support item assignment")

    def delete_item(self, state, key):
        return call_dunder_discard(state, self, "__delitem__", [key], "does not support item deletion")


UserObjectVariable = UserDefinedObjectVariable
"""The older name of UserDefinedObjectVariable."""


@attrs.frozen(slots=True)
class FrozenDataClassVariable(UserDefinedObjectVariable):
    """An object of a frozen dataclass: its generated `__setattr__` raises FrozenInstanceError, which
    the trace reports as such; the generated `__init__` writes through `object.__setattr__`."""

    def describe(self) -> str:
        return f"frozen dataclass {self.cls.__name__} object"

    def setattr(self, state, name, value):
        hook = python_method(self.cls, "__delattr__" if _is_deleted(value) else "__setattr__")
        if hook is not None and hook.__code__.co_qualname.startswith("__create_fn__"):  # dataclasses' own guard
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"dataclasses.FrozenInstanceError: cannot "
                               f"{'delete' if _is_deleted(value) else 'assign to'} field {name!r}")
        return super().setattr(state, name, value)


def _is_deleted(value) -> bool:
    return value is DELETED


def wrap_user_object(state, value, source):
    """The heap handle for a pre-existing object of a Python class, one per real object."""
    import dataclasses

    params = getattr(type(value), "__dataclass_params__", None)
    kind = FrozenDataClassVariable if dataclasses.is_dataclass(value) and params is not None and params.frozen \
        else UserDefinedObjectVariable
    return heap.existing_object(state, value, lambda state, oid: (state, kind(oid, type(value), value, source)))


def _is_module(vt) -> bool:
    """An nn.Module object, passed in or made by the trace."""
    kind = vt.runtime_type()
    return isinstance(kind, type) and issubclass(kind, torch.nn.Module)


def _receiver_class_source(state, vt):
    if vt.dunder_dispatch:
        return class_source_of(heap.current(state, vt))
    return None if vt.source is None else AttrSource(vt.source, "__class__")


def _receiver_class(state, vt):
    if vt.dunder_dispatch:
        return heap.current(state, vt).cls
    return vt.runtime_type() if _is_module(vt) else None


_C_METHOD_TYPES = (types.WrapperDescriptorType, types.MethodDescriptorType, types.BuiltinFunctionType,
                   types.MethodWrapperType, types.ClassMethodDescriptorType)


@attrs.frozen(slots=True)
class SuperVariable(VariableTracker):
    """`super()` or `super(C, obj)`: attribute lookup on obj's MRO after C."""

    cls: type
    receiver: object

    always_true = True

    def describe(self) -> str:
        return f"super({self.cls.__name__})"

    def getattr(self, state, name):
        cls = _receiver_class(state, self.receiver)
        mro = cls.__mro__
        if self.cls not in mro:
            return raise_error(TypeError, "super(type, obj): obj must be an instance "
                                                           "or subtype of type")
        for position in range(mro.index(self.cls) + 1, len(mro)):
            found = own_attribute(state, mro[position], name)
            if found is MISSING:
                continue
            if is_vt(found):  # a class the trace made (or wrote to): the attribute's own __get__
                return self._vt_get(state, found)
            if type(found) in _C_METHOD_TYPES:  # `super().__getattribute__` is often `object`'s: no source
                method = builtin_method(state, self.receiver, found, name)
                if method is not None:
                    return method
            class_source = _receiver_class_source(state, self.receiver)
            source = AttrSource(ItemSource(AttrSource(class_source, "__mro__"), position), name) \
                if class_source is not None else attribute_source(state, cls, None, mro[position], name)
            if type(found) is types.FunctionType:
                return state, UserMethodVariable(found, self.receiver, source)
            if isinstance(found, staticmethod):
                return wrap_value(state, found.__func__, source)
            if not hasattr(found, "__get__"):
                return wrap_value(state, found, source)
            method = builtin_method(state, self.receiver, found, name)
            if method is not None:
                return method
            return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                               f"super().{name} is a {type(found).__name__}, which is not traced yet")
        return raise_error(AttributeError, f"'super' object has no attribute {name!r}")

    def _vt_get(self, state, found):
        owner = None
        if found.runtime_type() is classmethod:
            if not self.receiver.dunder_dispatch:
                return unsupported(BreakKind.UNSUPPORTED_OPERATION, "super() of a classmethod here is not traced")
            out = class_vt_of(state, heap.current(state, self.receiver))
            if type(out) is not tuple:
                return out
            state, owner = out
        return found.descriptor_get(state, self.receiver, owner)


def make_super(state, args, kwargs):
    """super() inside an inlined method (the `__class__` cell and the first argument), or super(C, obj)."""
    if kwargs or len(args) not in (0, 2):
        return None
    if args:
        cls_vt, receiver = args
        cls = cls_vt.as_class() if hasattr(cls_vt, "as_class") else None
    else:
        frame = state.frame
        names = frame.code.localsplus
        if "__class__" not in frame.code.code.co_freevars or not frame.code.code.co_argcount:
            return raise_error(RuntimeError, "super(): no arguments")
        cell = heap.current(state, frame.locals[len(names) - 1 - names[::-1].index("__class__")])
        out = realize_if_lazy(state, cell.contents)
        if type(out) is not tuple:
            return out
        state, cls_vt = out
        cls = cls_vt.as_class() if hasattr(cls_vt, "as_class") else None
        receiver = frame.locals[0]
        if receiver is not None and isinstance(receiver, CellVariable):
            receiver = heap.current(state, receiver).contents
    if cls is not None and receiver is not None and isinstance(receiver, ExceptionVariable):
        return state, ExceptionSuperVariable(cls, receiver)
    if cls is None or receiver is None or not (receiver.dunder_dispatch or _is_module(receiver)):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "super() is traced for objects of your classes and "
                                                       "nn.Modules only")
    return state, SuperVariable(cls, receiver)


def _object_operation(state, fn, a, b, symbol, plain):
    """`a <op> b` with an object of a Python class on either side: its dunders, else no rule."""
    out = binary_object_operation(state, fn, a, b, symbol, plain)
    return out if out is not None else no_binary_rule(state, fn, a, b, symbol, plain)


def _object_unary(state, opname, value):
    return unary_object_operation(state, opname, value)


def register_object_operators(cls) -> None:
    """Operators on objects of `cls` (and with them on either side) run the object's Python dunders."""
    registry.add_binary_rule(cls, VariableTracker, _object_operation)
    registry.add_binary_rule(VariableTracker, cls, _object_operation)
    registry.unary_rule(cls)(_object_unary)


register_object_operators(PythonObjectRecord)

registry.add_builtin_rule(super, make_super)
