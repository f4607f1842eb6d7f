"""`copy.copy` and `copy.deepcopy` of plain data, containers and objects of the user's classes.

The real `copy.deepcopy` keys its memo by `id()` and rebuilds objects through the pickle protocol
(`__reduce_ex__`), which the tracer cannot follow; what it does for the objects model code copies
(configs: plain objects whose state is their `__dict__`) is simple, so it is modelled here: a new
object of the same class (`cls.__new__(cls)`) whose `__dict__` is a deep copy of the original's,
with a memo by object identity so that shared and cyclic references come out shared and cyclic.
Classes that take part in the protocol themselves (`__deepcopy__`, `__reduce__`, `__getstate__`,
`__setstate__`, `__slots__`) are not modelled: the call breaks and runs for real.
"""
from __future__ import annotations

import copy
import copyreg
from collections import OrderedDict

import attrs
import torch

from core.outcomes import BreakKind, unsupported
from core.sources import AttrSource, ItemSource
from effects import heap
from vt import registry
from vt.callables.functions import lookup_class_attribute
from vt.data.constant import ConstantVariable
from vt.data.collections_mappings import made_like
from vt.data.deques import DequeVariable, new_deque
from vt.data.dicts import DictVariable
from vt.data.lists import ListVariable, TupleVariable, new_list
from vt.data.object_keys import is_object_key
from vt.data.sets import SetVariable, new_set
from vt.data.tensor import TensorVariable, record_op
from vt.objects.attributes import written
from vt.objects.instance_dict import InstanceDictVariable
from vt.objects.object_attributes import class_source_of
from vt.objects.user_objects import UserDefinedObjectVariable
from vt.protocol import DELETED, MISSING, NOT_CONSTANT

_PROTOCOL = ("__deepcopy__", "__copy__", "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__")
_DEFAULTS = {"__reduce__": object.__reduce__, "__reduce_ex__": object.__reduce_ex__,
             "__getstate__": getattr(object, "__getstate__", MISSING)}


def _plain_class(cls) -> bool:
    """Objects of `cls` are copied from their `__dict__` alone: nothing of the protocol is overridden."""
    if cls.__new__ is not object.__new__ or "__slots__" in vars(cls) or any("__slots__" in vars(k) for k in cls.__mro__):
        return False
    for name in _PROTOCOL:
        found = lookup_class_attribute(cls, name)
        if found is not MISSING and found is not _DEFAULTS.get(name, MISSING):
            return False
    return cls not in copyreg.dispatch_table


def _attributes(state, record):
    """(state, [(name, vt)]) of an object's `__dict__`: what the program wrote, and for an object that
    existed before the call its real entries, read (and guarded) through `obj.__dict__[name]`."""
    entries = []
    if record.value is not None:
        for name in vars(record.value):
            if written(record.attributes, name) is not MISSING:
                continue
            out = registry.wrap_value(state, vars(record.value)[name],
                                      ItemSource(AttrSource(record.source, "__dict__"), name))
            if type(out) is not tuple:
                return out
            state, vt = out
            entries.append((name, vt))
    entries.extend((name, value) for name, value in record.attributes if value is not DELETED)
    return state, entries


def _entries(state, mapping) -> tuple:
    """(key, value) pairs of a dict, or of the `__dict__` of an object the trace made."""
    if isinstance(mapping, InstanceDictVariable):
        return tuple(mapping.live(state).items())
    return heap.current(state, mapping).entries


def _new_object(state, record, attributes):
    cls_source = class_source_of(record)
    if cls_source is None:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"the class of {record.describe()} has no source to copy it by")
    return heap.allocate(state, lambda oid: UserDefinedObjectVariable(oid, record.cls, None, None, tuple(attributes),
                                                                     cls_source))


def deep_copy(state, vt, memo: dict):
    """(state, the copy of `vt`) as `copy.deepcopy` makes it, or the stop that prevents it."""
    key = vt.identity()
    if key is not None and key in memo:
        return state, memo[key]
    if isinstance(vt, ConstantVariable) or vt.fixed_object() is not NOT_CONSTANT:
        return state, vt  # immutable values, functions, classes and modules are their own copies
    if isinstance(vt, TupleVariable):
        items = []
        for item in vt.items:
            out = deep_copy(state, item, memo)
            if type(out) is not tuple:
                return out
            state, copied = out
            items.append(copied)
        return state, TupleVariable(tuple(items), vt.python_type, vt.fields)
    if isinstance(vt, ListVariable):
        state, made = new_list(state, ())
        memo[key] = made
        out = _deep_items(state, heap.current(state, vt).items, memo)
        if type(out) is not tuple:
            return out
        state, items = out
        return heap.update_object(state, made.with_items(items)), made
    if isinstance(vt, (DictVariable, InstanceDictVariable)):
        if _may_have_attributes(state, vt):
            return _attributes_copied("copy.deepcopy")
        entries = _entries(state, vt)
        if any(is_object_key(key) for key, _ in entries):
            return unsupported(BreakKind.UNSUPPORTED_CALL, "copy.deepcopy of a dict with objects as keys is not "
                               "traced yet (the keys are copied too)")
        out = _deep_items(state, [value for _, value in entries], memo)
        if type(out) is not tuple:
            return out
        state, values = out
        state, made = made_like(state, vt, tuple(zip((k for k, _ in entries), values)))  # OrderedDict stays one
        memo[key] = made
        return state, made
    if isinstance(vt, DequeVariable):
        current = heap.current(state, vt)
        out = _deep_items(state, current.items, memo)
        if type(out) is not tuple:
            return out
        state, made = new_deque(out[0], out[1], current.maxlen)
        memo[key] = made
        return state, made
    if isinstance(vt, SetVariable):
        if any(is_object_key(value) for value in heap.current(state, vt).values):
            return unsupported(BreakKind.UNSUPPORTED_CALL, "copy.deepcopy of a set of objects is not traced yet")
        return new_set(state, heap.current(state, vt).values)
    if type(vt) is UserDefinedObjectVariable and _plain_class(heap.current(state, vt).cls):
        record = heap.current(state, vt)
        out = _new_object(state, record, ())
        if type(out) is not tuple:
            return out
        state, made = out
        memo[key] = made
        out = _attributes(state, record)
        if type(out) is not tuple:
            return out
        state, attributes = out
        out = _deep_items(state, [value for _, value in attributes], memo)
        if type(out) is not tuple:
            return out
        state, values = out
        copied = tuple(zip((name for name, _ in attributes), values))
        return heap.update_object(state, UserDefinedObjectVariable(made.oid, record.cls, None, None, copied,
                                                                   made.cls_source)), made
    if isinstance(vt, TensorVariable):
        out = _tensor_copy(state, vt)
        if type(out) is tuple:
            memo[key] = out[1]
        return out
    return unsupported(BreakKind.UNSUPPORTED_CALL, f"copy.deepcopy of {vt.describe()} is not modelled",
                       "copy it outside the traced function")


def _tensor_copy(state, vt):
    """`copy.deepcopy(t)`: a `clone` node, when that gives what `Tensor.__deepcopy__` gives: a new
    tensor of the same class, strides and offset over storage of its own, not requiring grad.  A
    tensor that requires grad (its copy is a new leaf), a subclass, or a view into a larger storage
    (the copy keeps that storage whole) is not modelled."""
    fake = vt.fake
    if vt.python_type is not torch.Tensor or fake.requires_grad:
        return unsupported(BreakKind.UNSUPPORTED_CALL,
                           f"copy.deepcopy of {vt.describe()} that requires grad or is a subclass is not modelled",
                           "copy it outside the traced function")
    sizes = (fake.storage_offset(), fake.numel(), fake.untyped_storage().nbytes())
    if any(type(size) is not int for size in sizes) or sizes[0] != 0 or sizes[2] != sizes[1] * fake.element_size():
        return unsupported(BreakKind.UNSUPPORTED_CALL,
                           f"copy.deepcopy of a view ({vt.describe()}) copies its whole storage; not modelled",
                           "copy it outside the traced function, or use t.clone()")
    return record_op(state, "call_method", "clone", (vt,), {}, "copy.deepcopy of a tensor")


def _deep_items(state, items, memo):
    copied = []
    for item in items:
        out = deep_copy(state, item, memo)
        if type(out) is not tuple:
            return out
        state, value = out
        copied.append(value)
    return state, tuple(copied)


@registry.builtin_rule(copy.deepcopy)
def _deepcopy(state, args, kwargs):
    if len(args) != 1 or kwargs:
        return None
    return deep_copy(state, args[0], {})


def _may_have_attributes(state, vt) -> bool:
    """An OrderedDict passed in (or made again at a break): its `__dict__` may hold attributes, which
    its `__reduce__` copies.  One made in the call has none (writing one breaks)."""
    return vt.runtime_type() is OrderedDict and heap.current(state, vt).source is not None


def _attributes_copied(what: str):
    return unsupported(BreakKind.UNSUPPORTED_CALL, f"{what} of an OrderedDict passed in, whose __dict__ is copied "
                       "too, is not traced")


def _copy_typed_tuple(state, vt):
    """copy.copy of a named tuple, struct sequence or torch.Size: only an exact tuple is returned as
    it is; these go through `__reduce_ex__`, which makes a new object (with a copy of the `__dict__`
    of a subclass's object, which one passed in may have: then it runs for real)."""
    if vt.source is not None and vt.python_type.__dictoffset__ != 0:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"copy.copy of a {vt.python_type.__name__} passed in, whose "
                           "__dict__ is copied too, is not traced")
    tag = state.next_oid
    return state.replace(next_oid=tag + 1), attrs.evolve(vt, source=None, tag=tag)


@registry.builtin_rule(copy.copy)
def _copy(state, args, kwargs):
    """A shallow copy: the same items or attribute values in a new container or object."""
    if len(args) != 1 or kwargs:
        return None
    vt = args[0]
    if isinstance(vt, TupleVariable) and vt.python_type is not None:
        return _copy_typed_tuple(state, vt)
    if isinstance(vt, ConstantVariable) or isinstance(vt, TupleVariable) or vt.fixed_object() is not NOT_CONSTANT:
        return state, vt
    if isinstance(vt, ListVariable):
        return new_list(state, heap.current(state, vt).items)
    if isinstance(vt, (DictVariable, InstanceDictVariable)):
        if _may_have_attributes(state, vt):
            return _attributes_copied("copy.copy")
        return made_like(state, vt, _entries(state, vt))  # an OrderedDict or defaultdict keeps its kind
    if isinstance(vt, DequeVariable):
        current = heap.current(state, vt)
        return new_deque(state, current.items, current.maxlen)
    if isinstance(vt, SetVariable):
        return new_set(state, heap.current(state, vt).values)
    if type(vt) is UserDefinedObjectVariable and _plain_class(heap.current(state, vt).cls):
        record = heap.current(state, vt)
        out = _attributes(state, record)
        if type(out) is not tuple:
            return out
        state, attributes = out
        return _new_object(state, record, attributes)
    return unsupported(BreakKind.UNSUPPORTED_CALL, f"copy.copy of {vt.describe()} is not modelled",
                       "copy it outside the traced function")
