"""Immutable Python values known while tracing: numbers, strings, None, dtypes, sizes.

Because these values cannot change behind the tracer's back, every operation
on them is computed for real at trace time and folded into a new constant.
"""
from __future__ import annotations

import enum
import operator
import types

import attrs
import torch

from core.identity_guards import DistinctObjects, SameObject
from vt import registry
from vt.folding import call_constant_fn
from vt.iteration import IteratorVariable, iterate_items, new_iterator
from vt.protocol import VariableTracker
from core.outcomes import BreakKind, unsupported, raised

CONSTANT_TYPES = frozenset({
    int, float, bool, complex, str, bytes, type(None), type(Ellipsis), type(NotImplemented),
    torch.dtype, torch.device, torch.Size, torch.layout, torch.memory_format, slice, range,
    types.CodeType,
})


def is_constant_value(value) -> bool:
    """True for values that are immutable all the way down and safe to fold."""
    kind = type(value)
    if kind in CONSTANT_TYPES:
        return kind is not torch.Size or all(type(item) is int for item in value)  # not symbolic sizes
    if kind is tuple or kind is frozenset:
        return all(is_constant_value(item) for item in value)
    return False


_SINGLETONS = (None, True, False, Ellipsis, NotImplemented)


_INTERNED = (torch.dtype, torch.layout, torch.memory_format)
"""torch keeps one object per dtype, layout and memory format: `x.dtype is torch.float32` is `==`."""


def _is_singleton(vt) -> bool:
    value = vt.constant_value()
    return any(value is s for s in _SINGLETONS) or isinstance(value, (enum.Enum, *_INTERNED))


@attrs.frozen(slots=True)
class ConstantVariable(VariableTracker):
    """A Python value fully known while tracing."""

    value: object
    source: object = attrs.field(default=None, eq=False)


    def getitem(self, state, index):
        return call_constant_fn(state, operator.getitem, "indexing", (self, index), {})

    def comparison_kind(self):
        if isinstance(self.value, tuple):
            return "tuple"
        return "set" if type(self.value) is frozenset else "other"

    def runtime_type(self):
        return type(self.value)

    def as_python(self, state):
        return self.value

    def same_object(self, state, other):
        """`is` with a constant on either side: exact for singletons, guarded for two inputs."""
        if _is_singleton(self) or _is_singleton(other):
            if isinstance(other, ConstantVariable):
                return state, self.value is other.value
            return state, False  # a singleton is never a tensor, list or tuple
        if not isinstance(other, ConstantVariable):
            return state, False  # a number or string is never a tensor, list or tuple
        if self.source is not None and other.source is not None:
            same = self.value is other.value
            guard = SameObject(self.source, other.source) if same else DistinctObjects(self.source, other.source)
            return state.add_guard(guard), same
        return None  # whether two equal numbers are one object is up to the interpreter

    def rebuild(self, emitter):
        emitter.push_constant(self.value)
        return None

    def constant_value(self):
        return self.value

    def type_name(self) -> str:
        return type(self.value).__name__

    def describe(self) -> str:
        return repr(self.value)

    def getattr(self, state, name):
        try:
            attr = getattr(self.value, name)
        except Exception as exc:  # the traced program would raise here
            return raised(exc)
        if is_constant_value(attr):
            return state, ConstantVariable(attr)
        if isinstance(attr, (types.BuiltinMethodType, types.MethodWrapperType)):
            return state, ConstantMethodVariable(self.value, name)
        return unsupported(BreakKind.UNSUPPORTED_VALUE,
                           f"attribute {name!r} of a {type(self.value).__name__} constant "
                           f"is a {type(attr).__name__}, which is not modelled")

    def iterate(self, state):
        from vt.data.constant import RangeIteratorVariable

        if type(self.value) is range:
            return new_iterator(state, lambda oid: RangeIteratorVariable(oid, self.value, 0))
        items = self.unpack(state, None)
        if items is None:
            return super().iterate(state)
        return iterate_items(state, items)

    def unpack(self, state, count):
        value = self.value
        if type(value) in (tuple, torch.Size, range, str, bytes) and (count is None or len(value) == count):
            return tuple(ConstantVariable(item) for item in value)
        return None


@attrs.frozen(slots=True)
class BuiltinMethodVariable(VariableTracker):
    """A method of a builtin type bound to a value and taken as a value (`"a".upper`, `lst.append`,
    `d.get`), to be called later.  Two records share this base: `ConstantMethodVariable` (the
    receiver is a constant, the call is folded) and `vt.container_methods.ContainerMethodVariable`
    (the receiver is a list, tuple, dict or set, the call follows a rule table)."""

    always_true = True

    def runtime_type(self):
        return types.BuiltinMethodType


@attrs.frozen(slots=True)
class ConstantMethodVariable(BuiltinMethodVariable):
    """A method of an immutable constant, e.g. `"a,b".split` or `(2.0).is_integer`."""

    receiver: object
    name: str

    def runtime_type(self):
        return type(getattr(self.receiver, self.name))

    def describe(self) -> str:
        return f"{type(self.receiver).__name__}.{self.name}"

    def call(self, state, args, kwargs):
        return call_constant_fn(state, getattr(self.receiver, self.name), self.describe(), args, kwargs)


@registry.from_python_rule(*CONSTANT_TYPES, frozenset)
def _constant_from_python(state, value):
    return (state, ConstantVariable(value)) if is_constant_value(value) else None


@attrs.frozen(slots=True)
class RangeIteratorVariable(IteratorVariable):
    """Iterator over a range; items are made on demand, so huge ranges cost nothing up front."""

    values: range = range(0)
    index: int = 0

    python_type = type(iter(range(0)))

    def step(self, state):
        if self.index >= len(self.values):
            return None
        return state, ConstantVariable(self.values[self.index]), RangeIteratorVariable(self.oid, self.values,
                                                                                         self.index + 1)
