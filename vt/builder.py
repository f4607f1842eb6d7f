"""Turning a real object into a VT, with the guards that make the VT valid.

This is the one place that looks at the type of a user's object.  What the
tracer learns from the object becomes a guard keyed on the object's source, so
a later call with a different object recaptures instead of reusing a wrong
graph.
"""
from __future__ import annotations

import builtins
import enum
import math
import types

import attrs
import torch

import core.markers as markers
from core.guards import (BuiltinMatch, ConstantMatch, DistinctObjects, IdMatch, KeysMatch, SameObject,
    SequenceMatch, TensorMatch)
from effects import heap
from vt import registry
from vt.builtin import BuiltinVariable, call_constant_fn
from vt.protocol import VariableTracker
from vt.constant import ConstantVariable, is_constant_value
from vt.lists import TupleVariable
from core.outcomes import BreakKind, unsupported
from vt.nn_modules import NNModuleClassVariable, is_module_class
from vt.records import wrap_record
from core.sources import AttrSource, BuiltinSource
from vt.tensor import TensorVariable
from vt.torch import ClassVariable, GraphBreakVariable, ModuleVariable, OpaqueCallableVariable, \
    TorchFunctionVariable, is_graphable_torch_callable, torch_callable_limit


@attrs.frozen(slots=True)
class PureFunctionVariable(VariableTracker):
    """A C function of a pure-math module (`math.sqrt`), folded on constant arguments."""

    fn: object
    source: object = attrs.field(default=None, eq=False)

    always_true = True

    def describe(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__name__}"

    def call(self, state, args, kwargs):
        return call_constant_fn(state, self.fn, f"{self.describe()}()", args, kwargs)


PURE_MODULES = (math,)


def _record_wrappers() -> dict:
    """type -> wrap function for the C types modelled by their own modules (functools, ...)."""
    import functools

    from vt.contexts import GradModeExit, wrap_grad_mode_exit
    from vt.functools_variables import CACHE_WRAPPER_TYPE, wrap_cached_function, wrap_partial

    return {functools.partial: wrap_partial, CACHE_WRAPPER_TYPE: wrap_cached_function,
            GradModeExit: wrap_grad_mode_exit}


_RECORD_WRAPPERS = _record_wrappers()


def wrap_value(state, value, source, guard: bool = True):
    """VT for the real object `value` reached through `source`; returns (state, vt)."""
    if isinstance(value, torch.Tensor):
        return _wrap_tensor(state, value, source)
    if type(value) is tuple:  # item by item, so that (2, 3) and (2.0, 3) get different guards
        return _wrap_tuple(state, value, source, guard)
    if type(value) in (list, dict, set):
        return _wrap_container(state, value, source, guard)
    if is_constant_value(value):
        return _guarded(state, ConstantMatch.of(source, value), guard), ConstantVariable(value, source)
    if isinstance(value, types.ModuleType):
        return _guarded(state, IdMatch(source, value, f"module {value.__name__}"), guard), \
            ModuleVariable(value, source)
    record = wrap_record(state, value, source, guard)  # named tuples and enums, members and classes
    if record is not None:
        return record
    if type(value) is types.MethodDescriptorType and value.__objclass__ in (list, tuple, dict, set):
        from vt.container_methods import class_method

        method = class_method(value.__objclass__, value.__name__)  # `list.append`, e.g. across a break
        if method is not None:
            return _guarded(state, IdMatch(source, value, f"{value.__objclass__.__name__}.{value.__name__}"),
                            guard), method
    if type(value) is types.CellType:  # a cell handed to a resume function: a new one on every call
        from core.guards import TypeMatch
        from vt.functions import existing_cell

        return existing_cell(_guarded(state, TypeMatch(source, types.CellType), guard), value, source)
    if type(value) in _RECORD_WRAPPERS:  # functools.partial objects, lru_cache wrappers
        return _RECORD_WRAPPERS[type(value)](state, value, source, guard)
    if value is markers.graph_break:
        return _guarded(state, IdMatch(source, value, "tracer.graph_break"), guard), GraphBreakVariable(source)
    if isinstance(value, types.MethodType) and value.__name__ == "clone" and _is_grad_mode(value.__self__):
        from vt.contexts import GradModeFactoryVariable  # `@torch.no_grad()` wrappers call `ctx_factory()`

        return _guarded(state, IdMatch(source, value, f"{type(value.__self__).__name__}.clone"), guard), \
            GradModeFactoryVariable(type(value.__self__), getattr(value.__self__, "mode", None))
    # Objects of the user's classes first: the probes below (hashing, __name__) could run their code.
    if isinstance(value, types.MethodType) and type(value.__func__) is types.FunctionType \
            and not _in_torch(value.__func__):
        from vt.user_objects import UserMethodVariable

        out = wrap_value(state, value.__self__, AttrSource(source, "__self__"), guard)
        if type(out) is not tuple:
            return out
        state, receiver = out
        return state, UserMethodVariable(value.__func__, receiver, AttrSource(source, "__func__"))
    if isinstance(value, torch.nn.Module):
        from vt.user_objects import NNModuleVariable

        return _guarded(state, IdMatch(source, value, f"module object {type(value).__name__}"), guard), \
            NNModuleVariable(value, source)
    if _is_user_object(value):
        from vt.user_objects import wrap_user_object

        return wrap_user_object(_guarded(state, IdMatch(source, value, f"{type(value).__name__} object"), guard),
                                value, source)
    if is_graphable_torch_callable(value):
        name = f"{getattr(value, '__module__', None) or 'torch'}.{value.__name__}"
        return _guarded(state, IdMatch(source, value, name), guard), TorchFunctionVariable(value, source)
    if _is_builtin(value):
        if type(source) is BuiltinSource:
            check = BuiltinMatch(source.name, value)
        else:
            check = IdMatch(source, value, f"builtin {value.__name__}")
        return _guarded(state, check, guard), BuiltinVariable(value, source)
    if registry.has_rule(value):  # itertools and operator functions, modelled by rules in vt.builtin
        name = f"{value.__module__.lstrip('_')}.{value.__name__}"
        return _guarded(state, IdMatch(source, value, name), guard), BuiltinVariable(value, source)
    if isinstance(value, types.BuiltinFunctionType) and getattr(value, "__module__", None) in \
            {m.__name__ for m in PURE_MODULES}:
        return _guarded(state, IdMatch(source, value, f"{value.__module__}.{value.__name__}"), guard), \
            PureFunctionVariable(value, source)
    if isinstance(value, types.FunctionType) and not _in_torch(value):
        from vt.functions import UserFunctionVariable

        if getattr(value, "__snaptrace_rebuilt__", False):  # made anew on every call: guard its code
            from core.guards import TypeMatch

            state = _guarded(state, TypeMatch(source, types.FunctionType), guard)
            return _guarded(state, IdMatch(AttrSource(source, "__code__"), value.__code__, "its code"), guard), \
                UserFunctionVariable(value, source)
        return _guarded(state, IdMatch(source, value, f"function {value.__qualname__}"), guard), \
            UserFunctionVariable(value, source)
    if isinstance(value, type):
        from vt.user_classes import is_user_class, wrap_user_class

        guarded = _guarded(state, IdMatch(source, value, f"class {value.__qualname__}"), guard)
        if is_module_class(value):
            return guarded, NNModuleClassVariable(value, source)
        if is_user_class(value):
            return wrap_user_class(guarded, value, source)
        return guarded, ClassVariable(value, source)
    limit = torch_callable_limit(value)
    if limit is not None:
        return _guarded(state, IdMatch(source, value, value.__name__), guard), \
            OpaqueCallableVariable(value.__name__, limit, source)
    return unsupported(BreakKind.UNSUPPORTED_VALUE,
                       f"{source.expr()} is a {type(value).__qualname__}, which the tracer does not model yet",
                       "pass tensors, numbers, strings or tuples of them")


def wrap_module_attribute(state, module_vt, name: str):
    """`module.name`; attributes inside torch's own namespace are taken as fixed and not guarded."""
    value = getattr(module_vt.module, name)
    module_name = module_vt.module.__name__
    in_torch = module_name == "torch" or module_name.startswith("torch.")
    if isinstance(value, torch.Tensor):
        return unsupported(BreakKind.UNSUPPORTED_VALUE, f"tensor {module_name}.{name} read from a module",
                           "pass the tensor as an argument")
    return wrap_value(state, value, AttrSource(module_vt.source, name), guard=not in_torch)


def _is_user_object(value) -> bool:
    """An instance of a class defined in Python (not a builtin or C type), outside torch."""
    cls = type(value)
    return bool(cls.__flags__ & (1 << 9)) and not isinstance(value, type) and not _in_torch(cls) \
        and not isinstance(value, (types.FunctionType, types.MethodType, types.ModuleType))


def _in_torch(fn) -> bool:
    """Defined inside torch, except torch.nn's module classes, whose Python methods are inlined."""
    module = getattr(fn, "__module__", None) or ""
    if module.startswith("torch.nn.modules."):
        return False
    return module == "torch" or module.startswith("torch.")


def _guarded(state, check, guard: bool):
    return state.add_guard(check) if guard else state


def _is_grad_mode(value) -> bool:
    from vt.contexts import GRAD_MODE_CLASSES

    return type(value) in GRAD_MODE_CLASSES


def _is_builtin(value) -> bool:
    name = getattr(value, "__name__", None)
    return name is not None and getattr(builtins, name, None) is value and callable(value)


def _wrap_tensor(state, value: torch.Tensor, source):
    fake = state.env.fake_mode.from_tensor(value, static_shapes=True)
    for index in state.placeholders:
        node = state.graph[index]
        if node.example is fake:
            # The same tensor object passed twice: one placeholder, and a guard that it stays shared.
            state = state.add_guard(SameObject(source, node.target))
            return state, TensorVariable(index, fake, type(value), source)
    state = state.add_guard(TensorMatch.of(source, value))
    state, index = state.add_node("placeholder", source, (), (), fake, value)
    return state, TensorVariable(index, fake, type(value), source)


def _wrap_items(state, pairs, source, guard: bool):
    """VTs for (key, real item) pairs read through ItemSource(source, key); (state, list) or Unsupported."""
    from core.sources import ItemSource

    from core.sources import DictValueSource

    items = []
    for position, (key, item) in enumerate(pairs):
        item_source = ItemSource(source, key) if is_constant_value(key) else DictValueSource(source, position)
        out = wrap_value(state, item, item_source, guard)
        if type(out) is not tuple:
            return out
        state, vt = out
        items.append(vt)
    return state, items


def _wrap_container(state, value, source, guard: bool):
    """A list, dict or set passed in: one heap object per real object, its changes replayed later."""
    from vt.dicts import DictVariable
    from vt.lists import ListVariable
    from vt.sets import SetVariable

    def make(state, oid):
        if type(value) is list:
            state = _guarded(state, SequenceMatch(source, list, len(value)), guard)
            out = _wrap_items(state, enumerate(value), source, guard)
            return out if type(out) is not tuple else (out[0], ListVariable(oid, tuple(out[1]), source))
        keys = tuple(value)
        if not all(is_constant_value(key) or isinstance(key, enum.Enum) for key in keys):  # enum members: singletons
            return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{source.expr()} has keys that are not constants",
                               "use numbers or strings as keys")
        state = _guarded(state, KeysMatch(source, type(value), keys), guard)
        if type(value) is set:
            return state, SetVariable(oid, keys, source)
        out = _wrap_items(state, value.items(), source, guard)
        if type(out) is not tuple:
            return out
        return out[0], DictVariable(oid, tuple(zip(keys, out[1])), source)

    first_seen = id(value) not in state.known_objects
    # Objects still being wrapped (an outer container of this one) are not in the heap yet.
    others = [state.heap[oid] for oid in state.known_objects.values() if oid in state.heap] if first_seen else []
    out = heap.existing_object(state, value, make)
    if type(out) is not tuple:
        return out
    if first_seen:
        # The heap models distinct real objects as distinct: a later call passing one object
        # for two of them must recapture.
        state, vt = out
        for other in others:
            if other.family == vt.family:
                state = _guarded(state, DistinctObjects(source, other.source), guard)
        return state, vt
    state, vt = out  # reached before through another source: one object, guarded to stay shared
    return _guarded(state, SameObject(source, vt.source), guard), vt


def wrap_items(state, value, source, guard: bool):
    """(state, VTs) for the items of a tuple-like input, each read and guarded through
    `source[i]`, or the stop that one of them hit."""
    from core.sources import ItemSource

    items = []
    for position, item in enumerate(value):
        out = wrap_value(state, item, ItemSource(source, position), guard)
        if type(out) is not tuple:
            return out
        state, vt = out
        items.append(vt)
    return state, tuple(items)


def _wrap_tuple(state, value: tuple, source, guard: bool):
    out = wrap_items(_guarded(state, SequenceMatch(source, tuple, len(value)), guard), value, source, guard)
    if type(out) is not tuple:
        return out
    state, items = out
    return state, TupleVariable(items)
