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


@attrs.frozen(slots=True)
class Unsupported:
    """A limit of the tracer, with what to change to get past it."""

    kind: BreakKind
    reason: str
    hint: str = ""


def unsupported(kind: BreakKind, reason: str, hint: str = "") -> Unsupported:
    return Unsupported(kind, reason, hint)
