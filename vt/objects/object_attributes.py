"""Attributes of objects of the user's classes (and of the classes themselves), read and written.

An object in the heap keeps the attributes the program wrote so far, in
first-write order, as `((name, vt), ...)`; a deleted attribute is written as
`DELETED`.  A read looks there first and then, for an object that existed before
the call, at the real object (wrapped through its own source, so it is guarded).
Descriptors follow CPython's order: data descriptors of the class (properties,
descriptors with a Python `__set__`) win over the instance's own attributes,
which win over other class attributes; `__getattr__` is the last resort.
"""
from __future__ import annotations


import types

from core.guards import NotInInstanceDict
from vt.callables.exceptions import with_attribute_context
from core.outcomes import Unsupported, BreakKind, raise_error, unsupported
from core.sources import AttrSource, ItemSource
from effects import heap
from vt import registry
from vt.guard_trail import only_guards_added, with_own_guards
from vt.objects.attributes import store_raw, written
from vt.data.constant import ConstantVariable
from vt.callables.functions import UserMethodVariable
from vt.objects.getattr_variable import builtin_method
from vt.objects.instance_dict import InstanceDictVariable
from vt.protocol import DELETED, MISSING, NOT_CONSTANT, VariableTracker
from vt.registry import wrap_value



def class_record(state, cls):
    """The heap record of a class the trace has already seen (and may have written to), or None."""
    oid = state.known_objects.get(id(cls))
    if oid is None:
        return None
    record = state.heap.get(oid)
    return record if record is not None and record.fixed_object() is cls else None


def own_attribute(state, klass, name: str):
    """`klass.__dict__[name]` as the trace sees it: a VT when the program wrote it (or the class was
    made by the trace), the real value otherwise, MISSING if absent."""
    oid = state.known_objects.get(id(klass))  # `class_record`, written out: asked per class of an MRO
    if oid is not None:
        record = state.heap.get(oid)
        # a class the program never wrote to reads as its real __dict__ (most classes of an MRO)
        if record is not None and getattr(record, "attributes", None) and record.fixed_object() is klass:
            value = written(record.attributes, name)
            if value is DELETED:
                return MISSING
            if value is not MISSING:
                return value
    return klass.__dict__.get(name, MISSING)


def lookup(state, cls, name: str):
    """(owner, found) for the first definition of `name` along `cls`'s MRO, without running
    descriptors; `found` is a VT when the program wrote that class attribute, MISSING if absent.
    Every attribute read walks the MRO, so a class the trace has never seen (no heap record, so
    nothing written) is read off its real `__dict__` here without asking `own_attribute`."""
    known = state.known_objects
    for klass in cls.__mro__:
        if known.get(id(klass)) is None:
            found = klass.__dict__.get(name, MISSING)
        else:
            found = own_attribute(state, klass, name)
        if found is not MISSING:
            return klass, found
    return None, MISSING


def is_vt(value) -> bool:
    return isinstance(value, VariableTracker)


def is_data_descriptor(found) -> bool:
    if is_vt(found):
        return found.is_data_descriptor()
    if found is MISSING:
        return False
    kind = type(found)
    return hasattr(kind, "__set__") or hasattr(kind, "__delete__")


def python_method(kind, name: str):
    """A dunder defined in Python on `kind` (the function), or None when it is C's or absent."""
    for klass in kind.__mro__:
        if name in klass.__dict__:
            found = klass.__dict__[name]
            return found if type(found) is types.FunctionType else None
    return None


def python_hook(state, cls, name: str):
    """The Python function `name` resolves to along `cls`'s MRO: a function VT the trace made or
    wrote there (a class defined inside the traced function), or a real function; None when the
    name is C's or absent.  Call it with `call_hook`."""
    _, found = lookup(state, cls, name)
    if is_vt(found):
        return found if found.runtime_type() is types.FunctionType else None
    return found if type(found) is types.FunctionType else None


def hook_source(state, cls, cls_source, name: str):
    """Where generated code reads the class attribute `name` of `cls` (reached through `cls_source`,
    None for a class the trace made): see `attribute_source`."""
    owner, _ = lookup(state, cls, name)
    return attribute_source(state, cls, cls_source, owner, name)


def attribute_source(state, cls, cls_source, owner, name: str):
    """Source of the class attribute `name`, found on `owner` along `cls`'s MRO.  A class the trace
    made has no source: then through the first class on its MRO that has one and inherits from
    `owner` (`Base.__mro__[i].name`), or None when `owner` is the trace's own."""
    if cls_source is not None:
        return AttrSource(cls_source, name)
    if owner is None:
        return None
    for klass in cls.__mro__:
        record = class_record(state, klass)
        if record is not None and record.source is not None and owner in klass.__mro__:
            position = klass.__mro__.index(owner)
            base = record.source if position == 0 else ItemSource(AttrSource(record.source, "__mro__"), position)
            return AttrSource(base, name)
    return None


def call_hook(state, hook, source, args, kwargs=None):
    """Call what `python_hook` or `class_hook` found: a VT directly, a real function through `source`."""
    if is_vt(hook):
        return hook.call(state, list(args), dict(kwargs or {}))
    return call_python(state, hook, source, args, kwargs)


def class_source_of(record):
    """How generated code reaches the object's class: through the object, or the class VT that made it."""
    if record.source is not None:
        return AttrSource(record.source, "__class__")
    return record.cls_source


def class_vt_of(state, record):
    """(state, VT of type(obj)) for a heap object, guarded through its source."""
    source = class_source_of(record)
    if source is None:
        known = class_record(state, record.cls)
        if known is not None and known.source is None:  # a class the trace made: its own record
            return state, known
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"the class of a {record.cls.__name__} object made inside the trace has no source")
    return wrap_value(state, record.cls, source)


def call_python(state, fn, source, args, kwargs=None):
    """Inline a Python function read from a class, guarded by identity through `source`."""
    if source is None:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{fn.__qualname__} was reached without a source")
    out = wrap_value(state, fn, source)
    if type(out) is not tuple:
        return out
    state, fn_vt = out
    return fn_vt.call(state, list(args), dict(kwargs or {}))


_C_METHODS = (types.WrapperDescriptorType, types.MethodDescriptorType, types.BuiltinFunctionType,
              types.MethodWrapperType)


def class_hook(state, cls, name: str):
    """A hook of the class as the program sees it now (`__setattr__`, `__getattribute__`, a dunder),
    class attributes the program wrote included: a Python function, a function VT the program
    stored (`C.__setattr__ = f`), None when the class keeps a C one or has none, or Unsupported for
    anything else (None itself, which blocks the operation, a callable object)."""
    _, found = lookup(state, cls, name)
    if found is MISSING or isinstance(found, _C_METHODS):
        return None
    if type(found) is types.FunctionType or (is_vt(found) and found.runtime_type() is types.FunctionType):
        return found
    return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                       f"{cls.__name__}.{name} is {'None' if found is None else 'not a function'}, which is not traced")


# -- reads ---------------------------------------------------------------------------------------

def read_attribute(state, vt, name: str):
    """`obj.name`: the class's Python `__getattribute__` when it has one, else `plain_read`.

    A Python `__getattribute__` (model configs have one) runs for every read, so a read that only
    added guards and gave a constant or a fixed object is remembered for the trace
    (`Env.attribute_reads`).  The same read again gives the same value and adds the same guards
    without running the hook when nothing it could have looked at has changed since: the object's
    heap record is the very same, no object that existed then was changed (for a real object
    before any write to a real object or a global: no real object), no global was written
    (`heap.unchanged_since`), and the grad mode and modes are the same.  The guards remembered are all those the read needs, also those the
    state had already (`vt/guard_trail.py`), so a hit in a rolled-back state misses none."""
    record = heap.current(state, vt)
    hook = class_hook(state, record.cls, "__getattribute__")
    if hook is None:
        return plain_read(state, vt, name)
    if type(hook) is Unsupported:
        return hook
    memo = state.env.attribute_reads
    key = (vt.oid, name)
    hit = memo.get(key)
    if hit is not None and hit[0].heap.get(vt.oid) is record and hit[0].globals is state.globals \
            and hit[0].grad_enabled == state.grad_enabled and hit[0].modes == state.modes \
            and heap.unchanged_since(state, hit[0], about_real_objects=record.source is not None):
        return state.add_guards(hit[2].guards()), hit[1]
    source = hook_source(state, record.cls, class_source_of(record), "__getattribute__")
    out, guards = with_own_guards(state, lambda recording: call_hook(recording, hook, source,
                                                                          [vt, ConstantVariable(name)]))
    if type(out) is not tuple:
        return out
    after, result = out
    if only_guards_added(state, after) and after.grad_enabled == state.grad_enabled \
            and after.modes == state.modes \
            and (result.constant_value() is not NOT_CONSTANT or result.fixed_object() is not NOT_CONSTANT):
        memo[key] = (state, result, guards)
    return out


def plain_read(state, vt, name: str):
    """object.__getattribute__ (with `__getattr__` as fallback): CPython's lookup order over the heap record."""
    record = heap.current(state, vt)
    cls = record.cls
    if name == "__class__":
        return class_vt_of(state, record)
    if name == "__dict__":
        if record.value is None:
            return state, InstanceDictVariable(vt)
        if record.attributes:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, "obj.__dict__ of an object the trace wrote to is "
                               "not modelled; read the attributes")
        real_dict = instance_dict(record.value)
        if real_dict is None:  # __slots__ without __dict__
            return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                               f"obj.__dict__ of a {cls.__name__} object, which has no __dict__, is not modelled")
        # An object the trace has not written: its real dict, as a dict input (reads are guarded).
        return wrap_value(state, real_dict, AttrSource(record.source, "__dict__"))
    owner, found = lookup(state, cls, name)
    if is_data_descriptor(found):
        method_source = attribute_source(state, cls, class_source_of(record), owner, name)
        if is_vt(found):
            return _vt_descriptor_get(state, vt, record, found)
        return _descriptor_get(state, vt, record, name, found, method_source)
    value = written(record.attributes, name)
    if value is not MISSING and value is not DELETED:
        return state, value
    if value is MISSING and record.value is not None:
        own = instance_dict(record.value) or {}
        if name in own:
            return wrap_value(state, own[name], AttrSource(record.source, name))
        if record.source is not None and record.source.made_per_call():
            state = state.add_guard(NotInInstanceDict(record.source, name))
    if found is MISSING:
        getattr_hook = python_hook(state, cls, "__getattr__")
        if getattr_hook is not None:
            return call_hook(state, getattr_hook, hook_source(state, cls, class_source_of(record), "__getattr__"),
                             [vt, ConstantVariable(name)])
        return raise_error(AttributeError, f"{cls.__name__!r} object has no attribute {name!r}")
    method_source = attribute_source(state, cls, class_source_of(record), owner, name)
    if is_vt(found):
        return _vt_descriptor_get(state, vt, record, found)
    if type(found) is types.FunctionType:
        return state, UserMethodVariable(found, vt, method_source)
    if isinstance(found, staticmethod):
        return wrap_value(state, found.__func__, method_source)
    if isinstance(found, classmethod):
        out = class_vt_of(state, record)
        if type(out) is not tuple:
            return out
        state, cls_vt = out
        return state, UserMethodVariable(found.__func__, cls_vt, _attr(method_source, "__func__"))
    if not hasattr(type(found), "__get__"):
        if method_source is None:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"class attribute {name!r} reached without a source")
        return wrap_value(state, found, method_source)
    getter = python_method(type(found), "__get__")
    if getter is not None:
        return _call_get(state, vt, record, found, getter, method_source)

    method = builtin_method(state, vt, found, name)
    if method is not None:
        return method
    return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                       f"attribute {name!r} of a {cls.__name__} is a {type(found).__name__} descriptor, "
                       "which is not traced yet")


def _vt_descriptor_get(state, vt, record, found):
    """A class attribute the trace holds as a VT, read through the object: its `__get__`."""
    owner = None
    if found.runtime_type() is classmethod:
        out = class_vt_of(state, record)
        if type(out) is not tuple:
            return out
        state, owner = out
    return found.descriptor_get(state, vt, owner)


def _is_slot(found) -> bool:
    """A member descriptor of a `__slots__` entry of a Python class.  Members of C classes
    (`functools.partial.func`, readonly or with C-side checks) are C descriptors, not slots."""
    return type(found) is types.MemberDescriptorType and "__slots__" in vars(found.__objclass__)


def _attr(source, name):
    return None if source is None else AttrSource(source, name)


def _call_get(state, vt, record, descriptor, getter, descriptor_source):
    """descriptor.__get__(obj, type(obj)) for a descriptor class written in Python."""
    out = wrap_value(state, descriptor, descriptor_source) if descriptor_source is not None else None
    if type(out) is not tuple:
        return out or unsupported(BreakKind.UNSUPPORTED_OPERATION, "a descriptor reached without a source")
    state, descriptor_vt = out
    out = class_vt_of(state, record)
    if type(out) is not tuple:
        return out
    state, cls_vt = out
    return call_python(state, getter, _attr(_attr(descriptor_source, "__class__"), "__get__"),
                       [descriptor_vt, vt, cls_vt])


def _descriptor_get(state, vt, record, name, found, method_source):
    if _is_slot(found):  # a __slots__ entry: stored like an attribute
        value = written(record.attributes, name)
        if value is not MISSING and value is not DELETED:
            return state, value
        if value is MISSING and record.value is not None and hasattr(record.value, name):
            return wrap_value(state, getattr(record.value, name), AttrSource(record.source, name))
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"AttributeError: {name}")
    if isinstance(found, property):
        if found.fget is None:
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"AttributeError: property {name!r} has no getter")
        if type(found.fget) is not types.FunctionType:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"property {name!r} has a getter written in C")
        return call_python(state, found.fget, _attr(method_source, "fget"), [vt])
    getter = python_method(type(found), "__get__")
    if getter is not None:
        return _call_get(state, vt, record, found, getter, method_source)
    return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                       f"attribute {name!r} of a {record.cls.__name__} is a {type(found).__name__} "
                       "(slots or a C descriptor), which is not traced yet")


def has_attribute(state, vt, name: str):
    """hasattr(obj, name) when it follows from the heap record and the class: True/False, or None
    when only running a descriptor or `__getattr__` would tell."""
    record = heap.current(state, vt)
    value = written(record.attributes, name)
    _, found = lookup(state, record.cls, name)
    if is_data_descriptor(found) or (found is MISSING and python_hook(state, record.cls, "__getattr__")):
        return None
    if value is not MISSING and value is not DELETED:
        return True
    if found is not MISSING:
        return True
    if value is DELETED or record.value is None:
        return False
    return name in (instance_dict(record.value) or {})


def instance_dict(value):
    """The real object's own attribute dict as `object.__getattribute__` finds it, or None when it
    has none: read past the class's own `__getattribute__`/`__getattr__` (a config's run for every
    `getattr(obj, "__dict__")`), which generic attribute lookup never asks."""
    try:
        return object.__getattribute__(value, "__dict__")
    except AttributeError:
        return None


# -- writes -------------------------------------------------------------------------------------

def write_attribute(state, vt, name: str, value):
    """`obj.name = value` (value DELETED: `del obj.name`) through the class's own hooks:
    a Python `__setattr__`/`__delattr__`, a property setter, a descriptor's Python `__set__`;
    otherwise a plain write into the heap record.  Returns the next State or Unsupported."""
    record = heap.current(state, vt)
    cls = record.cls
    cls_source = class_source_of(record)
    deleting = value is DELETED
    hook_name = "__delattr__" if deleting else "__setattr__"
    hook = class_hook(state, cls, hook_name)
    if hook is not None:
        if type(hook) is Unsupported:
            return hook
        args = [vt, ConstantVariable(name)] + ([] if deleting else [value])
        return _discard(call_hook(state, hook, hook_source(state, cls, cls_source, hook_name), args))
    return plain_write(state, vt, name, value)


def plain_write(state, vt, name: str, value):
    """object.__setattr__ / object.__delattr__: data descriptors of the class, then the instance dict."""
    record = heap.current(state, vt)
    cls = record.cls
    owner, found = lookup(state, cls, name)
    attr_source = attribute_source(state, cls, class_source_of(record), owner, name)
    deleting = value is DELETED
    if _is_slot(found):  # a __slots__ entry
        if deleting and not _has_live_slot(record, name):
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"AttributeError: {name}")
        return store_raw(state, vt, name, value)
    if is_data_descriptor(found):
        if is_vt(found):
            return found.descriptor_set(state, vt, value)
        if isinstance(found, property):
            accessor = found.fdel if deleting else found.fset
            if accessor is None:
                return unsupported(BreakKind.PYTHON_EXCEPTION, f"AttributeError: property {name!r} of "
                                   f"{cls.__name__!r} object has no {'deleter' if deleting else 'setter'}")
            args = [vt] if deleting else [vt, value]
            return _discard(call_python(state, accessor, _attr(attr_source, "fdel" if deleting else "fset"), args))
        method = python_method(type(found), "__delete__" if deleting else "__set__")
        if method is None:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"writing {name!r} of a {cls.__name__} goes through a "
                               f"{type(found).__name__} (slots or a C descriptor), which is not traced yet")
        return _descriptor_set(state, vt, found, method, attr_source, value)
    if record.dunder_dispatch and not _has_instance_dict(cls):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{cls.__name__} objects have no __dict__")
    if deleting and not _has_live_attribute(record, name):
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"AttributeError: {name}")
    return store_raw(state, vt, name, value)


def _has_live_slot(record, name) -> bool:
    value = written(record.attributes, name)
    if value is not MISSING:
        return value is not DELETED
    return record.value is not None and hasattr(record.value, name)


def _has_instance_dict(cls) -> bool:
    return any("__dict__" in klass.__dict__ for klass in cls.__mro__[:-1]) or cls.__dictoffset__ != 0


def _has_live_attribute(record, name) -> bool:
    value = written(record.attributes, name)
    if value is not MISSING:
        return value is not DELETED
    if record.value is None:
        return False
    if record.fixed_object() is record.cls:  # a class
        return name in record.cls.__dict__
    return name in (instance_dict(record.value) or {})


def _descriptor_set(state, vt, descriptor, method, descriptor_source, value):
    if descriptor_source is None:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, "a descriptor reached without a source")
    out = wrap_value(state, descriptor, descriptor_source)
    if type(out) is not tuple:
        return out
    state, descriptor_vt = out
    args = [descriptor_vt, vt] + ([] if value is DELETED else [value])
    name = "__delete__" if value is DELETED else "__set__"
    return _discard(call_python(state, method, _attr(_attr(descriptor_source, "__class__"), name), args))


def _discard(out):
    if type(out) is not tuple:
        return out
    return out[0]


# -- object's own methods, read off an object or called through the class --------------------------

def _attribute_name(vt):
    name = vt.constant_value()
    if type(name) is not str:
        return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: attribute name must be string")
    return name


def object_init(state, receiver, args, kwargs):
    """object.__init__(self): nothing to do; extra arguments raise as in CPython."""
    if args or kwargs:
        return unsupported(BreakKind.PYTHON_EXCEPTION,
                           "TypeError: object.__init__() takes exactly one argument (the instance to initialize)")
    return state, ConstantVariable(None)


def object_setattr(state, receiver, args, kwargs):
    """object.__setattr__(self, name, value): the plain write, past the class's own __setattr__."""
    if kwargs or len(args) != 2:
        return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: __setattr__ expected 2 arguments")
    return _plain(state, receiver, args[0], args[1], plain_write)


def object_delattr(state, receiver, args, kwargs):
    if kwargs or len(args) != 1:
        return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: __delattr__ expected 1 argument")
    return _plain(state, receiver, args[0], DELETED, plain_write)


def _plain(state, receiver, name_vt, value, write):
    if not receiver.dunder_dispatch:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"object.__setattr__ on {receiver.describe()} is not traced")
    name = _attribute_name(name_vt)
    if type(name) is not str:
        return name
    out = write(state, receiver, name, value)
    if type(out) is not type(state):
        return out
    return out, ConstantVariable(None)


def object_getattribute(state, receiver, args, kwargs):
    """object.__getattribute__(self, name): the lookup past the class's own __getattribute__."""
    if kwargs or len(args) != 1 or not receiver.dunder_dispatch:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "object.__getattribute__ here is not traced")
    name = _attribute_name(args[0])
    if type(name) is not str:
        return name
    return with_attribute_context(state, plain_read(state, receiver, name), receiver, name)  # .name, .obj


registry.register_bound_rules({object.__getattribute__: object_getattribute, object.__init__: object_init,
                               object.__setattr__: object_setattr, object.__delattr__: object_delattr})
