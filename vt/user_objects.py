"""Objects of the user's own classes and torch.nn.Module trees, read-only.

An object that existed before the call is guarded by identity, and every
attribute the trace reads is wrapped through its own source (`m.weight`,
`m.layer1`, `obj.scale`), so it gets its own guard: parameters and buffers
become graph inputs, plain attributes become guarded constants, submodules
become modules again.  Methods and properties written in Python are inlined
with the object as `self`; calling a module inlines its class's `forward`.
Writing attributes (STORE_ATTR) is not traced yet.
"""
from __future__ import annotations

import types

import attrs
import torch

from vt import nn_modules
from vt.base import VariableTracker
from vt.outcome import BreakKind, unsupported, raise_error
from vt.sources import AttrSource, ItemSource

_MISSING = object()


def _class_attribute(cls, name: str):
    """The first definition of `name` along the class's MRO, without running descriptors."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return _MISSING


def class_attribute(cls, name: str):
    """`_class_attribute`, with None for a missing name."""
    found = _class_attribute(cls, name)
    return None if found is _MISSING else found


def _method_source(obj_source, name: str):
    return AttrSource(AttrSource(obj_source, "__class__"), name)


def _call_function(state, fn, source, args, kwargs):
    """Inline a Python function read from a class, guarded by identity through `source`."""
    from vt.builder import wrap_value

    out = wrap_value(state, fn, source)
    if type(out) is not tuple:
        return out
    state, fn_vt = out
    return fn_vt.call(state, list(args), dict(kwargs))


@attrs.frozen(slots=True)
class UserMethodVariable(VariableTracker):
    """A Python function bound to an object: calling it inlines the function with `self` first."""

    fn: types.FunctionType
    receiver: object
    source: object = attrs.field(default=None, eq=False)  # where the function itself is read from

    family = "method"
    always_true = True

    def describe(self) -> str:
        return f"method {self.fn.__qualname__}"

    def call(self, state, args, kwargs):
        return _call_function(state, self.fn, self.source, [self.receiver, *args], kwargs)


def _read_attribute(state, vt, obj, name: str):
    """obj.name for a Python-level object `obj` (VT `vt`), CPython's lookup order."""
    from vt.builder import wrap_value

    cls = type(obj)
    found = _class_attribute(cls, name)
    if isinstance(found, property):
        if found.fget is None:
            return raise_error(AttributeError, f"property {name!r} has no getter")
        return _call_function(state, found.fget, AttrSource(_method_source(vt.source, name), "fget"), [vt], {})
    instance_dict = getattr(obj, "__dict__", {})
    if found is _MISSING or not hasattr(found, "__get__") or isinstance(found, (staticmethod, classmethod)) \
            or type(found) is types.FunctionType:
        if name in instance_dict:
            return wrap_value(state, instance_dict[name], AttrSource(vt.source, name))
    if type(found) is types.FunctionType:
        return state, UserMethodVariable(found, vt, _method_source(vt.source, name))
    if isinstance(found, staticmethod):
        return wrap_value(state, found.__func__, _method_source(vt.source, name))
    if found is not _MISSING and not hasattr(found, "__get__"):
        return wrap_value(state, found, _method_source(vt.source, name))
    if found is _MISSING and type(_class_attribute(cls, "__getattr__")) is types.FunctionType:
        from vt.constant import ConstantVariable

        return _call_function(state, _class_attribute(cls, "__getattr__"), _method_source(vt.source, "__getattr__"),
                              [vt, ConstantVariable(name)], {})
    if found is _MISSING:
        return raise_error(AttributeError, f"{cls.__name__!r} object has no attribute {name!r}")
    return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                       f"attribute {name!r} of a {cls.__name__} is a {type(found).__name__} descriptor, "
                       "which is not traced yet")


@attrs.frozen(slots=True)
class UserObjectVariable(VariableTracker):
    """An instance of a Python class that existed before the call, guarded by identity."""

    value: object = attrs.field(eq=False)
    source: object = attrs.field(default=None, eq=False)

    family = "object"

    def describe(self) -> str:
        return f"{type(self.value).__name__} object"

    def getattr(self, state, name):
        return _read_attribute(state, self, self.value, name)

    def call(self, state, args, kwargs):
        method = _class_attribute(type(self.value), "__call__")
        if type(method) is not types.FunctionType:
            return super().call(state, args, kwargs)
        return _call_function(state, method, _method_source(self.source, "__call__"), [self, *args], kwargs)


@attrs.frozen(slots=True)
class NNModuleVariable(VariableTracker):
    """A torch.nn.Module that existed before the call; calling it inlines `type(m).forward`."""

    module: torch.nn.Module = attrs.field(eq=False)
    source: object = attrs.field(default=None, eq=False)

    family = "nn_module"
    always_true = True

    def describe(self) -> str:
        return f"module {type(self.module).__name__}"

    def getattr(self, state, name):
        from vt.builder import wrap_value

        module = self.module
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


def _real_object(vt):
    return vt.value if vt.family == "object" else vt.module if vt.family == "nn_module" else None


@attrs.frozen(slots=True)
class SuperVariable(VariableTracker):
    """`super()` or `super(C, obj)`: attribute lookup on obj's MRO after C."""

    cls: type
    receiver: object

    family = "super"
    always_true = True

    def describe(self) -> str:
        return f"super({self.cls.__name__})"

    def getattr(self, state, name):
        from vt.builder import wrap_value

        obj = _real_object(self.receiver)
        mro = type(obj).__mro__
        if self.cls not in mro:
            return raise_error(TypeError, "super(type, obj): obj must be an instance "
                                                           "or subtype of type")
        mro_source = AttrSource(AttrSource(self.receiver.source, "__class__"), "__mro__")
        for position in range(mro.index(self.cls) + 1, len(mro)):
            found = mro[position].__dict__.get(name, _MISSING)
            if found is _MISSING:
                continue
            source = AttrSource(ItemSource(mro_source, position), name)
            if type(found) is types.FunctionType:
                return state, UserMethodVariable(found, self.receiver, source)
            if isinstance(found, staticmethod):
                return wrap_value(state, found.__func__, source)
            if not hasattr(found, "__get__"):
                return wrap_value(state, found, source)
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
        cell = state.current(frame.locals[len(names) - 1 - names[::-1].index("__class__")])
        out = realize_if_lazy(state, cell.contents)
        if type(out) is not tuple:
            return out
        state, cls_vt = out
        cls = cls_vt.as_class() if hasattr(cls_vt, "as_class") else None
        receiver = frame.locals[0]
        if receiver is not None and receiver.family == "cell":
            receiver = state.current(receiver).contents
    if cls is not None and receiver is not None and receiver.family == "exception":
        from vt.exceptions import ExceptionSuperVariable

        return state, ExceptionSuperVariable(cls, receiver)
    if cls is None or receiver is None or _real_object(receiver) is None:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "super() is traced for objects of your classes and "
                                                       "nn.Modules only")
    return state, SuperVariable(cls, receiver)
