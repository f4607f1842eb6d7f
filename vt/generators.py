"""Generators: a suspended frame kept in the heap.

Because a `Frame` is an immutable value, a generator is just the frame where
it stopped.  Asking for the next item runs that frame, in a nested run of the
step loop on the caller's State, until YIELD_VALUE (the item; the frame after
the yield is stored back) or RETURN_VALUE (exhausted).  Graph nodes the body
makes land in the graph in the order the consumer pulls items, as in eager.
"""
from __future__ import annotations

import attrs

from vt.constant import ConstantVariable
from vt.iterators import Exhausted, IteratorVariable
from vt.outcome import Thrown, Unsupported


@attrs.frozen(slots=True)
class Yielded:
    """How a generator's frame stops at YIELD_VALUE: the value, and the frame to resume."""

    value: object
    frame: object


@attrs.frozen(slots=True)
class GeneratorVariable(IteratorVariable):
    """A generator object made by calling a generator function (or a generator expression)."""

    frame: object = None  # the suspended frame; None once the generator has finished
    name: str = "generator"

    def describe(self) -> str:
        return f"generator {self.name}"

    def step(self, state):
        """Run the suspended frame to its next yield: (state, value, advanced record) or Exhausted."""
        from tracer.step import run
        from tracer.stops import Raised, Returned

        if self.frame is None:
            return None
        caller = state.frame
        final, stop = run(attrs.evolve(state, frame=self.frame, parents=state.parents.append(caller)))
        if type(stop) is Yielded:
            state = attrs.evolve(final, frame=caller, parents=state.parents)
            return state, stop.value, attrs.evolve(self, frame=stop.frame)
        if type(stop) is Raised:  # the body raised: the generator is finished, the consumer sees it
            state = attrs.evolve(final, frame=caller, parents=state.parents)
            state = state.update_object(attrs.evolve(self, frame=None))
            return Thrown(exception=stop.exception, state=state, reraise=True)
        if type(stop) is Returned:
            # Finished: remembered in the heap, so that later `next` calls do not run the body again.
            state = attrs.evolve(final, frame=caller, parents=state.parents)
            return Exhausted(state.update_object(attrs.evolve(self, frame=None)))
        return Unsupported(stop.kind, f"{stop.reason} (inside generator {self.name}, "
                                      f"{stop.filename}:{stop.lineno})", stop.hint)


def resume_after_yield(frame):
    """The frame a generator continues with after yielding: the value replaced by the sent None."""
    from tracer.state import Frame

    stack = frame.stack[:len(frame.stack) - 1].append(ConstantVariable(None))
    return Frame(frame.code, frame.ip + 1, stack, frame.locals, (), frame.handled)
