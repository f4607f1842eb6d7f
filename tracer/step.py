"""One step of the tracer, and the loop that runs steps until a stop.

`step` is the pure, public form: State in, `Result[State, Stop]` out.  `run`
uses the same handlers without wrapping each step in a `Result`, which keeps
the hot loop to a list index, a dict lookup and a call.
"""
from __future__ import annotations

import dis
import os

from returns.result import Failure, Result, Success

import tracer.ops  # noqa: F401  (registers every handler)
import vt.families  # noqa: F401  (registers every family's rules)
from tracer.ops.calls import callee_position
from tracer.registry import HANDLERS, UNSUPPORTED
from vt.callables.trace_rules import describe
from core.state import Interpreter, State
from core.stops import break_at
from tracer.unwind import throw, unwind
from core.outcomes import BreakKind, Thrown, Unsupported

CHECK_STACK_EFFECTS = os.environ.get("SNAPTRACE_DEBUG", "") not in ("", "0")

# 3.11's compiler books the whole call's effect on PRECALL (-argc) and -1 on CALL;
# here PRECALL changes nothing and CALL pops the arguments, the callable and the NULL/self slot.
# RETURN_GENERATOR is where a generator's frame resumes the first time: the sent None is pushed there.
_SPLIT_EFFECTS = {"PRECALL": lambda arg: 0, "CALL": lambda arg: -arg - 1, "RETURN_GENERATOR": lambda arg: 1}


def _missing(state, instruction):
    reason = UNSUPPORTED.get(instruction.opname, "this opcode has no handler")
    return Unsupported(BreakKind.UNSUPPORTED_OPCODE, f"{instruction.opname}: {reason}")


def advance(state: State):
    """Run the instruction at the top frame's ip: the next State, or a stop record."""
    frame = state.frame
    instruction = frame.code.instructions[frame.ip]
    out = HANDLERS.get(instruction.opname, _missing)(state, instruction)
    if type(out) is Thrown:
        out = throw(state, out)
        if type(out) is tuple:  # the exception left the frame
            return out[1]
    if type(out) is Unsupported:
        return break_at(state, instruction, out)
    return out


def step(state: State) -> Result:
    """Pure: the state after one instruction (Success) or why tracing stops (Failure)."""
    out = advance(state)
    return Success(out) if type(out) is State else Failure(out)


MAX_STEPS = 150_000
"""The most instructions one capture traces (inlined calls included).  A longer trace (a big loop
run to the end in Python) costs far more than running the function, so it stops with a
`trace-budget` break and the capture runs the function eagerly (tracer/capture.py)."""


def _over_budget(state, instruction):
    return break_at(state, instruction, Unsupported(
        BreakKind.TRACE_BUDGET, f"the capture traced more than {MAX_STEPS} instructions",
        "the function runs eagerly; move long pure-Python loops out of the traced function"))


def run(state: State):
    """Step until a stop; returns (last state, stop).  The last state is the snapshot before the stop."""
    if CHECK_STACK_EFFECTS:
        return _run_checked(state)
    handlers = HANDLERS
    steps = state.env.steps
    while True:
        frame = state.frame
        instruction = frame.code.instructions[frame.ip]
        steps[0] += 1
        if steps[0] > MAX_STEPS:
            return state, _over_budget(state, instruction)
        out = handlers.get(instruction.opname, _missing)(state, instruction)
        if type(out) is not State:
            out = _settle(state, instruction, out)
            if type(out) is not State:
                return out
        state = out


def _settle(state: State, instruction, out):
    """What a handler's non-State outcome means for the loop: the State at the program's own
    exception handler (a raise it catches), or (last state, stop) to return."""
    if type(out) is Thrown:  # the program raised: continue at its handler, or leave the frame
        out = throw(state, out)
        if type(out) is State or type(out) is tuple:
            return out
    if type(out) is Unsupported:
        out = break_at(state, instruction, _with_rule(state, out))
    return state, out


def _with_rule(state, limit):
    """A limit hit at a call says what the trace rules decided for the callee (the innermost one)."""
    position = callee_position(state.frame) if not limit.rule else None
    if position is None:
        return limit
    return Unsupported(limit.kind, limit.reason, limit.hint, limit.inside,
                       needs_frame=limit.needs_frame, rule=describe(state.frame.stack[position]))


def _run_checked(state: State):
    """The same loop, checking every stack depth change against `dis.stack_effect`."""
    handlers = HANDLERS
    steps = state.env.steps
    while True:
        frame = state.frame
        instruction = frame.code.instructions[frame.ip]
        steps[0] += 1
        if steps[0] > MAX_STEPS:
            return state, _over_budget(state, instruction)
        out = handlers.get(instruction.opname, _missing)(state, instruction)
        if type(out) is not State:
            out = _settle(state, instruction, out)
            if type(out) is not State:
                return out
            state = out  # a handler was found: the jump there is not an instruction's stack effect
            continue
        before, after = state.frame, out.frame
        if after.code is before.code:
            instruction = before.code.instructions[before.ip]
            jumped = after.ip != before.ip + 1
            arg = instruction.arg if instruction.opcode >= dis.HAVE_ARGUMENT else None
            split = _SPLIT_EFFECTS.get(instruction.opname)
            expected = split(arg) if split else dis.stack_effect(instruction.opcode, arg, jump=jumped)
            actual = len(after.stack) - len(before.stack)
            if expected != actual:
                raise AssertionError(f"{instruction.opname} changed the stack by {actual}, expected {expected}")
        state = out


INTERPRETER = Interpreter(run, unwind)
"""The hook values use to re-enter the loop (core.state.Interpreter), installed on every trace's Env."""
