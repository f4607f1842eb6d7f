"""Python functions, lambdas and closures: inlined into the caller's graph, identical to eager."""
import torch

from helpers import assert_same_as_eager, ops
from tracer import trace
from core.outcomes import BreakKind

SCALE = 3.0


def t(*shape):
    return torch.randn(*shape)


def helper(a, b=2, *rest, k=1, **kw):
    return a * b + k + len(rest) + len(kw)


def recurse(x, n):
    if n == 0:
        return x
    return recurse(x * 2, n - 1)


def test_global_function_is_inlined_with_every_binding_form():
    def fn(x):
        return helper(x), helper(x, 3, 4, 5, k=2, z=1), helper(b=4, a=x)

    res = assert_same_as_eager(fn, lambda: (t(3),))
    assert len(res.graphs) == 1 and res.graph_breaks == []


def test_guard_on_called_function_identity():
    global helper
    res = trace(lambda x: helper(x), (t(2),))
    original = helper
    try:
        helper = lambda a: a - 100  # noqa: E731
        x = t(2)
        torch.testing.assert_close(res(x), x - 100)
        assert len(res.captures) == 2
    finally:
        helper = original


def test_bad_call_raises_like_eager():
    def fn(x):
        return helper(x, 1, 2, nope=3, k=1, b=2)

    res = trace(fn, (t(2),))
    assert res.graph_breaks == []
    try:
        fn(t(2))
    except TypeError as exc:
        eager = str(exc)
    try:
        res(t(2))
    except TypeError as exc:
        assert str(exc) == eager


def test_bounded_recursion_unrolls():
    res = assert_same_as_eager(lambda x: recurse(x, 5), lambda: (t(2),))
    assert ops(res.graphs[0]).count(ops(res.graphs[0])[0]) == 5


def test_lambda_nested_def_defaults_and_closure():
    def fn(x, n):
        offset = n + 1

        def inner(y, scale=2.0, *, shift=offset):
            return y * scale + shift

        double = lambda z: inner(z) * 2  # noqa: E731
        return double(x), inner(x, shift=0)

    assert_same_as_eager(fn, lambda: (t(3), 4))


def test_nonlocal_write_in_nested_function():
    def fn(x):
        count = 0

        def bump(v):
            nonlocal count
            count += 1
            return v + count

        return bump(bump(x)), count

    assert_same_as_eager(fn, lambda: (t(3),))


def make_counter():
    total = 0

    def step(x):
        nonlocal total
        total = total + 1
        return x * total

    return step


def test_write_to_pre_existing_cell_is_replayed():
    traced_fn, eager_fn = make_counter(), make_counter()
    res = trace(traced_fn, (t(2),))
    assert traced_fn.__closure__[0].cell_contents == 0  # tracing changed nothing real
    x = t(2)
    for _ in range(3):
        torch.testing.assert_close(res(x), eager_fn(x))
        assert traced_fn.__closure__[0].cell_contents == eager_fn.__closure__[0].cell_contents


def test_free_variable_of_traced_function_is_guarded():
    def make(scale):
        return lambda x: x * scale

    fn = make(2.0)
    res = trace(fn, (t(2),))
    assert any("cell_contents" in str(g) for g in res.guards)
    x = t(2)
    torch.testing.assert_close(res(x), x * 2.0)


def test_function_defined_in_another_module_uses_its_globals():
    import tests_support_module as other

    res = assert_same_as_eager(lambda x: other.scaled(x), lambda: (t(3),))
    assert any("__globals__" in str(g) for g in res.guards)


def test_async_function_call_breaks_and_runs_eagerly():
    async def coro(x):
        return x

    def fn(x):
        c = coro(x)
        c.close()
        return x + 1

    res = trace(fn, (t(2),))
    assert res.graphs == [] and res.graph_breaks[0].kind is BreakKind.UNSUPPORTED_CALL
    assert "async" in res.graph_breaks[0].reason
    x = t(2)
    torch.testing.assert_close(res(x), x + 1)


def test_break_inside_callee_is_reported_at_the_call_with_inner_location():
    def inner(x):
        print("hi")
        return x

    def fn(x):
        return inner(x) + 1

    res = trace(fn, (t(2),))
    (brk,) = res.graph_breaks
    assert brk.reason.startswith("print() writes to stdout")
    assert brk.instruction == "CALL" and brk.lineno == inner.__code__.co_firstlineno + 5
    (frame,) = brk.inside
    assert frame.name.endswith("inner") and frame.lineno == inner.__code__.co_firstlineno + 1
    assert f"inside {frame.name}, {frame.filename}:{frame.lineno}" in str(brk)


def test_returning_a_nested_function_rebuilds_it_with_its_cell():
    def fn(x):
        return lambda: x

    res = trace(fn, (t(2),))
    assert res.graph_breaks == []
    x = t(2)
    assert res(x)() is x
