"""What calling and walking an nn.Module means while tracing, beyond reading attributes.

`vt.user_objects.NNModuleVariable` is the VT of a module that existed before
the call; it hands the operations below to this module:

* **calls** follow `Module._call_impl`: forward pre-hooks, `forward`, forward
  hooks, each hook a Python function inlined like any other call.  The hook
  tables are guarded (`ModuleHooksMatch`), as is the absence of global hooks
  (`NoGlobalHooks`), so registering a hook later recaptures.  Backward hooks,
  hooks taking keyword arguments and global hooks stop the capture.
* **containers** (`Sequential`, `ModuleList`, `ModuleDict`): iteration, `len`,
  indexing (negative too, and slices, which give a `ModuleSliceVariable`),
  `in`; the child table is guarded by its keys (`KeysMatch` on `m._modules`).
* **tree walks** (`parameters()`, `named_parameters()`, `buffers()`,
  `children()`, `modules()`, `named_modules()`, ...): answered from the real
  tree at trace time, every item read through its own source; each table the
  walk read is guarded by its keys, so adding a parameter or a child
  recaptures.
* **modules made inside the function** (`nn.ReLU()(x)`): built for real at
  trace time when the class is a parameter-free torch module (activations,
  dropout, pooling, padding, flatten, ...) with constant arguments, then
  inlined like any module (`CreatedModuleVariable`).  A module that would own
  parameters or buffers (`nn.Linear(4, 4)`, `nn.BatchNorm1d(4)`) or a class of
  your own is not built: that is an `unsupported-call` break, since its
  initial values (random draws) and attribute writes are not traced.
"""
from __future__ import annotations

import types

import attrs
import torch

from graph.guards import KeysMatch
from vt.base import VariableTracker
from vt.constant import ConstantVariable
from vt.lists import TupleVariable
from vt.outcome import BreakKind, unsupported
from vt.sources import AttrSource, ItemSource
from vt.torch import ClassVariable

_CONTAINERS = (torch.nn.Sequential, torch.nn.ModuleList)


# -- guards ---------------------------------------------------------------------------------------

@attrs.frozen(slots=True)
class ModuleHooksMatch:
    """A module's forward pre-hooks and forward hooks are the same (by handle id, in order), and it
    has no backward hooks and no hooks taking keyword arguments."""

    source: object
    pre_hooks: tuple
    hooks: tuple

    def key(self):
        return ("module_hooks", self.source)

    def expr(self, ns) -> str:
        x = ns.src(self.source)
        return (f"tuple({x}._forward_pre_hooks) == {self.pre_hooks!r} and tuple({x}._forward_hooks) == {self.hooks!r}"
                f" and not {x}._backward_hooks and not {x}._backward_pre_hooks"
                f" and not {x}._forward_pre_hooks_with_kwargs and not {x}._forward_hooks_with_kwargs")

    def __str__(self):
        return f"{self.source.expr()}: forward pre-hooks {list(self.pre_hooks)}, forward hooks {list(self.hooks)}"


@attrs.frozen(slots=True)
class NoGlobalHooks:
    """No global module hooks (`register_module_forward_hook` and friends) are registered."""

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


def _global_hooks_present() -> bool:
    from torch.nn.modules import module as module_module

    return any(getattr(module_module, table, None) for table in _GLOBAL_HOOK_TABLES)


def _guard_keys(state, source, table: dict):
    if source is None:
        return state
    return state.add_guard(KeysMatch(source, type(table), tuple(table)))


# -- calls ---------------------------------------------------------------------------------------

def call_module(state, module_vt, args, kwargs):
    """`module(*args, **kwargs)` as Module._call_impl runs it: pre-hooks, forward, hooks."""
    from vt.user_objects import _call_function, _method_source, class_attribute

    module, source = module_vt.module, module_vt.source
    if _global_hooks_present():
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
        return _call_function(state, custom_call, _method_source(source, "__call__"), [module_vt, *args], kwargs)
    forward = class_attribute(type(module), "forward")
    if "forward" in module.__dict__:  # forward replaced on the instance, which _call_impl's self.forward finds
        forward = None
    elif type(forward) is not types.FunctionType:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{module_vt.describe()} has no Python forward")
    for hook_id, hook in module._forward_pre_hooks.items():
        out = _call_hook(state, hook, source, "_forward_pre_hooks", hook_id, [module_vt, TupleVariable(tuple(args))])
        if type(out) is not tuple:
            return out
        state, result = out
        if not (result.family == "constant" and result.constant_value() is None):
            args = list(result.items) if type(result) is TupleVariable else [result]
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
        out = _call_function(state, forward, forward_source, [module_vt, *args], kwargs)
    if type(out) is not tuple:
        return out
    state, output = out
    for hook_id, hook in module._forward_hooks.items():
        out = _call_hook(state, hook, source, "_forward_hooks", hook_id,
                         [module_vt, TupleVariable(tuple(args)), output])
        if type(out) is not tuple:
            return out
        state, result = out
        if not (result.family == "constant" and result.constant_value() is None):
            output = result
    return state, output


def _call_hook(state, hook, module_source, table: str, hook_id, args):
    from vt.builder import wrap_value

    out = wrap_value(state, hook, ItemSource(AttrSource(module_source, table), hook_id))
    if type(out) is not tuple:
        return out
    state, hook_vt = out
    return hook_vt.call(state, args, {})


# -- containers ------------------------------------------------------------------------------------

def child_vts(state, module_vt, names):
    """VTs of the named children of a module, each read through its own source."""
    from vt.builder import wrap_value

    vts = []
    for name in names:
        out = wrap_value(state, module_vt.module._modules[name], AttrSource(module_vt.source, name))
        if type(out) is not tuple:
            return out
        state, vt = out
        vts.append(vt)
    return state, tuple(vts)


def iterate_module(state, module_vt):
    """iter(Sequential / ModuleList): the children; iter(ModuleDict): the keys."""
    from vt.iterators import iterate_items

    module = module_vt.module
    if isinstance(module, (torch.nn.ParameterList, torch.nn.ParameterDict)):
        return _iterate_parameter_container(state, module_vt)
    if not isinstance(module, _CONTAINERS + (torch.nn.ModuleDict,)):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"iterating over {module_vt.describe()} is not "
                           "modelled (it has no __iter__)")
    state = _guard_keys(state, AttrSource(module_vt.source, "_modules"), module._modules)
    if isinstance(module, torch.nn.ModuleDict):
        return iterate_items(state, tuple(ConstantVariable(name) for name in module._modules))
    out = child_vts(state, module_vt, list(module._modules))
    if type(out) is not tuple:
        return out
    return iterate_items(out[0], out[1])


def module_length(module_vt):
    module = module_vt.module
    if isinstance(module, _CONTAINERS + (torch.nn.ModuleDict,)):
        return len(module._modules)
    if isinstance(module, (torch.nn.ParameterList, torch.nn.ParameterDict)):
        return len(module)
    return None


def module_getitem(state, module_vt, index):
    """Sequential / ModuleList indexing (negative, slices) and ModuleDict lookup."""
    from vt.builder import wrap_value

    key = index.constant_value()
    module = module_vt.module
    if isinstance(module, _CONTAINERS):
        names = list(module._modules)
        state = _guard_keys(state, AttrSource(module_vt.source, "_modules"), module._modules)
        if type(key) is slice:
            return state, ModuleSliceVariable(module_vt, tuple(names[key]), type(module))
        if type(key) is int or type(key) is bool:
            if not -len(names) <= key < len(names):
                return unsupported(BreakKind.PYTHON_EXCEPTION, f"IndexError: index {key} is out of range")
            return wrap_value(state, module._modules[names[key]], AttrSource(module_vt.source, names[key]))
    if isinstance(module, (torch.nn.ParameterList, torch.nn.ParameterDict)):
        return _parameter_item(state, module_vt, key)
    if isinstance(module, torch.nn.ModuleDict) and type(key) is str:
        if key not in module._modules:
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"KeyError: {key!r}")
        return wrap_value(state, module._modules[key], ItemSource(module_vt.source, key))
    return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"indexing {module_vt.describe()} with {index.describe()} "
                       "is not traced yet")


def _iterate_parameter_container(state, module_vt):
    """iter(ParameterList): its parameters, read as `m.0`, `m.1`, ...; iter(ParameterDict): its keys."""
    from vt.builder import wrap_value
    from vt.iterators import iterate_items

    module = module_vt.module
    table = module._parameters
    state = _guard_keys(state, AttrSource(module_vt.source, "_parameters"), table)
    if isinstance(module, torch.nn.ParameterDict):
        return iterate_items(state, tuple(ConstantVariable(name) for name in table))
    items = []
    for name, value in table.items():
        out = wrap_value(state, value, AttrSource(module_vt.source, name))
        if type(out) is not tuple:
            return out
        state, vt = out
        items.append(vt)
    return iterate_items(state, tuple(items))


def _parameter_item(state, module_vt, key):
    """ParameterList[i] (negative too) and ParameterDict[key]."""
    from vt.builder import wrap_value

    table = module_vt.module._parameters
    state = _guard_keys(state, AttrSource(module_vt.source, "_parameters"), table)
    names = list(table)
    if isinstance(module_vt.module, torch.nn.ParameterList):
        if type(key) is not int:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, "ParameterList indexed by a non-int is not modelled")
        if not -len(names) <= key < len(names):
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"IndexError: index {key} is out of range")
        name = names[key]
    else:
        if key not in table:
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"KeyError: {key!r}")
        name = key
    return wrap_value(state, table[name], AttrSource(module_vt.source, name))


def module_contains(state, module_vt, item):
    """`key in module_dict`; `child in module_list` (by identity, as the default `in` finds it)."""
    module = module_vt.module
    state = _guard_keys(state, AttrSource(module_vt.source, "_modules"), module._modules)
    if isinstance(module, torch.nn.ModuleDict):
        key = item.constant_value() if item.family == "constant" else None
        if type(key) is not str:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{item.describe()} in a ModuleDict is not modelled")
        return state, ConstantVariable(key in module._modules)
    if isinstance(module, _CONTAINERS):
        if item.family != "nn_module":
            return state, ConstantVariable(False)
        return state, ConstantVariable(any(child is item.module for child in module._modules.values()))
    return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"`in` on {module_vt.describe()} is not modelled")


@attrs.frozen(slots=True)
class ModuleSliceVariable(VariableTracker):
    """`seq[1:]` / `layers[::2]`: a Sequential or ModuleList of some children of `parent`.

    Eager builds a new container holding the same children; here the slice
    keeps the children's names, so every child is still read through the
    parent's source and guarded there."""

    parent: object
    names: tuple
    kind: type

    family = "module_slice"
    always_true = True

    def describe(self) -> str:
        return f"{self.kind.__name__} slice of {self.parent.describe()}"

    def _children(self, state):
        return child_vts(state, self.parent, self.names)

    def iterate(self, state):
        from vt.iterators import iterate_items

        out = self._children(state)
        return out if type(out) is not tuple else iterate_items(out[0], out[1])

    def unpack(self, state, count):
        return None

    def length(self):
        return len(self.names)

    def getitem(self, state, index):
        from vt.builder import wrap_value

        key = index.constant_value()
        if type(key) is slice:
            return state, ModuleSliceVariable(self.parent, self.names[key], self.kind)
        if type(key) is not int:
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"TypeError: indices must be integers, not {index.describe()}")
        if not -len(self.names) <= key < len(self.names):
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"IndexError: index {key} is out of range")
        name = self.names[key]
        return wrap_value(state, self.parent.module._modules[name], AttrSource(self.parent.source, name))

    def call(self, state, args, kwargs):
        """Sequential.forward: each child on the previous one's output."""
        if self.kind is not torch.nn.Sequential:
            return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: 'ModuleList' object is not callable")
        if len(args) != 1 or kwargs:
            return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: Sequential takes one input")
        out = self._children(state)
        if type(out) is not tuple:
            return out
        state, children = out
        value = args[0]
        for child in children:
            out = child.call(state, [value], {})
            if type(out) is not tuple:
                return out
            state, value = out
        return state, value


def python_type_of_slice(value):
    return value.kind


# -- tree walks ------------------------------------------------------------------------------------

_WALKS = {
    "parameters": ("_parameters", False), "named_parameters": ("_parameters", True),
    "buffers": ("_buffers", False), "named_buffers": ("_buffers", True),
    "children": ("children", False), "named_children": ("children", True),
    "modules": ("modules", False), "named_modules": ("modules", True),
}


def module_attribute(state, module_vt, name: str):
    """The modelled form of `module.name` for tree walks (`m.parameters`, ...), or None when the
    attribute is read the ordinary way (also when the class overrides the method)."""
    from vt.user_objects import class_attribute

    if name in _WALKS and class_attribute(type(module_vt.module), name) is torch.nn.Module.__dict__[name]:
        return state, ModuleWalkVariable(module_vt, name)
    return None


@attrs.frozen(slots=True)
class ModuleWalkVariable(VariableTracker):
    """`m.parameters`, `m.named_modules`, ... bound to a module; calling it gives an iterator over
    the real tree's members, each read through its own source."""

    module_vt: object
    name: str

    family = "builtin_method"
    always_true = True

    def python_type(self):
        return types.MethodType

    def describe(self) -> str:
        return f"{self.module_vt.describe()}.{self.name}"

    def call(self, state, args, kwargs):
        from vt.builtin_iter import bind
        from vt.iterators import iterate_items

        method = torch.nn.Module.__dict__[self.name]
        bound = bind(method, [None, *args], kwargs, f"{self.name}()")
        if type(bound) is not dict:
            return bound
        options = {}
        for key, value in bound.items():
            if key == "self":
                continue
            if key == "memo" and value is None:
                options[key] = None
                continue
            constant = value.constant_value() if isinstance(value, VariableTracker) else value
            if type(constant) not in (bool, str):
                return unsupported(BreakKind.UNSUPPORTED_CALL,
                                   f"{self.describe()}() with {key}={getattr(value, 'describe', lambda: value)()} "
                                   "is not traced")
            options[key] = constant
        if options.pop("memo", None) is not None:
            return unsupported(BreakKind.UNSUPPORTED_CALL, "named_modules(memo=...) is not traced")
        table, named = _WALKS[self.name]
        out = self._members(state, table, options)
        if type(out) is not tuple:
            return out
        state, members = out
        from vt.builder import wrap_value

        items = []
        for name, value, source in members:
            out = wrap_value(state, value, source)
            if type(out) is not tuple:
                return out
            state, vt = out
            items.append(TupleVariable((ConstantVariable(name), vt)) if named else vt)
        return iterate_items(state, tuple(items))

    def _members(self, state, table, options):
        """(state, [(qualified name, real object, source)]) in torch's order, with its de-duplication."""
        module, source = self.module_vt.module, self.module_vt.source
        remove_duplicate = options.get("remove_duplicate", True)
        prefix = options.get("prefix", "")
        if table == "children":
            state = _guard_keys(state, AttrSource(source, "_modules"), module._modules)
            seen, found = set(), []
            for name, child in module._modules.items():
                if child is not None and id(child) not in seen:
                    seen.add(id(child))
                    found.append((name, child, AttrSource(source, name)))
            return state, found
        state, modules = _named_modules(state, module, source, prefix, remove_duplicate,
                                        recurse=options.get("recurse", True) or table == "modules")
        if table == "modules":
            return state, modules
        seen, found = set(), []
        for module_prefix, owner, owner_source in modules:
            entries = owner.__dict__[table]
            state = _guard_keys(state, AttrSource(owner_source, table), entries)
            for name, value in entries.items():
                if value is None or id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                found.append((module_prefix + ("." if module_prefix else "") + name, value,
                              AttrSource(owner_source, name)))
        return state, found


def _named_modules(state, module, source, prefix, remove_duplicate, recurse=True):
    """Module.named_modules's pre-order walk, with the `_modules` table of each visited module guarded."""
    memo, found = set(), []

    def visit(state, module, source, prefix):
        if id(module) in memo:
            return state
        if remove_duplicate:
            memo.add(id(module))
        found.append((prefix, module, source))
        if not recurse:
            return state
        state = _guard_keys(state, AttrSource(source, "_modules"), module._modules)
        for name, child in module._modules.items():
            if child is not None:
                state = visit(state, child, AttrSource(source, name), prefix + ("." if prefix else "") + name)
        return state

    return visit(state, module, source, prefix), found


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
    from vt.base import NOT_CONSTANT
    from vt.convert import to_python

    cls = class_vt.cls
    if not _stateless_class(cls):
        owner = "your class" if not cls.__module__.startswith("torch.") else "a module that owns parameters or buffers"
        return unsupported(BreakKind.UNSUPPORTED_CALL,
                           f"constructing {cls.__name__} inside the traced function is not traced ({owner}: its "
                           "__init__ writes attributes and may draw random initial values)",
                           "create the module once, outside the function, and call it here")
    values = [to_python(state, arg) for arg in args]
    kw_values = {key: to_python(state, arg) for key, arg in kwargs.items()}
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

    family = "nn_module"
    always_true = True
    source = None

    def describe(self) -> str:
        return f"module {type(self.module).__name__} made while tracing"

    def forward_source(self):
        return AttrSource(self.class_source, "forward")

    def getattr(self, state, name):
        from vt.builder import wrap_value
        from vt.constant import is_constant_value
        from vt.user_objects import UserMethodVariable, class_attribute

        instance = self.module.__dict__
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
