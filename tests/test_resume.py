"""Graph breaks that continue from the snapshot: graph so far, effects, the instruction for real,
then a resume function captured on its first call."""
import operator

import pytest
import torch
import tracer

from helpers import ops
from tracer import compile, graph_break, trace
from tracer.registry import HANDLERS
from core.outcomes import BreakKind


def t(*shape):
    return torch.randn(*shape)


def _call_twice_like_eager(fn, *inputs):
    res = compile(fn)
    for _ in range(2):
        fresh = tuple(x.clone() if isinstance(x, torch.Tensor) else x for x in inputs)
        torch.testing.assert_close(res(*fresh), fn(*inputs))
    return res


def test_straight_line_break_splits_into_two_graphs():
    def fn(x):
        y = x.sin()
        graph_break()
        return y.cos() + x

    res = _call_twice_like_eager(fn, t(3))
    assert [ops(g) for g in res.graphs] == [["sin"], ["cos", operator.add]]
    assert len(res.resumes) == 1 and len(res.resumes[0].captures) == 1  # cached after the first call


def test_print_runs_once_per_call_and_the_rest_is_captured(capsys):
    def fn(x, n):
        y = x * n
        print("scale", n, end="!\n")  # keyword names survive the break
        return y - 1

    res = trace(fn, (t(2), 3))
    assert capsys.readouterr().out == ""
    x = t(2)
    torch.testing.assert_close(res(x, 3), x * 3 - 1)
    assert capsys.readouterr().out == "scale 3!\n"
    assert [ops(g) for g in res.graphs] == [[operator.mul], [operator.sub]]


def test_break_inside_call_arguments_keeps_the_pending_call():
    def fn(x):
        return torch.add(x, torch.tensor(len(str(print("mid")))))  # print inside the arguments

    res = _call_twice_like_eager(fn, t(2))
    assert res.graph_breaks[0].kind is BreakKind.UNSUPPORTED_CALL


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_data_dependent_branch_resumes_in_the_branch_taken(sign):
    def fn(x):
        y = x * 2
        if y.sum() > 0:
            z = y + 10
        else:
            z = y - 10
        return z * 3

    res = compile(fn)
    x = torch.full((3,), sign)
    torch.testing.assert_close(res(x), fn(x))
    torch.testing.assert_close(res(-x), fn(-x))  # the other branch: its own resume function
    assert res.graph_breaks[0].kind is BreakKind.DATA_DEPENDENT
    assert sorted(len(r.captures) for r in res.resumes) == [1, 1]


def test_item_feeds_python_control_flow():
    def fn(x):
        n = int(x.sum().item())
        out = x
        for _ in range(n):
            out = out + 1
        return out

    res = compile(fn)
    for value in (1.0, 2.0):
        x = torch.full((2,), value)
        torch.testing.assert_close(res(x), fn(x))
    assert any(b.kind is BreakKind.DATA_DEPENDENT for b in res.graph_breaks)


def test_break_inside_for_loop_resumes_inside_the_loop():
    def fn(x, items):
        total = x
        for i, w in enumerate(items):
            total = total * w + i
            graph_break()
        return total

    items = [2.0, 3.0, 4.0]
    res = _call_twice_like_eager(fn, t(3), items)
    # every iteration past the first runs from a resume function, inside the loop
    assert len(res.graphs) >= 3 and all(b.kind is BreakKind.USER_GRAPH_BREAK for b in res.graph_breaks)


def test_break_inside_while_loop():
    def fn(x):
        n = 0
        while n < 3:
            x = x + n
            graph_break()
            n += 1
        return x, n

    res = compile(fn)
    x = t(2)
    out, n = res(x)
    torch.testing.assert_close(out, fn(x)[0])
    assert n == 3


def test_iterator_over_a_list_keeps_seeing_appends_after_a_break():
    def fn(x, xs):
        seen = []
        for v in xs:
            if len(xs) < 4:
                xs.append(v + 10)
            graph_break()
            seen.append(v)
        return x + len(seen), seen

    res = compile(fn)
    a, b = [1, 2], [1, 2]
    out, seen = res(torch.zeros(1), a)
    expected_out, expected_seen = fn(torch.zeros(1), b)
    assert seen == expected_seen and a == b
    torch.testing.assert_close(out, expected_out)


def test_effects_before_a_break_are_applied_before_the_instruction_runs():
    log = []

    def fn(x, xs):
        xs.append(1)
        d = {"k": x * 2}
        log.append(len(xs))
        print(len(log), xs)  # sees the mutations already made
        xs.append(2)
        return d["k"] + len(xs)

    res = compile(fn)
    xs = []
    x = t(2)
    out = res(x, xs)
    assert xs == [1, 2] and log == [1]
    torch.testing.assert_close(out, x * 2 + 2)


G = []


def _uses_global(x):
    G.append(x.shape[0])
    graph_break()
    G.append(len(G))
    return x + len(G)


def test_global_mutation_across_a_break():
    G.clear()
    res = compile(_uses_global)
    x = t(3)
    torch.testing.assert_close(res(x), x + 2)
    assert G == [3, 1]


def test_break_inside_try_keeps_the_handler():
    def fn(x, d):
        try:
            y = x + 1
            value = d.pop("missing")  # not modelled as a raise yet: the pop runs for real
            y = y + value
        except KeyError:
            y = y * 100
        return y

    res = compile(fn)
    x = t(2)
    torch.testing.assert_close(res(x, {}), fn(x, {}))


def test_exception_raised_by_the_breaking_instruction_reaches_the_caller():
    def fn(x):
        y = x + 1
        print(undefined_name_for_the_test)  # noqa: F821 (the NameError is the point)
        return y

    res = compile(fn)
    with pytest.raises(NameError, match="undefined_name_for_the_test"):
        res(t(2))


def helper_with_break(x):
    x = x * 3
    graph_break()
    return x - 1


def test_break_inside_inlined_callee_keeps_the_caller_graph_and_compiles_the_callee():
    def fn(x):
        y = x.sin()
        z = helper_with_break(y)
        return z.cos()

    res = _call_twice_like_eager(fn, t(3))
    assert ops(res.graphs[0]) == ["sin"]
    # the callee was called through compile: its own two graphs, then the caller's rest
    assert [operator.mul] in [ops(g) for g in res.graphs] and ["cos"] in [ops(g) for g in res.graphs]


def test_closure_variables_survive_a_break():
    scale = 4.0

    def fn(x):
        y = x * scale
        graph_break()
        return y + scale

    _call_twice_like_eager(fn, t(2))


def test_cached_entries_are_reused_on_new_inputs():
    def fn(x):
        y = x + 1
        graph_break()
        return y * 2

    res = compile(fn)
    for _ in range(3):
        x = t(4)
        torch.testing.assert_close(res(x), (x + 1) * 2)
    assert len(res.captures) == 1 and [len(r.captures) for r in res.resumes] == [1]


def _count_steps(monkeypatch):
    counter = [0]
    for name, handler in list(HANDLERS.items()):
        def counted(state, ins, _handler=handler):
            counter[0] += 1
            return _handler(state, ins)
        monkeypatch.setitem(HANDLERS, name, counted)
    return counter


def _chain(k: int):
    """A function of 40 tensor statements with k graph breaks spread through it."""
    lines = ["def fn(x):"]
    for i in range(40):
        lines.append(f"    x = x * 1.01 + {i}")
        if k and i % (40 // k) == 0 and i // (40 // k) < k:
            lines.append("    graph_break()")
    lines.append("    return x")
    namespace = {"graph_break": graph_break}
    exec(compile_source("\n".join(lines)), namespace)
    return namespace["fn"]


def compile_source(text):
    import builtins

    return builtins.compile(text, "<chain>", "exec")


def test_breaks_do_not_retrace_from_the_top(monkeypatch):
    counts = {}
    for k in (0, 8):
        fn = _chain(k)
        counter = _count_steps(monkeypatch)
        res = compile(fn)
        x = t(2)
        torch.testing.assert_close(res(x), fn(x))
        counts[k] = counter[0]
        assert len(res.graph_breaks) == k
    # every instruction is traced about once: 8 breaks add their own calls, not 8 re-traces
    assert counts[8] < counts[0] * 1.6, counts


def test_resume_functions_come_decoded_exactly_as_dis_would_decode_them():
    from core.code import decode

    def fn(x, xs):
        total = x
        for i, v in enumerate(xs):
            try:
                total = total + v
                graph_break()
            except KeyError:
                total = total - 1
        return total

    res = compile(fn)
    res(t(2), [1.0, 2.0])
    assert res.resumes
    for resume in res.resumes:
        code = resume.fn.__code__
        assert resume.fn.__snaptrace_decoded__ == decode(code, resume.fn.__globals__).instructions


def test_break_inside_no_grad_block_resumes_inside_the_block():
    def fn(x):
        y = x * 2
        with torch.no_grad():
            z = y + 1
            graph_break()
            w = z * 3
        return w, w.requires_grad, torch.is_grad_enabled(), (y * w).requires_grad

    res = compile(fn)
    x = torch.randn(3, requires_grad=True)
    assert res(x)[1:] == fn(x)[1:] == (False, True, True)
    torch.testing.assert_close(res(x)[0], fn(x)[0])
    assert torch.is_grad_enabled()
    assert len(res.graphs) == 2 and len(res.graph_breaks) == 1  # the block's rest is captured too


class _Recorder:
    def __init__(self):
        self.log = []

    def __enter__(self):
        self.log.append("enter")
        return self

    def __exit__(self, *exc):
        self.log.append("exit")
        return False


def test_break_inside_a_python_context_manager_keeps_it_active():
    recorder = _Recorder()

    def fn(x):
        with recorder as r:
            y = x + 1
            graph_break()
            r.log.append("body")
        return y

    res = compile(fn)
    x = t(2)
    torch.testing.assert_close(res(x), x + 1)
    assert recorder.log == ["enter", "body", "exit"]
    assert len(res.graphs) == 1 and len(res.graph_breaks) == 1


def test_exception_from_the_breaking_call_goes_to_the_users_handler():
    import json

    def fn(x, text):
        y = x * 2
        try:
            value = json.loads(text)  # an unknown C call: runs for real inside the try
        except ValueError:
            value = -1
        return y + value

    res = compile(fn)
    x = t(2)
    torch.testing.assert_close(res(x, "{bad"), fn(x, "{bad"))
    torch.testing.assert_close(res(x, "3"), fn(x, "3"))
    assert res.graph_breaks and ops(res.graphs[0]) == [operator.mul]


def test_break_in_a_function_with_cell_variables_shares_the_cells():
    def fn(x):
        k = 2

        def scale(v):
            return v * k

        y = scale(x)
        graph_break()
        k = 5  # the nested function sees the new value through the shared cell
        return scale(y), scale

    res = compile(fn)
    x = t(3)
    out, scale = res(x)
    expected, eager_scale = fn(x)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(scale(x), eager_scale(x))  # the returned function has its live cell
    assert len(res.graphs) == 2 and len(res.graph_breaks) == 1


def test_nonlocal_counter_across_a_break():
    def fn(x):
        count = 0

        def bump():
            nonlocal count
            count += 1

        bump()
        graph_break()
        bump()
        return x + count

    res = compile(fn)
    x = t(2)
    torch.testing.assert_close(res(x), x + 2)


def test_cells_crossing_a_break_do_not_force_recaptures():
    def fn(x):
        k = 3

        def scale(v):
            return v * k

        graph_break()
        return scale(x)

    res = compile(fn)
    for _ in range(3):
        x = t(2)
        torch.testing.assert_close(res(x), x * 3)
    assert len(res.captures) == 1 and [len(r.captures) for r in res.resumes] == [1]


def test_class_statement_that_breaks_in_its_body_runs_for_real_and_the_rest_is_captured():
    def fn(x):
        y = x + 1

        class Box:
            scale = 3
            graph_break()

        return y * Box.scale, Box.__name__

    res = compile(fn)
    x = t(3)
    out, name = res(x)
    torch.testing.assert_close(out, (x + 1) * 3)
    assert name == "Box"
    assert res.graph_breaks[0].instruction == "CALL"  # the call of __build_class__ runs for real
    assert res.graph_breaks[0].inside[0].name.endswith("fn.<locals>.Box")
    assert ops(res.graphs[0]) == [operator.add] and [operator.mul] in [ops(g) for g in res.graphs]


def test_a_pending_list_method_call_crosses_the_break():
    def fn(x, items):
        items.append(float(x.sum()))  # float() breaks while items.append waits on the stack
        return x + len(items)

    res = compile(fn)
    x = t(3)
    mine, theirs = [], []
    torch.testing.assert_close(res(x, mine), fn(x, theirs))
    assert mine == theirs and len(res.graphs) == 2  # x.sum(), then x + len(items) in the resume function


def _breaks_every_iteration(x, n):
    for i in range(n):
        x = x + i
        tracer.graph_break()
    return x * 2


def test_a_loop_that_breaks_on_every_iteration_does_not_nest_without_bound():
    """Each iteration continues from the previous one's step function; past a bounded depth the
    resume function runs eagerly, so 400 iterations do not reach the recursion limit."""
    traced = tracer.compile(_breaks_every_iteration)
    for n in (3, 400):
        torch.testing.assert_close(traced(torch.ones(2), n), _breaks_every_iteration(torch.ones(2), n))
    assert len(traced.graphs) >= 2 and traced.graph_breaks
