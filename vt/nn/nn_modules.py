"""What calling and walking an nn.Module means while tracing, beyond reading attributes.

`vt.user_objects.NNModuleVariable` is the VT of a module that existed before
the call; it hands the operations below to this module:

* **calls** follow `Module._call_impl`: forward pre-hooks, `forward`, forward
  hooks, each hook a Python function inlined like any other call.  The hook
  tables are guarded (`ModuleHooksMatch`), as is the absence of global hooks
  (`NoGlobalHooks`), so registering a hook later recaptures.  Backward hooks,
  hooks taking keyword arguments and global hooks stop the capture.
* **containers and tree walks** (`seq[1:]`, `m.parameters()`, ...) are in
  vt/nn_module_tree.py;
* **modules made inside the function** (`nn.ReLU()(x)`): built for real at
  trace time when the class is a parameter-free torch module (activations,
  dropout, pooling, padding, flatten, ...) with constant arguments, then
  inlined like any module (`CreatedModuleVariable`).  A module that would own
  parameters or buffers (`nn.Linear(4, 4)`, `nn.BatchNorm1d(4)`) or a class of
  your own is not built: that is an `unsupported-call` break, since its
  initial values (random draws) and attribute writes are not traced.
"""
from __future__ import annotations

import operator
import types

import attrs
import torch

from effects import heap
from vt.objects.attributes import store_raw, written
from vt.objects.object_attributes import instance_dict
from vt.protocol import DELETED, MISSING, NOT_CONSTANT, VariableTracker
from vt.data.constant import ConstantVariable, is_constant_value
from vt.data.lists import TupleVariable
from core.outcomes import BreakKind, unsupported
from core.sources import AttrSource, ItemSource
from vt.registry import wrap_value
from vt.callables.classes import ClassVariable
from vt.nn.nn_module_tree import iterate_module, module_attribute, module_contains, module_getitem, module_length  # noqa: F401  (NNModuleVariable delegates to these through this module)
from vt.callables.functions import UserMethodVariable, class_attribute
from vt.callables.functions import call_function_from
from vt.data.tensor import TensorVariable
from vt.objects.user_objects import (PythonObjectRecord, _is_module, _method_source, _read_attribute, register_object_operators)


# -- guards ---------------------------------------------------------------------------------------

@attrs.frozen(slots=True)
class ModuleHooksMatch:
    """A module's forward pre-hooks and forward hooks are the same (by handle id, in order), and it
    has no backward hooks and no hooks taking keyword arguments."""

    conjunction = True  # see core/guards.py

    source: object
    pre_hooks: tuple
    hooks: tuple

    def key(self):
        return ("module_hooks", self.source)

    def expr(self, ns) -> str:
        x = ns.src(self.source)
        if not self.pre_hooks and not self.hooks:  # most modules: one short clause, cheap to compile
            return f"not {ns.ref(any, 'any')}({ns.ref(_HOOK_TABLES, 'hooks')}({x}))"
        # `not table` for an empty table: the same test as `tuple(table) == ()`, shorter to parse
        pre = f"not {x}._forward_pre_hooks" if not self.pre_hooks else f"tuple({x}._forward_pre_hooks) == {self.pre_hooks!r}"
        post = f"not {x}._forward_hooks" if not self.hooks else f"tuple({x}._forward_hooks) == {self.hooks!r}"
        return (f"{pre} and {post}"
                f" and not {x}._backward_hooks and not {x}._backward_pre_hooks"
                f" and not {x}._forward_pre_hooks_with_kwargs and not {x}._forward_hooks_with_kwargs")

    def __str__(self):
        return f"{self.source.expr()}: forward pre-hooks {list(self.pre_hooks)}, forward hooks {list(self.hooks)}"


_HOOK_TABLES = operator.attrgetter("_forward_pre_hooks", "_forward_hooks", "_backward_hooks", "_backward_pre_hooks",
                                   "_forward_pre_hooks_with_kwargs", "_forward_hooks_with_kwargs")
"""A module's six hook tables, read in one C call: a module's guard with no hooks at all is then a
few tokens instead of six attribute tests (guard functions cost their parse, by the token)."""


@attrs.frozen(slots=True)
class NoGlobalHooks:
    """No global module hooks (`register_module_forward_hook` and friends) are registered."""

    conjunction = True  # see core/guards.py

    def key(self):
        return ("no_global_module_hooks",)

    def expr(self, ns) -> str:
        from torch.nn.modules import module as module_module

        m = ns.ref(module_module, "module")
        return " and ".join(f"not {m}.{table}" for table in _GLOBAL_HOOK_TABLES)

    def __str__(self):
        return "no global nn.Module hooks"


_GLOBAL_HOOK_TABLES = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                       "_global_backward_pre_hooks")


def global_hooks_present() -> bool:
    from torch.nn.modules import module as module_module

    return any(getattr(module_module, table, None) for table in _GLOBAL_HOOK_TABLES)


# -- calls ---------------------------------------------------------------------------------------

def call_module(state, module_vt, args, kwargs):
    """`module(*args, **kwargs)` as Module._call_impl runs it: pre-hooks, forward, hooks."""
    module, source = module_vt.module, module_vt.source
    if global_hooks_present():
        return unsupported(BreakKind.UNSUPPORTED_CALL, "global nn.Module hooks are registered "
                           "(register_module_forward_hook and friends), which are not traced",
                           "remove the global hooks, or register hooks on the modules themselves")
    if module._backward_hooks or module._backward_pre_hooks:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{module_vt.describe()} has backward hooks, "
                           "which are not traced", "remove the hooks, or call the module outside")
    if module._forward_pre_hooks_with_kwargs or module._forward_hooks_with_kwargs:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{module_vt.describe()} has hooks registered with "
                           "with_kwargs=True, which are not traced yet", "register them without with_kwargs")
    state = state.add_guard(NoGlobalHooks())
    if source is not None:
        state = state.add_guard(ModuleHooksMatch(source, tuple(module._forward_pre_hooks),
                                                 tuple(module._forward_hooks)))
    custom_call = class_attribute(type(module), "__call__")
    if custom_call is not torch.nn.Module.__call__:  # a class that overrides __call__ itself
        if type(custom_call) is not types.FunctionType or source is None:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"{module_vt.describe()} overrides __call__ with "
                               "something that is not a Python function")
        return call_function_from(state, custom_call, _method_source(source, "__call__"), [module_vt, *args], kwargs)
    forward = class_attribute(type(module), "forward")
    if "forward" in instance_dict(module):  # forward replaced on the instance, which _call_impl's self.forward finds
        forward = None
    elif type(forward) is not types.FunctionType:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{module_vt.describe()} has no Python forward")
    for hook_id, hook in module._forward_pre_hooks.items():
        out = _call_hook(state, hook, source, "_forward_pre_hooks", hook_id, [module_vt, TupleVariable(tuple(args))])
        if type(out) is not tuple:
            return out
        state, result = out
        if not result.constant_value() is None:
            args = list(result.items) if isinstance(result, TupleVariable) else [result]  # isinstance(result, tuple)
    if hasattr(module_vt, "forward_source"):  # a module made inside the function: its class's source
        forward_source = module_vt.forward_source()
    else:
        forward_source = None if source is None else _method_source(source, "forward")
    if forward_source is None:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{module_vt.describe()} is reached without a source")
    if forward is None:
        out = module_vt.getattr(state, "forward")
        out = out if type(out) is not tuple else out[1].call(out[0], list(args), kwargs)
    else:
        out = call_function_from(state, forward, forward_source, [module_vt, *args], kwargs)
    if type(out) is not tuple:
        return out
    state, output = out
    for hook_id, hook in module._forward_hooks.items():
        out = _call_hook(state, hook, source, "_forward_hooks", hook_id,
                         [module_vt, TupleVariable(tuple(args)), output])
        if type(out) is not tuple:
            return out
        state, result = out
        if not result.constant_value() is None:
            output = result
    return state, output


def _call_hook(state, hook, module_source, table: str, hook_id, args):
    out = wrap_value(state, hook, ItemSource(AttrSource(module_source, table), hook_id))
    if type(out) is not tuple:
        return out
    state, hook_vt = out
    return hook_vt.call(state, args, {})


# -- modules made inside the traced function ------------------------------------------------------

_STATELESS_NAMESPACES = ("activation", "dropout", "flatten", "pooling", "padding", "pixelshuffle",
                         "channelshuffle", "upsampling", "distance", "fold")
_OWNS_STATE = frozenset({"PReLU", "MultiheadAttention"})  # in those namespaces, but with parameters


def _stateless_class(cls) -> bool:
    """Parameter-free torch.nn classes whose construction draws no random numbers."""
    module = getattr(cls, "__module__", "")
    if cls is torch.nn.Identity:
        return True
    return module.startswith("torch.nn.modules.") and module.rsplit(".", 1)[1] in _STATELESS_NAMESPACES \
        and cls.__name__ not in _OWNS_STATE


def construct_module(state, class_vt, args, kwargs):
    """`nn.ReLU()`, `nn.Dropout(0.1)` inside the function: the real module, built at trace time."""
    cls = class_vt.cls
    if not _stateless_class(cls):
        owner = "your class" if not cls.__module__.startswith("torch.") else "a module that owns parameters or buffers"
        return unsupported(BreakKind.UNSUPPORTED_CALL,
                           f"constructing {cls.__name__} inside the traced function is not traced ({owner}: its "
                           "__init__ writes attributes and may draw random initial values)",
                           "create the module once, outside the function, and call it here")
    values = [arg.as_python(state) for arg in args]
    kw_values = {key: arg.as_python(state) for key, arg in kwargs.items()}
    if any(v is NOT_CONSTANT for v in [*values, *kw_values.values()]):
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"constructing {cls.__name__} with arguments not known "
                           "while tracing is not traced")
    if class_vt.source is None:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{class_vt.describe()} is reached without a source")
    try:
        module = cls(*values, **kw_values)
    except Exception as exc:  # the eager run raises the same
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"{cls.__name__}(...) raised {type(exc).__name__}: {exc}")
    if module._parameters or module._buffers or module._modules:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{cls.__name__}(...) owns parameters, buffers or "
                           "submodules, which a module made while tracing may not")
    return state, CreatedModuleVariable(module, class_vt.source)


@attrs.frozen(slots=True)
class CreatedModuleVariable(VariableTracker):
    """A parameter-free torch module made by the traced function: its attributes are the constants its
    constructor set (known, unguarded: nothing else can reach the object), its methods are read from
    its class, which is reached through `class_source`."""

    module: torch.nn.Module = attrs.field(eq=False)
    class_source: object = attrs.field(eq=False)

    always_true = True
    source = None

    def runtime_type(self):
        return type(self.module)

    def describe(self) -> str:
        return f"module {type(self.module).__name__} made while tracing"

    def forward_source(self):
        return AttrSource(self.class_source, "forward")

    def getattr(self, state, name):
        instance = instance_dict(self.module)
        if name in instance and is_constant_value(instance[name]):
            return state, ConstantVariable(instance[name])
        found = class_attribute(type(self.module), name)
        if type(found) is types.FunctionType:
            return state, UserMethodVariable(found, self, AttrSource(self.class_source, name))
        if found is not None and is_constant_value(found):
            return wrap_value(state, found, AttrSource(self.class_source, name))
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"attribute {name!r} of {self.describe()} is not modelled")

    def call(self, state, args, kwargs):
        return call_module(state, self, args, kwargs)

    def length(self):
        return None


@attrs.frozen(slots=True)
class NNModuleClassVariable(ClassVariable):
    """An nn.Module subclass used as a value (`nn.ReLU`); calling it follows `construct_module`."""

    def call(self, state, args, kwargs):
        return construct_module(state, self, args, kwargs)


def is_module_class(value) -> bool:
    return isinstance(value, type) and issubclass(value, torch.nn.Module)


# -- modules that existed before the call ------------------------------------------------------------

@attrs.frozen(slots=True)
class NNModuleVariable(VariableTracker):
    """A torch.nn.Module that existed before the call; calling it inlines `type(m).forward`."""

    module: torch.nn.Module = attrs.field(eq=False)
    source: object = attrs.field(default=None, eq=False)

    always_true = True

    def pinned_object(self):
        return self.module if self.source is not None else NOT_CONSTANT

    def runtime_type(self):
        return type(self.module)

    def describe(self) -> str:
        return f"module {type(self.module).__name__}"

    def getattr(self, state, name):
        module = self.module
        record = module_attributes(state, module)
        value = MISSING if record is None else written(record.attributes, name)
        if value is DELETED:
            return unsupported(BreakKind.PYTHON_EXCEPTION,
                               f"AttributeError: {type(module).__name__!r} object has no attribute {name!r}")
        if value is not MISSING:
            return state, value
        for table in ("_parameters", "_buffers", "_modules"):
            entries = instance_dict(module).get(table, {})
            if name in entries:
                value = entries[name]
                if value is None:
                    return state, ConstantVariable(None)
                return wrap_value(state, value, AttrSource(self.source, name))
        walk = module_attribute(state, self, name)  # m.parameters, m.named_modules, ...
        return walk if walk is not None else _read_attribute(state, self, module, name)

    # Calls (hooks, forward) and the container protocol live in vt/py.

    def setattr(self, state, name, value):
        """`m.name = value` for a plain Python value (what Module.__setattr__ does for a name that is not
        a parameter, buffer or submodule); the rest breaks."""
        module = self.module
        if type(module).__setattr__ is not torch.nn.Module.__setattr__ or \
                type(module).__delattr__ is not torch.nn.Module.__delattr__:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{self.describe()} has its own __setattr__/__delattr__")
        own = instance_dict(module)
        if any(name in own.get(table, {}) for table in ("_parameters", "_buffers", "_modules")):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"assigning to parameter, buffer or submodule "
                               f"{name!r} of {self.describe()} is not traced yet")
        if value is not DELETED and (isinstance(value, TensorVariable) or _is_module(value)):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"assigning a {value.describe()} to {self.describe()} "
                               "(it may become a parameter, buffer or submodule) is not traced yet")
        if value is DELETED and name not in own:
            record = module_attributes(state, module)

            if record is None or written(record.attributes, name) in (MISSING, DELETED):
                return unsupported(BreakKind.PYTHON_EXCEPTION, f"AttributeError: {name}")
        state, record = module_record(state, self)
        return store_raw(state, record, name, value)

    def call(self, state, args, kwargs):
        return call_module(state, self, args, kwargs)

    def unpack(self, state, count):
        return None

    def iterate(self, state):
        return iterate_module(state, self)

    def length(self):
        return module_length(self)

    def getitem(self, state, index):
        return module_getitem(state, self, index)

    def contains(self, state, item):
        return module_contains(state, self, item)


@attrs.frozen(slots=True)
class ModuleAttributesVariable(PythonObjectRecord):
    """The plain attributes the program wrote onto a pre-existing nn.Module, in the heap (the module's
    parameters, buffers and submodules stay read through its NNModuleVariable)."""

    oid: int
    cls: type = attrs.field(eq=False)
    value: object = attrs.field(eq=False)
    source: object = attrs.field(eq=False)
    attributes: tuple = attrs.field(default=(), eq=False)

    def describe(self) -> str:
        return f"attributes of module {self.cls.__name__}"


def module_attributes(state, module):
    oid = state.known_objects.get(id(module))
    return None if oid is None else state.heap.get(oid)


def module_record(state, module_vt):
    module = module_vt.module
    return heap.existing_object(state, module, lambda state, oid: (state, ModuleAttributesVariable(
        oid, type(module), module, module_vt.source)))

