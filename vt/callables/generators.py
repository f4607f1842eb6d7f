"""Generators: a suspended frame kept in the heap.

Because a `Frame` is an immutable value, a generator is just the frame where
it stopped.  Asking for the next item runs that frame, in a nested run of the
step loop on the caller's State, until YIELD_VALUE (the item; the frame after
the yield is stored back) or RETURN_VALUE (exhausted, with the return value).
Graph nodes the body makes land in the graph in the order the consumer pulls
items, as in eager.  `send(v)` resumes with `v` in place of the None a plain
`next` sends; `throw(exc)` resumes by raising `exc` at the suspended yield,
unwinding through the body's own exception table; `close()` throws
GeneratorExit.  An exception leaving the body finishes the generator and
propagates to the consumer as a `Thrown`.
"""
from __future__ import annotations

import inspect

import attrs

from core.state import Frame
from effects import heap
from vt.callables.exceptions import ExceptionVariable, exception_value, instantiate
from vt import registry
from vt.protocol import VariableTracker
from vt.data.constant import ConstantVariable
from core.stops import Exhausted, Raised, Returned, Yielded
from vt.iteration import IteratorVariable
from core.outcomes import BreakKind, CalleeFrame, Thrown, Unsupported, raise_error, unsupported


@attrs.frozen(slots=True)
class GeneratorVariable(IteratorVariable):
    """A generator object made by calling a generator function (or a generator expression)."""

    frame: object = None  # the suspended frame; None once the generator has finished
    name: str = "generator"

    def describe(self) -> str:
        return f"generator {self.name}"

    @property
    def started(self) -> bool:
        return self.frame is not None and self.frame.ip > 0

    def step(self, state):
        """Run the suspended frame to its next yield: (state, value, advanced record) or Exhausted."""
        if self.frame is None:
            return None
        return self._run(state, self.frame, None)

    def send(self, state, value):
        """gen.send(value): (state, value, advanced record), Exhausted or Thrown."""
        if self.frame is None:
            return None
        if not self.started:
            if value.constant_value() is not None:
                return raise_error(TypeError, "can't send non-None value to a just-started generator")
            return self._run(state, self.frame, None)
        frame = self.frame
        return self._run(state, frame._replace(stack=frame.stack[:-1] + (value,)), None)

    def throw(self, state, exc):
        """gen.throw(exc): the exception is raised at the suspended yield."""
        if not self.started:  # never ran (or finished): the exception comes straight back out
            state = heap.update_object(state, attrs.evolve(self, frame=None))
            return Thrown(exception=exc, state=state)
        frame = self.frame
        at_yield = frame._replace(ip=frame.ip - 1, stack=frame.stack[:len(frame.stack) - 1], kw_names=())
        if at_yield.ip > 0 and frame.code.instructions[at_yield.ip - 1].opname == "SEND":
            return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                               f"throwing into {self.describe()} while it delegates with `yield from` is not traced")
        return self._run(state, at_yield, exc)

    def _run(self, state, frame, exc):
        interpreter = state.env.interpreter
        caller = state.frame
        inner = state.replace(frame=frame, parents=state.parents.append(caller))
        if exc is not None:
            out = interpreter.unwind(inner, exc)
            final, stop = out if type(out) is tuple else interpreter.run(out)
        else:
            final, stop = interpreter.run(inner)
        back = final.replace(frame=caller, parents=state.parents)
        if type(stop) is Yielded:
            return back, stop.value, attrs.evolve(self, frame=stop.frame)
        if type(stop) is Returned:
            # Finished: remembered in the heap, so that later `next` calls do not run the body again.
            return Exhausted(heap.update_object(back, attrs.evolve(self, frame=None)), stop.value)
        if type(stop) is Raised:  # the body raised: the generator is finished, the consumer sees it
            back = heap.update_object(back, attrs.evolve(self, frame=None))
            if heap.current(back, stop.exception).cls is StopIteration:
                return _stop_iteration_in_generator(back, stop.exception)
            return Thrown(exception=stop.exception, state=back, reraise=True)
        return Unsupported(stop.kind, stop.reason, stop.hint, stop.inside, needs_frame=stop.needs_frame,
                           rule=stop.rule).within(
            CalleeFrame(f"generator {self.name}", stop.filename, stop.lineno))

    def getattr(self, state, name):
        if name in ("send", "throw", "close"):
            return state, GeneratorMethodVariable(self, name)
        return super().getattr(state, name)


def _stop_iteration_in_generator(state, exc):
    """PEP 479: a StopIteration leaving a generator body becomes a RuntimeError caused by it."""
    state, error = heap.allocate(state, lambda oid: ExceptionVariable(oid, RuntimeError,
                                                                (ConstantVariable("generator raised StopIteration"),),
                                                                cause=exc, context=exc, suppress_context=True))
    return Thrown(exception=error, state=state, reraise=True)


def resume(state, generator, how: str, argument=None):
    """Resume a generator handle by `next`/`send`/`throw`: (state, yielded value), Exhausted or Thrown."""
    record = heap.current(state, generator)
    if how == "send":
        out = record.send(state, argument)
    elif how == "throw":
        out = record.throw(state, argument)
    else:
        out = record.step(state)
    if out is None:
        return Exhausted(state)
    if type(out) is not tuple:
        return out
    state, value, advanced = out
    return heap.update_object(state, advanced), value


@attrs.frozen(slots=True)
class GeneratorMethodVariable(VariableTracker):
    """`gen.send`, `gen.throw`, `gen.close` bound to a generator handle."""

    generator: object
    name: str

    always_true = True

    def describe(self) -> str:
        return f"generator.{self.name}"

    def call(self, state, args, kwargs):
        if kwargs:
            return raise_error(TypeError, f"generator.{self.name}() takes no keyword arguments")
        if self.name == "send":
            if len(args) != 1:
                return raise_error(TypeError, f"generator.send() takes exactly one argument ({len(args)} given)")
            out = resume(state, self.generator, "send", args[0])
            return next_or_stop(out)
        if self.name == "throw":
            if len(args) != 1:
                return unsupported(BreakKind.UNSUPPORTED_CALL, "generator.throw(type, value, tb) is not traced")

            made = exception_value(state, args[0], "exceptions must be classes or instances deriving from "
                                                   "BaseException, not " + args[0].type_name())
            if type(made) is not tuple:
                return made
            state, exc = made
            return next_or_stop(resume(state, self.generator, "throw", exc))
        return _close(state, self.generator)


def next_or_stop(out):
    """A resumed iterator as `next`/`send`/`throw` give it: the value, or StopIteration(value) raised in the
    state the iterator finished in (what a generator's final run did is kept)."""
    if type(out) is Exhausted:
        value = out.value
        if value is None or value.constant_value() is None:
            return Thrown(StopIteration, (), state=out.state)

        made = instantiate(out.state, StopIteration, None, [value], {})
        if type(made) is not tuple:
            return made
        state, exc = made
        return Thrown(exception=exc, state=state)
    return out


def _close(state, generator):
    """gen.close(): throw GeneratorExit; finishing or letting it out is fine, yielding is an error."""
    record = heap.current(state, generator)
    if not record.started:
        return heap.update_object(state, attrs.evolve(record, frame=None)), ConstantVariable(None)

    state, exc = instantiate(state, GeneratorExit, None, [], {})
    out = resume(state, generator, "throw", exc)
    if type(out) is Exhausted:
        return out.state, ConstantVariable(None)
    if type(out) is tuple:
        return raise_error(RuntimeError, "generator ignored GeneratorExit")
    if type(out) is Thrown and out.exception is not None and out.exception.oid == exc.oid:
        return out.state, ConstantVariable(None)
    return out


def resume_after_yield(frame):
    """The frame a generator continues with after yielding: the value replaced by the sent None."""
    stack = frame.stack[:len(frame.stack) - 1] + (ConstantVariable(None),)
    return Frame(frame.code, frame.ip + 1, stack, frame.locals, (), frame.handled, frame.namespace)


@registry.code_call_rule(inspect.CO_GENERATOR)
def _start_generator(state, frame, name: str):
    """Calling a generator function makes the generator, holding the callee's frame, not yet run."""
    return heap.allocate(state, lambda oid: GeneratorVariable(oid, frame, name))
