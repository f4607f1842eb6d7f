"""Control flow and checkpointing as higher-order operators: one node each, bodies as sub-graphs.

* `torch.utils.checkpoint.checkpoint(fn, *args, use_reentrant=False)` becomes
  `torch.ops.higher_order.tag_activation_checkpoint(body, *operands)`: run eagerly
  it is checkpoint itself (activations recomputed in backward), and AOT autograd
  reads it as "recompute this region", as it does for Dynamo's graphs.
* `torch.cond(pred, true_fn, false_fn, operands)` with a tensor predicate becomes
  `torch.ops.higher_order.cond(pred, true_body, false_body, operands)`: both
  branches traced, with matching outputs; a predicate known while tracing
  just calls its branch.
* `torch.while_loop(cond_fn, body_fn, carried)` becomes
  `torch.ops.higher_order.while_loop(cond, body, carried, additional)`.
* `torch._higher_order_ops.map(f, xs, *args)` becomes
  `torch.ops.higher_order.map_impl(body, xs, args)`.

The operands of each node are the values its bodies read from outside (see
vt/callables/subgraphs.py), so a tensor in a closure is passed in like an
argument.
"""
from __future__ import annotations

import torch
import torch._higher_order_ops
import torch.utils.checkpoint

from core.graph_log import NodeRef
from core.outcomes import BreakKind, unsupported
from vt import registry
from vt.callables.subgraphs import (build_subgraph, failed, flat_outputs, lifted_pairs, lifted_values, pair_of, record_hop, refs,
                                    subtrace, unflatten)
from vt.data.constant import ConstantVariable
from vt.data.tensor import TensorVariable, fake_context

HOP = torch.ops.higher_order


def _union(*groups) -> tuple:
    seen = {}
    for group in groups:
        for index in group:
            seen.setdefault(index, None)
    return tuple(seen)


def _constant(value, default=None):
    return default if value is None else value.constant_value() if isinstance(value, ConstantVariable) else value


def finish(state, out, count: int, spec):
    """The operator's result as the body returned it: (state, VT) from its flat tensor outputs."""
    state, leaves = flat_outputs(state, out, count)
    return unflatten(state, spec, leaves)


# -- checkpoint -----------------------------------------------------------------------------------

CHECKPOINT_OPTIONS = {"context_fn", "determinism_check", "debug", "early_stop"}


@registry.builtin_rule(torch.utils.checkpoint.checkpoint)
def _checkpoint(state, args, kwargs):
    if not args:
        return None
    kwargs = dict(kwargs)
    reentrant = kwargs.pop("use_reentrant", None)
    if _constant(reentrant) is not False:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "torch.utils.checkpoint.checkpoint without use_reentrant=False "
                           "(the reentrant variant) is not traced",
                           "pass use_reentrant=False, which torch recommends")
    options = {}
    preserve = kwargs.pop("preserve_rng_state", None)
    if preserve is not None:
        if type(_constant(preserve)) is not bool:
            return unsupported(BreakKind.UNSUPPORTED_CALL, "checkpoint's preserve_rng_state must be a bool known "
                               "while tracing")
        options["preserve_rng_state"] = _constant(preserve)
    given = sorted(CHECKPOINT_OPTIONS & set(kwargs))
    if given:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"checkpoint's {', '.join(given)} option is not traced")
    what = "the function passed to torch.utils.checkpoint.checkpoint"
    trace = subtrace(state, args[0], list(args[1:]), kwargs, what, allow_random=True)
    if failed(trace):
        return trace
    if not trace.leaves:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{what} returns no tensor, so there is nothing to checkpoint")
    state = trace.state
    body = build_subgraph(state.graph, (), trace.lifted, trace.body, refs(trace.leaves), "checkpoint_body")
    out = record_hop(state, HOP.tag_activation_checkpoint, (pair_of(body), *lifted_pairs(state, trace.lifted)),
                     {"use_reentrant": False, **options}, "torch.utils.checkpoint.checkpoint")
    if type(out) is not tuple:
        return out
    return finish(*out, len(trace.leaves), trace.spec)


# -- cond -----------------------------------------------------------------------------------------

def _bind(args, kwargs, names, defaults):
    """Positional-or-keyword binding of a few parameters; None when the call does not fit."""
    if len(args) > len(names):
        return None
    bound = dict(zip(names, args))
    for key, value in kwargs.items():
        if key not in names or key in bound:
            return None
        bound[key] = value
    for key, value in defaults.items():
        bound.setdefault(key, value)
    if set(bound) != set(names):
        return None
    return [bound[name] for name in names]


@registry.builtin_rule(torch.cond)
def _cond(state, args, kwargs):
    bound = _bind(args, kwargs, ("pred", "true_fn", "false_fn", "operands"), {"operands": None})
    if bound is None:
        return None
    pred, true_fn, false_fn, operands = bound
    items = [] if operands is None else operands.unpack(state, None)
    if items is None:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "torch.cond's operands must be a tuple or list")
    if not all(isinstance(item, TensorVariable) for item in items):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "torch.cond is traced with tensors as operands")
    if isinstance(pred, ConstantVariable):  # torch specializes on a Python predicate: one branch, inlined
        return (true_fn if pred.constant_value() else false_fn).call(state, list(items), {})
    if not isinstance(pred, TensorVariable):
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"torch.cond with a {pred.describe()} predicate")
    true = subtrace(state, true_fn, list(items), {}, "torch.cond's true branch")
    if failed(true):
        return true
    false = subtrace(true.state, false_fn, list(items), {}, "torch.cond's false branch")
    if failed(false):
        return false
    if true.spec != false.spec or any(a.fake.shape != b.fake.shape or a.fake.dtype != b.fake.dtype
                                      for a, b in zip(true.leaves, false.leaves)):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "torch.cond's branches return different structures, shapes "
                           "or dtypes, which torch.cond refuses", "make both branches return the same kind of value")
    if not true.leaves:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "torch.cond's branches return no tensor")
    state = false.state
    lifted = _union(true.lifted, false.lifted)
    true_body = build_subgraph(state.graph, (), lifted, true.body, refs(true.leaves), "cond_true")
    false_body = build_subgraph(state.graph, (), lifted, false.body, refs(false.leaves), "cond_false")
    out = record_hop(state, HOP.cond, (pair_of(pred), pair_of(true_body), pair_of(false_body),
                                       lifted_values(state, lifted)), {}, "torch.cond")
    if type(out) is not tuple:
        return out
    return finish(*out, len(true.leaves), true.spec)


# -- while_loop -----------------------------------------------------------------------------------

@registry.builtin_rule(torch.while_loop)
def _while_loop(state, args, kwargs):
    bound = _bind(args, kwargs, ("cond_fn", "body_fn", "carried_inputs"), {})
    if bound is None:
        return None
    cond_fn, body_fn, carried = bound
    items = carried.unpack(state, None)
    if items is None or not items or not all(isinstance(item, TensorVariable) for item in items):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "torch.while_loop is traced with a tuple of tensors as carried "
                           "inputs", "carry Python numbers as 0-d tensors")
    fakes = [item.fake for item in items]
    test = subtrace(state, cond_fn, [], {}, "torch.while_loop's cond_fn", fakes=fakes)
    if failed(test):
        return test
    body = subtrace(test.state, body_fn, [], {}, "torch.while_loop's body_fn", fakes=fakes)
    if failed(body):
        return body
    if len(test.leaves) != 1 or test.spec != "tensor":
        return unsupported(BreakKind.UNSUPPORTED_CALL, "torch.while_loop's cond_fn must return one boolean tensor")
    if len(body.leaves) != len(items) or any(a.fake.shape != b.shape or a.fake.dtype != b.dtype
                                              for a, b in zip(body.leaves, fakes)):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "torch.while_loop's body_fn must return tensors like its "
                           "carried inputs")
    state = body.state
    lifted = _union(test.lifted, body.lifted)
    test_graph = build_subgraph(state.graph, test.inputs, lifted, test.body, NodeRef(test.leaves[0].node),
                                "while_cond")
    body_graph = build_subgraph(state.graph, body.inputs, lifted, body.body, refs(body.leaves), "while_body")
    carried_pair = pair_of(tuple(pair_of(item) for item in items))
    with fake_context(state):  # its fake run needs symbolic sizes; the outputs are like the carried values
        example = tuple(torch.empty_like(leaf.fake) for leaf in body.leaves)
    out = record_hop(state, HOP.while_loop, (pair_of(test_graph), pair_of(body_graph), carried_pair,
                                             lifted_values(state, lifted)), {}, "torch.while_loop", example=example)
    if type(out) is not tuple:
        return out
    return finish(*out, len(items), ("tuple", ("tensor",) * len(items), None, None))


# -- map ------------------------------------------------------------------------------------------

@registry.builtin_rule(torch._higher_order_ops.map)
def _map(state, args, kwargs):
    if len(args) < 2 or kwargs or not isinstance(args[1], TensorVariable):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "torch._higher_order_ops.map is traced over one tensor xs")
    fn, xs, extra = args[0], args[1], list(args[2:])
    if not all(isinstance(arg, TensorVariable) for arg in extra):  # eager refuses them too
        return unsupported(BreakKind.UNSUPPORTED_CALL, "torch._higher_order_ops.map takes tensors as extra arguments")
    if xs.fake.dim() == 0 or xs.fake.shape[0] == 0:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "map over a tensor with no leading dimension to map over")
    with fake_context(state):
        piece = xs.fake.select(0, 0).clone()
    trace = subtrace(state, fn, extra, {}, "the function mapped by torch._higher_order_ops.map", fakes=[piece])
    if failed(trace):
        return trace
    if not trace.leaves:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "the mapped function returns no tensor")
    state = trace.state
    body = build_subgraph(state.graph, trace.inputs, trace.lifted, trace.body, refs(trace.leaves), "map_body")
    out = record_hop(state, HOP.map_impl, (pair_of(body), pair_of((pair_of(xs),)), lifted_values(state, trace.lifted)),
                     {}, "torch._higher_order_ops.map")
    if type(out) is not tuple:
        return out
    return finish(*out, len(trace.leaves), trace.spec)
