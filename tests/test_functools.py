"""functools: partial, wraps, reduce, lru_cache / cache, and bound methods of builtin types as values."""
import functools
import operator

import pytest
import torch

from helpers import all_ops, assert_same_as_eager
from tracer import trace
from core.outcomes import BreakKind


def combine(a, b, c=1.0, *, scale=1.0):
    return (a + b * c) * scale


PARTIAL = functools.partial(combine, c=2.0)
NESTED = functools.partial(functools.partial(combine, scale=3.0), c=0.5)


def x3():
    return (torch.randn(3),)


def test_partial_made_before_the_call_is_inlined_and_guarded():
    res = assert_same_as_eager(lambda x: PARTIAL(x, x) + PARTIAL(x, 1.0, c=4.0), x3)
    assert all_ops(res) == [operator.mul, operator.add, operator.mul, operator.add, operator.mul, operator.add]
    guards = "\n".join(map(str, res.guards))
    assert "functools.partial object" in guards and "PARTIAL'].keywords['c']" in guards


def test_partial_made_inside_user_function_torch_function_and_builtin():
    def fn(x):
        add_twice = functools.partial(torch.add, alpha=2)
        scaled = functools.partial(combine, scale=0.5)
        clip = functools.partial(max, 0)
        return add_twice(x, x), scaled(x, x, c=3.0), clip(-4), clip(7)

    res = assert_same_as_eager(fn, x3)
    assert torch.add in all_ops(res)


def test_partial_attributes_and_flattening_follow_python():
    def fn(x):
        inner = functools.partial(combine, x, scale=2.0)
        outer = functools.partial(inner, 1.0, c=3.0)
        return (outer.func is combine, outer.args[1], len(outer.args), outer.keywords, outer(),
                NESTED.func is combine, NESTED.args, NESTED.keywords, NESTED(x, x))

    assert_same_as_eager(fn, x3)


def test_partial_keyword_at_call_wins_and_callable_is_true():
    def fn(x):
        p = functools.partial(combine, c=2.0)
        return p(x, x, c=5.0), callable(p), callable(PARTIAL), isinstance(p, functools.partial)

    assert_same_as_eager(fn, x3)


def test_partial_of_non_callable_raises_like_eager():
    res = trace(lambda x: functools.partial(3)(x), x3())
    assert res.graph_breaks[0].kind is BreakKind.PYTHON_EXCEPTION
    with pytest.raises(TypeError):
        res(torch.randn(3))


def test_partial_guard_recaptures_when_a_frozen_argument_changes():
    holder = {"p": functools.partial(combine, c=2.0)}
    fn = lambda x: holder["p"](x, x)  # noqa: E731
    res = trace(fn, x3())
    x = torch.randn(3)
    torch.testing.assert_close(res(x), fn(x))
    holder["p"] = functools.partial(combine, c=7.0)
    torch.testing.assert_close(res(x), fn(x))


def announce(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs) + 1

    return wrapper


@announce
def decorated(x, y):
    """Adds two things."""
    return x * y


def test_wraps_decorated_function_inlines_and_exposes_metadata():
    def fn(x):
        return decorated(x, 2.0), decorated.__name__, decorated.__doc__, decorated.__wrapped__(x, 3.0)

    res = assert_same_as_eager(fn, x3)
    assert all_ops(res) == [operator.mul, operator.add, operator.mul]


def test_wraps_applied_inside_the_traced_function():
    def fn(x):
        def deco(f):
            @functools.wraps(f)
            def inner(*args):
                return f(*args) * 2

            return inner

        doubled = deco(combine)
        other = deco(combine)
        return (doubled(x, x), doubled.__name__, doubled.__doc__, doubled.__wrapped__ is combine,
                doubled is other, doubled is doubled)

    assert_same_as_eager(fn, x3)


def test_reduce_with_python_function_operator_and_torch_function():
    def fn(x):
        return (functools.reduce(lambda a, b: a * b, [x, x + 1, x + 2]),
                functools.reduce(operator.add, (x, x, x), 1.0),
                functools.reduce(torch.add, [x, x]),
                functools.reduce(operator.mul, range(1, 5)),
                functools.reduce(operator.add, [], 7))

    res = assert_same_as_eager(fn, x3)
    assert torch.add in all_ops(res)


def test_reduce_of_empty_sequence_raises_like_eager():
    res = trace(lambda x: functools.reduce(operator.add, []) + x, x3())
    assert res.graph_breaks == []  # the TypeError is modelled: the entry raises it
    with pytest.raises(TypeError, match="reduce\\(\\) of empty iterable with no initial value"):
        res(torch.randn(3))


@functools.lru_cache(maxsize=None)
def cached_scale(n):
    return n * 2.0


@functools.cache
def cached_shift(x):
    return x + 1


def test_lru_cache_and_cache_inline_the_wrapped_function_without_touching_the_cache():
    cached_scale.cache_clear()
    cached_shift.cache_clear()
    fn = lambda x: cached_shift(x) * cached_scale(3)  # noqa: E731
    res = trace(fn, x3())
    assert res.graph_breaks == [] and len(res.graphs) == 1
    x = torch.randn(3)
    torch.testing.assert_close(res(x), (x + 1) * 6.0)
    assert cached_scale.cache_info().currsize == 0 and cached_shift.cache_info().currsize == 0
    assert "cached function cached_scale" in "\n".join(map(str, res.guards))


def test_cache_info_breaks_with_a_reason():
    res = trace(lambda x: (cached_scale.cache_info(), x + 1), x3())
    assert res.graph_breaks[0].kind is BreakKind.UNSUPPORTED_CALL
    assert "cache" in res.graph_breaks[0].reason


def test_builtin_methods_taken_as_values():
    from vt.data.constant import BuiltinMethodVariable

    def fn(x):
        items = []
        push = items.append
        push(x)
        push(x * 2)
        upper = "ab".upper
        table = {"k": 3}
        get = table.get
        return items, upper(), get("k"), get("z", 0), callable(push), type(upper) is type(len)

    assert_same_as_eager(fn, x3)
    from vt.data.container_methods import ContainerMethodVariable
    from vt.data.constant import ConstantMethodVariable

    assert issubclass(ContainerMethodVariable, BuiltinMethodVariable)
    assert issubclass(ConstantMethodVariable, BuiltinMethodVariable)


def test_callable_on_everything():
    import torch.nn as nn

    net = nn.Linear(2, 2)

    def fn(x):
        return (callable(x), callable(3), callable("s"), callable(len), callable(torch.add), callable(combine),
                callable(lambda: 1), callable(net), callable([]), callable({}), callable((1,)), callable(int),
                callable(PARTIAL), callable(cached_scale), callable([].append), callable(iter([1])))

    res = trace(fn, x3())
    assert res.graph_breaks == []
    x = torch.randn(3)
    assert res(x) == fn(x)


def test_partial_holding_a_tensor_made_before_the_call():
    weight = torch.randn(3)
    scale = functools.partial(torch.mul, weight)

    res = assert_same_as_eager(lambda x: scale(x) + scale.args[0], x3)
    placeholders = [n for n in res.graphs[0].graph.nodes if n.op == "placeholder"]
    assert len(placeholders) == 2  # x and the frozen tensor, read through scale.args[0]
    with torch.no_grad():
        weight.add_(1.0)  # same tensor object, new values: no recapture, the graph sees them
    x = torch.randn(3)
    torch.testing.assert_close(res(x), scale(x) + weight)


def test_wrapped_function_made_inside_is_returned_with_the_copied_attributes():
    def fn(x):
        @functools.wraps(combine)
        def inner(*args):
            return combine(*args)

        return inner

    res = trace(fn, x3())
    assert res.graph_breaks == []
    made = res(torch.randn(3))
    assert made.__wrapped__ is combine and made.__name__ == combine.__name__
    assert made.__qualname__ == combine.__qualname__ and made.__doc__ == combine.__doc__
    assert made.__dict__ == fn(None).__dict__
