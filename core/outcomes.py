"""Why the tracer stopped modelling something, as data.

Operations on VTs return either `(state, vt)` or an `Unsupported` record; they
never raise for user code.  The record says what kind of limit was hit, in the
closed list `BreakKind`, and why, in words a user can act on.  The tracer adds
the file and line of the instruction when it turns the record into a graph
break.
"""
from __future__ import annotations

import enum

import attrs


class BreakKind(enum.Enum):
    """The closed list of reasons a capture can stop; see docs/graph_breaks.md."""

    UNSUPPORTED_OPCODE = "unsupported-opcode"
    UNSUPPORTED_CALL = "unsupported-call"
    UNSUPPORTED_VALUE = "unsupported-value"
    UNSUPPORTED_OPERATION = "unsupported-operation"
    DATA_DEPENDENT = "data-dependent"
    TENSOR_MUTATION = "tensor-mutation"
    USER_GRAPH_BREAK = "user-graph-break"
    PYTHON_EXCEPTION = "python-exception"
    TRACE_BUDGET = "trace-budget"


@attrs.frozen(slots=True)
class CalleeFrame:
    """A function the tracer was inside when it hit a limit, and the line it had reached there."""

    name: str
    filename: str
    lineno: int

    def __str__(self):
        return f"inside {self.name}, {self.filename}:{self.lineno}"


@attrs.frozen(slots=True)
class Unsupported:
    """A limit of the tracer, with what to change to get past it.  `inside` lists the inlined
    callees the limit was hit in, outermost first (empty: in the frame at hand)."""

    kind: BreakKind
    reason: str
    hint: str = ""
    inside: tuple = ()
    needs_frame: bool = False  # the operation looks at its frame or its caller's (sys._getframe, locals())
    rule: str = ""  # for a limit hit at a call: what the trace rules decide for the callee

    def within(self, frame: CalleeFrame) -> "Unsupported":
        """The same limit seen from the caller of `frame`."""
        return Unsupported(self.kind, self.reason, self.hint, (frame,) + self.inside,
                           needs_frame=self.needs_frame, rule=self.rule)


def unsupported(kind: BreakKind, reason: str, hint: str = "") -> Unsupported:
    return Unsupported(kind, reason, hint)


def needs_frame(reason: str) -> Unsupported:
    """A limit at code that reads its own frame or its caller's (`locals()`, `sys._getframe()`,
    `eval` without namespaces): it runs for real in a frame that looks like the user's (a step
    function), and a callee that stops here is called as it is, not through a compiled entry."""
    return Unsupported(BreakKind.UNSUPPORTED_CALL, reason, "", (), needs_frame=True)


@attrs.frozen(slots=True)
class Thrown:
    """The traced program raised an exception: not a limit of the tracer but program behaviour.

    The step loop unwinds it through the exception tables of the traced frames
    (tracer/unwind.py).  A builtin operation that fails names the exception by
    class and arguments (`cls`, `args`: plain Python data, as eager would build
    it); a `raise` statement or a callee that raised passes the modelled
    exception object itself (`exception`, a heap handle).  `state` is the state
    to raise in when it is not the one before the instruction (an inlined
    callee's effects before it raised); `reraise` is set when the exception is
    propagating rather than being raised anew, so its `__context__` stays.
    """

    cls: type = None
    args: tuple = ()
    exception: object = None
    state: object = None
    reraise: bool = False
    attributes: tuple = ()  # (name, value) set on a builtin's error: NameError.name, AttributeError.name/.obj


def raise_error(cls: type, *args) -> Thrown:
    """The traced program raises `cls(*args)` (args are plain Python data)."""
    return Thrown(cls, args)


def name_error(name: str, message: str) -> Thrown:
    """NameError for a name the program could not find, with `.name` set as CPython sets it."""
    return Thrown(NameError, (message,), attributes=(("name", name),))


def raised(exc: BaseException) -> Thrown:
    """The traced program raises what a real call on plain data raised while tracing."""
    return Thrown(type(exc), exc.args)


def is_stop(out) -> bool:
    """An outcome that is not a value: a limit of the tracer or a raised exception."""
    return type(out) is Unsupported or type(out) is Thrown
