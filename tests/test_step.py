"""The pure step function: purity, run-to-completion, snapshots and rollback."""
import dis

import attrs
import pytest
import torch
from returns.result import Failure, Success

from helpers import make_state
from core.state import State
from tracer.step import run, step
from core.stops import GraphBreak, Returned
from vt.data.constant import ConstantVariable
from core.outcomes import BreakKind


def straight(x, y):
    a = x * 2
    b = a + y
    return b.relu()


def looping(x, n):
    for i in range(n):
        x = x + i
    if n > 1:
        x = x * 2
    return [x, n]


def breaking(x):
    y = x + 1
    z = y.sum()
    if z:
        return y
    return x


def snapshot(state: State) -> dict:
    """Every field of a State, with pyrsistent containers copied to plain Python values."""
    frame = state.frame
    return {
        "frame": frame, "ip": frame.ip, "stack": list(frame.stack), "locals": list(frame.locals),
        "kw_names": frame.kw_names, "parents": list(state.parents), "heap": dict(state.heap),
        "graph": list(state.graph), "guards": dict(state.guards), "effects": list(state.effects),
        "next_oid": state.next_oid, "placeholders": list(state.placeholders), "env": state.env,
    }


def assert_unchanged(state: State, before: dict, identities: dict):
    assert snapshot(state) == before
    for name, obj in identities.items():
        assert getattr(state, name) is obj, name


def steps_to_end(state):
    """Step with the pure `step` until it stops; returns (states, stop)."""
    states = [state]
    while True:
        result = step(states[-1])
        if isinstance(result, Failure):
            return states, result.failure()
        states.append(result.unwrap())


@pytest.mark.parametrize("fn, args", [
    (straight, (torch.randn(3), torch.randn(3))),
    (looping, (torch.randn(2), 3)),
    (breaking, (torch.randn(2),)),
])
def test_step_is_pure_at_every_instruction(fn, args):
    state = make_state(fn, args)
    while True:
        before = snapshot(state)
        identities = {name: getattr(state, name) for name in attrs.fields_dict(State)}
        first, second = step(state), step(state)
        assert first == second
        assert type(first) is type(second)
        assert_unchanged(state, before, identities)
        if isinstance(first, Failure):
            break
        state = first.unwrap()
        assert isinstance(state, State)


def test_step_returns_success_then_failure_with_the_stop():
    state = make_state(straight, (torch.randn(3), torch.randn(3)))
    result = step(state)
    assert isinstance(result, Success)
    assert result.unwrap().frame.ip == 1  # RESUME
    states, stop = steps_to_end(state)
    assert type(stop) is Returned
    assert states[-1].frame.instruction.opname == "RETURN_VALUE"


def test_step_count_of_straight_line_code():
    state = make_state(straight, (torch.randn(3), torch.randn(3)))
    states, stop = steps_to_end(state)
    instructions = list(dis.get_instructions(straight))
    # every instruction but the final RETURN_VALUE produces a new state
    assert len(states) - 1 == len(instructions) - 1
    assert [s.frame.ip for s in states] == list(range(len(instructions)))


def test_run_matches_stepping():
    for fn, args in ((straight, (torch.randn(3), torch.randn(3))), (looping, (torch.randn(2), 3)),
                     (breaking, (torch.randn(2),))):
        state = make_state(fn, args)
        states, stop = steps_to_end(state)
        final, run_stop = run(state)
        assert final == states[-1]
        assert run_stop == stop


def test_loop_step_count():
    state = make_state(looping, (torch.randn(2), 3))
    states, stop = steps_to_end(state)
    ips = [s.frame.ip for s in states]
    for_iter = next(i for i, ins in enumerate(states[0].frame.code.instructions) if ins.opname == "FOR_ITER")
    assert ips.count(for_iter) == 4  # three iterations and the exit
    assert type(stop) is Returned
    final = states[-1]
    assert [node.op for node in final.graph] == ["placeholder", "call_function", "call_function",
                                                 "call_function", "call_function"]
    instructions = states[0].frame.code.instructions
    jump_back = next(i for i, ins in enumerate(instructions) if ins.opname == "JUMP_BACKWARD")
    body = jump_back - for_iter + 1  # FOR_ITER .. JUMP_BACKWARD run once per iteration
    more_states, _ = steps_to_end(make_state(looping, (torch.randn(2), 5)))
    assert len(more_states) - len(states) == 2 * body


def test_break_stop_record():
    state = make_state(breaking, (torch.randn(2),))
    final, stop = run(state)
    assert type(stop) is GraphBreak
    assert stop.kind is BreakKind.DATA_DEPENDENT
    assert stop.instruction.startswith("POP_JUMP")
    assert stop.lineno == breaking.__code__.co_firstlineno + 3
    assert final.frame.instruction.opname == stop.instruction  # the state before the break
    assert [node.target for node in final.graph if node.op != "placeholder"] == [
        __import__("operator").add, "sum"]


def test_snapshot_and_rollback():
    state = make_state(looping, (torch.randn(2), 3))
    states, stop = steps_to_end(state)
    middle = states[len(states) // 2]
    middle_before = snapshot(middle)
    first_final, first_stop = run(middle)
    second_final, second_stop = run(middle)
    assert first_final == second_final == states[-1]
    assert first_stop == second_stop == stop
    assert snapshot(middle) == middle_before
    # the final graph extends the snapshot's graph, the snapshot's own graph is untouched
    assert list(first_final.graph)[:len(middle.graph)] == list(middle.graph)
    assert len(middle.graph) < len(first_final.graph)


def test_speculation_from_the_state_before_a_break():
    """Continue from a snapshot with a changed value; the snapshot still gives its own future."""
    final, stop = run(make_state(breaking, (torch.randn(2),)))
    before = snapshot(final)
    stack = final.frame.stack
    assumed = attrs.evolve(final, frame=final.frame._replace(stack=stack[:-1] + (ConstantVariable(True),)))
    spec_final, spec_stop = run(assumed)
    assert type(spec_stop) is Returned
    assert spec_stop.value.runtime_type() is torch.Tensor
    assert spec_final.graph == final.graph  # taking the branch added no op
    assert snapshot(final) == before
    assert step(final) == Failure(stop)
    assert run(final) == (final, stop)


def test_state_equality_ignores_env_and_fake_values():
    x, y = torch.randn(3), torch.randn(3)
    first = run(make_state(straight, (x, y)))[0]
    second = run(make_state(straight, (x, y)))[0]
    # different FakeTensorModes and Envs, same traced program
    assert first.env is not second.env
    assert list(first.graph) == list(second.graph)
    assert list(first.frame.stack) == list(second.frame.stack)
    assert dict(first.guards) == dict(second.guards)
