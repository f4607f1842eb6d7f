"""Functions made inside the traced function leave it as real functions with their own cells."""
import torch

from tracer import trace


def test_returned_nested_function_keeps_defaults_and_cells():
    def make(x, k):
        def inner(v, scale=2, *, shift=1):
            return v * k * scale + shift

        return inner(x), inner

    res = trace(make, (torch.ones(2), 3))
    assert res.graph_breaks == []
    out, inner = res(torch.ones(2), 3)
    expected, eager_inner = make(torch.ones(2), 3)
    torch.testing.assert_close(out, expected)
    v = torch.randn(2)
    torch.testing.assert_close(inner(v), eager_inner(v))
    torch.testing.assert_close(inner(v, 5, shift=0), eager_inner(v, 5, shift=0))
    assert inner.__qualname__ == eager_inner.__qualname__


def test_escaping_counter_shares_its_cell_with_later_calls():
    def counter():
        n = 0

        def bump():
            nonlocal n
            n += 1
            return n

        bump()
        return bump

    res = trace(counter, ())
    bump = res()
    assert res.graph_breaks == [] and [bump(), bump()] == [2, 3]


def test_two_functions_over_one_cell_stay_linked_and_lambdas_escape():
    def pair(x):
        box = x * 2

        def get():
            return box

        def put(v):
            nonlocal box
            box = v

        return get, put, (lambda y: y + 1)

    res = trace(pair, (torch.ones(1),))
    assert res.graph_breaks == []
    get, put, plus_one = res(torch.ones(1))
    torch.testing.assert_close(get(), torch.full((1,), 2.0))
    put(7)
    assert get() == 7 and plus_one(1) == 2


def test_recursive_nested_function_finds_itself():
    def outer(n):
        def fact(k):
            return 1 if k <= 1 else k * fact(k - 1)

        return fact

    res = trace(outer, (3,))
    assert res(3)(5) == 120
