"""`torch.autograd.Function.apply`: forward traced, backward kept, as one higher-order operator.

`MyFunction.apply(*args)` becomes one node,
`torch.ops.higher_order.autograd_function_apply(fwd, bwd, *tensors, ...)`, the
operator Dynamo emits.  Both methods are sub-traces (vt/callables/subgraphs.py):

* `fwd` is `forward` (and `setup_context`, for functions that split them) run
  without grad, as eager runs it, on the tensor arguments; it returns the
  output and the values backward needs: the tensors of `ctx.save_for_backward`
  and tensors stored as ctx attributes.
* `bwd` is `backward` run on the output gradients and those saved values with a
  fresh ctx whose `saved_tensors` and attributes are the saved values; other ctx
  attributes (numbers, strings, ...) are known while tracing and baked in.  A
  `once_differentiable` backward is traced through its wrapper.

Run eagerly the operator is an `autograd.Function` over the two graphs, so
gradients are the user's backward's; AOT autograd compiles both.  What the ctx
model does not cover (`mark_dirty`, reading `saved_tensors` in forward, ctx
attributes holding other objects) is reported, and the call runs eagerly.
"""
from __future__ import annotations

import attrs
import torch
from torch._functorch.autograd_function import autograd_function_apply
from torch.autograd.function import once_differentiable

from core.graph_log import NodeRef
from core.guards import IdMatch
from core.outcomes import BreakKind, unsupported
from core.sources import AttrSource
from core.state import State
from effects import heap
from vt import registry
from vt.callables.subgraphs import (TENSOR, build_subgraph, failed, flat_outputs, flatten, lifted_pairs,
                                    pair_of, record_hop, subtrace, unflatten)
from vt.data.constant import ConstantVariable
from vt.data.lists import TupleVariable
from vt.data.tensor import TensorVariable
from vt.protocol import DELETED, VariableTracker

_ONCE_DIFFERENTIABLE_CODE = once_differentiable(lambda ctx: None).__code__
_BASE_SETUP_CONTEXT = torch.autograd.Function.setup_context


@attrs.frozen(slots=True)
class AutogradFunctionClassVariable(VariableTracker):
    """A subclass of `torch.autograd.Function`; `apply` is the operator, other attributes are read through."""

    cls: type
    source: object = attrs.field(default=None, eq=False)

    always_true = True

    def fixed_object(self):
        return self.cls

    def describe(self) -> str:
        return f"autograd.Function {self.cls.__qualname__}"

    def as_class(self):
        return self.cls

    def getattr(self, state, name):
        if name == "apply":
            return state, AutogradApplyVariable(self)
        if not hasattr(self.cls, name):
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"AttributeError: {self.cls.__name__}.{name}")
        return registry.wrap_value(state, getattr(self.cls, name), AttrSource(self.source, name))

    def call(self, state, args, kwargs):
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"creating an instance of {self.describe()} is not traced",
                           "call its `apply` instead")


@attrs.frozen(slots=True)
class CtxVariable(VariableTracker):
    """The `ctx` of one `apply`, a heap object made by the trace: attributes the program set, the tensors
    it saved, the outputs it marked non-differentiable, and what torch tells it (needs_input_grad)."""

    oid: int
    needs_input_grad: tuple
    attributes: tuple = ()  # (name, VT) pairs
    saved: object = None  # tuple of VTs once save_for_backward was called
    non_differentiable: tuple = ()  # TensorVariables
    in_backward: bool = False
    source = None

    always_true = True

    def describe(self) -> str:
        return "autograd.Function ctx"

    def getattr(self, state, name):
        ctx = heap.current(state, self)
        for key, value in ctx.attributes:
            if key == name:
                return state, value
        if name == "needs_input_grad":
            return state, TupleVariable(tuple(ConstantVariable(flag) for flag in ctx.needs_input_grad))
        if name in ("saved_tensors", "saved_variables"):
            if not ctx.in_backward:
                return unsupported(BreakKind.UNSUPPORTED_OPERATION, "ctx.saved_tensors read in forward")
            return state, TupleVariable(ctx.saved or ())
        if name in CTX_METHODS:
            return state, CtxMethodVariable(self, name)
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"ctx.{name} is not modelled",
                           "store what backward needs with ctx.save_for_backward or as a ctx attribute")

    def setattr(self, state, name, value):
        ctx = heap.current(state, self)
        if value is DELETED or name in ("saved_tensors", "needs_input_grad"):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"changing ctx.{name} is not modelled")
        attributes = tuple((key, item) for key, item in ctx.attributes if key != name) + ((name, value),)
        return heap.update_object(state, attrs.evolve(ctx, attributes=attributes))


def _save_for_backward(state, ctx, args):
    if not all(isinstance(arg, TensorVariable) or arg.constant_value() is None for arg in args):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "ctx.save_for_backward takes tensors or None")
    return heap.update_object(state, attrs.evolve(ctx, saved=tuple(args)))


def _mark_non_differentiable(state, ctx, args):
    if not all(isinstance(arg, TensorVariable) for arg in args):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "ctx.mark_non_differentiable takes tensors")
    return heap.update_object(state, attrs.evolve(ctx, non_differentiable=ctx.non_differentiable + tuple(args)))


def _set_materialize_grads(state, ctx, args):
    if len(args) != 1 or args[0].constant_value() is not True:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "ctx.set_materialize_grads(False) is not traced")
    return state


CTX_METHODS = {"save_for_backward": _save_for_backward, "mark_non_differentiable": _mark_non_differentiable,
               "set_materialize_grads": _set_materialize_grads}


@attrs.frozen(slots=True)
class CtxMethodVariable(VariableTracker):
    """`ctx.save_for_backward` and friends, bound to their ctx."""

    ctx: CtxVariable
    name: str

    always_true = True

    def call(self, state, args, kwargs):
        if kwargs:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"ctx.{self.name} with keyword arguments")
        if self.name != "save_for_backward" and heap.current(state, self.ctx).in_backward:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"ctx.{self.name} in backward")
        out = CTX_METHODS[self.name](state, heap.current(state, self.ctx), list(args))
        return (out, ConstantVariable(None)) if isinstance(out, State) else out


@attrs.frozen
class _Forward:
    """Calls forward on the fresh tensor inputs (in the places of the tensor arguments), with ctx first
    for a combined forward, or followed by `setup_context(ctx, inputs, output)`."""

    forward: object
    setup_context: object  # VT, or None when forward takes ctx
    ctx: CtxVariable
    args: tuple  # the apply arguments, tensors replaced by None
    positions: tuple  # where the tensor arguments are

    def call(self, state, inputs, kwargs):
        args = list(self.args)
        for position, value in zip(self.positions, inputs):
            args[position] = value
        if self.setup_context is None:
            return self.forward.call(state, [self.ctx, *args], {})
        out = self.forward.call(state, list(args), {})
        if type(out) is not tuple:
            return out
        state, output = out
        done = self.setup_context.call(state, [self.ctx, TupleVariable(tuple(args)), output], {})
        if type(done) is not tuple:
            return done
        return done[0], output


@attrs.frozen
class _Backward:
    """Calls backward with a fresh ctx whose saved values are the fresh inputs after the gradients."""

    backward: object
    ctx: CtxVariable  # the forward's ctx, as forward left it
    saved_slots: tuple  # (where, key) per saved value: ("saved", position) or ("attribute", name, position)
    grads: int

    def call(self, state, inputs, kwargs):
        grads, saved = inputs[:self.grads], inputs[self.grads:]
        before = self.ctx
        saved_items = list(before.saved or ())
        attributes = dict(before.attributes)
        attribute_leaves = {}
        for slot, value in zip(self.saved_slots, saved):
            if slot[0] == "saved":
                saved_items[slot[1]] = value
            else:
                attribute_leaves.setdefault(slot[1], []).append(value)
        for name, leaves in attribute_leaves.items():
            state, attributes[name] = unflatten(state, flatten(state, attributes[name])[1], leaves)
        state, ctx = heap.allocate(state, lambda oid: CtxVariable(oid, before.needs_input_grad,
                                                                  tuple(attributes.items()), tuple(saved_items),
                                                                  (), True))
        return self.backward.call(state, [ctx, *grads], {})


def _method(state, cls_vt, name):
    return registry.wrap_value(state, getattr(cls_vt.cls, name), AttrSource(cls_vt.source, name))


@attrs.frozen(slots=True)
class AutogradApplyVariable(VariableTracker):
    """`MyFunction.apply`: calling it records the operator (or the reason it runs eagerly)."""

    function: AutogradFunctionClassVariable

    always_true = True

    def describe(self) -> str:
        return f"{self.function.cls.__qualname__}.apply"

    def call(self, state, args, kwargs):
        return apply_function(state, self.function, list(args), kwargs, self.describe())


def apply_function(state, cls_vt, args, kwargs, what):
    cls = cls_vt.cls
    if kwargs:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{what} with keyword arguments is not traced")
    positions = tuple(i for i, arg in enumerate(args) if isinstance(arg, TensorVariable))
    if any(flatten(state, arg) is None or (flatten(state, arg)[0] and i not in positions) for i, arg in enumerate(args)):
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{what} is traced with tensors and constants as arguments")
    needs = tuple(i in positions and args[i].fake.requires_grad for i in range(len(args)))
    forward_out = _method(state, cls_vt, "forward")
    if type(forward_out) is not tuple:
        return forward_out
    state, forward = forward_out
    setup = None
    if cls.setup_context is not _BASE_SETUP_CONTEXT:
        out = _method(state, cls_vt, "setup_context")
        if type(out) is not tuple:
            return out
        state, setup = out
    backward_fn = cls.backward
    name = "backward"
    if getattr(backward_fn, "__code__", None) is _ONCE_DIFFERENTIABLE_CODE:  # traced under no_grad anyway
        backward_fn, name = backward_fn.__wrapped__, "backward.__wrapped__"
    out = registry.wrap_value(state, backward_fn, AttrSource(cls_vt.source, name) if name == "backward"
                              else AttrSource(AttrSource(cls_vt.source, "backward"), "__wrapped__"))
    if type(out) is not tuple:
        return out
    state, backward = out
    state, ctx = heap.allocate(state, lambda oid: CtxVariable(oid, needs))
    tensors = [args[i] for i in positions]
    plain = tuple(None if i in positions else arg for i, arg in enumerate(args))
    fwd = subtrace(state, _Forward(forward, setup, ctx, plain, positions), [], {}, f"{cls.__qualname__}.forward",
                   fakes=[t.fake for t in tensors], grad_enabled=False)
    if failed(fwd):
        return fwd
    state = fwd.state
    if fwd.spec != TENSOR and (fwd.spec[0] != "tuple" or any(item != TENSOR for item in fwd.spec[1])):
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{cls.__qualname__}.forward returns "
                           f"{fwd.result.describe()}; the tracer takes a tensor or a tuple of tensors")
    ctx = heap.current(state, ctx)
    saved = _saved_values(state, ctx)
    if type(saved) is not tuple:
        return saved
    saved_values, slots = saved
    output = NodeRef(fwd.leaves[0].node) if fwd.spec == TENSOR else tuple(NodeRef(leaf.node) for leaf in fwd.leaves)
    fwd_graph = build_subgraph(state.graph, fwd.inputs, fwd.lifted, fwd.body,
                               (output, tuple(NodeRef(value.node) for value in saved_values)), "fwd_body")
    grad_fakes = []
    with state.env.fake_mode:
        for leaf in fwd.leaves:
            grad_fakes.append(torch.empty_like(leaf.fake, requires_grad=False))
    bwd = subtrace(state, _Backward(backward, ctx, slots, len(fwd.leaves)), [], {}, f"{cls.__qualname__}.backward",
                   fakes=grad_fakes + [value.fake for value in saved_values], grad_enabled=False)
    if failed(bwd):
        return bwd
    grads = _input_grads(bwd, len(args))
    if grads is None:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{cls.__qualname__}.backward returns "
                           f"{bwd.result.describe()}, not one gradient (or None) per input of forward")
    state = bwd.state
    if bwd.lifted:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{cls.__qualname__}.backward reads tensors from outside "
                           "(closures, globals), which the tracer does not pass to backward yet",
                           "save them with ctx.save_for_backward")
    outputs = tuple(grads[i] for i in positions) + (None,) * len(fwd.lifted)
    bwd_graph = build_subgraph(state.graph, bwd.inputs, (), bwd.body, outputs, "bwd_body")
    marked = {value.node for value in ctx.non_differentiable}
    non_differentiable = [i for i, leaf in enumerate(fwd.leaves) if leaf.node in marked]
    saved_idx = [i for i, slot in enumerate(slots) if slot[0] == "saved"]
    operands = [pair_of(t) for t in tensors] + list(lifted_pairs(state, fwd.lifted))
    out = record_hop(state, autograd_function_apply, (pair_of(fwd_graph), pair_of(bwd_graph), *operands),
                     {"non_differentiable_idx": non_differentiable, "saved_for_backward_idx": saved_idx}, what)
    if type(out) is not tuple:
        return out
    state, value = out
    if fwd.spec == TENSOR:
        return state, value
    state, leaves = flat_outputs(state, value, len(fwd.leaves))
    return unflatten(state, fwd.spec, leaves)


def _saved_values(state, ctx):
    """The tensors backward gets, and where each goes: save_for_backward's, then ctx attributes'."""
    values, slots = [], []
    for position, value in enumerate(ctx.saved or ()):
        if isinstance(value, TensorVariable):
            values.append(value)
            slots.append(("saved", position))
    for name, value in ctx.attributes:
        flat = flatten(state, value)
        if flat is None:
            return unsupported(BreakKind.UNSUPPORTED_VALUE, f"ctx.{name} holds {value.describe()}, which the tracer "
                               "does not pass to backward", "store tensors, numbers or tuples of them on ctx")
        for leaf in flat[0]:
            values.append(leaf)
            slots.append(("attribute", name))
    return tuple(values), tuple(slots)


def _input_grads(bwd, count: int):
    """One NodeRef or None per forward input, from backward's result; None when it does not fit."""
    leaves = iter(bwd.leaves)
    spec = bwd.spec
    items = (spec,) if spec == TENSOR or spec[0] == "const" else spec[1] if spec[0] == "tuple" else None
    if items is None or len(items) != count:
        return None
    grads = []
    for item in items:
        if item == TENSOR:
            grads.append(NodeRef(next(leaves).node))
        elif item[0] == "const" and item[1].constant_value() is None:
            grads.append(None)
        else:
            return None
    return grads


@registry.wrap_rule("autograd_function", only=(type,))
def _autograd_function(state, value, source, guard):
    if isinstance(value, type) and issubclass(value, torch.autograd.Function) and value is not torch.autograd.Function \
            and not (getattr(value, "__module__", "") or "").startswith("torch."):
        if guard:
            state = state.add_guard(IdMatch(source, value, f"class {value.__qualname__}"))
        return state, AutogradFunctionClassVariable(value, source)
    return None
