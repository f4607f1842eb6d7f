"""snaptrace: capture PyTorch functions into torch.fx graphs on a pure, persistent tracer state.

    from tracer import trace, compile, explain, graph_break, check
"""
from core.markers import graph_break, mark_dynamic, mark_static
from tracer.api import Traced, compile, explain, trace
from tracer.check import CheckReport, check
from core.errors import BackendError, FullGraphError, NotTraceableError, RecaptureLimitWarning, SnaptraceError

__all__ = ["trace", "compile", "explain", "graph_break", "mark_dynamic", "mark_static", "check", "CheckReport",
           "Traced", "BackendError", "FullGraphError", "NotTraceableError", "RecaptureLimitWarning", "SnaptraceError"]
