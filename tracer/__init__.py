"""snaptrace: capture PyTorch functions into torch.fx graphs on a pure, persistent tracer state.

    from tracer import trace, compile, explain, graph_break, check
"""
from core.markers import graph_break, mark_dynamic, mark_static
from tracer.api import Traced, compile, explain, trace
from tracer.check import CheckReport, check
from tracer.rules import allow_in_graph, assume_constant_result, disable, trace_rule
from core.errors import BackendError, FullGraphError, NotTraceableError, RecaptureLimitWarning, SnaptraceError

__all__ = ["trace", "compile", "explain", "graph_break", "mark_dynamic", "mark_static", "check", "CheckReport",
           "Traced", "BackendError", "FullGraphError", "allow_in_graph", "disable", "assume_constant_result",
           "trace_rule", "NotTraceableError", "RecaptureLimitWarning", "SnaptraceError"]
