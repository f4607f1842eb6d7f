"""The graph log, interpreted once into a `torch.fx.GraphModule`.

Placeholders come first (in the order the trace first read them), then the
computation in log order, then one output node returning a tuple.  Nodes a
higher-order operator's sub-graph owns are left to that sub-graph, which the
operator's node reads with `get_attr` (vt/callables/subgraphs.py).  Nodes
carry the user's file and line in `node.meta`.  Dead nodes are removed, and
so are placeholders nothing reads (inputs used only for their shape).
"""
from __future__ import annotations

import re

import attrs
import torch
import torch.fx

from vt.callables.subgraphs import emit_nodes, graph_module, remove_dead_nodes


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
    modules = {}
    emit_nodes(graph, log, range(len(log)), fx_nodes, modules)
    graph.output(tuple(fx_nodes[index] for index in output_nodes))
    remove_dead_nodes(graph)
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
    module = graph_module(graph, modules, name)
    return BuiltGraph(module, tuple(log[index].target for index in kept), tuple(kept), tuple(output_nodes))
