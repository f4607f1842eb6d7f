"""Symbolic sizes and ints inside a trace: arithmetic, tensor ops with computed sizes, slicing,
comparisons that add guards, and the uses that specialise.  Each function is compiled with
`dynamic=True` (every size and int symbolic from the first capture) and compared with eager on
several sizes."""
import operator

import pytest
import torch

from core.guards import ShapeGuard
from helpers import assert_same_structure, ops
from tracer import compile


def run_sizes(fn, make, sizes, *, captures=1):
    """Compile fn with dynamic=True, call it on make(size) for each size like eager; check captures."""
    res = compile(fn, dynamic=True)
    for size in sizes:
        args = make(size)
        assert_same_structure(res(*args), fn(*args))
    assert len(res.captures) == captures, [str(g) for g in res.guards]
    return res


def shape_guards(res) -> list:
    return [str(g) for g in res.guards if isinstance(g, ShapeGuard)]


def rows(size):
    return (torch.randn(size, 6),)


def with_int(size):
    return (torch.randn(size, 6), size)


# -- sizes as values -------------------------------------------------------------------------------

def test_arithmetic_on_sizes_feeds_view_and_reshape():
    def fn(x):
        b, n = x.shape
        return x.view(b * 2, n // 2).reshape(-1, 3).sum(0), b * n - 1, -b, b ** 2, n % 4

    res = run_sizes(fn, rows, [2, 3, 7])
    assert operator.mul in ops(res.graphs[0])


def test_size_queries_are_symbolic():
    def fn(x):
        return x.size(0), x.size(), x.shape[1:], x.numel(), len(x), x.dim(), x.size(-1)

    res = run_sizes(fn, rows, [2, 5, 9])
    out = res(torch.randn(4, 6))
    assert type(out[1]) is torch.Size and type(out[2]) is torch.Size


def test_factories_and_methods_with_symbolic_sizes():
    def fn(x):
        n = x.shape[0]
        return torch.zeros(n, 2) + torch.arange(n).unsqueeze(-1), x.new_ones(n, n).sum(), x.expand(2, n, 6).shape

    run_sizes(fn, rows, [2, 4, 6])


def test_slicing_with_symbolic_bounds():
    def fn(x, k):
        half = x.shape[0] // 2
        return x[:half], x[:, :k], x[half:, : k - 1], x[-half:]

    run_sizes(fn, lambda s: (torch.randn(2 * s, 8), s), [2, 3, 4])


def test_symbolic_int_input_in_tensor_ops():
    def fn(x, n):
        return x * n + n // 3, torch.full((2,), n), x.sum() / n, n

    res = run_sizes(fn, with_int, [2, 3, 11])
    assert [n.name for n in res.graphs[0].graph.nodes if n.op == "placeholder"][-1] == "n"


def test_float_results_of_symbolic_division():
    def fn(x):
        return x * (x.shape[0] / 4), float(x.shape[0]), int(x.shape[1])

    run_sizes(fn, rows, [2, 3, 5])


def test_min_max_abs_on_symbolic_ints():
    def fn(x, n):
        return x[: min(n, x.shape[0])], max(n, 3, x.shape[1]), abs(-n)

    res = run_sizes(fn, lambda s: (torch.randn(s + 1, 4), s), [2, 5, 8])
    targets = ops(res.graphs[0])
    assert torch.sym_min in targets and torch.sym_max in targets


def test_returned_sizes_are_rebuilt_with_their_types():
    def fn(x):
        return x.shape, x.shape[0], (x.shape[0], 4), [x.shape[1]]

    res = compile(fn, dynamic=True)
    for size in (2, 3):
        out = res(torch.randn(size, 5))
        assert out == fn(torch.randn(size, 5))
        assert type(out[0]) is torch.Size and type(out[1]) is int and type(out[3]) is list


# -- comparisons become guards ---------------------------------------------------------------------

def test_a_comparison_that_decides_control_flow_adds_a_guard():
    def fn(x):
        if x.shape[0] > 4:
            return x + 1
        return x - 1

    res = compile(fn, dynamic=True)
    for size in (5, 6, 9):
        x = torch.randn(size, 2)
        assert_same_structure(res(x), fn(x))
    assert len(res.captures) == 1 and "x.size(0) >= 5" in shape_guards(res)
    x = torch.randn(3, 2)
    assert_same_structure(res(x), fn(x))
    assert len(res.captures) == 2 and "2 <= x.size(0) <= 4" in shape_guards(res)


def test_equal_shapes_compared_add_equality_guards():
    def fn(x, y):
        if x.shape == y.shape:
            return x + y
        return x

    res = compile(fn, dynamic=True)
    for size in (2, 3, 4):
        a, b = torch.randn(size, 3), torch.randn(size, 3)
        assert_same_structure(res(a, b), fn(a, b))
    assert len(res.captures) == 1 and "y.size(0) == x.size(0)" in shape_guards(res)
    a, b = torch.randn(2, 3), torch.randn(5, 3)
    assert_same_structure(res(a, b), fn(a, b))
    assert len(res.captures) == 2


def test_comparisons_of_int_inputs_guard_on_them():
    def fn(x, n):
        if n >= 10:
            return x * 2
        if n == 0:
            return x
        return x + n

    res = compile(fn, dynamic=True)
    for n in (3, 4, 9):
        assert_same_structure(res(torch.ones(2), n), fn(torch.ones(2), n))
    assert len(res.captures) == 1 and set(shape_guards(res)) >= {"n <= 9"}
    for n in (0, 10, 12, -4):
        assert_same_structure(res(torch.ones(2), n), fn(torch.ones(2), n))
    assert len(res.captures) == 3  # n == 0 and n >= 10 are new paths; -4 takes the first one's


def test_broadcasting_two_symbolic_sizes_guards_their_equality():
    def fn(x, y):
        return x + y

    res = run_sizes(fn, lambda s: (torch.randn(s, 3), torch.randn(s, 3)), [2, 5])
    assert "y.size(0) == x.size(0)" in shape_guards(res)


# -- uses that specialise --------------------------------------------------------------------------

def test_uses_without_a_symbolic_model_specialise_and_stay_correct():
    table = ["zero", "one", "two", "three", "four", "five"]

    def fn(x, n):
        return x + len(table[n]), f"n={n}", {n: 1}, [0] * n, list(range(n))

    res = compile(fn, dynamic=True)
    for n in (2, 3, 2, 4):
        assert_same_structure(res(torch.zeros(1), n), fn(torch.zeros(1), n))
    assert len(res.captures) == 3  # one per value: each specialised to its own
    assert "n == 2" in shape_guards(res)


def test_division_by_a_symbolic_zero_raises_like_eager():
    def fn(x, n):
        return x + 10 // n

    res = compile(fn, dynamic=True)
    assert_same_structure(res(torch.ones(2), 5), fn(torch.ones(2), 5))
    with pytest.raises(ZeroDivisionError):
        res(torch.ones(2), 0)
    with pytest.raises(ZeroDivisionError):
        fn(torch.ones(2), 0)
    assert_same_structure(res(torch.ones(2), -3), fn(torch.ones(2), -3))


def test_loop_over_a_symbolic_range_specialises():
    def fn(x):
        for i in range(x.shape[0]):
            x = x + i
        return x

    res = compile(fn, dynamic=True)
    for size in (2, 3, 3):
        assert_same_structure(res(torch.zeros(size, 2)), fn(torch.zeros(size, 2)))
    assert len(res.captures) == 2
