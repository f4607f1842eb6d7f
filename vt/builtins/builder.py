"""Turning a real object into a VT, with the guards that make the VT valid.

The wrap rules here, registered by name in the order `registry.WRAP_ORDER`
declares, are the one place that looks at the type of a user's object.  What
the tracer learns from the object becomes a guard keyed on the object's
source, so a later call with a different object recaptures instead of reusing
a wrong graph.  Code anywhere in vt/ calls `registry.wrap_value`, which asks
these rules in order.
"""
from __future__ import annotations

import builtins
import collections
import enum
import functools
import math
import sys
import types
import weakref

import attrs
import torch

import core.markers as markers
from core.guards import BuiltinMatch, ConstantMatch, IdMatch, KeysMatch, SequenceMatch, TypeMatch
from core.identity_guards import DistinctInput, DistinctObjects, SameObject
from core.outcomes import BreakKind, unsupported
from core.sources import AttrSource, BuiltinSource, DictValueSource, ItemSource
from effects import heap
from vt import registry
from vt.callables.builtin import BuiltinVariable
from vt.objects.dict_subclass import is_dict_subclass, wrap_dict_subclass_object
from vt.objects.list_subclass import is_list_subclass, wrap_list_subclass_object
from vt.folding import call_constant_fn
from vt.data.constant import ConstantVariable, is_constant_value
from vt.data.container_methods import class_method
from vt.objects.contexts import GRAD_MODE_CLASSES, GradModeExit, GradModeFactoryVariable, wrap_grad_mode_exit
from vt.data.collections_mappings import DefaultDictVariable, OrderedDictVariable
from vt.data.deques import DequeVariable
from vt.data.dicts import DictVariable
from vt.data.module_globals import GlobalsVariable
from vt.callables.functions import UserFunctionVariable, existing_cell, made_anew
from vt.callables.functools_variables import CACHE_WRAPPER_TYPE, wrap_cached_function, wrap_partial
from vt.data.lists import ListVariable, TupleVariable
from vt.nn.nn_modules import NNModuleClassVariable, is_module_class
from vt.protocol import MAX_ITEMS, VariableTracker, is_identity_key, is_python_class
from vt.objects.records import wrap_record
from vt.data.sets import SetVariable
from vt.builtins.tensor_inputs import symbolic_int_input, wrap_tensor_input
from vt.callables.classes import ClassVariable
from vt.callables.torch import (GraphBreakVariable, ModuleVariable, OpaqueCallableVariable,
    TorchFunctionVariable, is_graphable_torch_callable, torch_callable_limit)
from vt.objects.user_classes import is_user_class, wrap_user_class
from vt.nn.nn_modules import NNModuleVariable
from vt.objects.user_objects import wrap_user_object
from vt.callables.functions import UserMethodVariable


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


_RECORD_WRAPPERS = {functools.partial: wrap_partial, CACHE_WRAPPER_TYPE: wrap_cached_function,
                    GradModeExit: wrap_grad_mode_exit}
"""type -> wrap function for the C types modelled by their own modules (functools, grad mode)."""


# Each rule answers for the real objects it recognises and returns None for the others; the
# registry asks them in the order of registry.WRAP_ORDER.

@registry.wrap_rule("tensor", only=(torch.Tensor,))
def _tensor(state, value, source, guard):
    if isinstance(value, torch.Tensor):
        return wrap_tensor_input(state, value, source)
    return None


@registry.wrap_rule("tuple", only=(tuple,))
def _tuple(state, value, source, guard):
    if type(value) is tuple:  # item by item, so that (2, 3) and (2.0, 3) get different guards
        return _too_long(value, source) or _wrap_tuple(state, value, source, guard)
    return None


@registry.wrap_rule("container", only=(dict, list, set, collections.deque))
def _container(state, value, source, guard):
    if type(value) is dict and _is_namespace(state, value):  # globals() handed on, e.g. across a break
        own = value is state.env.globals
        return _guarded(state, IdMatch(source, value, f"the globals of {value.get('__name__')}"), guard), \
            GlobalsVariable(value, None if own else source)
    if type(value) in (list, dict, set, collections.OrderedDict, collections.defaultdict, collections.deque):
        return _too_long(value, source) or _wrap_container(state, value, source, guard)
    return None


def _too_long(value, source):
    """A container input with more items than the tracer models (one VT and one guard per item)."""
    if len(value) <= MAX_ITEMS:
        return None
    return unsupported(BreakKind.UNSUPPORTED_VALUE,
                       f"{source.expr()} is a {type(value).__name__} of {len(value)} items, more than the tracer "
                       f"models ({MAX_ITEMS})")


@registry.wrap_rule("constant")
def _constant(state, value, source, guard):
    if type(value) is int and guard and state.env.dynamic.int_is_dynamic(source, value):
        return symbolic_int_input(state, value, source)
    if type(value) is torch.Size and guard and state.env.dynamic.size_is_dynamic(source, value):
        out = registry.wrap_items(state.add_guard(SequenceMatch(source, torch.Size, len(value))), value, source, guard)
        return out if type(out) is not tuple else (out[0], TupleVariable(out[1], torch.Size))
    if is_constant_value(value):
        return _guarded(state, ConstantMatch.of(source, value), guard), ConstantVariable(value, source)
    return None


@registry.wrap_rule("module", only=(types.ModuleType,))
def _module(state, value, source, guard):
    if isinstance(value, types.ModuleType):
        return _guarded(state, IdMatch(source, value, f"module {value.__name__}"), guard), \
            ModuleVariable(value, source)
    return None


@registry.wrap_rule("record", only=(enum.Enum, type, tuple))
def _record(state, value, source, guard):
    return wrap_record(state, value, source, guard)  # named tuples and enums, members and classes


@registry.wrap_rule("container_method", only=(types.MethodDescriptorType,))
def _container_method(state, value, source, guard):
    if type(value) is types.MethodDescriptorType and value.__objclass__ in (list, tuple, dict, set):
        method = class_method(value.__objclass__, value.__name__)  # `list.append`, e.g. across a break
        if method is not None:
            return _guarded(state, IdMatch(source, value, f"{value.__objclass__.__name__}.{value.__name__}"),
                            guard), method
    return None


@registry.wrap_rule("cell", only=(types.CellType,))
def _cell(state, value, source, guard):
    if type(value) is types.CellType:  # a cell handed to a resume function: a new one on every call
        return existing_cell(_guarded(state, TypeMatch(source, types.CellType), guard), value, source)
    return None


@registry.wrap_rule("functools")
def _functools(state, value, source, guard):
    wrap = _RECORD_WRAPPERS.get(type(value))
    if wrap is not None:  # functools.partial objects, lru_cache wrappers
        return wrap(state, value, source, guard)
    return None


@registry.wrap_rule("graph_break", only=(types.FunctionType,))
def _graph_break(state, value, source, guard):
    if value is markers.graph_break:
        return _guarded(state, IdMatch(source, value, "tracer.graph_break"), guard), GraphBreakVariable(source)
    return None


@registry.wrap_rule("grad_mode_factory", only=(types.MethodType,))
def _grad_mode_factory(state, value, source, guard):
    if isinstance(value, types.MethodType) and value.__name__ == "clone" and type(value.__self__) in GRAD_MODE_CLASSES:
        # `@torch.no_grad()` wrappers call `ctx_factory()`
        return _guarded(state, IdMatch(source, value, f"{type(value.__self__).__name__}.clone"), guard), \
            GradModeFactoryVariable(type(value.__self__), getattr(value.__self__, "mode", None))
    return None


# Objects of the user's classes come before the probes below (hashing, __name__), which could run their code.
@registry.wrap_rule("user_method", only=(types.MethodType,))
def _user_method(state, value, source, guard):
    if isinstance(value, types.MethodType) and type(value.__func__) is types.FunctionType \
            and not _in_torch(value.__func__):
        out = wrap_value(state, value.__self__, AttrSource(source, "__self__"), guard)
        if type(out) is not tuple:
            return out
        state, receiver = out
        return state, UserMethodVariable(value.__func__, receiver, AttrSource(source, "__func__"))
    return None


@registry.wrap_rule("nn_module", only=(torch.nn.Module,))
def _nn_module(state, value, source, guard):
    if isinstance(value, torch.nn.Module):
        return _guarded(state, IdMatch(source, value, f"module object {type(value).__name__}"), guard), \
            NNModuleVariable(value, source)
    return None


def _finalized(value) -> str | None:
    """Why the tracer must not model this object: a finalizer (`__del__`, a weak reference with a
    callback, `weakref.finalize`) runs when the last reference goes, which a trace cannot time."""
    if getattr(type(value), "__del__", None) is not None:
        return f"{type(value).__name__} has __del__"
    try:
        refs = weakref.getweakrefs(value)
    except TypeError:
        return None
    if any(getattr(ref, "__callback__", None) is not None for ref in refs):
        return "a weak reference to it has a callback (weakref.finalize, ...)"
    return None


@registry.wrap_rule("user_object")
def _user_object(state, value, source, guard):
    if not _is_user_object(value):
        return None
    why = _finalized(value)
    if why is not None:
        return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{source.expr()} is not modelled: {why}, which runs "
                           "when eager drops it", "objects with finalizers run eagerly")
    if guard:
        state = _identified(state, value, source)
    if isinstance(value, dict) and is_dict_subclass(type(value)):
        return wrap_dict_subclass_object(state, value, source)
    if isinstance(value, list) and is_list_subclass(type(value)):
        return wrap_list_subclass_object(state, value, source)
    return wrap_user_object(state, value, source)


def _identified(state, value, source):
    """Guard that `source` names this object of a Python class.  An object that existed before the
    call is pinned by identity.  A value the entry makes anew on every call (what a resume function
    receives: a model output built after a break) is guarded by its type and by how it aliases the
    other objects of its class the trace has seen; what the code reads from it is guarded as it is
    read, so a second call with a new object of the same shape reuses the capture."""
    if not source.made_per_call():
        return state.add_guard(IdMatch(source, value, f"{type(value).__name__} object"))
    state = state.add_guard(TypeMatch(source, type(value)))
    known = state.known_objects.get(id(value))
    if known is not None:
        other = state.heap.get(known)
        if other is not None and other.source is not None and other.source != source:
            state = state.add_guard(SameObject(source, other.source))
        return state
    for oid in state.known_objects.values():
        other = state.heap.get(oid)
        if other is not None and other.source is not None and getattr(other, "cls", None) is type(value):
            state = state.add_guard(DistinctObjects(source, other.source))
    return state


@registry.wrap_rule("torch_function")
def _torch_function(state, value, source, guard):
    if is_graphable_torch_callable(value):
        name = f"{getattr(value, '__module__', None) or 'torch'}.{value.__name__}"
        return _guarded(state, IdMatch(source, value, name), guard), TorchFunctionVariable(value, source)
    return None


@registry.wrap_rule("builtin", only=(types.BuiltinFunctionType, type))
def _builtin(state, value, source, guard):
    if _is_builtin(value):
        if type(source) is BuiltinSource:
            check = BuiltinMatch(source.name, value)
        else:
            check = IdMatch(source, value, f"builtin {value.__name__}")
        return _guarded(state, check, guard), BuiltinVariable(value, source)
    return None


@registry.wrap_rule("rule_callable")
def _rule_callable(state, value, source, guard):
    if registry.has_rule(value):  # itertools and operator functions, modelled by registered rules
        module = getattr(value, "__module__", None) or getattr(getattr(value, "__objclass__", None), "__module__", "")
        name = f"{module.lstrip('_')}.{getattr(value, '__qualname__', value.__name__)}"
        return _guarded(state, IdMatch(source, value, name), guard), BuiltinVariable(value, source)
    return None


@registry.wrap_rule("pure_function", only=(types.BuiltinFunctionType,))
def _pure_function(state, value, source, guard):
    if isinstance(value, types.BuiltinFunctionType) and getattr(value, "__module__", None) in \
            {m.__name__ for m in PURE_MODULES}:
        return _guarded(state, IdMatch(source, value, f"{value.__module__}.{value.__name__}"), guard), \
            PureFunctionVariable(value, source)
    return None


@registry.wrap_rule("function", only=(types.FunctionType,))
def _function(state, value, source, guard):
    """A Python function, inlined when called: the user's, and torch's own pure-Python helpers
    (`torch.utils._pytree.tree_map`, ...), as the trace rules decide (vt/callables/trace_rules.py)."""
    if not isinstance(value, types.FunctionType):
        return None
    if made_anew(value, source) or (state.env.rebuilt is not None and value in state.env.rebuilt):
        # made anew on every call: guard its code
        state = _guarded(state, TypeMatch(source, types.FunctionType), guard)
        return _guarded(state, IdMatch(AttrSource(source, "__code__"), value.__code__, "its code"), guard), \
            UserFunctionVariable(value, source)
    return _guarded(state, IdMatch(source, value, f"function {value.__qualname__}"), guard), \
        UserFunctionVariable(value, source)


@registry.wrap_rule("class", only=(type,))
def _class(state, value, source, guard):
    if not isinstance(value, type):
        return None
    guarded = _guarded(state, IdMatch(source, value, f"class {value.__qualname__}"), guard)
    if is_module_class(value):
        return guarded, NNModuleClassVariable(value, source)
    if is_user_class(value):
        return wrap_user_class(guarded, value, source)
    return guarded, ClassVariable(value, source)


@registry.wrap_rule("opaque_torch_callable")
def _opaque_torch_callable(state, value, source, guard):
    """Torch functions that touch global state or files: run eagerly at a break (a class of that kind,
    `torch.no_grad`, is a class with a rule of its own)."""
    limit = None if isinstance(value, type) else torch_callable_limit(value)
    if limit is not None:
        return _guarded(state, IdMatch(source, value, value.__name__), guard), \
            OpaqueCallableVariable(value.__name__, limit, source, value)
    return None


wrap_value = registry.wrap_value


def _is_user_object(value) -> bool:
    """An instance of a class defined in Python (not a builtin or C type).  torch's own Python classes
    count too (a pytree `TreeSpec`), except those that take part in torch's dispatch
    (`__torch_function__`, `__torch_dispatch__`), which are not plain Python objects."""
    cls = type(value)
    if not is_python_class(cls) or isinstance(value, type) \
            or isinstance(value, (types.FunctionType, types.MethodType, types.ModuleType)):
        return False
    return not _in_torch(cls) or not (hasattr(cls, "__torch_function__") or hasattr(cls, "__torch_dispatch__"))


def _in_torch(fn) -> bool:
    """Defined inside torch, except torch.nn's module classes, whose Python methods are inlined."""
    module = getattr(fn, "__module__", None) or ""
    if module.startswith("torch.nn.modules."):
        return False
    return module == "torch" or module.startswith("torch.")


def _is_namespace(state, value: dict) -> bool:
    """A module's globals dict: the traced function's own, or a loaded module's `__dict__`."""
    if value is state.env.globals:
        return True
    name = value.get("__name__")
    return type(name) is str and getattr(sys.modules.get(name), "__dict__", None) is value


def _guarded(state, check, guard: bool):
    return state.add_guard(check) if guard else state


def _is_builtin(value) -> bool:
    name = getattr(value, "__name__", None)
    return name is not None and getattr(builtins, name, None) is value and callable(value)


def _literal(key) -> bool:
    """A key that a guard can spell as a Python literal (`d['a']`, `d[(1, 2)]`); other keys (a dtype, an
    enum member, a class) are reached by position."""
    if type(key) is tuple:
        return all(_literal(item) for item in key)
    return type(key) in (int, str, bytes, bool, type(None)) or (type(key) is float and key == key and
                                                               abs(key) != float("inf"))


def _wrap_items(state, pairs, source, guard: bool):
    """VTs for (key, real item) pairs read through ItemSource(source, key); (state, list) or Unsupported."""
    items = []
    for position, (key, item) in enumerate(pairs):
        item_source = ItemSource(source, key) if _literal(key) else DictValueSource(source, position)
        out = wrap_value(state, item, item_source, guard)
        if type(out) is not tuple:
            return out
        state, vt = out
        items.append(vt)
    return state, items


def _consistent(ordered) -> bool:
    """An OrderedDict whose order list matches its storage (`dict.pop(od, k)` run for real breaks that:
    iterating it then raises KeyError)."""
    try:
        return len(list(ordered.items())) == dict.__len__(ordered)
    except (KeyError, RuntimeError):
        return False


def _wrap_container(state, value, source, guard: bool):
    """A list, dict or set passed in: one heap object per real object, its changes replayed later."""
    def make(state, oid):
        if type(value) in (list, collections.deque):
            state = _guarded(state, SequenceMatch(source, type(value), len(value)), guard)
            out = _wrap_items(state, enumerate(value), source, guard)
            if type(out) is not tuple:
                return out
            if type(value) is list:
                return out[0], ListVariable(oid, tuple(out[1]), source)
            state = _guarded(out[0], ConstantMatch.of(AttrSource(source, "maxlen"), value.maxlen), guard)
            return state, DequeVariable(oid, tuple(out[1]), value.maxlen, source)
        if isinstance(value, collections.OrderedDict) and not _consistent(value):
            return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{source.expr()} is an OrderedDict whose order list and "
                               "storage disagree (changed through dict's own methods)")
        keys = tuple(value)
        if not all(is_constant_value(key) or isinstance(key, enum.Enum) or is_identity_key(key) for key in keys):
            return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{source.expr()} has keys that are not constants",
                               "use numbers or strings as keys")
        state = _guarded(state, KeysMatch(source, type(value), keys), guard)
        if type(value) is set:
            return state, SetVariable(oid, keys, source)
        out = _wrap_items(state, value.items(), source, guard)
        if type(out) is not tuple:
            return out
        state, entries = out[0], tuple(zip(keys, out[1]))
        if type(value) is collections.OrderedDict:
            return state, OrderedDictVariable(oid, entries, source)
        if type(value) is collections.defaultdict:
            out = wrap_value(state, value.default_factory, AttrSource(source, "default_factory"), guard)
            return out if type(out) is not tuple else (out[0], DefaultDictVariable(oid, entries, source, factory=out[1]))
        return state, DictVariable(oid, entries, source)

    first_seen = id(value) not in state.known_objects
    out = heap.existing_object(state, value, make)
    if type(out) is not tuple:
        return out
    if first_seen:
        # The heap models distinct real objects as distinct: a later call passing one object
        # for two of them must recapture (the containers of one kind are checked together at the
        # end, core/guards.py distinct_groups).
        state, vt = out
        return _guarded(state, DistinctInput(source, type(vt).__name__, id(value)), guard), vt
    state, vt = out  # reached before through another source: one object, guarded to stay shared
    return _guarded(state, SameObject(source, vt.source), guard), vt


def _wrap_tuple(state, value: tuple, source, guard: bool):
    out = registry.wrap_items(_guarded(state, SequenceMatch(source, tuple, len(value)), guard), value, source, guard)
    if type(out) is not tuple:
        return out
    state, items = out
    return state, TupleVariable(items, source=source)
