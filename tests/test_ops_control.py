"""Jumps on conditions known while tracing, loops (unrolled), and data-dependent branches."""
import operator

import pytest
import torch

from helpers import assert_same_as_eager, opnames, ops
from tracer import compile, trace
from core.outcomes import BreakKind


def t(*shape):
    return torch.randn(*shape)


@pytest.mark.parametrize("flag", [True, False])
def test_if_on_bool_argument(flag):
    def fn(x, flag):
        if flag:
            return x.sin()
        return x.cos()

    res = assert_same_as_eager(fn, lambda: (t(3), flag))
    assert ops(res.graphs[0]) == (["sin"] if flag else ["cos"])


def test_if_else_chain_on_int():
    def fn(x, n):
        if n > 5:
            y = x * 3
        elif n > 2:
            y = x * 2
        else:
            y = x
        return y + n

    for n in (1, 3, 7):
        res = assert_same_as_eager(fn, lambda: (t(2), n))
        assert ops(res.graphs[0]).count(operator.mul) == (0 if n == 1 else 1)


def test_if_on_shape_and_dtype():
    def fn(x):
        if x.shape[0] > 2 and x.dtype == torch.float32:
            return x[:2]
        return x * 2

    res = assert_same_as_eager(fn, lambda: (t(4, 2),))
    assert ops(res.graphs[0]) == [operator.getitem]
    res = assert_same_as_eager(fn, lambda: (t(1, 2),))
    assert ops(res.graphs[0]) == [operator.mul]


def test_boolean_operators_short_circuit():
    def fn(x, a, b):
        c = a and b
        d = a or b
        if not a or (b and x.ndim == 2):
            return x + 1, c, d
        return x - 1, c, d

    assert {"JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP"} <= opnames(fn)
    for a, b in ((0, 5), (3, 0), (3, 4)):
        assert_same_as_eager(fn, lambda: (t(2, 2), a, b))


def test_conditional_expression():
    def fn(x, n):
        return x * 2 if n else x - 2

    assert ops(assert_same_as_eager(fn, lambda: (t(2), 0)).graphs[0]) == [operator.sub]


def test_if_none_and_if_not_none():
    def fn(x, bias):
        if bias is None:
            return x * 2
        if bias is not None:
            return x + bias
        return x

    assert {"POP_JUMP_FORWARD_IF_NONE", "POP_JUMP_FORWARD_IF_NOT_NONE"} <= opnames(fn)
    assert ops(assert_same_as_eager(fn, lambda: (t(3), None)).graphs[0]) == [operator.mul]
    assert ops(assert_same_as_eager(fn, lambda: (t(3), t(3))).graphs[0]) == [operator.add]


def test_while_loop_on_known_counter_is_unrolled():
    def fn(x, n):
        i = 0
        while i < n:
            x = x * 2
            i += 1
        return x, i

    res = assert_same_as_eager(fn, lambda: (t(2), 4))
    assert ops(res.graphs[0]) == [operator.mul] * 4


def test_while_true_with_break():
    def fn(x):
        i = 0
        while True:
            x = x + i
            i += 1
            if i == 3:
                break
        return x

    res = assert_same_as_eager(fn, lambda: (t(2),))
    assert ops(res.graphs[0]) == [operator.add] * 3


def test_for_range_unrolled():
    def fn(x):
        acc = x
        for i in range(3):
            acc = acc + i
        return acc

    assert {"GET_ITER", "FOR_ITER"} <= opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(2),))
    nodes = [n for n in res.graphs[0].graph.nodes if n.op == "call_function"]
    assert [n.args[1] for n in nodes] == [0, 1, 2]


def test_for_range_bounds_from_shape():
    def fn(x):
        total = x[0] * 0
        for i in range(1, x.shape[0], 2):
            total = total + x[i]
        return total

    res = assert_same_as_eager(fn, lambda: (t(6, 2),))
    assert ops(res.graphs[0]) == [operator.getitem, operator.mul] + [operator.getitem, operator.add] * 3
    res = assert_same_as_eager(fn, lambda: (t(3, 2),))
    assert ops(res.graphs[0]).count(operator.add) == 1


def test_for_range_on_shape_recaptures_for_new_shape():
    def fn(x):
        for i in range(x.shape[0]):
            x = x + 1
        return x

    res = compile(fn)
    for n in (2, 5, 2):
        x = t(n)
        torch.testing.assert_close(res(x), x + n)
    assert len(res.captures) == 2
    assert [len(ops(gm)) for gm in res.graphs] == [2, 5]


def test_nested_loops():
    def fn(x, n):
        out = x * 0
        for i in range(n):
            for j in range(i + 1):
                if j == 1:
                    continue
                out = out + x * (i + j)
        return out

    res = assert_same_as_eager(fn, lambda: (t(3), 3))
    # (i, j) pairs with j != 1: (0,0), (1,0), (2,0), (2,2)
    assert ops(res.graphs[0]).count(operator.add) == 4


def test_for_over_tuple_list_and_enumerate_free_zip():
    def fn(x, y):
        out = []
        for t_ in (x, y):
            out += [t_ * 2]
        total = x * 0
        for v in out:
            total = total + v
        return total, out

    assert_same_as_eager(fn, lambda: (t(2), t(2)))


def test_for_over_torch_size_and_string():
    def fn(x, s):
        n = 1
        for d in x.shape:
            n = n * d
        for ch in s:
            n = n + len(ch)
        return x.reshape(n - len(s))

    res = assert_same_as_eager(fn, lambda: (t(2, 3), "ab"))
    assert ops(res.graphs[0]) == ["reshape"]


def test_return_from_inside_loop():
    def fn(x):
        for i in range(10):
            x = x + 1
            if i == 2:
                return x
        return None

    res = assert_same_as_eager(fn, lambda: (t(2),))
    assert ops(res.graphs[0]) == [operator.add] * 3


def test_loop_over_list_grown_inside_the_loop():
    def fn(x):
        items = [x]
        for v in items:
            if len(items) < 3:
                items += [v + 1]
        return items

    assert_same_as_eager(fn, lambda: (t(1),))


def test_if_tensor_is_a_data_dependent_break_with_eager_result():
    def fn(x):
        y = x.sum()
        if y:
            return x + 1
        return x - 1

    res = assert_same_as_eager(fn, lambda: (t(3),), graphs=1, breaks=1)
    (brk,) = res.graph_breaks
    assert brk.kind is BreakKind.DATA_DEPENDENT
    assert brk.source_line == "if y:"
    assert brk.lineno == fn.__code__.co_firstlineno + 2
    assert brk.filename == __file__
    assert "torch.where" in brk.hint or "torch.cond" in brk.hint
    for value in (torch.ones(3), -torch.ones(3), torch.zeros(3)):
        torch.testing.assert_close(res(value), fn(value))


def test_if_on_tensor_comparison_breaks():
    def fn(x):
        if x.max() > 0:
            return x * 2
        return x

    res = assert_same_as_eager(fn, lambda: (t(4),), graphs=1, breaks=1)
    assert res.graph_breaks[0].kind is BreakKind.DATA_DEPENDENT
    assert res.graph_breaks[0].source_line == "if x.max() > 0:"


def test_while_on_tensor_breaks():
    def fn(x):
        while x.sum() < 10:
            x = x + 1
        return x

    res = trace(fn, (torch.zeros(2),))
    assert len(res.graphs) == 1 and res.graph_breaks[0].kind is BreakKind.DATA_DEPENDENT
    torch.testing.assert_close(res(torch.zeros(2)), torch.full((2,), 5.0))


def test_and_with_tensor_as_last_operand_returns_the_tensor():
    def fn(x, flag):
        return flag and x

    res = assert_same_as_eager(fn, lambda: (t(2), True), graphs=0)
    x = t(2)
    assert res(x, True) is x
    assert res(x, 0) == 0


def test_and_with_tensor_as_first_operand_breaks():
    def fn(x, flag):
        return (x.sum() > 0) and flag

    res = assert_same_as_eager(fn, lambda: (t(2), 1), graphs=1, breaks=1)
    assert res.graph_breaks[0].kind is BreakKind.DATA_DEPENDENT
