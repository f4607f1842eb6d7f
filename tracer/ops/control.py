"""Control flow: jumps on conditions known while tracing, loops over iterators, return."""
from __future__ import annotations

from effects import heap
from tracer.registry import handles
from core.stops import Returned
from core.stops import Yielded
from vt.data.constant import ConstantVariable
from vt.callables.generators import resume_after_yield
from core.stops import Exhausted


@handles("JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT")
def jump(state, ins):
    return state.jump(ins.target)


def _truth(state, value):
    """(state, bool) for a condition, or Unsupported; an object's Python __bool__/__len__ is inlined."""
    return value.bool_value(state)


@handles("POP_JUMP_FORWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_TRUE",
         "POP_JUMP_FORWARD_IF_FALSE", "POP_JUMP_BACKWARD_IF_FALSE")
def pop_jump_if(state, ins):
    value = state.frame.stack[-1]
    if type(value) is ConstantVariable:  # a condition computed while tracing: its truth, as `truth` gives it
        truth = bool(value.value)
    else:
        out = _truth(state, value)
        if type(out) is not tuple:
            return out
        state, truth = out
    if truth == ins.opname.endswith("TRUE"):
        return state.jump(ins.target, pop=1)
    return state.advance(pop=1)


@handles("POP_JUMP_FORWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NONE",
         "POP_JUMP_FORWARD_IF_NOT_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE")
def pop_jump_if_none(state, ins):
    value = state.peek()
    is_none = value.constant_value() is None
    if is_none != ins.opname.endswith("NOT_NONE"):
        return state.jump(ins.target, pop=1)
    return state.advance(pop=1)


@handles("JUMP_IF_TRUE_OR_POP", "JUMP_IF_FALSE_OR_POP")
def jump_if_or_pop(state, ins):
    out = _truth(state, state.peek())
    if type(out) is not tuple:
        return out
    state, truth = out
    if truth == (ins.opname == "JUMP_IF_TRUE_OR_POP"):
        return state.jump(ins.target)
    return state.advance(pop=1)


@handles("GET_ITER")
def get_iter(state, ins):
    out = state.peek().iterate(state)
    if type(out) is not tuple:
        return out
    state, iterator = out
    return state.advance(pop=1, push=(iterator,))


@handles("FOR_ITER")
def for_iter(state, ins):
    """Push the next item above the iterator (advanced in the heap), or pop it and leave the loop.
    `next_value` (vt/iteration.py) written out, so the heap and the frame change in one State."""
    out = heap.current(state, state.frame.stack[-1]).step(state)
    if out is None:
        return state.jump(ins.target, pop=1)
    if type(out) is Exhausted:
        return out.state.jump(ins.target, pop=1)
    if type(out) is not tuple:
        return out
    state, value, advanced = out
    return state.advance_changing((value,), heap.object_updated(state, advanced))


@handles("RETURN_VALUE")
def return_value(state, ins):
    return Returned(state.peek())


@handles("RETURN_GENERATOR")
def return_generator(state, ins):
    """Reached on a generator's first resume: the generator object was made at the call, and
    CPython resumes here with the first sent value (None) on the stack."""
    return state.advance(push=(ConstantVariable(None),))


@handles("YIELD_VALUE")
def yield_value(state, ins):
    return Yielded(state.peek(), resume_after_yield(state.frame))
