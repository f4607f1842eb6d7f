"""`yield from`: GET_YIELD_FROM_ITER and SEND.

The delegating generator's frame keeps the sub-iterator on its stack; SEND
resumes it with the value the outer generator was sent (None for `next`), and
either pushes what it yielded (which YIELD_VALUE then passes out) or, when the
sub-generator returns, replaces it by its return value and jumps past the loop.
"""
from __future__ import annotations

from core.outcomes import BreakKind, unsupported
from tracer.registry import handles
from vt.data.constant import ConstantVariable
from vt.callables.generators import GeneratorVariable, resume
from core.stops import Exhausted


@handles("GET_YIELD_FROM_ITER")
def get_yield_from_iter(state, ins):
    """A generator delegates to itself; anything else through iter()."""
    value = state.peek()
    if isinstance(value, _generator_type()):
        return state.advance()
    out = value.iterate(state)
    if type(out) is not tuple:
        return out
    state, iterator = out
    return state.advance(pop=1, push=(iterator,))


def _generator_type():
    return GeneratorVariable


@handles("SEND")
def send(state, ins):
    """Stack: [sub-iterator, value to send]."""
    receiver, sent = state.peek(2), state.peek()
    if isinstance(receiver, _generator_type()):
        out = resume(state, receiver, "send", sent)
    elif sent.constant_value() is None:
        out = receiver.next_item(state)
        if out is None:
            out = Exhausted(state)
    else:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"sending a value into {receiver.describe()} through `yield from` is not traced")
    if type(out) is Exhausted:
        value = ConstantVariable(None) if out.value is None else out.value
        return out.state.jump(ins.target, pop=2, push=(value,))
    if type(out) is not tuple:
        return out
    state, value = out
    return state.advance(pop=1, push=(value,))
