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
from torch._dispatch.python import enable_python_dispatcher
from torch._subclasses.fake_tensor import DataDependentOutputException, DynamicOutputShapeException

from core.graph_log import NodeRef
from core.identity_guards import DistinctObjects
from vt import registry
from vt.data.lists import TupleVariable, new_list
from vt.data.operators import UNARY_OPS
from vt.data.tensor_checks import (RANDOM_OPS, STATISTICS_OPS, caught_here, graph_writes_input,
                                   may_raise_at_run_time, may_raise_node, op_name, refused_in_place_cast,
                                   writes_into_inputs)
from vt.iteration import iterate_items
from vt.protocol import NOT_CONSTANT, VariableTracker
from vt.data.propagation import op_key, remember, remembered
from vt.data.constant import ConstantVariable, is_constant_value
from vt.data.symbolic import PYTHON_TYPES, SliceVariable, SymNodeVariable, wrap_number
from core.outcomes import BreakKind, raise_error, unsupported

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
IMPURE_OPS = RANDOM_OPS | STATISTICS_OPS

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


    def iterate(self, state):
        """`for row in t`: the rows along dim 0, as `t.unbind(0)` gives them (the size is known)."""
        out = self._rows(state)
        return out if type(out) is not tuple else iterate_items(*out)

    def unpack(self, state, count):
        """`a, b = t`: only when the rows are known without recording anything (see `iterate`)."""
        return None

    def _rows(self, state):
        if self.fake.dim() == 0:
            return raise_error(TypeError, "iteration over a 0-d tensor")
        out = record_op(state, "call_method", "unbind", (self, ConstantVariable(0)), {}, "iterating over a tensor")
        if type(out) is not tuple:
            return out
        state, rows = out
        return state, tuple(rows.items)

    def getitem(self, state, index):
        return record_op(state, "call_function", operator.getitem, (self, index), {}, "tensor indexing")

    def identity(self):
        return ("node", self.node)

    def graph_node(self):
        return self.node

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
            value = getattr(self.fake, name)
            if is_constant_value(value):
                return state, ConstantVariable(value)
            if name == "shape":
                return size_tuple(state, self)
            return record_op(state, "call_function", getattr, (self, ConstantVariable(name)), {}, f"Tensor.{name}")
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
        if not callable(getattr(torch.Tensor, name, None)):
            return self.getattr(state, name)
        return state, (TensorMethodVariable(name), self)

    def truth(self, state):
        return NOT_CONSTANT

    def store_item(self, state, key, value):
        """x[key] = value, recorded in order for its effect on x (and on tensors x is a view of)."""
        out = record_op(state, "call_function", operator.setitem, (self, key, value), {}, "tensor item assignment")
        return out[0] if type(out) is tuple else out


def size_vt(state, tensor: TensorVariable, dim: int):
    """`tensor.size(dim)` as a VT: a constant, or the symbolic size (the placeholder of its symbol
    when it is a size of an input, else an `x.size(dim)` node)."""
    size = tensor.fake.shape[dim]
    return wrap_number(state, size, lambda s: s.add_node("call_method", "size", (NodeRef(tensor.node), dim), (), size))


def size_tuple(state, tensor: TensorVariable):
    """`tensor.shape` when some sizes are symbolic: a torch.Size tuple of constants and symbolic ints."""
    items = []
    for dim in range(tensor.fake.dim()):
        state, item = size_vt(state, tensor, dim)
        items.append(item)
    return state, TupleVariable(tuple(items), torch.Size)


@attrs.frozen(slots=True)
class TensorMethodVariable(VariableTracker):
    """`torch.Tensor.<name>`, called with the tensor as first argument (LOAD_METHOD form)."""

    name: str

    def describe(self) -> str:
        return f"Tensor.{self.name}"

    def fixed_object(self):  # so a break at its call rebuilds it (the method of torch.Tensor itself)
        return getattr(torch.Tensor, self.name)

    def call(self, state, args, kwargs):
        if self.name in METHODS_OUT_OF_GRAPH:  # a break at the call: the code after it is traced again
            return unsupported(BreakKind.DATA_DEPENDENT, f"Tensor.{self.name}() {METHODS_OUT_OF_GRAPH[self.name]}",
                               "keep the computation in tensors, or move this call out of the traced function")
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


def _writes_in_place(op: str, target, kwargs: dict) -> bool:
    """Whether the call writes into one of its tensor arguments (x.add_(1), x += 1, x[0] = 1, inplace=True)."""
    if op == "call_function" and target in IN_PLACE_OPERATORS:
        return True
    name = op_name(op, target)
    in_operator_module = op == "call_function" and getattr(target, "__module__", None) in _OPERATOR_MODULES
    if name.endswith("_") and not name.endswith("__") and not in_operator_module:
        return True
    inplace = kwargs.get("inplace")
    return inplace is not None and inplace.constant_value() is True


def _mutation_reason(op: str, target, kwargs: dict):
    """Why an in-place call cannot be traced, or None (value-only writes are traced in order)."""
    name = op_name(op, target)
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
    if isinstance(value, SymNodeVariable):
        return NodeRef(value.node), value.value
    if isinstance(value, SliceVariable):
        return value.lowered()
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


def fake_context(state):
    """What a fake op runs under: the trace's fake mode, the traced program's grad mode and the other
    modes it has entered, so that the op's output metadata is eager's."""
    mode = state.env.fake_mode
    if not state.modes and mode.shape_env is None and state.grad_enabled == torch.is_grad_enabled():
        return mode  # the common case: the fake mode alone
    stack = contextlib.ExitStack()
    stack.enter_context(state.env.fake_mode)
    stack.enter_context(_grad_mode(state.grad_enabled))
    stack.enter_context(_ambient_modes(state))
    if state.env.fake_mode.shape_env is not None:
        # With symbols about, ops run through torch's Python dispatcher, as under Dynamo: composite
        # ops (`F.pad`, ...) then decompose with their size-generic Python kernels instead of C++
        # ones that read concrete sizes and would specialise every symbol they meet.
        stack.enter_context(enable_python_dispatcher())
    return stack


def _versions(fake_args) -> list:
    """Version counters of the tensor arguments (inference tensors have none: None)."""
    return [None if arg.is_inference() else arg._version for arg in fake_args if isinstance(arg, torch.Tensor)]


def _ambient_modes(state):
    """The modes the traced program has entered besides grad mode (autocast, inference mode), entered
    again around a fake op so that its output dtype and flags are eager's (`State.modes`)."""
    if not state.modes:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    for mode in state.modes:
        stack.enter_context(mode.context())
    return stack


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
    risk = may_raise_at_run_time(op, target, fake_args)
    caught = risk is not None and caught_here(state)
    if risk is not None and (state.effects or caught) and graph_writes_input(state.graph):
        # Raising inside a graph that wrote into an input, it could neither keep the changes recorded
        # so far or reach the handler nor be rerun eagerly (vt/data/tensor_checks.py)
        lost = "inside a handler of the function" if caught else "after changes the entry replays once the graph has run"
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{what} is {risk}, {lost}, in a graph that writes into "
                           "an input; it runs for real after the graph")
    out = record_lowered(state, op, target, graph_args, fake_args, graph_kwargs, fake_kwargs, what,
                         tuple(args) + tuple(kwargs.values()), kwargs, risky=risk is not None and (caught or state.effects))
    if caught and type(out) is tuple:
        out = out[0].replace(caught_risk=True), out[1]
    return out


def record_lowered(state, op, target, graph_args, fake_args, graph_kwargs, fake_kwargs, what, arg_vts,
                   kwargs=None, example=None, risky=False):
    """`record_op` on arguments already lowered into graph arguments and fake arguments (the way a
    higher-order operator passes its sub-graphs: a Subgraph record in the graph, its GraphModule to
    the fake run); `arg_vts` are the VTs among the arguments.  `example`, when given, is the fake
    output, for an op whose fake run needs what this tracer does not model (symbolic sizes).
    `risky`: the op may raise on values where a raise inside the graph would lose effects recorded
    before it or skip a handler (record_op), so it must not also write into an input."""
    key = op_key(state, op, target, fake_args, fake_kwargs) if example is None else None
    out = None if key is None else remembered(state, key, fake_args)
    if out is not None:  # the same op on the same metadata ran before in this trace (propagation.py)
        return _wrap_output(state, op, target, tuple(graph_args), tuple(graph_kwargs.items()), out, what,
                            tuple(arg_vts), op_name(op, target) in IMPURE_OPS)
    versions = _versions(fake_args)
    try:
        with fake_context(state):
            if example is not None:
                out = example
            elif op == "call_method":
                out = getattr(fake_args[0], target)(*fake_args[1:], **fake_kwargs)
            else:
                out = target(*fake_args, **fake_kwargs)
    except (DataDependentOutputException, DynamicOutputShapeException) as exc:
        return unsupported(BreakKind.DATA_DEPENDENT, f"{what} depends on the values inside a tensor ({exc})",
                           "keep values in tensors instead of Python scalars")
    except Exception as exc:  # eager raises too, but a fake tensor's message may differ from a real one's
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"{what} raised {type(exc).__name__}: {exc}")
    changed = versions != _versions(fake_args)
    writes = changed or (kwargs is not None and _writes_in_place(op, target, kwargs))
    if writes and (risky or state.caught_risk or state.effects) and \
            writes_into_inputs(state.graph, state.placeholders, fake_args):
        if risky:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{what} may raise at run time and writes into an "
                               "input, after changes the entry replays once the graph has run or inside a handler "
                               "of the function; it runs for real after the graph")
        if state.caught_risk or any(may_raise_node(state.graph, node) for node in state.graph):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{what} writes into an input after an op that may "
                               "raise at run time inside a handler of the function or after changes the entry "
                               "replays once the graph has run; it runs for real after them, so the graph before it "
                               "can be rerun eagerly if it raises")
    if key is not None and not writes:
        remember(state, key, out, fake_args, fake_kwargs)
    impure = writes or op_name(op, target) in IMPURE_OPS
    return _wrap_output(state, op, target, tuple(graph_args), tuple(graph_kwargs.items()), out, what,
                        tuple(arg_vts), impure, writes)


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
    if type(out) in PYTHON_TYPES:  # a symbolic size, x.numel(), ...
        return wrap_number(state, out, lambda s: s.add_node(op, target, graph_args, graph_kwargs, out, impure=impure))
    if isinstance(out, (tuple, list)) and any(isinstance(item, torch.Tensor) or type(item) in PYTHON_TYPES
                                              for item in out):
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
    if not all(isinstance(item, torch.Tensor) or type(item) in PYTHON_TYPES or is_constant_value(item)
               for item in out):
        return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{what} returned a nested structure")
    state, index = state.add_node(op, target, graph_args, graph_kwargs, out, impure=impure)
    items = []
    for position, item in enumerate(out):
        if isinstance(item, torch.Tensor):
            state, child = state.add_node("call_function", operator.getitem, (NodeRef(index), position), (), item)
            items.append(TensorVariable(child, item))
        elif type(item) in PYTHON_TYPES:  # x.size() with symbolic sizes
            state, number = wrap_number(state, item, lambda s, p=position, i=item: s.add_node(
                "call_function", operator.getitem, (NodeRef(index), p), (), i))
            items.append(number)
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
                      (ConstantVariable, TensorVariable), (TensorVariable, SymNodeVariable),
                      (SymNodeVariable, TensorVariable))
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
