"""Generator functions and generator expressions consumed inside the traced function."""
import torch

from helpers import assert_same_as_eager
from tracer import trace
from vt.outcome import BreakKind


def t(*shape):
    return torch.randn(*shape)


def squares(x, n):
    for i in range(n):
        yield x * i
    x.add_(1)  # runs only once the consumer asks past the last item


def test_generator_function_in_a_for_loop_with_effect_after_last_yield():
    def fn(x):
        total = x
        for item in squares(x, 3):
            total = total + item
        return total

    res = trace(fn, (t(2),))
    assert res.graph_breaks == [] and len(res.graphs) == 1
    x = t(2)
    y = x.clone()
    torch.testing.assert_close(res(x), fn(y))
    torch.testing.assert_close(x, y)


def test_generator_expression_is_lazy_and_ordered_like_eager():
    def fn(x):
        gen = (x * k for k in (1, 2, 3))
        first = x
        for value in gen:
            first = first - value
        return first

    assert_same_as_eager(fn, lambda: (t(3),))


def test_partially_consumed_generator_keeps_its_position():
    def counter(x):
        yield x + 1
        yield x + 2
        yield x + 3

    def fn(x):
        gen = counter(x)
        out = []
        for value in gen:
            out = out + [value]
            if len(out) == 2:
                break
        for value in gen:
            out = out + [value * 10]
        return out

    assert_same_as_eager(fn, lambda: (t(2),))


def test_returning_a_generator_breaks_and_runs_eagerly():
    def fn(x):
        return (x + k for k in range(2))

    res = trace(fn, (t(2),))
    assert res.graph_breaks[0].kind is BreakKind.UNSUPPORTED_VALUE
    assert "generator" in res.graph_breaks[0].reason
    assert len(list(res(t(2)))) == 2
