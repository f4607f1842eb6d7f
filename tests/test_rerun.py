"""Graphs whose ops may raise on values the guards do not check run transactionally.

An index out of range or an integer division by zero raises inside the graph, before the entry
replays the effects and without the `except` / `finally` blocks the trace went past.  Such a graph
writes into no input, so the entry gives it up and runs the function eagerly (graph/rerun.py).
Each test captures on inputs that do not raise, then calls with inputs of the same shapes that do,
and compares everything a user can see with eager: result or exception, globals, inputs, the
random generator.
"""
import pytest
import torch

import tracer
from tests.helpers import clone_inputs, make_state
from tracer.step import run
from vt.data.tensor_checks import (NO_RERUN, RERUN_ON_RAISE, RERUN_RESTORING_MODES, RERUN_RESTORING_RNG, UNSAFE,
                                  rerun_plan)

LOG = []


def _outcome(call, args):
    LOG.clear()
    try:
        value = ("ok", call(*args))
    except Exception as exc:  # the program's own exception
        value = ("raised", type(exc).__name__, str(exc))
    return value, list(LOG)


def _same(actual, expected):
    (a, a_log), (e, e_log) = actual, expected
    assert a_log == e_log, (a_log, e_log)
    assert a[0] == e[0] and a[0] in ("ok", "raised"), (a, e)
    if a[0] == "ok":
        torch.testing.assert_close(a[1], e[1])
    else:
        assert a[1:] == e[1:], (a, e)


def _captured_then_raising(fn, good, bad, *, breaks=0):
    """Capture on `good` (1 graph, `breaks` breaks), then every later call matches eager on `bad`
    and on `good` without a new capture."""
    traced = tracer.compile(fn)
    _same(_outcome(traced, clone_inputs(good)), _outcome(fn, clone_inputs(good)))
    assert len(traced.graph_breaks) == breaks, [b.reason for b in traced.graph_breaks]
    captures = len(traced.captures)
    for inputs in (bad, good, bad):
        _same(_outcome(traced, clone_inputs(inputs)), _outcome(fn, clone_inputs(inputs)))
    assert len(traced.captures) == captures
    return traced


def index_with_handler(x, idx):
    try:
        y = x[idx]
    except IndexError:
        LOG.append("handled")
        y = x[:1] * 0
    return y + 1


def test_an_exception_the_function_handles_is_handled():
    traced = _captured_then_raising(index_with_handler, (torch.ones(3), torch.tensor([0, 1])),
                                    (torch.ones(3), torch.tensor([0, 5])))
    assert len(traced.graphs) == 1


def effects_around_a_gather(x, idx):
    LOG.append("before")
    try:
        return torch.gather(x, 0, idx) * 2
    finally:
        LOG.append("finally")


def test_effects_before_and_finally_blocks_after_a_failing_gather_run_as_in_eager():
    _captured_then_raising(effects_around_a_gather, (torch.arange(4.0), torch.tensor([1, 2])),
                           (torch.arange(4.0), torch.tensor([1, 9])))


class _Collector:
    """Set and reset around the forward, as transformers' output capturing does."""

    active = None


def module_like(x, ids, table):
    _Collector.active = {}
    try:
        hidden = torch.nn.functional.embedding(ids, table)
        return (hidden + x).sum(-1)
    finally:
        _Collector.active = None


def test_a_model_that_sets_state_around_an_embedding_is_one_graph():
    good = (torch.ones(2, 3, 4), torch.tensor([[0, 1, 2], [3, 4, 5]]), torch.randn(6, 4))
    bad = (torch.ones(2, 3, 4), torch.tensor([[0, 1, 2], [3, 4, 60]]), torch.randn(6, 4))
    traced = _captured_then_raising(module_like, good, bad)
    assert len(traced.graphs) == 1
    assert _Collector.active is None


def dropout_then_index(x, idx):
    LOG.append("before")
    y = torch.nn.functional.dropout(x, 0.5, training=True)
    return y[idx] + torch.rand(2)


def test_a_rerun_restores_the_random_generator_first():
    good, bad = (torch.ones(4), torch.tensor([0, 3])), (torch.ones(4), torch.tensor([0, 7]))
    traced = tracer.compile(dropout_then_index)
    for inputs in (good, bad, good, bad):
        torch.manual_seed(7)
        expected = _outcome(dropout_then_index, clone_inputs(inputs))
        eager_generator = torch.get_rng_state()
        torch.manual_seed(7)
        actual = _outcome(traced, clone_inputs(inputs))
        _same(actual, expected)
        assert torch.equal(torch.get_rng_state(), eager_generator)
    assert len(traced.captures) == 1 and traced.graph_breaks == []


def after_a_break(x, idx):
    y = x * 2
    tracer.graph_break()
    LOG.append("resumed")
    try:
        return y[idx]
    except IndexError:
        return y.sum()


def test_a_resume_function_reruns_eagerly_from_the_break():
    traced = _captured_then_raising(after_a_break, (torch.ones(3), torch.tensor([1])),
                                    (torch.ones(3), torch.tensor([4])), breaks=1)
    assert len(traced.graphs) == 2


def writes_input_then_indexes(x, idx):
    LOG.append("before")
    x.add_(1)
    return x[idx]


def indexes_then_writes_input(x, idx):
    LOG.append("before")
    y = x[idx]
    x.mul_(2)
    return y


# A graph that writes an input breaks before an op that may raise after effects; an input write after
# such an op is a break too.  Either way each call, in range or not, is eager's.
@pytest.mark.parametrize("fn, fill, reason", [
    (writes_input_then_indexes, 0.0, "writes into an input"),
    (indexes_then_writes_input, 1.0, "writes into an input after an op that may raise"),
])
def test_an_input_write_and_an_op_that_may_raise_after_effects_run_as_in_eager(fn, fill, reason):
    traced = tracer.compile(fn)
    for idx in (torch.tensor([0]), torch.tensor([5]), torch.tensor([1])):
        x_eager, x_traced = torch.full((3,), fill), torch.full((3,), fill)
        _same(_outcome(traced, (x_traced, idx)), _outcome(fn, (x_eager, idx)))
        assert torch.equal(x_traced, x_eager)
    assert any(reason in b.reason for b in traced.graph_breaks)


def _plan_of(fn, inputs):
    state, _ = run(make_state(fn, inputs))
    return rerun_plan(state.graph)


def test_plans():
    x, idx = torch.ones(3), torch.tensor([0])
    assert _plan_of(lambda x: x.sin(), (x,)) == NO_RERUN
    assert _plan_of(lambda x, i: x[i] + 1, (x, idx)) == RERUN_ON_RAISE
    assert _plan_of(lambda x, i: x[i] + torch.randn(1), (x, idx)) == RERUN_RESTORING_RNG
    assert _plan_of(lambda x, i: x.add_(1)[i], (x.clone(), idx)) == UNSAFE
    assert _plan_of(lambda x, i: (x * 1).add_(1)[i], (x, idx)) == RERUN_ON_RAISE  # a write into its own tensor
    assert _plan_of(index_under_no_grad, (x, idx)) == RERUN_RESTORING_MODES


def _same_with_inputs(fn, inputs_list, *, grad_enabled=True):
    """Every call matches eager: result or exception, LOG, the inputs afterwards and the grad mode."""
    traced = tracer.compile(fn)
    for inputs in inputs_list:
        eager_inputs, traced_inputs = clone_inputs(inputs), clone_inputs(inputs)
        torch.set_grad_enabled(grad_enabled)
        expected = _outcome(fn, eager_inputs)
        eager_modes = torch.is_grad_enabled(), torch.is_autocast_enabled("cpu")
        torch.set_grad_enabled(grad_enabled)
        try:
            actual = _outcome(traced, traced_inputs)
            traced_modes = torch.is_grad_enabled(), torch.is_autocast_enabled("cpu")
        finally:
            torch.set_grad_enabled(True)
        _same(actual, expected)
        assert traced_modes == eager_modes
        for a, e in zip(traced_inputs, eager_inputs):
            if isinstance(e, torch.Tensor):
                assert torch.equal(a, e), (a, e)
            else:
                assert a == e, (a, e)
    return traced


_GOOD, _BAD = torch.tensor([1]), torch.tensor([5])


def write_then_handled_index(x, idx):
    x.add_(1)
    try:
        y = x[idx]
    except IndexError:
        LOG.append("handled")
        y = x * 0
    return y


def handled_index_then_write(x, idx):
    try:
        y = x[idx]
    except IndexError:
        LOG.append("handled")
        y = x * 0
    x.add_(1)
    return y


def _handled_index(x, idx):
    try:
        return x[idx]
    except IndexError:
        LOG.append("handled")
        return x * 0


def _write(x):
    x.mul_(3)


def handled_in_a_callee_then_write_in_another(x, idx):
    y = _handled_index(x, idx)
    _write(x)
    return y + 1


def write_then_handled_in_a_callee(x, idx):
    _write(x)
    return _handled_index(x, idx) + 1


def handled_index_write(x, idx):
    try:
        x[idx] = 7.0
    except IndexError:
        LOG.append("handled")
    return x + 1


def effects_then_index_write(x, idx, log):
    log.append("before")
    x[idx] = 7.0
    return x + 1


def write_then_unhandled_index(x, idx):
    x.add_(1)
    return x[idx] * 2


def index_under_no_grad(x, idx):
    with torch.no_grad():
        y = x[idx] * 2
    return y


def write_then_index_under_no_grad(x, idx):
    x.add_(1)
    with torch.no_grad():
        y = x[idx] * 2
    return y


def index_under_autocast(x, idx):
    with torch.autocast("cpu"):
        y = x[idx] @ x[idx]
    return y


def test_a_handled_index_and_an_input_write_in_either_order_run_as_in_eager():
    for fn in (write_then_handled_index, handled_index_then_write, handled_in_a_callee_then_write_in_another,
               write_then_handled_in_a_callee, handled_index_write, write_then_unhandled_index):
        traced = _same_with_inputs(fn, [(torch.zeros(3), idx) for idx in (_GOOD, _BAD, _GOOD, _BAD)])
        if fn is write_then_unhandled_index:  # nothing to handle: the exception leaves as eager's does
            assert traced.graph_breaks == [] and len(traced.captures) == 1


def test_effects_before_an_index_write_into_an_input_come_out_as_in_eager():
    _same_with_inputs(effects_then_index_write, [(torch.zeros(3), idx, []) for idx in (_GOOD, _BAD, _GOOD, _BAD)])


def test_grad_mode_and_autocast_after_a_raise_inside_their_blocks_are_eager_s():
    for fn in (index_under_no_grad, write_then_index_under_no_grad, index_under_autocast):
        _same_with_inputs(fn, [(torch.ones(3, requires_grad=fn is index_under_no_grad), idx)
                               for idx in (_GOOD, _BAD, _GOOD, _BAD)])
