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

from core.guards import IdMatch
from vt import registry
from vt.folding import call_constant_fn
from vt.protocol import NOT_CONSTANT, VariableTracker
from vt.data.constant import ConstantVariable, is_constant_value
from core.outcomes import BreakKind, raise_error, raised, unsupported
from core.sources import AttrSource
from vt.data.tensor import record_op

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
    "inference_mode": "switches to inference mode, which an FX graph cannot express (use torch.no_grad())",
    "autocast": "is a context manager",
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


def torch_callable_limit(value):
    """Why a callable from torch's namespaces is kept out of the graph, or None if it is not one."""
    name = getattr(value, "__name__", None)
    if type(name) is not str or (name not in NOT_GRAPHABLE and not name.startswith("set_")) or not callable(value):
        return None  # only those names are kept out
    for namespace in GRAPHABLE_NAMESPACES:
        if getattr(namespace, name, None) is value:
            if name in NOT_GRAPHABLE:
                return f"{namespace.__name__}.{name} {NOT_GRAPHABLE[name]}"
            if name.startswith("set_"):
                return f"{namespace.__name__}.{name} changes global state"
    return None


@attrs.frozen(slots=True)
class OpaqueCallableVariable(VariableTracker):
    """A known callable that must not run while tracing; calling it stops the capture with `reason`."""

    name: str
    reason: str
    source: object = attrs.field(default=None, eq=False)
    fn: object = attrs.field(default=None, eq=False)

    always_true = True

    def describe(self) -> str:
        return self.name

    def fixed_object(self):
        return self.fn if self.fn is not None else NOT_CONSTANT

    def call(self, state, args, kwargs):
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{self.reason}, so it is not traced",
                           "call it outside the traced function")


def is_graphable_torch_callable(value) -> bool:
    try:
        return value in GRAPHABLE
    except TypeError:  # unhashable
        return False


@attrs.frozen(slots=True)
class TorchFunctionVariable(VariableTracker):
    """A torch function whose call becomes a graph node (or folds, for metadata queries)."""

    always_true = True

    fn: object
    source: object = attrs.field(default=None, eq=False)


    def getattr(self, state, name):
        """An overload of a dispatcher operator (`torch.ops.aten.add.Tensor`), or a constant attribute."""
        try:
            value = getattr(self.fn, name)
        except AttributeError as exc:
            return raised(exc)
        if isinstance(value, torch._ops.OpOverload):
            return state, TorchFunctionVariable(value, None if self.source is None else AttrSource(self.source, name))
        if is_constant_value(value):
            return state, ConstantVariable(value)
        return super().getattr(state, name)

    def fixed_object(self):
        return self.fn

    def describe(self) -> str:
        module = getattr(self.fn, "__module__", None) or "torch"
        return f"{module}.{self.fn.__name__}"

    def call(self, state, args, kwargs):
        if self.fn is torch.is_grad_enabled and not args and not kwargs:  # tracked; guarded at capture

            return state, ConstantVariable(state.grad_enabled)
        for rule in registry.builtin_rules(self.fn):  # operators that take functions (torch.cond, ...)
            out = rule(state, args, kwargs)
            if out is not None:
                return out
        return record_op(state, "call_function", self.fn, tuple(args), kwargs, f"{self.describe()}()")


@attrs.frozen(slots=True)
class ModuleVariable(VariableTracker):
    """A Python module (`torch`, `torch.nn.functional`, `math`, ...)."""

    always_true = True

    module: types.ModuleType
    source: object = attrs.field(default=None, eq=False)


    def fixed_object(self):
        return self.module

    def describe(self) -> str:
        return f"module {self.module.__name__}"

    def getattr(self, state, name):
        """`module.name`; attributes inside torch's own namespace are taken as fixed and not guarded."""
        if not hasattr(self.module, name):
            return raise_error(AttributeError, f"module {self.module.__name__!r} has no attribute {name!r}")
        value = getattr(self.module, name)
        module_name = self.module.__name__
        in_torch = module_name == "torch" or module_name.startswith("torch.")
        if isinstance(value, torch.Tensor):
            return unsupported(BreakKind.UNSUPPORTED_VALUE, f"tensor {module_name}.{name} read from a module",
                               "pass the tensor as an argument")
        return registry.wrap_value(state, value, AttrSource(self.source, name), guard=not in_torch)


@attrs.frozen(slots=True)
class GraphBreakVariable(VariableTracker):
    """`tracer.graph_break`: a no-op when run eagerly, a requested break when traced."""

    always_true = True

    source: object = attrs.field(default=None, eq=False)

    def describe(self) -> str:
        return "tracer.graph_break"

    def call(self, state, args, kwargs):
        return unsupported(BreakKind.USER_GRAPH_BREAK, "tracer.graph_break() was called",
                           "remove the call to capture this code in one graph")


@registry.wrap_rule("torch_op", only=(torch._ops.OpOverloadPacket, torch._ops.OpOverload))
def _torch_op(state, value, source, guard):
    """An operator of the dispatcher, `torch.ops.<namespace>.<op>` (and its overloads), custom ops
    registered with `torch.library` included: a graph node, its output from the op's fake kernel."""
    if isinstance(value, (torch._ops.OpOverloadPacket, torch._ops.OpOverload)):
        if guard:
            state = state.add_guard(IdMatch(source, value, f"torch.ops {value}"))
        return state, TorchFunctionVariable(value, source)
    return None


@registry.builtin_rule(torch.device)
def _device(state, args, kwargs):
    """torch.device("cpu"), torch.device("cuda", 0): a constant made while tracing."""
    return call_constant_fn(state, torch.device, "torch.device()", args, kwargs)
