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

from effects import heap
from vt import nn_modules
from vt import registry
from vt.exceptions import ExceptionVariable
from vt.functions import CellVariable
from vt.protocol import DELETED, MISSING, VariableTracker
from core.outcomes import BreakKind, unsupported, raise_error
from core.sources import AttrSource, ItemSource
from vt.tensor import TensorVariable



def _class_attribute(cls, name: str):
    """The first definition of `name` along the class's MRO, without running descriptors."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return MISSING


def class_attribute(cls, name: str):
    """`_class_attribute`, with None for a missing name."""
    found = _class_attribute(cls, name)
    return None if found is MISSING else found


def _method_source(obj_source, name: str):
    return AttrSource(AttrSource(obj_source, "__class__"), name)


def _call_function(state, fn, source, args, kwargs):
    """Inline a Python function read from a class, guarded by identity through `source`."""
    from vt.registry import wrap_value

    out = wrap_value(state, fn, source)
    if type(out) is not tuple:
        return out
    state, fn_vt = out
    return fn_vt.call(state, list(args), dict(kwargs))


def attribute_values(record) -> list:
    """The live attribute values a heap object or class was given, plus a dict subclass's items."""
    values = [value for _, value in record.attributes if value is not DELETED]
    values.extend(value for _, value in getattr(record, "entries", None) or ())
    return values


@attrs.frozen(slots=True)
class UserMethodVariable(VariableTracker):
    """A Python function bound to an object: calling it inlines the function with `self` first."""

    fn: types.FunctionType
    receiver: object
    source: object = attrs.field(default=None, eq=False)  # where the function itself is read from

    always_true = True

    def rebuild(self, emitter):
        if self.receiver is not None:  # obj.method, bound again
            return emitter.bound_method(self.receiver, self.fn.__name__)
        return super().rebuild(emitter)

    def describe(self) -> str:
        return f"method {self.fn.__qualname__}"

    def call(self, state, args, kwargs):
        return _call_function(state, self.fn, self.source, [self.receiver, *args], kwargs)


def _read_attribute(state, vt, obj, name: str):
    """obj.name for a Python-level object `obj` (VT `vt`), CPython's lookup order."""
    from vt.registry import wrap_value

    cls = type(obj)
    if name == "__class__":
        return wrap_value(state, cls, AttrSource(vt.source, "__class__"))
    found = _class_attribute(cls, name)
    if isinstance(found, property):
        if found.fget is None:
            return raise_error(AttributeError, f"property {name!r} has no getter")
        return _call_function(state, found.fget, AttrSource(_method_source(vt.source, name), "fget"), [vt], {})
    instance_dict = getattr(obj, "__dict__", {})
    if found is MISSING or not hasattr(found, "__get__") or isinstance(found, (staticmethod, classmethod)) \
            or type(found) is types.FunctionType:
        if name in instance_dict:
            return wrap_value(state, instance_dict[name], AttrSource(vt.source, name))
    if type(found) is types.FunctionType:
        return state, UserMethodVariable(found, vt, _method_source(vt.source, name))
    if isinstance(found, staticmethod):
        return wrap_value(state, found.__func__, _method_source(vt.source, name))
    if found is not MISSING and not hasattr(found, "__get__"):
        return wrap_value(state, found, _method_source(vt.source, name))
    if found is MISSING and type(_class_attribute(cls, "__getattr__")) is types.FunctionType:
        from vt.constant import ConstantVariable

        return _call_function(state, _class_attribute(cls, "__getattr__"), _method_source(vt.source, "__getattr__"),
                              [vt, ConstantVariable(name)], {})
    if found is MISSING:
        return raise_error(AttributeError, f"{cls.__name__!r} object has no attribute {name!r}")
    return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                       f"attribute {name!r} of a {cls.__name__} is a {type(found).__name__} descriptor, "
                       "which is not traced yet")


@attrs.frozen(slots=True)
class UserDefinedObjectVariable(VariableTracker):
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

    dunder_dispatch = True

    def getitem(self, state, index):
        from vt.object_protocol import object_getitem

        return object_getitem(state, self, index)

    def bool_value(self, state):
        from vt.object_protocol import object_truth

        return object_truth(state, self)

    def known_equality(self, state, other):
        from vt.object_protocol import equal_without_code

        return equal_without_code(state, self, other)

    def runtime_type(self):
        return self.cls  # guarded by the object's identity, or made in the trace

    def references(self, state):
        return attribute_values(heap.current(state, self))

    def rebuild(self, emitter):
        return emitter.instance(self)

    def replay_changes(self, emitter):
        return emitter.set_attributes(self, is_class=False)

    def describe(self) -> str:
        return f"{self.cls.__name__} object"

    def getattr(self, state, name):
        from vt.object_attributes import read_attribute

        return read_attribute(state, self, name)

    def setattr(self, state, name, value):
        from vt.object_attributes import write_attribute

        return write_attribute(state, self, name, value)

    def call(self, state, args, kwargs):
        from vt.object_protocol import call_dunder

        return call_dunder(state, self, "__call__", list(args), kwargs, f"{self.describe()} is not callable")

    def truth(self, state):
        from vt.protocol import MISSING
        from vt.object_attributes import lookup

        if all(lookup(state, self.cls, name)[1] is MISSING for name in ("__bool__", "__len__")):
            return True
        return super().truth(state)

    def iterate(self, state):
        from vt.object_protocol import iterate_object

        return iterate_object(state, self)

    def contains(self, state, item):
        from vt.object_protocol import contains_object

        return contains_object(state, self, item)

    def store_item(self, state, key, value):
        from vt.object_protocol import call_dunder_discard

        return call_dunder_discard(state, self, "__setitem__", [key, value], "does not support item assignment")

    def delete_item(self, state, key):
        from vt.object_protocol import call_dunder_discard

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
        from vt.object_attributes import python_method

        hook = python_method(self.cls, "__delattr__" if _is_deleted(value) else "__setattr__")
        if hook is not None and hook.__code__.co_qualname.startswith("__create_fn__"):  # dataclasses' own guard
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"dataclasses.FrozenInstanceError: cannot "
                               f"{'delete' if _is_deleted(value) else 'assign to'} field {name!r}")
        return super().setattr(state, name, value)


def _is_deleted(value) -> bool:
    from vt.protocol import DELETED

    return value is DELETED


def wrap_user_object(state, value, source):
    """The heap handle for a pre-existing object of a Python class, one per real object."""
    import dataclasses

    if isinstance(value, dict):
        from vt.dict_subclass import is_dict_subclass, wrap_dict_subclass_object

        if is_dict_subclass(type(value)):
            return wrap_dict_subclass_object(state, value, source)
    params = getattr(type(value), "__dataclass_params__", None)
    kind = FrozenDataClassVariable if dataclasses.is_dataclass(value) and params is not None and params.frozen \
        else UserDefinedObjectVariable
    return heap.existing_object(state, value, lambda state, oid: (state, kind(oid, type(value), value, source)))


@attrs.frozen(slots=True)
class NNModuleVariable(VariableTracker):
    """A torch.nn.Module that existed before the call; calling it inlines `type(m).forward`."""

    module: torch.nn.Module = attrs.field(eq=False)
    source: object = attrs.field(default=None, eq=False)

    always_true = True

    def runtime_type(self):
        return type(self.module)

    def describe(self) -> str:
        return f"module {type(self.module).__name__}"

    def getattr(self, state, name):
        from vt.registry import wrap_value
        from vt.protocol import DELETED, MISSING
        from vt.object_attributes import written

        module = self.module
        record = module_attributes(state, module)
        value = MISSING if record is None else written(record.attributes, name)
        if value is DELETED:
            return unsupported(BreakKind.PYTHON_EXCEPTION,
                               f"AttributeError: {type(module).__name__!r} object has no attribute {name!r}")
        if value is not MISSING:
            return state, value
        for table in ("_parameters", "_buffers", "_modules"):
            entries = module.__dict__.get(table, {})
            if name in entries:
                value = entries[name]
                if value is None:
                    from vt.constant import ConstantVariable

                    return state, ConstantVariable(None)
                return wrap_value(state, value, AttrSource(self.source, name))
        walk = nn_modules.module_attribute(state, self, name)  # m.parameters, m.named_modules, ...
        return walk if walk is not None else _read_attribute(state, self, module, name)

    # Calls (hooks, forward) and the container protocol live in vt/nn_modules.py.

    def setattr(self, state, name, value):
        """`m.name = value` for a plain Python value (what Module.__setattr__ does for a name that is not
        a parameter, buffer or submodule); the rest breaks."""
        from vt.protocol import DELETED
        from vt.object_attributes import store_raw

        module = self.module
        if type(module).__setattr__ is not torch.nn.Module.__setattr__ or \
                type(module).__delattr__ is not torch.nn.Module.__delattr__:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{self.describe()} has its own __setattr__/__delattr__")
        if any(name in module.__dict__.get(table, {}) for table in ("_parameters", "_buffers", "_modules")):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"assigning to parameter, buffer or submodule "
                               f"{name!r} of {self.describe()} is not traced yet")
        if value is not DELETED and (isinstance(value, TensorVariable) or _is_module(value)):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"assigning a {value.describe()} to {self.describe()} "
                               "(it may become a parameter, buffer or submodule) is not traced yet")
        if value is DELETED and name not in module.__dict__:
            record = module_attributes(state, module)
            from vt.protocol import MISSING
            from vt.object_attributes import written

            if record is None or written(record.attributes, name) in (MISSING, DELETED):
                return unsupported(BreakKind.PYTHON_EXCEPTION, f"AttributeError: {name}")
        state, record = _module_record(state, self)
        return store_raw(state, record, name, value)

    def call(self, state, args, kwargs):
        return nn_modules.call_module(state, self, args, kwargs)

    def unpack(self, state, count):
        return None

    def iterate(self, state):
        return nn_modules.iterate_module(state, self)

    def length(self):
        return nn_modules.module_length(self)

    def getitem(self, state, index):
        return nn_modules.module_getitem(state, self, index)

    def contains(self, state, item):
        return nn_modules.module_contains(state, self, item)


@attrs.frozen(slots=True)
class ModuleAttributesVariable(VariableTracker):
    """The plain attributes the program wrote onto a pre-existing nn.Module, in the heap (the module's
    parameters, buffers and submodules stay read through its NNModuleVariable)."""

    oid: int
    cls: type = attrs.field(eq=False)
    value: object = attrs.field(eq=False)
    source: object = attrs.field(eq=False)
    attributes: tuple = attrs.field(default=(), eq=False)

    dunder_dispatch = True

    def getitem(self, state, index):
        from vt.object_protocol import object_getitem

        return object_getitem(state, self, index)

    def bool_value(self, state):
        from vt.object_protocol import object_truth

        return object_truth(state, self)

    def known_equality(self, state, other):
        from vt.object_protocol import equal_without_code

        return equal_without_code(state, self, other)

    def runtime_type(self):
        return self.cls  # guarded by the object's identity, or made in the trace

    def references(self, state):
        return attribute_values(heap.current(state, self))

    def rebuild(self, emitter):
        return emitter.instance(self)

    def replay_changes(self, emitter):
        return emitter.set_attributes(self, is_class=False)

    def describe(self) -> str:
        return f"attributes of module {self.cls.__name__}"


def module_attributes(state, module):
    oid = state.known_objects.get(id(module))
    return None if oid is None else state.heap.get(oid)


def _module_record(state, module_vt):
    module = module_vt.module
    return heap.existing_object(state, module, lambda state, oid: (state, ModuleAttributesVariable(
        oid, type(module), module, module_vt.source)))


def _is_module(vt) -> bool:
    """An nn.Module object, passed in or made by the trace."""
    return isinstance(vt, (NNModuleVariable, nn_modules.CreatedModuleVariable))


def _receiver_class_source(state, vt):
    if vt.dunder_dispatch:
        from vt.object_attributes import class_source_of

        return class_source_of(heap.current(state, vt))
    return None if vt.source is None else AttrSource(vt.source, "__class__")


def _receiver_class(state, vt):
    if vt.dunder_dispatch:
        return heap.current(state, vt).cls
    return type(vt.module) if _is_module(vt) else None


@attrs.frozen(slots=True)
class SuperVariable(VariableTracker):
    """`super()` or `super(C, obj)`: attribute lookup on obj's MRO after C."""

    cls: type
    receiver: object

    always_true = True

    def describe(self) -> str:
        return f"super({self.cls.__name__})"

    def getattr(self, state, name):
        from vt.registry import wrap_value

        cls = _receiver_class(state, self.receiver)
        mro = cls.__mro__
        if self.cls not in mro:
            return raise_error(TypeError, "super(type, obj): obj must be an instance "
                                                           "or subtype of type")
        class_source = _receiver_class_source(state, self.receiver)
        mro_source = None if class_source is None else AttrSource(class_source, "__mro__")
        for position in range(mro.index(self.cls) + 1, len(mro)):
            found = mro[position].__dict__.get(name, MISSING)
            if found is MISSING:
                continue
            source = None if mro_source is None else AttrSource(ItemSource(mro_source, position), name)
            if type(found) is types.FunctionType:
                return state, UserMethodVariable(found, self.receiver, source)
            if isinstance(found, staticmethod):
                return wrap_value(state, found.__func__, source)
            if not hasattr(found, "__get__"):
                return wrap_value(state, found, source)
            from vt.getattr_variable import builtin_method

            method = builtin_method(state, self.receiver, found, name)
            if method is not None:
                return method
            return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                               f"super().{name} is a {type(found).__name__}, which is not traced yet")
        return raise_error(AttributeError, f"'super' object has no attribute {name!r}")


def make_super(state, args, kwargs):
    """super() inside an inlined method (the `__class__` cell and the first argument), or super(C, obj)."""
    from vt.lazy import realize_if_lazy

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
        from vt.exceptions import ExceptionSuperVariable

        return state, ExceptionSuperVariable(cls, receiver)
    if cls is None or receiver is None or not (receiver.dunder_dispatch or _is_module(receiver)):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "super() is traced for objects of your classes and "
                                                       "nn.Modules only")
    return state, SuperVariable(cls, receiver)


def _object_operation(state, fn, a, b, symbol, plain):
    """`a <op> b` with an object of a Python class on either side: its dunders, else no rule."""
    from vt.builtin import no_binary_rule
    from vt.object_protocol import binary_object_operation

    out = binary_object_operation(state, fn, a, b, symbol, plain)
    return out if out is not None else no_binary_rule(state, fn, a, b, symbol, plain)


def _object_unary(state, opname, value):
    from vt.object_protocol import unary_object_operation

    return unary_object_operation(state, opname, value)


for _cls in (UserDefinedObjectVariable, ModuleAttributesVariable):
    registry.add_binary_rule(_cls, VariableTracker, _object_operation)
    registry.add_binary_rule(VariableTracker, _cls, _object_operation)
    registry.unary_rule(_cls)(_object_unary)
