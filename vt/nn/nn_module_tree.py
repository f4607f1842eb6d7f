"""An nn.Module tree as data: containers, slices of them, and walks over parameters and children.

`NNModuleVariable` (vt/user_objects.py) delegates here, through vt/nn_modules.py:

* `Sequential` / `ModuleList`: iteration, `len`, indexing (negative too),
  slices (`ModuleSliceVariable`), `child in layers`; `ModuleDict`: keys,
  `d[key]`, `key in d`; `ParameterList` / `ParameterDict`: iteration and
  indexing.  The table read (`m._modules`, `m._parameters`) is guarded by its
  keys, so appending a layer recaptures.
* `parameters()`, `named_parameters()`, `buffers()`, `children()`,
  `modules()`, `named_modules()`, ...: answered from the real tree at trace
  time, in torch's order and with its de-duplication, every item read through
  its own source, every table walked guarded by its keys.
"""
from __future__ import annotations

import types

import attrs
import torch

from core.guards import KeysMatch
from vt.folding import bind
from vt.iteration import iterate_items
from vt.protocol import VariableTracker
from vt.data.constant import ConstantVariable
from vt.data.lists import TupleVariable
from core.outcomes import BreakKind, unsupported
from core.sources import AttrSource, ItemSource
from vt.registry import wrap_value
from vt.callables.functions import class_attribute
from vt.objects.object_attributes import instance_dict

_CONTAINERS = (torch.nn.Sequential, torch.nn.ModuleList)


def _guard_keys(state, source, table: dict):
    if source is None:
        return state
    return state.add_guard(KeysMatch(source, type(table), tuple(table)))


# -- containers ------------------------------------------------------------------------------------

def child_vts(state, module_vt, names):
    """VTs of the named children of a module, each read through its own source."""
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
    key = index.specialized()  # a symbolic index is specialised to its value
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
        key = item.constant_value() if isinstance(item, ConstantVariable) else None
        if type(key) is not str:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{item.describe()} in a ModuleDict is not modelled")
        return state, ConstantVariable(key in module._modules)
    if isinstance(module, _CONTAINERS):
        if not (isinstance(item.runtime_type(), type) and issubclass(item.runtime_type(), torch.nn.Module)):
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

    always_true = True

    def runtime_type(self):
        return self.kind

    def describe(self) -> str:
        return f"{self.kind.__name__} slice of {self.parent.describe()}"

    def _children(self, state):
        return child_vts(state, self.parent, self.names)

    def iterate(self, state):
        out = self._children(state)
        return out if type(out) is not tuple else iterate_items(out[0], out[1])

    def unpack(self, state, count):
        return None

    def length(self):
        return len(self.names)

    def getitem(self, state, index):
        key = index.specialized()
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
    if name in _WALKS and class_attribute(type(module_vt.module), name) is torch.nn.Module.__dict__[name]:
        return state, ModuleWalkVariable(module_vt, name)
    return None


@attrs.frozen(slots=True)
class ModuleWalkVariable(VariableTracker):
    """`m.parameters`, `m.named_modules`, ... bound to a module; calling it gives an iterator over
    the real tree's members, each read through its own source."""

    module_vt: object
    name: str

    always_true = True

    def runtime_type(self):
        return types.MethodType

    def describe(self) -> str:
        return f"{self.module_vt.describe()}.{self.name}"

    def call(self, state, args, kwargs):
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
            entries = instance_dict(owner)[table]
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
