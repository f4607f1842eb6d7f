"""The graph log: the tensor program captured so far, as a persistent vector of records.

Nodes are appended, never edited, so a `State` snapshot holds exactly the graph
of its own prefix of the trace and rollback costs nothing.  Arguments refer to
earlier nodes through `NodeRef`; everything else in them is a Python constant.
The log becomes a `torch.fx.Graph` only once, at the end (`graph.fx_build`).
"""
from __future__ import annotations

import attrs


@attrs.frozen(slots=True)
class NodeRef:
    """A reference to node `index` of the graph log."""

    index: int


@attrs.frozen(slots=True)
class GraphNode:
    """One captured operation.

    `op` is an FX opcode: "placeholder" (target is the input's Source),
    "call_function" (target is the callable) or "call_method" (target is the
    method name), or "subgraph_input" (target is its position): an input of a
    sub-trace, which becomes a placeholder of the sub-graph, not of the graph.  `example` is the fake tensor (or tuple of them) the op
    produced while tracing, and `value` the real input tensor of a placeholder;
    both are metadata, so they take no part in equality.
    """

    op: str
    target: object
    args: tuple
    kwargs: tuple
    filename: str = attrs.field(eq=False)
    lineno: int = attrs.field(eq=False)
    example: object = attrs.field(eq=False, repr=False)
    value: object = attrs.field(default=None, eq=False, repr=False)
    impure: bool = False  # changes an argument or draws random numbers: kept even if unused


def map_refs(value, fn):
    """Rebuild a nested args structure with every NodeRef replaced by fn(ref)."""
    kind = type(value)
    if kind is NodeRef:
        return fn(value)
    if kind is tuple:
        return tuple(map_refs(item, fn) for item in value)
    if kind is list:
        return [map_refs(item, fn) for item in value]
    if kind is dict:
        return {key: map_refs(item, fn) for key, item in value.items()}
    if kind is slice:
        return slice(map_refs(value.start, fn), map_refs(value.stop, fn), map_refs(value.step, fn))
    return value


@attrs.frozen(slots=True)
class Subgraph:
    """The body of a higher-order operator: a sub-trace turned into a GraphModule.

    It sits among the arguments of the operator's node (a `get_attr` of the
    module in the built graph).  `body` holds the log indices of the nodes the
    sub-trace appended: they belong to the sub-graph, not to the graph around it.
    `name` hints at the attribute's name (`cond_true`, `checkpoint_body`, ...).
    """

    module: object = attrs.field(eq=False, repr=False)  # torch.fx.GraphModule
    body: frozenset = attrs.field(repr=False)
    name: str = "subgraph"
