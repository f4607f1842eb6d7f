"""NOP, RESUME, POP_TOP, PUSH_NULL, COPY, SWAP, EXTENDED_ARG."""
import dis
import operator

import torch

from helpers import assert_same_as_eager, opnames, ops


def t(*shape):
    return torch.randn(*shape)


def test_resume_and_pop_top_of_unused_expression():
    def fn(x):
        x.sum()  # value discarded: POP_TOP, and the op is dead code in the graph
        1 + 2
        return x * 2

    assert {"RESUME", "POP_TOP"} <= opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(3),))
    assert ops(res.graphs[0]) == [operator.mul]


def test_nop_from_pass_statement():
    def fn(x):
        pass
        return x + 1

    res = assert_same_as_eager(fn, lambda: (t(2),))
    assert ops(res.graphs[0]) == [operator.add]


def test_push_null_for_calling_a_local_and_null_bit_of_load_global():
    def fn(x, n):
        f = torch.sin
        return torch.cos(f(x)) + abs(n)

    assert "PUSH_NULL" in opnames(fn)
    assert any(ins.opname == "LOAD_GLOBAL" and ins.arg & 1 for ins in dis.get_instructions(fn))  # abs
    res = assert_same_as_eager(fn, lambda: (t(4), -2))
    assert ops(res.graphs[0]) == [torch.sin, torch.cos, operator.add]


def test_tuple_swap_assignment():
    def fn(x, y):
        x, y = y, x
        return x - y

    res = assert_same_as_eager(fn, lambda: (t(3), t(3)))
    sub = [n for n in res.graphs[0].graph.nodes if n.op == "call_function"][0]
    assert [a.target for a in sub.args] == ["y", "x"]


def test_three_way_rotation():
    def fn(a, b, c):
        a, b, c = c, a, b
        return a * 100 + b * 10 + c

    res = assert_same_as_eager(fn, lambda: (1, 2, 3), graphs=0)
    assert res(1, 2, 3) == 312
    assert res(4, 5, 6) == 645


def test_copy_in_chained_comparison_on_constants():
    def fn(x, n):
        if 0 < n < 10:
            return x + n
        return x - n

    assert {"COPY", "SWAP"} <= opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(3), 4))
    assert ops(res.graphs[0]) == [operator.add]


def test_chained_comparison_with_tensor_ends_and_constant_middle():
    def fn(x, n):
        return x < n, n < 3 < n + 1, n - 1 < 3 < n + 2

    assert_same_as_eager(fn, lambda: (t(3), 2))


def test_chained_comparison_false_in_the_middle():
    def fn(n):
        return 0 < n < 10 < 100, 5 > n > 1

    assert assert_same_as_eager(fn, lambda: (12,), graphs=0)(12) == (False, False)


def test_copy_in_chained_assignment():
    def fn(x):
        a = b = x + 1
        return a * b

    assert "COPY" in opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(3),))
    assert ops(res.graphs[0]) == [operator.add, operator.mul]


def test_copy_in_augmented_subscript_free_code():
    def fn(x, n):
        n += 1
        n *= 3
        return x * n

    res = assert_same_as_eager(fn, lambda: (t(2), 2))
    (mul,) = [n for n in res.graphs[0].graph.nodes if n.op == "call_function"]
    assert mul.args[1] == 9


def test_extended_arg_with_many_constants():
    # More than 256 distinct constants: loading the late ones needs EXTENDED_ARG.
    # n + 0.5 + 1.5 + ... cannot be folded by the compiler: one LOAD_CONST per term.
    terms = " + ".join(f"{i}.5" for i in range(300))
    namespace = {}
    exec(f"def fn(x, n):\n    c = n + {terms}\n    return x + c\n", namespace)
    fn = namespace["fn"]
    assert "EXTENDED_ARG" in opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(2), 7))
    (add,) = [n for n in res.graphs[0].graph.nodes if n.op == "call_function"]
    assert add.target is operator.add and add.args[1] == 7 + sum(i + 0.5 for i in range(300))


def test_extended_arg_with_many_locals():
    body = "\n".join(f"    v{i} = x + {i}" for i in range(300))
    namespace = {"torch": torch}
    exec(f"def fn(x):\n{body}\n    return v299 - v0\n", namespace)
    fn = namespace["fn"]
    assert "EXTENDED_ARG" in opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(2),))
    assert ops(res.graphs[0]) == [operator.add, operator.add, operator.sub]
