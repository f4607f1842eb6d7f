"""Modules, torch callables, classes and the user's graph-break marker.

Which torch callables may enter the graph is decided by an allowlist of
namespaces (torch, torch.nn.functional, torch.special, torch.linalg, torch.fft)
minus functions that touch global state; everything else is reported, never
called while tracing.
"""
from __future__ import annotations

import types

import attrs
import torch
import torch.nn.functional

from vt.base import VariableTracker
from vt.outcome import BreakKind, unsupported
from vt.tensor import record_op

GRAPHABLE_NAMESPACES = (torch, torch.nn.functional, torch.special, torch.linalg, torch.fft)

NOT_GRAPHABLE = {
    "manual_seed": "reseeds the global random generator",
    "seed": "reseeds the global random generator",
    "initial_seed": "reads the global random generator",
    "get_rng_state": "reads the global random generator",
    "save": "writes a file", "load": "reads a file",
    "compile": "compiles a function (nested compilation is not traced)",
    "use_deterministic_algorithms": "changes a global setting",
    "from_numpy": "shares memory with a NumPy array",
    "no_grad": "is a context manager", "enable_grad": "is a context manager",
    "inference_mode": "is a context manager", "autocast": "is a context manager",
    "Tensor": "constructs a tensor from an untyped Python object",
}


def _graphable_callables() -> frozenset:
    found = set()
    for namespace in GRAPHABLE_NAMESPACES:
        for name, value in vars(namespace).items():
            if name.startswith("_") or name.startswith("set_") or name in NOT_GRAPHABLE:
                continue
            if isinstance(value, (types.BuiltinFunctionType, types.FunctionType)):
                found.add(value)
    return frozenset(found)


GRAPHABLE = _graphable_callables()


def is_graphable_torch_callable(value) -> bool:
    try:
        return value in GRAPHABLE
    except TypeError:  # unhashable
        return False


@attrs.frozen(slots=True)
class TorchFunctionVariable(VariableTracker):
    """A torch function whose call becomes a graph node (or folds, for metadata queries)."""

    fn: object
    source: object = attrs.field(default=None, eq=False)

    family = "torch_function"

    def describe(self) -> str:
        module = getattr(self.fn, "__module__", None) or "torch"
        return f"{module}.{self.fn.__name__}"

    def call(self, state, args, kwargs):
        return record_op(state, "call_function", self.fn, tuple(args), kwargs, f"{self.describe()}()")


@attrs.frozen(slots=True)
class ModuleVariable(VariableTracker):
    """A Python module (`torch`, `torch.nn.functional`, `math`, ...)."""

    module: types.ModuleType
    source: object = attrs.field(default=None, eq=False)

    family = "module"

    def describe(self) -> str:
        return f"module {self.module.__name__}"

    def getattr(self, state, name):
        from vt.builder import wrap_module_attribute

        if not hasattr(self.module, name):
            return unsupported(BreakKind.PYTHON_EXCEPTION,
                               f"module {self.module.__name__!r} has no attribute {name!r}")
        return wrap_module_attribute(state, self, name)


@attrs.frozen(slots=True)
class ClassVariable(VariableTracker):
    """A class used as a value, e.g. the second argument of isinstance."""

    cls: type
    source: object = attrs.field(default=None, eq=False)

    family = "class"

    def describe(self) -> str:
        return f"class {self.cls.__qualname__}"

    def as_class(self):
        return self.cls


@attrs.frozen(slots=True)
class GraphBreakVariable(VariableTracker):
    """`tracer.graph_break`: a no-op when run eagerly, a requested break when traced."""

    source: object = attrs.field(default=None, eq=False)

    def describe(self) -> str:
        return "tracer.graph_break"

    def call(self, state, args, kwargs):
        return unsupported(BreakKind.USER_GRAPH_BREAK, "tracer.graph_break() was called",
                           "remove the call to capture this code in one graph")
