"""Immutable objects that describe other objects: `inspect.signature(f)`, its parameters, `torch.finfo`.

Library code asks these questions at every call (`len(inspect.signature(fn).parameters)` to decide
how to call a function, `torch.finfo(dtype).min` to build a mask), and their answers depend only on
objects the capture already pins: the function (guarded by identity), the dtype (a constant).  So
the real question is asked while tracing, and the answer is held as a `FrozenObjectVariable`: an
immutable real object whose attributes, items and length fold to constants, which generated code
may embed as it is.
"""
from __future__ import annotations

import enum
import inspect
import types
import typing

import attrs
import torch

from core.guards import IdMatch
from core.outcomes import BreakKind, raised, unsupported
from vt import registry
from vt.callables.functions import UserMethodVariable
from vt.data.constant import ConstantVariable, is_constant_value
from vt.folding import real_argument
from vt.iteration import iterate_items
from vt.protocol import NOT_CONSTANT, VariableTracker

TYPING_TYPES = (types.UnionType, types.GenericAlias, typing._GenericAlias, typing._SpecialForm, typing.TypeVar,
                typing.ForwardRef, typing._SpecialGenericAlias)
"""The objects of type annotations (`int | None`, `list[int]`, `typing.Union`), read by validators."""

FROZEN_TYPES = (inspect.Signature, inspect.Parameter, types.MappingProxyType, torch.finfo, torch.iinfo,
                type(inspect.Parameter.empty)) + TYPING_TYPES
"""Types whose objects never change once made (a mappingproxy of parameters is read-only)."""


def is_frozen(value) -> bool:
    if isinstance(value, types.MappingProxyType):
        return all(is_frozen(item) or is_constant_value(item) or isinstance(item, enum.Enum) for item in value.values())
    return isinstance(value, FROZEN_TYPES) or value is inspect.Parameter.empty


def frozen_vt(state, value):
    """(state, VT) for a value read off a frozen object: constants, enum members, classes, frozen
    objects, or None when the value is none of them."""
    if is_constant_value(value):
        return state, ConstantVariable(value)
    if is_frozen(value):
        return state, FrozenObjectVariable(value)
    return registry.from_python(state, value)


@registry.wrap_rule("frozen")
def _wrap_frozen(state, value, source, guard):
    """Type annotations and other frozen objects read from globals or attributes: fixed values."""
    if isinstance(value, TYPING_TYPES) and not isinstance(value, type):
        if guard:
            state = state.add_guard(IdMatch(source, value, f"annotation {value!r}"))
        return state, FrozenObjectVariable(value)
    return None


registry.pure_function(typing.get_origin, typing.get_args)


@attrs.frozen(slots=True)
class FrozenObjectVariable(VariableTracker):
    """An immutable object computed while tracing from values the capture pins."""

    value: object = attrs.field(eq=False)

    always_true = True

    def describe(self) -> str:
        return repr(self.value)

    def runtime_type(self):
        return type(self.value)

    def fixed_object(self):
        return self.value  # rebuilt as a constant of the generated code

    def as_python(self, state):
        return self.value  # immutable: folding may share it

    def comparison_kind(self):
        return "other"

    def getattr(self, state, name):
        try:
            value = getattr(self.value, name)
        except Exception as exc:  # the traced program raises the same
            return raised(exc)
        if isinstance(value, (types.BuiltinMethodType, types.MethodType)):
            return state, FrozenMethodVariable(self.value, name)
        out = frozen_vt(state, value)
        if out is None:
            return unsupported(BreakKind.UNSUPPORTED_VALUE,
                               f"{type(self.value).__name__}.{name} is a {type(value).__name__}, which is not modelled")
        return out

    def getitem(self, state, index):
        key = real_argument(state, index)  # `Optional[int]`: classes are fixed objects
        if key is NOT_CONSTANT:
            return super().getitem(state, index)
        try:
            value = self.value[key]
        except Exception as exc:
            return raised(exc)
        out = frozen_vt(state, value)
        return out if out is not None else super().getitem(state, index)

    def iterate(self, state):
        items = []
        for value in self.value:
            out = frozen_vt(state, value)
            if out is None:
                return super().iterate(state)
            state, vt = out
            items.append(vt)
        return iterate_items(state, tuple(items))

    def contains(self, state, item):
        key = item.as_python(state)
        if key is NOT_CONSTANT:
            return super().contains(state, item)
        return state, ConstantVariable(key in self.value)


@attrs.frozen(slots=True)
class FrozenMethodVariable(VariableTracker):
    """A method of a frozen object (`sig.replace`, `sig.parameters.items`), run on constant arguments."""

    receiver: object = attrs.field(eq=False)
    name: str

    always_true = True

    def describe(self) -> str:
        return f"{type(self.receiver).__name__}.{self.name}"

    def call(self, state, args, kwargs):
        values = [arg.as_python(state) for arg in args]
        kw_values = {key: arg.as_python(state) for key, arg in kwargs.items()}
        if any(v is NOT_CONSTANT for v in values) or any(v is NOT_CONSTANT for v in kw_values.values()):
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"{self.describe()} with arguments not known while tracing")
        try:
            result = getattr(self.receiver, self.name)(*values, **kw_values)
        except Exception as exc:
            return raised(exc)
        if isinstance(result, (type({}.keys()), type({}.values()), type({}.items()))):
            result = tuple(result)  # a view of a frozen mapping never changes: its items will do
        out = frozen_vt(state, result)
        return out if out is not None else unsupported(
            BreakKind.UNSUPPORTED_VALUE, f"{self.describe()}() returned a {type(result).__name__}, which is not modelled")


def _inspected(callable_vt):
    """The real callable whose signature is asked, when the capture pins what it depends on; else None."""
    if isinstance(callable_vt, UserMethodVariable) and callable_vt.source is not None:
        # A bound method's signature is its function's without the first parameter, whatever the receiver.
        return types.MethodType(callable_vt.fn, object())
    pinned = callable_vt.pinned_object()
    return None if pinned is NOT_CONSTANT else pinned


@registry.builtin_rule(inspect.signature)
def _signature(state, args, kwargs):
    if len(args) != 1 or any(key not in ("follow_wrapped", "eval_str") for key in kwargs):
        return None
    target = _inspected(args[0])
    options = {key: value.as_python(state) for key, value in kwargs.items()}
    if target is None or NOT_CONSTANT in options.values():
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"inspect.signature of {args[0].describe()} is not modelled",
                           "pass a function or method that existed before the call")
    try:
        return state, FrozenObjectVariable(inspect.signature(target, **options))
    except Exception as exc:  # ValueError for callables without a signature, as eager raises
        return raised(exc)


def _info_rule(info_type):
    def rule(state, args, kwargs):
        values = [arg.as_python(state) for arg in args]
        if kwargs or NOT_CONSTANT in values:
            return None
        try:
            return state, FrozenObjectVariable(info_type(*values))  # the default dtype is guarded
        except Exception as exc:
            return raised(exc)
    return rule


registry.register_builtin_rules({torch.finfo: _info_rule(torch.finfo), torch.iinfo: _info_rule(torch.iinfo)})


@registry.from_python_rule(inspect.Signature, inspect.Parameter, torch.finfo, torch.iinfo, types.MappingProxyType,
                           *TYPING_TYPES, subclasses=True)
def _frozen_from_python(state, value):
    return (state, FrozenObjectVariable(value)) if is_frozen(value) else None
