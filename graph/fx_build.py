"""The graph log, interpreted once into a `torch.fx.GraphModule`.

Placeholders come first (in the order the trace first read them), then the
computation in log order, then one output node returning a tuple.  Nodes
carry the user's file and line in `node.meta`.  Dead nodes are removed, and
so are placeholders nothing reads (inputs used only for their shape).
"""
from __future__ import annotations

import linecache
import re

import attrs
import torch
import torch.fx

from core.graph_log import map_refs


@attrs.frozen
class BuiltGraph:
    """A lint-clean GraphModule plus what the wrapper needs to call it."""

    module: torch.fx.GraphModule
    input_sources: tuple  # one Source per placeholder, in order
    input_nodes: tuple  # graph-log index of each placeholder
    output_nodes: tuple  # graph-log index of each output, in order


def _placeholder_name(source) -> str:
    name = re.sub(r"\W", "_", source.placeholder_name()).lower()
    # Reading through a closure cell or a bound method's __self__ says nothing to a reader of the graph.
    name = re.sub(r"f___closure___\d+_cell_contents_|___self___|___func___", "", name)
    if name[:1].isdigit():  # a ModuleList child read through a closure: `1_weight` is not a name
        name = "m" + name
    return name or "input"


def _input_order(log, placeholders, parameters: tuple) -> list:
    """Placeholders in the function's parameter order, then other inputs in order of first use."""
    position = {name: i for i, name in enumerate(parameters)}

    def key(index):
        source = log[index].target
        roots = source.root_names()
        return (position.get(roots[0], len(position)) if roots else len(position), index)

    return sorted(placeholders, key=key)


def _remove_dead_nodes(graph) -> None:
    """Drop computations nobody reads, except impure ones.

    A node is impure when running it on fake tensors bumped an argument's
    version counter (it changed an argument, like batch_norm's running
    statistics) or when it draws random numbers; eager runs those for their
    effect, so the graph keeps them.
    """
    for node in reversed(list(graph.nodes)):
        if node.op in ("call_function", "call_method") and not node.users and not node.meta.get("impure"):
            graph.erase_node(node)


def _symbols_of(examples) -> set:
    """The symbols in the sizes, strides and offsets of the symbolic tensor inputs among `examples`."""
    found = set()
    for example in examples:
        if isinstance(example, torch.Tensor):
            properties = (*example.shape, *example.stride(), example.storage_offset())
            for value in properties:
                if isinstance(value, torch.SymInt):
                    found |= value.node.expr.free_symbols
    return found


def build_graph(log, placeholders, output_nodes: tuple, parameters: tuple, name: str) -> BuiltGraph | None:
    """fx.GraphModule computing the log's nodes `output_nodes`; None if nothing is computed."""
    graph = torch.fx.Graph()
    fx_nodes = {}
    order = _input_order(log, placeholders, parameters)
    for index in order:
        fx_nodes[index] = graph.placeholder(_placeholder_name(log[index].target))
        fx_nodes[index].meta["example_value"] = log[index].example
    for index, node in enumerate(log):
        if node.op == "placeholder":
            continue
        args = map_refs(node.args, lambda ref: fx_nodes[ref.index])
        kwargs = map_refs(dict(node.kwargs), lambda ref: fx_nodes[ref.index])
        if node.op == "call_method":
            fx_node = graph.call_method(node.target, args, kwargs)
        else:
            fx_node = graph.call_function(node.target, args, kwargs)
        line = linecache.getline(node.filename, node.lineno).strip()
        fx_node.meta.update(filename=node.filename, lineno=node.lineno, example_value=node.example, impure=node.impure,
                            stack_trace=f'  File "{node.filename}", line {node.lineno}\n    {line}\n')
        fx_nodes[index] = fx_node
    graph.output(tuple(fx_nodes[index] for index in output_nodes))
    _remove_dead_nodes(graph)
    used = {index for index in order if fx_nodes[index].users}
    needed = _symbols_of(log[index].example for index in used)
    kept = []
    for index in order:
        fx_node = fx_nodes[index]
        example = log[index].example
        if index in used or (isinstance(example, torch.SymInt) and example.node.expr in needed):
            kept.append(index)  # a size symbol of a tensor input stays, as in Dynamo's graphs
        else:
            graph.erase_node(fx_node)
    if all(node.op in ("placeholder", "output") for node in graph.nodes):
        return None
    graph.lint()
    module = torch.fx.GraphModule(torch.nn.Module(), graph, class_name=name)
    return BuiltGraph(module, tuple(log[index].target for index in kept), tuple(kept), tuple(output_nodes))
