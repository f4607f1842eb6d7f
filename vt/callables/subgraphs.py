"""Sub-traces: how an operator that takes a function (a higher-order operator) captures it.

`torch.cond`, checkpointing, `autograd.Function`, `torch.func` transforms and the
like call a function in a way the graph must keep whole: the function becomes a
sub-graph, a `GraphModule` passed to one node of the graph, as Dynamo passes
its `torch.ops.higher_order.*` operators their bodies.

A sub-trace is an ordinary inlined call run on a snapshot: the persistent State
makes that cheap.  The function's nodes are appended to the same graph log
(the heap, guards and placeholders are the caller's own), and then claimed by
the operator's node through a `Subgraph` record, so the graph around it skips
them.  A value the body reads from outside (an argument passed as is, a tensor
in a closure, a parameter read for the first time) is *lifted*: it becomes an
input of the sub-graph and an operand of the operator's node.

What the operators forbid is checked on the result: the sub-trace must reach
its return (no graph break, no exception) and leave every object that existed
before it as it was (no effect records, no global writes, no tensor changed in
place).  Otherwise the caller gets one `Unsupported` for the whole operator
call, which then runs eagerly as one graph break with the reason.
"""
from __future__ import annotations

import linecache

import attrs
import torch
import torch.fx
from torch.fx._lazy_graph_module import _LazyGraphModule

from core.graph_log import NodeRef, Subgraph, map_refs
from core.outcomes import BreakKind, Thrown, Unsupported, unsupported
from vt.data.constant import ConstantVariable
from vt.data.lists import TupleVariable, new_list
from vt.data.tensor import TensorVariable, record_lowered
from vt.data.tensor_checks import MODE_SWITCHES, RANDOM_OPS, op_name

SUBGRAPH_INPUT = "subgraph_input"


@attrs.frozen
class SubTrace:
    """A function traced to its return inside an operator: the state after it (caller's frame back),
    its flattened result, and which log nodes it owns and reads from outside."""

    state: object
    inputs: tuple  # log indices of its subgraph_input nodes, in order
    result: object  # the VT it returned
    leaves: tuple  # the tensors of the result, flattened (TensorVariables)
    spec: object  # how to rebuild the result from the leaves (see `flatten`)
    body: tuple  # log indices of the nodes it appended (placeholders excluded)
    lifted: tuple  # log indices of outside values its nodes read, first use first


def new_inputs(state, fakes) -> tuple:
    """(state, TensorVariables): fresh inputs of a sub-graph with the given fake tensors."""
    values = []
    for position, fake in enumerate(fakes):
        state, index = state.add_node(SUBGRAPH_INPUT, position, (), (), fake)
        values.append(TensorVariable(index, fake))
    return state, tuple(values)


def subtrace(state, fn, args, kwargs, what: str, fakes=(), grad_enabled=None, allow_random=False):
    """Trace `fn(*fresh inputs, *args, **kwargs)` as a sub-graph: a SubTrace, or the Unsupported that
    makes the whole operator call run eagerly.  `fakes` are the fake tensors of fresh inputs passed
    first (values that differ from the caller's: a vmap'd slice, a loop's carried value);
    `grad_enabled` the grad mode the body runs under (as `autograd.Function.forward` runs without
    grad), without a node: the operator itself switches at run time."""
    start = len(state.graph)
    outer_grad = state.grad_enabled
    sub, inputs = new_inputs(state, fakes)
    if grad_enabled is not None:
        sub = attrs.evolve(sub, grad_enabled=grad_enabled)
    out = fn.call(sub, [*inputs, *args], dict(kwargs))
    if type(out) is Thrown:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{what} raises an exception while traced, so the call "
                           "runs eagerly")
    if type(out) is Unsupported:
        return Unsupported(out.kind, f"{what} could not be captured as a sub-graph ({out.reason}), so the "
                           "call runs eagerly", out.hint, out.inside)
    final, result = out
    problem = _outside_change(state, final, start, allow_random)
    if problem is None and final.grad_enabled != sub.grad_enabled:
        problem = "leaves grad mode switched"
    if problem is None and final.modes != state.modes:
        problem = "leaves autocast or inference mode entered"
    if problem is not None:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{what} {problem}, which a higher-order operator "
                           "may not do, so the call runs eagerly",
                           "keep the function free of side effects, or call it outside the operator")
    flat = flatten(final, result)
    if flat is None:
        return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{what} returned {result.describe()}; a sub-graph "
                           "returns tensors, tuples and lists of them, and constants")
    leaves, spec = flat
    final = attrs.evolve(final, grad_enabled=outer_grad)
    body = tuple(index for index in range(start, len(final.graph)) if final.graph[index].op != "placeholder")
    return SubTrace(final, tuple(node.node for node in inputs), result, tuple(leaves), spec, body,
                    lifted_inputs(final.graph, body))


def _outside_change(before, after, start: int, allow_random: bool):
    """What the sub-trace changed outside itself, in words, or None."""
    if len(after.effects) != len(before.effects):
        return f"changes {after.effects[len(before.effects)].describe()}"
    if after.globals != before.globals:
        return "writes a global"
    for index in range(start, len(after.graph)):
        node = after.graph[index]
        if node.impure and node.target not in MODE_SWITCHES:  # mode switches a body also switches back
            name = op_name(node.op, node.target)
            if allow_random and name in RANDOM_OPS:
                continue
            return f"changes a tensor in place or draws random numbers ({name})"
    return None


def lifted_inputs(log, body) -> tuple:
    """The log indices the body's own nodes read from outside it, in order of first use."""
    inside = set(body)
    owned = owned_indices(log, body)
    found = {}

    def note(ref):
        if ref.index not in inside:
            found.setdefault(ref.index, None)
        return ref

    for index in body:
        if index not in owned:
            node = log[index]
            map_refs(node.args, note)
            map_refs(dict(node.kwargs), note)
    return tuple(found)


def owned_indices(log, indices) -> set:
    """Indices claimed by the Subgraph arguments of the nodes `indices` (nested bodies)."""
    owned = set()
    for index in indices:
        for arg in log[index].args:
            if type(arg) is Subgraph:
                owned |= arg.body
    return owned


# -- results as flat tensors ----------------------------------------------------------------------

TENSOR = "tensor"


def flatten(state, value):
    """(tensor leaves, spec) for a tensor, a constant, or tuples and lists of them; None otherwise."""
    if isinstance(value, TensorVariable):
        return [value], TENSOR
    if isinstance(value, ConstantVariable) and not isinstance(value.constant_value(), (tuple, list)):
        return [], ("const", value)
    kind = value.comparison_kind()
    if kind not in ("tuple", "list"):
        return None
    items = value.unpack(state, None)
    if items is None:
        return None
    leaves, specs = [], []
    for item in items:
        flat = flatten(state, item)
        if flat is None:
            return None
        leaves += flat[0]
        specs.append(flat[1])
    python_type = getattr(value, "python_type", None) if kind == "tuple" else None
    return leaves, (kind, tuple(specs), python_type, getattr(value, "fields", None))


def unflatten(state, spec, leaves):
    """(state, VT) rebuilt from `spec` with the tensor leaves given, in order."""
    position = [0]

    def build(state, spec):
        if spec == TENSOR:
            position[0] += 1
            return state, leaves[position[0] - 1]
        if spec[0] == "const":
            return state, spec[1]
        kind, specs, python_type, fields = spec
        items = []
        for item in specs:
            state, vt = build(state, item)
            items.append(vt)
        if kind == "list":
            return new_list(state, tuple(items))
        return state, TupleVariable(tuple(items), python_type, fields)

    return build(state, spec)


# -- building GraphModules from the log -----------------------------------------------------------

def emit_nodes(graph, log, indices, fx_nodes: dict, modules: dict) -> None:
    """Append the call nodes among `indices` to the fx.Graph: refs are looked up in `fx_nodes` (which
    gains each new node), nodes owned by a nested Subgraph are skipped, and a Subgraph argument
    becomes a `get_attr` of its module, collected in `modules` (attribute name -> GraphModule)."""
    owned = owned_indices(log, indices)
    for index in indices:
        node = log[index]
        if index in owned or node.op in ("placeholder", SUBGRAPH_INPUT):
            continue
        args = map_refs(node.args, lambda ref: fx_nodes[ref.index])
        kwargs = map_refs(dict(node.kwargs), lambda ref: fx_nodes[ref.index])
        args = tuple(_module_attribute(graph, arg, modules) if type(arg) is Subgraph else arg for arg in args)
        if node.op == "call_method":
            fx_node = graph.call_method(node.target, args, kwargs)
        else:
            fx_node = graph.call_function(node.target, args, kwargs)
        line = linecache.getline(node.filename, node.lineno).strip()
        fx_node.meta.update(filename=node.filename, lineno=node.lineno, example_value=node.example,
                            impure=node.impure,
                            stack_trace=f'  File "{node.filename}", line {node.lineno}\n    {line}\n')
        fx_nodes[index] = fx_node


def _module_attribute(graph, subgraph: Subgraph, modules: dict):
    name = f"{subgraph.name}_{len(modules)}"
    modules[name] = subgraph.module
    return graph.get_attr(name)


def remove_dead_nodes(graph) -> None:
    """Drop computations nobody reads, except impure ones (they changed an argument, drew random
    numbers or switched a mode: eager runs them for their effect)."""
    for node in reversed(list(graph.nodes)):
        if node.op in ("call_function", "call_method", "get_attr") and not node.users \
                and not node.meta.get("impure"):
            graph.erase_node(node)


def graph_module(graph, modules: dict, name: str):
    """A GraphModule over `graph` whose `get_attr`s find `modules`.  Its Python code is generated
    when first needed (a call, `.code`, printing), not here: torch's `_LazyGraphModule`, as Dynamo
    hands its graphs to backends; a backend that only reads the graph never pays for it."""
    root = torch.nn.Module()
    for attribute, module in modules.items():
        setattr(root, attribute, module)
    return _LazyGraphModule(root, graph, class_name=name)


def build_subgraph(log, inputs: tuple, lifted: tuple, body: tuple, output, name: str) -> Subgraph:
    """The Subgraph of a body: placeholders for `inputs` (subgraph_input indices) then `lifted` (outside
    indices), the body's nodes, and `output`, a structure of NodeRefs (and None) it returns."""
    graph = torch.fx.Graph()
    fx_nodes = {}
    for position, index in enumerate(inputs):
        fx_nodes[index] = graph.placeholder(f"arg{position}")
        fx_nodes[index].meta["example_value"] = log[index].example
    for index in lifted:
        fx_nodes[index] = graph.placeholder(f"lifted_{index}")
        fx_nodes[index].meta["example_value"] = log[index].example
    modules = {}
    emit_nodes(graph, log, body, fx_nodes, modules)
    graph.output(map_refs(output, lambda ref: fx_nodes[ref.index]))
    remove_dead_nodes(graph)
    graph.lint()
    return Subgraph(graph_module(graph, modules, name), frozenset(body), name)


def refs(leaves) -> tuple:
    return tuple(NodeRef(leaf.node) for leaf in leaves)


def lifted_pairs(state, lifted: tuple) -> tuple:
    """(graph argument, fake argument) pairs of lifted log indices, one per index."""
    return tuple((NodeRef(index), state.graph[index].example) for index in lifted)


def lifted_values(state, lifted: tuple) -> tuple:
    """The (graph argument, fake argument) pair of the tuple of lifted log indices."""
    return pair_of(lifted_pairs(state, lifted))


def record_hop(state, target, args: tuple, kwargs: dict, what: str, example=None):
    """Add `target(*args, **kwargs)` to the graph after running it on fake tensors; (state, vt) as
    record_op returns.  Each argument is a (graph argument, fake argument) pair: a Subgraph with its
    module (`pair_of`), a NodeRef with its fake tensor, tuples of them, or a constant twice;
    `kwargs` are constants; `example` the fake output when the operator cannot run on fake tensors."""
    graph_args = [graph for graph, _ in args]
    fake_args = [fake for _, fake in args]
    tensors = tuple(TensorVariable(arg.index, fake) for arg, fake in _flat_pairs(args))
    return record_lowered(state, "call_function", target, graph_args, fake_args, dict(kwargs), dict(kwargs), what,
                          tensors, example=example)


def pair_of(value):
    """The (graph argument, fake argument) pair of a Subgraph, a tensor VT, or a tuple of pairs (a
    constant is its own pair: `(value, value)`)."""
    if type(value) is Subgraph:
        return value, value.module
    if isinstance(value, TensorVariable):
        return NodeRef(value.node), value.fake
    if type(value) is tuple:
        return tuple(graph for graph, _ in value), tuple(fake for _, fake in value)
    raise TypeError(f"no graph argument for {value!r}")


def failed(trace) -> bool:
    """Whether `subtrace` answered with the stop that makes the operator call run eagerly."""
    return type(trace) is not SubTrace


def _flat_pairs(operands):
    for graph_arg, fake_arg in operands:
        if type(graph_arg) is tuple:
            yield from _flat_pairs(tuple(zip(graph_arg, fake_arg)))
        elif type(graph_arg) is NodeRef:
            yield graph_arg, fake_arg


def flat_outputs(state, out, count: int):
    """The `count` tensors of an operator node's output: (state, [TensorVariable]); `out` is what
    record_hop returned (a tensor, or a tuple or list VT of them)."""
    if isinstance(out, TensorVariable):
        return state, [out]
    items = out.unpack(state, None)
    return state, list(items[:count])

