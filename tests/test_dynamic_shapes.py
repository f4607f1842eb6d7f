"""Dynamic shapes, end to end: automatic dynamic, the options torch.compile users reach for
(dynamic=, fullgraph=, mark_dynamic / mark_static), 0/1 specialisation, graphs with symbolic
inputs, and the recapture log.  Every call is compared with eager."""
import logging
import warnings

import pytest
import torch

import tracer
from core.guards import ShapeGuard, TensorMatch
from helpers import assert_same_structure, ops
from tracer import FullGraphError, RecaptureLimitWarning, compile, explain, graph_break, mark_dynamic, mark_static


def symbolic_guards(res) -> list:
    return [str(g) for g in res.guards if isinstance(g, ShapeGuard)]


def same(res, fn, *args):
    assert_same_structure(res(*args), fn(*args))


def scale_rows(x):
    return (x * 2 + 1).sum(-1) / x.shape[0]


# -- the scenarios of the issue --------------------------------------------------------------------

def test_twenty_batch_sizes_capture_twice():
    res = compile(scale_rows)
    for batch in list(range(1, 21)):
        same(res, scale_rows, torch.randn(batch, 4))
    assert len(res.captures) == 2
    # the first capture is specialised to batch 1, the second serves every batch from 2 on
    assert symbolic_guards(res) == ["x.size(0) >= 2"]
    assert len(res.captures[0].guards) and not any(isinstance(g, ShapeGuard) for g in res.captures[0].guards)


def attend(q, k_cache, v_cache, k_new, v_new):
    k = torch.cat([k_cache, k_new], dim=1)
    v = torch.cat([v_cache, v_new], dim=1)
    att = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
    return att.softmax(-1) @ v, k, v


def test_kv_cache_decode_loop_of_48_steps_captures_at_most_three_times():
    res = compile(attend)
    k = v = torch.zeros(1, 0, 8)
    k_ref, v_ref = k, v
    for _ in range(48):
        q, k_new, v_new = torch.randn(1, 1, 8), torch.randn(1, 1, 8), torch.randn(1, 1, 8)
        out, k, v = res(q, k, v, k_new, v_new)
        expected, k_ref, v_ref = attend(q, k_ref, v_ref, k_new, v_new)
        torch.testing.assert_close(out, expected)
        assert torch.equal(k, k_ref) and torch.equal(v, v_ref)
    # lengths 0 and 1 are specialised; from 2 on one capture serves every length
    assert len(res.captures) == 3
    assert "k_cache.size(1) >= 2" in symbolic_guards(res)
    assert "v_cache.size(1) == k_cache.size(1)" in symbolic_guards(res)


def step_fn(x, step):
    return x * step + step // 2


def test_int_step_counter_over_twenty_calls_captures_twice():
    res = compile(step_fn)
    x = torch.randn(3)
    for step in range(20):
        same(res, step_fn, x, step)
    assert len(res.captures) == 2
    assert "type(step) is int" in [str(g) for g in res.captures[1].guards]
    graph = res.captures[1].graphs[0]
    assert [n.name for n in graph.graph.nodes if n.op == "placeholder"] == ["x", "step"]


def test_mark_dynamic_before_the_first_call_captures_once():
    res = compile(scale_rows)
    first = torch.randn(3, 4)
    mark_dynamic(first, 0)
    same(res, scale_rows, first)
    for batch in range(2, 12):
        same(res, scale_rows, torch.randn(batch, 4))
    assert len(res.captures) == 1
    assert symbolic_guards(res) == ["x.size(0) >= 2"]


def test_torch_dynamo_mark_dynamic_is_honoured():
    res = compile(scale_rows)
    first = torch.randn(3, 4)
    torch._dynamo.mark_dynamic(first, 0)
    same(res, scale_rows, first)
    same(res, scale_rows, torch.randn(7, 4))
    assert len(res.captures) == 1


def test_mark_static_keeps_a_changing_dimension_constant():
    res = compile(scale_rows)
    for batch in (3, 4, 5):
        x = torch.randn(batch, 4)
        mark_static(x, 0)
        same(res, scale_rows, x)
    assert len(res.captures) == 3 and symbolic_guards(res) == []


def test_mark_dynamic_checks_the_dimension():
    with pytest.raises(IndexError):
        mark_dynamic(torch.randn(3), 1)


def test_dynamic_true_captures_once():
    def fn(x, y, n):
        return (x @ y).relu().sum(-1) * n

    res = compile(fn, dynamic=True)
    for size in range(2, 10):
        same(res, fn, torch.randn(size, 4), torch.randn(4, size + 1), size)
    assert len(res.captures) == 1
    assert "y.size(0) == x.size(1)" in symbolic_guards(res)


def test_dynamic_false_captures_per_shape_and_guards_no_symbol():
    res = compile(scale_rows, dynamic=False)
    for batch in range(1, 6):
        same(res, scale_rows, torch.randn(batch, 4))
    first = torch.randn(6, 4)
    mark_dynamic(first, 0)  # ignored: dynamic=False never makes a symbol
    same(res, scale_rows, first)
    assert len(res.captures) == 6
    assert symbolic_guards(res) == []
    assert all(None not in g.shape for g in res.guards if isinstance(g, TensorMatch))


def test_dynamic_must_be_none_true_or_false():
    with pytest.raises(TypeError):
        compile(scale_rows, dynamic="yes")


# -- 0/1 specialisation ----------------------------------------------------------------------------

def test_sizes_zero_and_one_stay_specialised_and_say_so():
    res = compile(scale_rows)
    same(res, scale_rows, torch.randn(5, 4))
    same(res, scale_rows, torch.randn(6, 4))  # automatic dynamic: symbolic from now on
    assert symbolic_guards(res) == ["x.size(0) >= 2"]
    same(res, scale_rows, torch.randn(1, 4))  # 1 is not covered: a capture of its own, constant
    same(res, scale_rows, torch.randn(0, 4))
    assert len(res.captures) == 4
    ones = [g for g in res.captures[2].guards if isinstance(g, TensorMatch)]
    assert ones[0].shape == (1, 4) and not symbolic_guards_of(res.captures[2])
    for batch in (0, 1, 2, 9):  # each size reuses its capture
        same(res, scale_rows, torch.randn(batch, 4))
    assert len(res.captures) == 4


def symbolic_guards_of(capture) -> list:
    return [g for g in capture.guards if isinstance(g, ShapeGuard)]


def test_ints_are_not_specialised_at_zero_and_one():
    def fn(x, n):
        return x + n

    res = compile(fn)
    for n in (0, 1, 2, -3, 100):
        same(res, fn, torch.randn(2), n)
    assert len(res.captures) == 2


# -- fullgraph -------------------------------------------------------------------------------------

def test_fullgraph_raises_at_a_print_naming_its_line_and_leaves_state_untouched():
    log = []

    def noisy(x, items):
        items.append(1)
        y = x + 1
        print("between")  # the line the error names
        return y * 2

    line = noisy.__code__.co_firstlineno + 3
    res = compile(noisy, fullgraph=True)
    x, items = torch.ones(3), log
    with pytest.raises(FullGraphError) as info:
        res(x, items)
    assert info.value.lineno == line and info.value.filename == __file__
    assert "print()" in info.value.reason and f":{line}" in str(info.value)
    assert "docs/errors.md#fullgrapherror" in str(info.value)
    assert log == [] and torch.equal(x, torch.ones(3))  # nothing ran
    assert res.captures == []


def test_fullgraph_names_the_line_inside_a_callee():
    def inner(x):
        graph_break()
        return x

    def outer(x):
        return inner(x) + 1

    with pytest.raises(FullGraphError) as info:
        compile(outer, fullgraph=True)(torch.ones(2))
    assert info.value.lineno == inner.__code__.co_firstlineno + 1


def test_fullgraph_on_a_clean_function_runs_normally():
    res = compile(scale_rows, fullgraph=True)
    for batch in (2, 3, 4):
        same(res, scale_rows, torch.randn(batch, 4))
    assert len(res.captures) == 2 and len(res.graphs) == 2 and res.graph_breaks == []


def test_trace_takes_the_options_too():
    res = tracer.trace(scale_rows, (torch.randn(3, 4),), dynamic=True, fullgraph=True)
    same(res, scale_rows, torch.randn(8, 4))
    assert len(res.captures) == 1


# -- backends see symbols --------------------------------------------------------------------------

def test_graph_takes_symbolic_sizes_as_inputs_and_backends_receive_symints():
    seen = []

    def backend(gm, example_inputs):
        seen.append(list(example_inputs))
        return gm.forward

    res = compile(scale_rows, backend=backend)
    for batch in (3, 4, 5, 6):
        same(res, scale_rows, torch.randn(batch, 4))
    assert len(seen) == 2
    symbolic = res.graphs[1]
    placeholders = [n for n in symbolic.graph.nodes if n.op == "placeholder"]
    assert [n.name for n in placeholders] == ["x_size0", "x"]
    assert isinstance(placeholders[0].meta["example_value"], torch.SymInt)
    assert isinstance(seen[1][0], torch.SymInt) and isinstance(seen[1][1], torch.Tensor)


@pytest.mark.inductor
def test_inductor_compiles_one_dynamic_kernel_for_every_size():
    compiled = []

    def counting(gm, example_inputs):
        from torch._inductor.compile_fx import compile_fx

        compiled.append(gm)
        return compile_fx(gm, example_inputs)

    def fn(x):
        return torch.nn.functional.gelu(x).sum(-1) + x.shape[0]

    res = compile(fn, backend=counting)
    for batch in (3, 4, 7, 11, 16):
        x = torch.randn(batch, 8)
        torch.testing.assert_close(res(x), fn(x))
    assert len(compiled) == 2  # one for the first size, one dynamic kernel for the rest


# -- logs and the recapture limit ------------------------------------------------------------------

def test_recapture_log_names_the_failing_guard_and_input(caplog):
    res = compile(scale_rows)
    with caplog.at_level(logging.INFO, logger="snaptrace.recaptures"):
        same(res, scale_rows, torch.randn(3, 4))
        same(res, scale_rows, torch.randn(5, 4))
        same(res, scale_rows, torch.randn(1, 4))
    messages = [r.getMessage() for r in caplog.records if r.name == "snaptrace.recaptures"]
    assert len(messages) == 2
    assert "Recapturing scale_rows" in messages[0]
    assert "tensor 'x' size mismatch at index 0: expected 3, actual 5" in messages[0]
    assert "x.size(0) >= 2 (x.size(0) is 1)" in messages[1]


def test_logs_are_silent_unless_enabled(caplog):
    res = compile(scale_rows)
    with caplog.at_level(logging.WARNING):
        for batch in (3, 4):
            same(res, scale_rows, torch.randn(batch, 4))
    assert not [r for r in caplog.records if r.name.startswith("snaptrace")]


def test_graphs_guards_and_breaks_streams(caplog):
    def fn(x):
        y = x.sin()
        graph_break()
        return y + 1

    with caplog.at_level(logging.INFO, logger="snaptrace"):
        compile(fn)(torch.randn(3))
    names = {r.name for r in caplog.records}
    assert {"snaptrace.graphs", "snaptrace.guards", "snaptrace.breaks"} <= names
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "snaptrace.graphs")
    assert "torch.sin" in text or "sin()" in text


def test_snaptrace_logs_names_are_checked():
    with pytest.raises(ValueError, match="recaptures"):
        tracer.logs.configure("recapture")


def test_recapture_limit_message_gives_the_last_reason():
    def fn(x, scale):
        return x * scale

    res = compile(fn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(10):
            same(res, fn, torch.randn(2), 0.5 + step)  # floats stay specialised
    (warning,) = [w for w in caught if issubclass(w.category, RecaptureLimitWarning)]
    message = str(warning.message)
    assert "recapture limit (8)" in message and "last reason: 7/" in message
    assert "scale: float == 7.5 (scale is 8.5)" in message
    assert "SNAPTRACE_LOGS=recaptures" in message


# -- resume functions ------------------------------------------------------------------------------

@pytest.mark.parametrize("steps", [6, 12])
def test_loop_breaking_on_every_iteration_stops_recapturing(steps):
    def fn(x, n):
        for i in range(n):
            x = x * 2 + i
            graph_break()
        return x

    res = compile(fn)
    for _ in range(2):
        same(res, fn, torch.ones(3), steps)
    (resume,) = res.resumes
    # specialised first iteration, one symbolic capture for the others, the loop's exit
    assert len(resume.captures) == 3


def test_while_loop_breaking_on_every_iteration_stops_recapturing():
    def fn(x):
        i = 0
        while i < 10:
            x = x + i
            i += 1
            graph_break()
        return x

    res = compile(fn)
    same(res, fn, torch.ones(3))
    assert [len(r.captures) for r in res.resumes] == [3]


def test_explain_shows_the_symbolic_guards():
    x = torch.randn(5, 4)
    mark_dynamic(x, 0)
    report = str(explain(scale_rows, x))
    assert "x.size(0) >= 2" in report and "shape=(*, 4)" in report


def test_graph_of_the_symbolic_capture_reads_sizes_from_its_inputs():
    def fn(x):
        return x.view(x.shape[0] * 2, -1)

    res = compile(fn, dynamic=True)
    same(res, fn, torch.randn(3, 4))
    assert ops(res.graphs[0]) == [__import__("operator").mul, "view"]


def test_a_shape_kept_across_a_break_makes_its_items_symbolic_in_the_resume_function():
    def fn(x):
        shape = x.shape
        n = x.shape[0] * 2
        graph_break()
        return x.reshape(-1) + n, shape

    res = compile(fn)
    for batch in (2, 3, 4, 5):
        same(res, fn, torch.randn(batch, 3))
    assert len(res.captures) == 2 and [len(r.captures) for r in res.resumes] == [2]
    guards = [str(g) for g in res.resumes[0].captures[1].guards]
    # the resume function's parameters are the user's own locals (graph/resume.py)
    assert "type(shape[0]) is int" in guards and "shape[1]: int == 3" in guards


def test_parameters_keep_their_shapes():
    def fn(w, x):
        return x @ w

    res = compile(fn)
    for size in (3, 4, 5):
        w = torch.nn.Parameter(torch.randn(size, 2))
        same(res, fn, w, torch.randn(2, size))
    # w's size never becomes symbolic, and x's, tied to it by the product, is specialised with it
    assert len(res.captures) == 3
    assert [g.shape for g in res.captures[2].guards if isinstance(g, TensorMatch) and str(g).startswith("w:")] \
        == [(5, 2)]
