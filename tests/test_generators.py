"""Generator functions and generator expressions consumed inside the traced function."""
import torch

from helpers import assert_same_as_eager
from tracer import trace
from core.outcomes import BreakKind


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


# -- yield from, send, throw, close ---------------------------------------------------------------

def inner(x, log):
    log.append("inner start")
    got = yield x + 1
    log.append(("inner got", got))
    yield x + 2
    return "inner result"


def outer(x, log):
    result = yield from inner(x, log)
    log.append(("outer got", result))
    yield from [x * 3, x * 4]
    yield from (x - k for k in range(2))


def test_yield_from_generators_lists_and_generator_expressions_with_return_value():
    def fn(x, log):
        return [item for item in outer(x, log)], log

    res = assert_same_as_eager(fn, lambda: (t(2), []))
    assert res.graph_breaks == []


def test_send_passes_values_through_yield_from():
    def fn(x, log):
        gen = outer(x, log)
        first = next(gen)
        second = gen.send("hello")
        rest = list(gen)
        return first, second, rest, log

    assert_same_as_eager(fn, lambda: (t(2), []))


def accumulate(x):
    total = x
    while True:
        try:
            value = yield total
        except ValueError as e:
            total = total * 0 + len(e.args)
            continue
        except GeneratorExit:
            return
        if value is None:
            return total
        total = total + value


def test_send_throw_and_close_like_eager():
    def fn(x, log):
        gen = accumulate(x)
        a = next(gen)
        b = gen.send(1.0)
        c = gen.throw(ValueError("reset", 2))
        d = gen.send(3.0)
        gen.close()
        log.append("closed")
        try:
            next(gen)
        except StopIteration:
            log.append("finished")
        return a, b, c, d, log

    res = assert_same_as_eager(fn, lambda: (t(2), []))
    assert res.graph_breaks == []


def test_return_value_of_a_generator_reaches_stop_iteration():
    def fn(x):
        gen = accumulate(x)
        next(gen)
        try:
            gen.send(None)
        except StopIteration as e:
            return e.value + 1, e.args[0] is e.value

    assert_same_as_eager(fn, lambda: (t(2),))


def test_exception_raised_in_a_generator_reaches_the_consumer():
    def failing(x):
        yield x
        raise KeyError("from the generator")

    def fn(x, log):
        try:
            for item in failing(x):
                log.append("item")
        except KeyError as e:
            log.append(e.args)
        return x + 1, log

    assert_same_as_eager(fn, lambda: (t(2), []))


def test_throw_into_an_unstarted_generator_raises_at_once():
    def fn(x):
        gen = accumulate(x)
        try:
            gen.throw(TypeError("early"))
        except TypeError as e:
            return x + 1, e.args, list(gen)

    assert_same_as_eager(fn, lambda: (t(2),))



def logged_range(n, log):
    for i in range(n):
        yield i
    log.append(("done", n))  # the final run: only once `next` asks past the last item
    return n * 10


def test_the_final_run_of_a_generator_keeps_its_effects_and_return_value():
    def fn(x, log):
        it = logged_range(1, log)
        first = next(it)
        try:
            next(it)
        except StopIteration as stop:
            value = stop.value
        after = next(it, "default")  # a finished generator: no second final run
        drained = list(logged_range(2, log)) + [sum(logged_range(3, log))]
        return x + first, value, after, drained, list(log)

    res = assert_same_as_eager(fn, lambda: (t(2), []))
    assert res.graph_breaks == []


def test_next_past_the_end_of_a_generator_without_return_value_raises_an_empty_stop_iteration():
    def bare(log):
        log.append("ran")
        return
        yield

    def fn(x, log):
        it = bare(log)
        try:
            next(it)
        except StopIteration as stop:
            return x + 1, stop.args, stop.value, list(log)

    assert_same_as_eager(fn, lambda: (t(2), []))
