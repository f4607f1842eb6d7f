"""Stack shuffling and instructions with no effect on the traced program."""
from __future__ import annotations

from tracer.registry import handles
from vt.protocol import NULL


@handles("NOP", "RESUME", "EXTENDED_ARG")
def nop(state, ins):
    return state.jump(ins.index + 1)


@handles("POP_TOP")
def pop_top(state, ins):
    return state.advance(pop=1)


@handles("PUSH_NULL")
def push_null(state, ins):
    return state.advance(push=(NULL,))


@handles("COPY")
def copy(state, ins):
    return state.advance(push=(state.peek(ins.arg),))


@handles("SWAP")
def swap(state, ins):
    stack = state.frame.stack
    n = ins.arg
    top, other = stack[-1], stack[-n]
    items = list(stack)
    items[-1], items[-n] = other, top
    return state.next_with(stack=tuple(items))
