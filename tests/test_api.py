"""The public API: argument checking, signatures, graph_break(), print(), explain()."""
import operator

import pytest
import torch

import tracer
from helpers import all_ops, assert_same_as_eager, assert_same_structure, clone_inputs, ops
from tracer import NotTraceableError, compile, explain, graph_break, trace
from core.outcomes import BreakKind


def t(*shape):
    return torch.randn(*shape)


# -- what can be traced --------------------------------------------------------------------

def test_public_names():
    assert tracer.trace is trace and tracer.compile is compile and tracer.explain is explain
    assert tracer.graph_break is graph_break
    assert issubclass(NotTraceableError, TypeError)


@pytest.mark.parametrize("bad", [42, "fn", None])
def test_trace_non_callable_is_type_error_naming_it(bad):
    with pytest.raises(TypeError) as info:
        trace(bad, ())
    assert isinstance(info.value, NotTraceableError)
    message = str(info.value)
    assert type(bad).__name__ in message and repr(bad)[:10] in message
    assert "function" in message


def test_compile_non_callable_is_type_error():
    with pytest.raises(NotTraceableError, match="int"):
        compile(42)


@pytest.mark.parametrize("bad", [torch.sin, len, operator.add])
def test_builtins_are_not_traceable(bad):
    with pytest.raises(NotTraceableError) as info:
        trace(bad, (t(2),))
    assert "def" in str(info.value) or "lambda" in str(info.value)


def test_generator_function_is_not_traceable():
    def gen(x):
        yield x

    with pytest.raises(NotTraceableError, match="generator") as info:
        trace(gen, (t(2),))
    assert "gen" in str(info.value)


def test_async_function_is_not_traceable():
    async def coro(x):
        return x

    with pytest.raises(NotTraceableError, match="async") as info:
        compile(coro)
    assert "coro" in str(info.value)


def test_async_generator_is_not_traceable():
    async def agen(x):
        yield x

    with pytest.raises(NotTraceableError, match="async"):
        trace(agen, (t(2),))


def test_example_inputs_must_be_a_tuple():
    with pytest.raises(TypeError, match="example_inputs"):
        trace(lambda x: x + 1, t(2))


def test_lambda_is_traceable():
    res = assert_same_as_eager(lambda x: x * 3, lambda: (t(2),))
    assert ops(res.graphs[0]) == [operator.mul]


def test_trace_of_a_traced_function_traces_the_original():
    def fn(x):
        return x + 1

    inner = compile(fn)
    res = trace(inner, (t(2),))
    assert res.fn is fn and len(res.graphs) == 1


# -- signatures ------------------------------------------------------------------------------

def _eager_error(fn, *args, **kwargs):
    with pytest.raises(TypeError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def two_args(x, y):
    return x + y


def kw_only(x, *, scale):
    return x * scale


@pytest.mark.parametrize("fn, args, kwargs", [
    (two_args, (1,), {}),
    (two_args, (1, 2, 3), {}),
    (two_args, (1, 2), {"z": 3}),
    (two_args, (1,), {"x": 2}),
    (kw_only, (1,), {}),
    (kw_only, (1, 2), {}),
])
def test_bad_arguments_raise_cpythons_own_type_error(fn, args, kwargs):
    expected = _eager_error(fn, *args, **kwargs)
    res = compile(fn)
    with pytest.raises(TypeError) as info:
        res(*args, **kwargs)
    assert str(info.value) == expected
    assert not isinstance(info.value, NotTraceableError)
    if not kwargs:
        with pytest.raises(TypeError) as info:
            trace(fn, args)
        assert str(info.value) == expected


def test_bad_arguments_after_a_capture_raise_cpythons_error():
    res = trace(two_args, (t(2), t(2)))
    expected = _eager_error(two_args, 1, 2, 3)
    with pytest.raises(TypeError) as info:
        res(1, 2, 3)
    assert str(info.value) == expected


def test_defaults_are_used_and_guarded():
    def fn(x, scale=2.0, *, bias=None):
        out = x * scale
        if bias is not None:
            out = out + bias
        return out

    res = compile(fn)
    x, b = t(3), t(3)
    torch.testing.assert_close(res(x), fn(x))
    torch.testing.assert_close(res(x, 3.0), fn(x, 3.0))
    torch.testing.assert_close(res(x, bias=b), fn(x, bias=b))
    torch.testing.assert_close(res(x, scale=2.0), fn(x))
    torch.testing.assert_close(res(x=x), fn(x))
    assert len(res.captures) == 3
    assert [ops(gm) for gm in res.graphs] == [[operator.mul], [operator.mul], [operator.mul, operator.add]]


def test_trace_uses_defaults():
    def fn(x, n=3):
        return x * n

    res = trace(fn, (t(2),))
    (node,) = [n for n in res.graphs[0].graph.nodes if n.op == "call_function"]
    assert node.args[1] == 3
    x = t(2)
    torch.testing.assert_close(res(x), x * 3)


def test_keyword_only_arguments():
    res = compile(kw_only)
    x = t(2)
    torch.testing.assert_close(res(x, scale=4), x * 4)
    torch.testing.assert_close(res(x, scale=5), x * 5)
    assert len(res.captures) == 2


def test_varargs():
    def fn(x, *rest):
        out = x
        for r in rest:
            out = out + r
        return out, len(rest)

    res = compile(fn)
    x, a, b = t(2), t(2), t(2)
    out, n = res(x, a, b)
    torch.testing.assert_close(out, x + a + b)
    assert n == 2
    out, n = res(x)
    torch.testing.assert_close(out, x)
    assert n == 0
    assert len(res.captures) == 2


def test_positional_only_arguments():
    def fn(x, /, y):
        return x - y

    res = compile(fn)
    x, y = t(2), t(2)
    torch.testing.assert_close(res(x, y=y), x - y)
    expected = _eager_error(fn, x=x, y=y)
    with pytest.raises(TypeError) as info:
        res(x=x, y=y)
    assert str(info.value) == expected


# -- graph_break() ------------------------------------------------------------------------------

def test_graph_break_is_a_no_op_eagerly():
    assert graph_break() is None


def test_graph_break_when_traced():
    def fn(x):
        y = x * 2
        graph_break()
        return y + 1

    res = assert_same_as_eager(fn, lambda: (t(3),), graphs=1, breaks=1)
    assert [len(r.captures) for r in res.resumes] == [1]  # the rest, captured on the first call
    assert len(res.graphs) == 2 and all_ops(res) == [operator.mul, operator.add]
    (brk,) = res.graph_breaks
    assert brk.kind is BreakKind.USER_GRAPH_BREAK
    assert brk.source_line == "graph_break()"
    assert brk.lineno == fn.__code__.co_firstlineno + 2
    assert brk.filename == __file__
    assert brk.reason and "graph_break" in brk.reason


def test_graph_break_through_the_module():
    def fn(x):
        tracer.graph_break()
        return x + 1

    res = assert_same_as_eager(fn, lambda: (t(3),), graphs=0, breaks=1)
    assert res.graph_breaks[0].kind is BreakKind.USER_GRAPH_BREAK


# -- print() ---------------------------------------------------------------------------------

def test_print_breaks_and_prints_once_per_call(capsys):
    def fn(x):
        print("hello", x.shape[0])
        return x + 1

    res = trace(fn, (t(3),))
    assert capsys.readouterr().out == ""  # tracing itself prints nothing
    assert res.graphs == []
    (brk,) = res.graph_breaks
    assert brk.kind is BreakKind.UNSUPPORTED_CALL
    assert "print" in brk.reason and brk.source_line == 'print("hello", x.shape[0])'
    x = t(3)
    torch.testing.assert_close(res(x), x + 1)
    assert capsys.readouterr().out == "hello 3\n"
    res(x)
    res(x)
    assert capsys.readouterr().out == "hello 3\nhello 3\n"


def test_print_with_compile_prints_once_on_the_capturing_call(capsys):
    @compile
    def fn(x):
        print("called")
        return x * 2

    x = t(2)
    torch.testing.assert_close(fn(x), x * 2)
    assert capsys.readouterr().out == "called\n"
    fn(x)
    assert capsys.readouterr().out == "called\n"
    assert len(fn.captures) == 1


# -- explain() -------------------------------------------------------------------------------

def test_explain_with_a_graph():
    def fn(x, n):
        return torch.relu(x) * n

    report = explain(fn, t(2, 3), 3)
    text = str(report)
    assert report.graph_count == 1 and report.op_count == 2
    assert report.graphs[0].code.strip() in text
    assert "torch.relu(x)" in text
    for guard in report.guards:
        assert str(guard) in text
    assert "n: int == 3" in text
    assert "shape=(2, 3)" in text
    assert "fn" in text and __file__ in text


def test_explain_with_a_break_shows_reason_and_source_line():
    def fn(x):
        if x.sum() > 0:
            return x
        return -x

    x = -torch.ones(3)
    report = explain(fn, x)
    text = str(report)
    # the graph up to the branch, then the branch taken (`-x`), captured as a resume function
    assert report.graph_count == 2 and len(report.graph_breaks) == 1
    assert sorted(len(r.captures) for r in report.resumes) == [0, 1]  # one resume function per branch
    torch.testing.assert_close(report.result, fn(x))
    assert "data-dependent" in text
    assert report.graph_breaks[0].reason in text
    assert "if x.sum() > 0:" in text
    assert f"{__file__}:{fn.__code__.co_firstlineno + 1}" in text
    assert "torch.where" in text  # the hint


def test_explain_with_keyword_arguments():
    def fn(x, *, k):
        return x + k

    text = str(explain(fn, t(2), k=5))
    assert "k: int == 5" in text


def test_traced_repr_and_captures_records():
    def fn(x):
        return x + 1

    res = trace(fn, (t(2),))
    assert "fn" in repr(res) and "1 capture" in repr(res)
    (capture,) = res.captures
    assert capture.graphs == tuple(res.graphs)
    assert capture.guards == tuple(res.guards)
    assert capture.graph_breaks == ()
    assert callable(capture.entry)


# -- whatever cannot be captured runs eagerly: never a wrong answer -------------------------------

SCALE_LIST = [1.0, 2.0]


def _closure(x):
    k = 2

    def inner(v):
        return v * k

    return inner(x)


def _comprehension(x):
    return [x * i for i in range(3)]


def _fstring(x, n):
    return x + 1, f"n={n}"


def _no_grad(x):
    with torch.no_grad():
        y = x * 2
    return y


def _try_except(x):
    try:
        return x + 1
    except RuntimeError:
        return x


def _assert(x):
    assert x.shape[0] == 3, "wrong shape"
    return x + 1


def _store_subscr(x):
    items = [x, x]
    items[0] = x * 3
    return items


def _enumerate_zip(x, y):
    out = x
    for i, (a, b) in enumerate(zip((x, y), (y, x))):
        out = out + a * b * i
    return out


def _set(x):
    return x + len({1, 2, 2})


def _global_list(x):
    return x * SCALE_LIST[1]


@pytest.mark.parametrize("fn", [_closure, _comprehension, _fstring, _no_grad, _store_subscr, _enumerate_zip,
                                _set, _global_list])
def test_code_beyond_the_tracer_is_still_correct(fn):
    """Fully captured (one graph) or run eagerly with a located break: either way eager's result."""
    def make():
        if fn.__code__.co_argcount == 1:
            return (t(3),)
        return (t(3), t(3) if fn is _enumerate_zip else 4)

    res = trace(fn, make())
    assert len(res.graphs) + len(res.graph_breaks) == 1
    fresh = make()
    expected = fn(*clone_inputs(fresh))
    assert_same_structure(res(*fresh), expected)
    for brk in res.graph_breaks:
        assert brk.reason and brk.filename == __file__
        assert brk.source_line  # points at a real line of the function
        assert fn.__code__.co_firstlineno <= brk.lineno


@pytest.mark.parametrize("fn", [_try_except, _assert])
def test_try_and_passing_assert_are_captured(fn):
    res = assert_same_as_eager(fn, lambda: (t(3),))
    assert ops(res.graphs[0]) == [operator.add]


def test_failing_assert_raises_like_eager():
    res = trace(_assert, (t(2),))
    with pytest.raises(AssertionError, match="wrong shape"):
        res(t(2))


def test_input_mutation_happens_exactly_once_per_call():
    def fn(x):
        x.add_(1)
        return x * 2

    x = torch.zeros(2)
    res = trace(fn, (x,))
    torch.testing.assert_close(x, torch.zeros(2))  # tracing does not run the function
    out = res(x)
    torch.testing.assert_close(x, torch.ones(2))
    torch.testing.assert_close(out, torch.full((2,), 2.0))
    res(x)
    torch.testing.assert_close(x, torch.full((2,), 2.0))
