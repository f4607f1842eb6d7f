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


class RecaptureLimitWarning(UserWarning):
    """A compiled function was captured too many times; it now runs eagerly."""
