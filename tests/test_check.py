"""tracer.check: eager vs snaptrace (vs Dynamo) on fresh inputs, as a table and a structured report."""
import pytest
import torch

import tracer
from tracer.check import Outcome, compare, fresh_copy

COUNTER = [0]
SCALE = 2


def mutates_input_and_global(x, items):
    items.append(len(items))
    COUNTER.append(items[-1])
    return x * SCALE, items


def raises_on_negative_sum(x):
    if x.sum() < 0:
        raise ValueError("negative sum")
    return x + 1


def test_agreeing_function_reports_no_differences_and_restores_globals():
    x, items = torch.randn(3), [1, 2]
    report = tracer.check(mutates_input_and_global, (x, items), against=("eager",))
    assert report.ok, str(report)
    assert report.differences == ()
    assert set(report.outcomes) == {"eager", "snaptrace"}
    snap = report.outcomes["snaptrace"]
    assert snap.graphs == 1 and snap.breaks == ()
    torch.testing.assert_close(snap.value[0], x * 2)
    assert snap.value[1] == [1, 2, 2] and snap.inputs_after[1] == [1, 2, 2]
    assert snap.value[1] is snap.inputs_after[1]  # the returned list is the mutated input, as in eager
    assert snap.globals_after["COUNTER"] == [0, 2]
    assert items == [1, 2] and COUNTER == [0]  # check runs on copies and puts the globals back
    text = str(report)
    assert "snaptrace" in text and "agrees with eager" in text and "no differences from eager" in text


def test_exceptions_are_compared_by_type_and_message():
    report = tracer.check(raises_on_negative_sum, (-torch.ones(2),), against="eager")
    assert report.ok, str(report)
    assert report.outcomes["eager"].exception == ("ValueError", "negative sum")
    assert report.outcomes["snaptrace"].exception == ("ValueError", "negative sum")
    assert len(report.outcomes["snaptrace"].breaks) == 1  # data-dependent branch


def test_a_wrong_mode_is_reported_as_a_difference():
    eager = Outcome("eager", value=(torch.ones(2), [1]), inputs_after=([1],), globals_after={"G": 1})
    wrong = Outcome("snaptrace", value=(torch.zeros(2), [1]), inputs_after=([1, 5],), globals_after={"G": 2})
    whats = {d.what for d in compare(eager, wrong)}
    assert whats == {"result", "input 0", "global G"}
    raised = Outcome("snaptrace", exception=("KeyError", "'a'"), inputs_after=([1],), globals_after={"G": 1})
    assert [d.what for d in compare(eager, raised)] == ["exception"]


def test_aliasing_between_result_and_input_is_compared():
    items = [1]
    eager = Outcome("eager", value=items, inputs_after=(items,))
    copy = Outcome("snaptrace", value=[1], inputs_after=([1],))
    assert any("aliasing" in d.detail for d in compare(eager, copy))


def test_fresh_copy_keeps_aliasing_inside_the_inputs():
    shared = [1, 2]
    a, b = fresh_copy((shared, shared))
    assert a is b and a is not shared and a == shared


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="against"):
        tracer.check(raises_on_negative_sum, (torch.ones(1),), against=("jax",))
    with pytest.raises(TypeError, match="tuple"):
        tracer.check(raises_on_negative_sum, torch.ones(1))


def test_against_dynamo_runs_torch_compile_and_counts_its_graphs():
    report = tracer.check(raises_on_negative_sum, (torch.ones(2),), against=("eager", "dynamo"))
    assert report.ok, str(report)
    assert set(report.outcomes) == {"eager", "snaptrace", "dynamo"}
    assert report.outcomes["dynamo"].graphs >= 1
    assert "dynamo" in str(report)
