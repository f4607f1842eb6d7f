"""A readable report of what a capture produced: graphs, guards, breaks with source lines."""
from __future__ import annotations


class Explanation:
    """What `explain()` returns; `str()` gives the report, attributes give the data."""

    def __init__(self, traced, result=None):
        self.traced = traced
        self.result = result
        self.graphs = traced.graphs
        self.guards = traced.guards
        self.graph_breaks = traced.graph_breaks
        self.resumes = traced.resumes
        self.side_effects = traced.side_effects

    @property
    def graph_count(self) -> int:
        return len(self.graphs)

    @property
    def op_count(self) -> int:
        return sum(1 for gm in self.graphs for node in gm.graph.nodes
                   if node.op in ("call_function", "call_method", "call_module"))

    def __str__(self):
        fn = self.traced.fn
        lines = [f"snaptrace: {fn.__qualname__} ({fn.__code__.co_filename}:{fn.__code__.co_firstlineno})",
                 f"  graphs: {self.graph_count}, ops: {self.op_count}, breaks: {len(self.graph_breaks)}, "
                 f"resume functions: {len(self.resumes)}, guards: {len(self.guards)}", ""]
        for number, gm in enumerate(self.graphs):
            lines.append(f"--- graph {number} ---")
            lines.append(gm.code.strip())
            lines.append("")
        lines.append("--- guards ---")
        lines.extend(f"  {guard}" for guard in self.guards)
        lines.append("")
        lines.append("--- side effects replayed after the graph ---")
        if not self.side_effects:
            lines.append("  none")
        for effect in self.side_effects:
            lines.append(f"  {effect.describe()}  ({effect.filename}:{effect.lineno})")
        lines.append("")
        lines.append("--- graph breaks ---")
        if not self.graph_breaks:
            lines.append("  none")
        for brk in self.graph_breaks:
            lines.extend("  " + line for line in str(brk).splitlines())
        return "\n".join(lines)

    __repr__ = __str__
