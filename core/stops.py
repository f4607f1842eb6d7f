"""How a run of the tracer ends: the function returned, or it hit a graph break."""
from __future__ import annotations

import linecache

import attrs

from core.outcomes import BreakKind, CalleeFrame, Unsupported


@attrs.frozen(slots=True)
class Returned:
    """RETURN_VALUE in the traced function's own frame."""

    value: object


@attrs.frozen(slots=True)
class GraphBreak:
    """Why capture stopped, where, and what the user can change."""

    kind: BreakKind
    reason: str
    filename: str
    lineno: int
    hint: str = ""
    instruction: str = ""
    inside: tuple = ()  # CalleeFrame records: the inlined callees the limit was hit in, outermost first
    needs_frame: bool = False  # the instruction looks at its frame (see core.outcomes.needs_frame)
    rule: str = ""  # for a break at a call: what the trace rules decide for the callee

    @property
    def source_line(self) -> str:
        return linecache.getline(self.filename, self.lineno).strip()

    @property
    def innermost(self):
        """Where the limit itself was hit: the innermost callee frame, or this break's own place."""
        return self.inside[-1] if self.inside else CalleeFrame("", self.filename, self.lineno)

    def __str__(self):
        text = f"[{self.kind.value}] {self.reason}\n  at {self.filename}:{self.lineno}"
        if self.source_line:
            text += f"\n    {self.source_line}"
        frames = [str(frame) for frame in self.inside]
        if len(frames) > 4:  # deep chains (recursion): the outermost and innermost frames say enough
            frames[1:-2] = [f"... {len(frames) - 3} more frames"]
        for frame in frames:
            text += f"\n  {frame}"
        if self.rule:
            text += f"\n  trace rule: {self.rule}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


def break_at(state, instruction, limit: Unsupported) -> GraphBreak:
    """Turn a VT-level `Unsupported` into a located graph break at `instruction`."""
    return GraphBreak(limit.kind, limit.reason, state.frame.code.filename, instruction.lineno,
                      limit.hint, instruction.opname, limit.inside, needs_frame=limit.needs_frame, rule=limit.rule)


@attrs.frozen(slots=True)
class Raised:
    """An exception left the frame being run: no handler in its exception table caught it.

    `exception` is the heap handle of the modelled exception; the state returned
    with this stop is the one at the raise, with every effect made before it.
    """

    exception: object


@attrs.frozen(slots=True)
class Yielded:
    """How a generator's frame stops at YIELD_VALUE: the value, and the frame to resume."""

    value: object
    frame: object


@attrs.frozen(slots=True)
class Exhausted:
    """`next` found no item; `state` holds what looking changed (other iterators advanced, flags).
    `value` is what a finished generator returned (StopIteration.value, the result of `yield from`)."""

    state: object
    value: object = None
