"""Starred unpacking (UNPACK_EX) and calls with *args / **kwargs (CALL_FUNCTION_EX), identical to eager."""
import itertools
import operator

import pytest
import torch

from helpers import assert_raises_like_eager, assert_same_as_eager, assert_same_outcome, opnames, ops
from tracer import trace
from core.outcomes import BreakKind


def t(*shape):
    return torch.randn(*shape)


def tensors(*lengths):
    return tuple(t(n) for n in lengths)


def kinds(fn, *args):
    return [brk.kind for brk in trace(fn, args).graph_breaks]


# -- UNPACK_EX ------------------------------------------------------------------------------------

def test_star_in_every_position_over_a_tuple_of_tensors():
    def fn(xs):
        a, *rest = xs
        *init, z = xs
        b, *middle, c = xs
        return torch.stack([a, z, b, c]), rest, init, middle

    assert "UNPACK_EX" in opnames(fn)
    res = assert_same_as_eager(fn, lambda: (tensors(2, 2, 2, 2),))
    assert ops(res.graphs[0]) == [torch.stack]


def test_star_takes_nothing_and_the_rest_is_a_new_list():
    def fn(x):
        a, *rest, b = (x, x + 1)
        rest.append(1)
        return a, rest, b

    assert_same_as_eager(fn, lambda: (t(2),))


def test_star_over_shape_range_string_list_and_dict():
    def fn(x):
        first, *others = x.shape
        *low, high = range(x.shape[0])
        head, *tail = "abc"
        p, *q = [x, 1, 2]
        k, *ks = {"a": 1, "b": 2}
        return x.sum(dim=0), first, others, low, high, head, tail, p, q, k, ks

    assert_same_as_eager(fn, lambda: (t(3, 4, 5),))


def test_star_over_iterators_drains_them():
    def fn(xs, ys):
        (a, b), *pairs = zip(xs, ys)
        first, *mapped = map(torch.neg, xs)
        it = iter(xs)
        one, *more = it
        return a + b, pairs, first, mapped, one, more, list(it)

    assert_same_as_eager(fn, lambda: (tensors(2, 2, 2), tensors(2, 2, 2)))


def test_star_with_too_few_values_breaks_like_eager():
    def fn(xs):
        a, b, *rest, c = xs
        return a

    assert kinds(fn, tensors(1, 1)) == []
    res = trace(fn, (tensors(1, 1),))
    with pytest.raises(ValueError, match="not enough values to unpack"):
        res(tensors(1, 1))


def test_star_over_a_tensor_unpacks_its_rows():
    def fn(x):
        a, *rest = x
        return a - rest[1], len(rest)

    assert kinds(fn, t(3, 2)) == []
    assert_same_as_eager(fn, lambda: (t(3, 2),))


# -- CALL_FUNCTION_EX ---------------------------------------------------------------------------------

def test_torch_function_with_star_args():
    def fn(x, y):
        args = (x, y)
        return torch.add(*args), torch.cat([*args]), torch.stack(list(args))

    assert "CALL_FUNCTION_EX" in opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(2), t(2)))
    assert ops(res.graphs[0]) == [torch.add, torch.cat, torch.stack]


def test_star_args_and_star_star_kwargs_together():
    def fn(x, y):
        args = [x]
        options = {"alpha": 2}
        return torch.add(*args, y, **options), torch.sum(x, **{"dim": 0, "keepdim": True})

    res = assert_same_as_eager(fn, lambda: (t(2, 3), t(2, 3)))
    nodes = [n for n in res.graphs[0].graph.nodes if n.op == "call_function"]
    assert nodes[0].kwargs == {"alpha": 2} and nodes[1].kwargs == {"dim": 0, "keepdim": True}


def test_tensor_method_with_star_shape():
    def fn(x):
        shape = x.shape
        return x.reshape(*shape[::-1]), x.view(-1, *shape[1:]), x.permute(*range(x.dim() - 1, -1, -1))

    assert_same_as_eager(fn, lambda: (t(2, 3, 4),))


def test_builtins_with_star_args():
    def fn(xs, pairs):
        return max(*[1, 5, 3]), list(zip(*pairs)), len(*[xs]), sorted(*[[3, 1, 2]], reverse=True), \
            torch.stack(list(map(operator.add, *zip(*[(x, x) for x in xs]))))

    assert_same_as_eager(fn, lambda: (tensors(2, 2), ((1, "a"), (2, "b"), (3, "c"))))


def test_unzip_idiom_with_star_args():
    def fn(xs, ys):
        pairs = list(zip(xs, ys))
        firsts, seconds = zip(*pairs)
        return torch.stack(firsts) + torch.stack(seconds)

    assert_same_as_eager(fn, lambda: (tensors(3, 3), tensors(3, 3)))


def test_star_args_from_an_iterator_and_a_generator_of_items():
    def fn(xs):
        return torch.stack(*[xs]), torch.add(*iter(xs)), list(itertools.chain(*[xs, xs]))

    assert_same_as_eager(fn, lambda: (tensors(2, 2),))


def test_keywords_must_be_strings():
    def fn(x):
        return torch.add(x, x, **{1: 2})

    assert kinds(fn, t(1)) == []


def helper(a, b=2, *rest, k=1, **kw):
    return a * b + k + len(rest) + len(kw)


def test_user_function_with_star_args_and_kwargs():
    def fn(x):
        args = (x, 3, 4)
        kwargs = {"k": 5, "extra": 1}
        return helper(*args, **kwargs), helper(*(x,)), helper(**{"a": x})

    assert_same_as_eager(fn, lambda: (t(2),))


def test_lambda_with_star_args():
    def fn(x):
        scale = lambda *vs, factor=1: sum(vs) * factor  # noqa: E731
        return scale(*[x, x], **{"factor": 3})

    assert_same_as_eager(fn, lambda: (t(2),))


# -- CPython's messages for what cannot be unpacked -------------------------------------------------

class _Opaque:
    """Neither iterable nor a mapping."""


def _callee(*args, **kwargs):
    return args, kwargs


@pytest.mark.parametrize("make", [_Opaque, lambda: 1, lambda: None], ids=["object", "int", "None"])
@pytest.mark.parametrize("body", [
    lambda o: [*o], lambda o: (*o,), lambda o: [1, *o], lambda o: {*o}, lambda o: _callee(*o),
    lambda o: _callee(1, *o), lambda o: _callee(**o), lambda o: _callee(a=1, **o), lambda o: {**o},
    lambda o: 1 in o,
], ids=["list", "tuple", "list-after-item", "set", "call", "call-after-arg", "call-kwargs",
        "call-kwargs-after-keyword", "dict", "in"])
def test_what_cannot_be_unpacked_raises_eagers_exact_message(make, body):
    def fn(o):
        return body(o)

    traced = assert_same_outcome(fn, lambda: (make(),))  # the same exception type and message
    if make is _Opaque:  # raised by the trace itself (not a break that ran the code for real)
        assert traced.graph_breaks == []


def test_a_keyword_given_twice_names_the_function_as_eager_does():
    def fn(x):
        return _callee(x, **{"a": 1}, **{"a": 2})

    assert_raises_like_eager(fn, lambda: (t(2),))
