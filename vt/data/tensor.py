"""Tensors: a graph node plus the fake tensor that tells its metadata.

Metadata reads (`shape`, `dtype`, `size()`, ...) are answered from the fake
tensor and fold to constants; every computation becomes a node in the graph
log, with its output metadata found by running the op on fake tensors.
"""
from __future__ import annotations

import contextlib
import operator

import attrs
import torch
from torch._subclasses.fake_tensor import DataDependentOutputException, DynamicOutputShapeException

from core.graph_log import NodeRef
from core.guards import DistinctObjects
from vt import registry
from vt.data.lists import TupleVariable, new_list
from vt.data.operators import UNARY_OPS
from vt.data.tensor_checks import may_raise_at_run_time, refused_in_place_cast
from vt.protocol import NOT_CONSTANT, VariableTracker
from vt.data.constant import ConstantVariable, is_constant_value
from core.outcomes import BreakKind, unsupported

FOLDED_ATTRIBUTES = frozenset({
    "shape", "dtype", "device", "ndim", "requires_grad", "is_cuda", "is_cpu", "is_sparse",
    "is_quantized", "is_meta", "layout", "is_leaf", "itemsize", "nbytes", "is_nested",
})

# Functions that answer from their arguments alone, or from global state that every capture guards
# (grad mode and the default dtype, see core.guards.GlobalStateMatch).
PURE_QUERIES = frozenset({
    torch.is_grad_enabled, torch.get_default_dtype, torch.promote_types, torch.can_cast, torch.is_tensor,
    torch.is_storage, torch.is_floating_point, torch.is_complex, torch.numel, torch.broadcast_shapes,
    operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.mod,
    operator.pow, operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge,
})

# Ops whose call matters even when the result is unused: they draw from the random generator, or
# update running statistics that their schema does not declare as mutated.  Unused results of
# these still run, so the generator and the statistics afterwards match eager.
IMPURE_OPS = frozenset({
    "rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like", "bernoulli",
    "multinomial", "normal", "poisson", "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
    "feature_alpha_dropout", "rrelu", "gumbel_softmax", "native_dropout", "uniform", "exponential",
    "batch_norm", "instance_norm", "native_batch_norm",
})

GRAPH_ATTRIBUTES = frozenset({"T", "mT", "H", "mH", "real", "imag"})

METHODS_OUT_OF_GRAPH = {
    "numpy": "converts to a NumPy array that shares the tensor's memory",
    "tolist": "turns tensor data into Python values",
    "item": "turns tensor data into a Python scalar",
    "data_ptr": "reads the address of the tensor's storage",
    "backward": "runs autograd outside the captured graph",
    "register_hook": "registers a Python hook on the autograd graph",
    "retain_grad": "changes autograd bookkeeping of the tensor",
    "storage": "exposes the tensor's storage",
    "untyped_storage": "exposes the tensor's storage",
    "__setitem__": "writes into the tensor in place",
}


@attrs.frozen(slots=True)
class TensorVariable(VariableTracker):
    """A tensor produced by graph node `node`; `fake` carries shape, dtype, device."""

    node: int
    fake: object = attrs.field(eq=False, repr=False)
    python_type: type = attrs.field(default=torch.Tensor, eq=False)
    source: object = attrs.field(default=None, eq=False)


    def getitem(self, state, index):
        return record_op(state, "call_function", operator.getitem, (self, index), {}, "tensor indexing")

    def identity(self):
        return ("node", self.node)

    def runtime_type(self):
        return self.python_type

    def truth_limit(self):
        return unsupported(BreakKind.DATA_DEPENDENT,
                           f"the truth value of a {self.describe()} depends on values only known at run time",
                           "use torch.where or torch.cond instead of a Python `if` on tensor values")

    def same_object(self, state, other):
        if not isinstance(other, TensorVariable):
            return NotImplemented
        if self.node == other.node:
            return state, True
        first, second = state.graph[self.node], state.graph[other.node]
        if first.op == "placeholder" and second.op == "placeholder":
            # Two inputs seen as different objects: the answer holds only while they stay distinct.
            return state.add_guard(DistinctObjects(first.target, second.target)), False
        return state, False  # an op that returns its input is mapped to the input's own node

    def rebuild(self, emitter):
        emitter.push_tensor(self.node)
        return None

    def type_name(self) -> str:
        return self.python_type.__name__

    def describe(self) -> str:
        f = self.fake
        return f"Tensor(shape={tuple(f.shape)}, dtype={f.dtype})"

    def getattr(self, state, name):
        if name in FOLDED_ATTRIBUTES:
            return state, ConstantVariable(getattr(self.fake, name))
        if name in GRAPH_ATTRIBUTES:
            return record_op(state, "call_function", getattr, (self, ConstantVariable(name)), {},
                             f"Tensor.{name}")
        if name in METHODS_OUT_OF_GRAPH:
            return unsupported(BreakKind.DATA_DEPENDENT, f"Tensor.{name} {METHODS_OUT_OF_GRAPH[name]}")
        if callable(getattr(torch.Tensor, name, None)):
            return state, BoundTensorMethodVariable(self, name)
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"tensor attribute {name!r} is not modelled",
                           "only metadata (shape, dtype, device, ...) and methods of tensors are traced")

    def load_method(self, state, name):
        if name in METHODS_OUT_OF_GRAPH:
            return unsupported(BreakKind.DATA_DEPENDENT, f"Tensor.{name}() {METHODS_OUT_OF_GRAPH[name]}",
                               "keep the computation in tensors, or move this call out of the traced function")
        if not callable(getattr(torch.Tensor, name, None)):
            return self.getattr(state, name)
        return state, (TensorMethodVariable(name), self)

    def truth(self, state):
        return NOT_CONSTANT

    def store_item(self, state, key, value):
        """x[key] = value, recorded in order for its effect on x (and on tensors x is a view of)."""
        out = record_op(state, "call_function", operator.setitem, (self, key, value), {}, "tensor item assignment")
        return out[0] if type(out) is tuple else out


@attrs.frozen(slots=True)
class TensorMethodVariable(VariableTracker):
    """`torch.Tensor.<name>`, called with the tensor as first argument (LOAD_METHOD form)."""

    name: str

    def describe(self) -> str:
        return f"Tensor.{self.name}"

    def call(self, state, args, kwargs):
        return record_op(state, "call_method", self.name, tuple(args), kwargs, f"Tensor.{self.name}()")


@attrs.frozen(slots=True)
class BoundTensorMethodVariable(VariableTracker):
    """`x.<name>` read as a value, e.g. `f = x.relu`."""

    tensor: TensorVariable
    name: str

    def call(self, state, args, kwargs):
        return record_op(state, "call_method", self.name, (self.tensor, *args), kwargs, f"Tensor.{self.name}()")


# -- recording an op ---------------------------------------------------------------------------

_OPERATOR_MODULES = frozenset({"operator", "_operator"})


# In-place ops that change a tensor's shape, strides or autograd status rather than its values:
# the fake tensors of earlier snapshots would see the change, so these are not traced.
METADATA_MUTATIONS = frozenset({
    "t_", "transpose_", "swapdims_", "swapaxes_", "squeeze_", "unsqueeze_", "resize_", "resize_as_",
    "as_strided_", "set_", "detach_", "requires_grad_", "share_memory_", "unsqueeze_", "rename_",
})
IN_PLACE_OPERATORS = frozenset({
    operator.iadd, operator.isub, operator.imul, operator.itruediv, operator.ifloordiv, operator.imod,
    operator.ipow, operator.imatmul, operator.iand, operator.ior, operator.ixor, operator.ilshift,
    operator.irshift, operator.setitem, operator.delitem,
})


def _op_name(op: str, target) -> str:
    return target if op == "call_method" else getattr(target, "__name__", "")


def _writes_in_place(op: str, target, kwargs: dict) -> bool:
    """Whether the call writes into one of its tensor arguments (x.add_(1), x += 1, x[0] = 1, inplace=True)."""
    if op == "call_function" and target in IN_PLACE_OPERATORS:
        return True
    name = _op_name(op, target)
    in_operator_module = op == "call_function" and getattr(target, "__module__", None) in _OPERATOR_MODULES
    if name.endswith("_") and not name.endswith("__") and not in_operator_module:
        return True
    inplace = kwargs.get("inplace")
    return inplace is not None and inplace.constant_value() is True


def _mutation_reason(op: str, target, kwargs: dict):
    """Why an in-place call cannot be traced, or None (value-only writes are traced in order)."""
    name = _op_name(op, target)
    if name in METADATA_MUTATIONS:
        return f"{name} changes a tensor's shape, strides or autograd status in place"
    if "out" in kwargs:
        return f"{name}(out=...) writes into an existing tensor, which may resize it"
    return None


def _lower(state, value):
    """A VT argument as (graph argument, fake argument), or None if it cannot enter the graph."""
    if isinstance(value, TensorVariable):
        return NodeRef(value.node), value.fake
    if isinstance(value, ConstantVariable):
        return value.constant_value(), value.constant_value()
    kind = value.comparison_kind()
    if kind in ("tuple", "list"):
        items = value.unpack(state, None)
        lowered = [_lower(state, item) for item in items]
        if any(item is None for item in lowered):
            return None
        make = tuple if kind == "tuple" else list
        return make(g for g, _ in lowered), make(f for _, f in lowered)
    return None


def _grad_mode(enabled: bool):
    """Run a fake op under the traced program's grad mode, so `requires_grad` of results is eager's."""
    return contextlib.nullcontext() if enabled == torch.is_grad_enabled() else torch.set_grad_enabled(enabled)


def record_op(state, op: str, target, args: tuple, kwargs: dict, what: str):
    """Add `target(*args, **kwargs)` to the graph after running it on fake tensors.

    Returns (state, vt): a TensorVariable, a tuple of them, or a constant when
    the op only reads metadata (then nothing is added to the graph).
    """
    reason = _mutation_reason(op, target, kwargs)
    if reason is not None:
        return unsupported(BreakKind.TENSOR_MUTATION, reason,
                           "use the out-of-place form (e.g. `x = x.t()` instead of `x.t_()`)")
    graph_args, fake_args = [], []
    for value in args:
        lowered = _lower(state, value)
        if lowered is None:
            return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{what} got a {value.describe()} argument, "
                               "which cannot be passed into the graph")
        graph_args.append(lowered[0])
        fake_args.append(lowered[1])
    graph_kwargs, fake_kwargs = {}, {}
    for key, value in kwargs.items():
        lowered = _lower(state, value)
        if lowered is None:
            return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{what} got a {value.describe()} for "
                               f"keyword {key!r}, which cannot be passed into the graph")
        graph_kwargs[key], fake_kwargs[key] = lowered
    refused = refused_in_place_cast(op, target, fake_args, fake_kwargs)
    if refused is not None:  # fake tensors let it through; eager refuses, so it runs for real
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"{what} raises RuntimeError: {refused}")
    risk = may_raise_at_run_time(op, target, fake_args) if state.effects else None
    if risk is not None:  # inside the graph it would raise before the effects recorded so far are replayed
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{what} is {risk}, after changes the entry replays "
                           "once the graph has run; it runs for real after them")
    versions = [arg._version for arg in fake_args if isinstance(arg, torch.Tensor)]
    try:
        with state.env.fake_mode, _grad_mode(state.grad_enabled):
            if op == "call_method":
                out = getattr(fake_args[0], target)(*fake_args[1:], **fake_kwargs)
            else:
                out = target(*fake_args, **fake_kwargs)
    except (DataDependentOutputException, DynamicOutputShapeException) as exc:
        return unsupported(BreakKind.DATA_DEPENDENT, f"{what} depends on the values inside a tensor ({exc})",
                           "keep values in tensors instead of Python scalars")
    except Exception as exc:  # eager raises too, but a fake tensor's message may differ from a real one's
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"{what} raised {type(exc).__name__}: {exc}")
    changed = versions != [arg._version for arg in fake_args if isinstance(arg, torch.Tensor)]
    writes = changed or _writes_in_place(op, target, kwargs)
    impure = writes or _op_name(op, target) in IMPURE_OPS
    return _wrap_output(state, op, target, tuple(graph_args), tuple(graph_kwargs.items()), out, what,
                        tuple(args) + tuple(kwargs.values()), impure, writes)


def _wrap_output(state, op, target, graph_args, graph_kwargs, out, what, args, impure, writes=False):
    for arg in args:
        if isinstance(arg, TensorVariable) and arg.fake is out:
            # The op returned its input object itself: x.contiguous() on a contiguous tensor (nothing
            # to record), or x.add_(1) / x += 1 (recorded, in order, for its effect on x).
            if writes:
                state, _ = state.add_node(op, target, graph_args, graph_kwargs, out, impure=True)
            return state, arg
    if isinstance(out, torch.Tensor):
        if not isinstance(out, torch._subclasses.FakeTensor):
            return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{what} returned a real tensor while tracing")
        state, index = state.add_node(op, target, graph_args, graph_kwargs, out, impure=impure)
        return state, TensorVariable(index, out)
    if isinstance(out, (tuple, list)) and any(isinstance(item, torch.Tensor) for item in out):
        return _wrap_sequence(state, op, target, graph_args, graph_kwargs, out, what, impure)
    if impure and out is None:  # x[0] = 1: recorded for its effect
        state, _ = state.add_node(op, target, graph_args, graph_kwargs, out, impure=True)
        return state, ConstantVariable(None)
    if is_constant_value(out):
        if op == "call_function" and target not in PURE_QUERIES and not _has_tensor(args):
            return unsupported(BreakKind.UNSUPPORTED_CALL,
                               f"{what} returned {out!r} without looking at a tensor, so it reads global "
                               "settings that the capture would freeze",
                               "read the setting outside the traced function and pass it in")
        return state, ConstantVariable(out)
    return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{what} returned a {type(out).__name__}, "
                       "which the tracer does not model")


def _has_tensor(args) -> bool:
    return any(isinstance(arg, TensorVariable) for arg in args)


def _wrap_sequence(state, op, target, graph_args, graph_kwargs, out, what, impure):
    if not all(isinstance(item, torch.Tensor) or is_constant_value(item) for item in out):
        return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{what} returned a nested structure")
    state, index = state.add_node(op, target, graph_args, graph_kwargs, out, impure=impure)
    items = []
    for position, item in enumerate(out):
        if isinstance(item, torch.Tensor):
            state, child = state.add_node("call_function", operator.getitem, (NodeRef(index), position), (), item)
            items.append(TensorVariable(child, item))
        else:
            items.append(ConstantVariable(item))
    if isinstance(out, list):
        return new_list(state, tuple(items))
    fields = _structseq_fields(type(out))
    return state, TupleVariable(tuple(items), type(out) if type(out) is not tuple else None, fields)


def _structseq_fields(kind) -> tuple | None:
    """Field names of a namedtuple or a C struct sequence (torch.return_types.*)."""
    if kind is tuple:
        return None
    return getattr(kind, "_fields", None) or getattr(kind, "__match_args__", None)


# -- operators ----------------------------------------------------------------------------------

@registry.binary_rule((TensorVariable, TensorVariable), (TensorVariable, ConstantVariable),
                      (ConstantVariable, TensorVariable))
def _tensor_op(state, fn, a, b, symbol, plain):
    # For `x += y` on a tensor the in-place operator itself is recorded: it writes into x.
    target = fn if isinstance(a, TensorVariable) else plain
    return record_op(state, "call_function", target, (a, b), {}, f"operator {symbol}")


@registry.unary_rule(TensorVariable)
def _tensor_unary(state, opname, value):
    fn = UNARY_OPS[opname]
    if fn is operator.not_:
        return value.truth_limit()
    return record_op(state, "call_function", fn, (value,), {}, opname)
