"""Errors snaptrace raises for misuse; see docs/errors.md for worked examples.

Limits of the tracer on user code are never errors: they become graph breaks
and the code runs eagerly.  These classes are for a wrong call to the API and
for a backend that fails.
"""


class SnaptraceError(Exception):
    """Base of the errors snaptrace itself raises."""


class NotTraceableError(SnaptraceError, TypeError):
    """The object given to trace/compile is not a plain Python function snaptrace can trace.

    See docs/errors.md#nottraceableerror.
    """


class BackendError(SnaptraceError, RuntimeError):
    """The compiler backend raised or returned something that is not callable.

    See docs/errors.md#backenderror.
    """


class FullGraphError(SnaptraceError, RuntimeError):
    """`compile(fn, fullgraph=True)` (or `trace(..., fullgraph=True)`) met a graph break: the function
    cannot be captured as one graph.  Raised at capture, before anything ran, so the graph so far is
    discarded and the caller's objects are untouched.  `graph_break` is the break (its `reason`,
    `filename`, `lineno`, `hint`, the callees it was hit in).

    See docs/errors.md#fullgrapherror.
    """

    def __init__(self, message: str, graph_break=None):
        super().__init__(message)
        self.graph_break = graph_break

    @property
    def reason(self) -> str:
        return self.graph_break.reason

    @property
    def filename(self) -> str:
        return self.graph_break.innermost.filename

    @property
    def lineno(self) -> int:
        return self.graph_break.innermost.lineno

    @classmethod
    def of(cls, fn, graph_break) -> "FullGraphError":
        return cls(f"fullgraph=True, but {fn.__qualname__} cannot be captured as one graph: {graph_break}\n"
                   "(see docs/errors.md#fullgrapherror)", graph_break)


class RecaptureLimitWarning(UserWarning):
    """A compiled function was captured too many times; it now runs eagerly."""
