"""LOAD_FAST / STORE_FAST / DELETE_FAST, LOAD_CONST, LOAD_GLOBAL, LOAD_ATTR, LOAD_METHOD."""
import math
import operator

import pytest
import torch

from helpers import all_ops, assert_same_as_eager, opnames, ops
from tracer import compile, trace
from core.outcomes import BreakKind

SCALE = 3
WEIGHT = torch.randn(4, 4)
OFFSET = 0.5


def t(*shape):
    return torch.randn(*shape)


def test_load_and_store_fast():
    def fn(x, y):
        a = x
        b = a + y
        a = b * 2
        return a

    assert {"LOAD_FAST", "STORE_FAST"} <= opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(3), t(3)))
    assert ops(res.graphs[0]) == [operator.add, operator.mul]


def test_store_fast_rebinding_in_sequence_keeps_latest_value():
    def fn(x):
        y = x + 1
        y = y + 1
        y = y + 1
        return y

    res = assert_same_as_eager(fn, lambda: (t(2, 3),))
    assert ops(res.graphs[0]) == [operator.add] * 3


def test_delete_fast_then_rebind():
    def fn(x):
        a = x + 1
        del a
        a = x - 1
        return a

    assert "DELETE_FAST" in opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(3),))
    assert ops(res.graphs[0]) == [operator.sub]


def test_unbound_local_breaks_and_raises_like_eager():
    def fn(x, flag):
        if flag:
            a = x + 1
        return a  # noqa: F821 - unbound when flag is False

    res = trace(fn, (t(2), False))
    assert res.graphs == []
    assert res.graph_breaks == []
    with pytest.raises(UnboundLocalError):
        res(t(2), False)


def test_deleted_local_read_breaks_and_raises_like_eager():
    def fn(x):
        a = x + 1
        del a
        return a

    res = trace(fn, (t(2),))
    assert res.graphs == []
    assert res.graph_breaks == []
    with pytest.raises(UnboundLocalError):
        res(t(2))


@pytest.mark.parametrize("value", [0, -7, 2.5, True, None, "text", b"raw", (1, (2.0, "x")), 1 + 2j, Ellipsis])
def test_load_const_of_each_constant_type_is_returned(value):
    fn = eval(f"lambda: {value!r}")
    res = assert_same_as_eager(fn, lambda: (), graphs=0)
    assert res.graph_breaks == []


def test_load_const_in_tensor_arithmetic():
    def fn(x):
        return x * 2.5 + 1 - 2 + True

    res = assert_same_as_eager(fn, lambda: (t(4),))
    assert ops(res.graphs[0]) == [operator.mul, operator.add, operator.sub, operator.add]


def test_unused_arguments_are_not_guarded_or_placeholders():
    def fn(x, unused):
        return x + 1

    res = assert_same_as_eager(fn, lambda: (t(2), t(5)))
    placeholders = [n.target for n in res.graphs[0].graph.nodes if n.op == "placeholder"]
    assert placeholders == ["x"]
    assert not any("unused" in str(g) for g in res.guards)


def test_load_global_int_folds_to_constant():
    def fn(x):
        return x * SCALE

    res = assert_same_as_eager(fn, lambda: (t(3),))
    (mul,) = [n for n in res.graphs[0].graph.nodes if n.op == "call_function"]
    assert mul.args[1] == SCALE
    assert any("SCALE" in str(g) for g in res.guards)


def test_load_global_tensor_becomes_a_graph_input():
    def fn(x):
        return x @ WEIGHT

    res = assert_same_as_eager(fn, lambda: (t(2, 4),))
    placeholders = [n.target for n in res.graphs[0].graph.nodes if n.op == "placeholder"]
    assert len(placeholders) == 2
    assert ops(res.graphs[0]) == [operator.matmul]


def test_global_tensor_values_are_read_at_call_time():
    global WEIGHT
    old = WEIGHT

    def fn(x):
        return x @ WEIGHT

    try:
        res = compile(fn)
        x = t(2, 4)
        torch.testing.assert_close(res(x), x @ WEIGHT)
        WEIGHT = torch.randn(4, 4)  # same shape: the capture is reused and must read the new tensor
        torch.testing.assert_close(res(x), x @ WEIGHT)
        assert len(res.captures) == 1
    finally:
        WEIGHT = old


def test_changed_global_constant_recaptures():
    global OFFSET
    old = OFFSET

    def fn(x):
        return x + OFFSET

    try:
        res = compile(fn)
        x = t(3)
        torch.testing.assert_close(res(x), x + 0.5)
        OFFSET = 1.5
        torch.testing.assert_close(res(x), x + 1.5)
        assert len(res.captures) == 2
    finally:
        OFFSET = old


def test_load_global_undefined_name_breaks_and_raises_name_error():
    def fn(x):
        return x + not_defined_anywhere  # noqa: F821

    res = trace(fn, (t(2),))
    assert res.graphs == []
    assert res.graph_breaks == []
    with pytest.raises(NameError):
        res(t(2))


def test_load_global_builtin():
    def fn(x, n):
        return x + len((1, 2, 3)) + abs(n)

    res = assert_same_as_eager(fn, lambda: (t(3), -4))
    assert ops(res.graphs[0]) == [operator.add, operator.add]


def test_load_attr_of_module_and_math_constant():
    def fn(x):
        return x.to(torch.float64) * math.pi

    res = assert_same_as_eager(fn, lambda: (t(3),))
    assert ops(res.graphs[0]) == ["to", operator.mul]


def test_load_attr_tensor_metadata_folds():
    def fn(x):
        return x.shape, x.dtype, x.device, x.ndim, x.requires_grad

    res = assert_same_as_eager(fn, lambda: (t(2, 3),), graphs=0)
    assert res(t(2, 3)) == (torch.Size([2, 3]), torch.float32, torch.device("cpu"), 2, False)


def test_load_attr_graph_attribute_T():
    def fn(x):
        return x.T + 1

    res = assert_same_as_eager(fn, lambda: (t(2, 3),))
    assert ops(res.graphs[0]) == [getattr, operator.add]


def test_load_method_on_tensor_and_on_constant():
    def fn(x, s):
        return x.sum(), s.upper(), "a,b".partition(",")

    assert "LOAD_METHOD" in opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(3), "hi"))
    assert ops(res.graphs[0]) == ["sum"]
    assert res(t(3), "hi")[1:] == ("HI", ("a", ",", "b"))


def test_load_method_constant_method_returning_constant():
    def fn(x, s):
        return x * len(s.strip()), s.replace("a", "b")

    res = assert_same_as_eager(fn, lambda: (t(3), "  aaa "))
    assert ops(res.graphs[0]) == [operator.mul]


def test_bound_tensor_method_read_as_value():
    def fn(x):
        f = x.relu
        return f() + 1

    res = assert_same_as_eager(fn, lambda: (t(5),))
    assert ops(res.graphs[0]) == ["relu", operator.add]


def test_same_tensor_passed_twice_is_one_placeholder():
    def fn(x, y):
        return x + y

    x = t(3)
    res = trace(fn, (x, x))
    placeholders = [n for n in res.graphs[0].graph.nodes if n.op == "placeholder"]
    assert len(placeholders) == 1
    torch.testing.assert_close(res(x, x), x + x)
    a, b = t(3), t(3)
    torch.testing.assert_close(res(a, b), a + b)  # distinct objects: guard fails, recapture
    assert len(res.captures) == 2
    assert all_ops(res) == [operator.add, operator.add]


def test_deleted_global_raises_name_error_like_eager():
    namespace = {"torch": torch, "FACTOR": 3}
    exec("def fn(x):\n    return x * FACTOR\n", namespace)
    fn = namespace["fn"]
    res = compile(fn)
    x = t(2)
    torch.testing.assert_close(res(x), x * 3)
    del namespace["FACTOR"]
    with pytest.raises(NameError, match="FACTOR"):
        fn(x)
    with pytest.raises(NameError, match="FACTOR"):
        res(x)


def test_global_shadowing_a_builtin_recaptures():
    namespace = {"torch": torch}
    exec("def fn(x):\n    return x * len((1, 2))\n", namespace)
    fn = namespace["fn"]
    res = compile(fn)
    x = t(2)
    torch.testing.assert_close(res(x), x * 2)
    namespace["len"] = lambda value: 10
    try:
        expected = fn(x)
        torch.testing.assert_close(res(x), expected)
    finally:
        del namespace["len"]
    torch.testing.assert_close(res(x), x * 2)


STEP = 2


def _bump_step():
    global STEP
    STEP = STEP + 1


def test_a_global_read_in_a_loop_sees_the_programs_own_writes_and_the_guards_stay():
    def fn(x):
        out = []
        for i in range(3):
            out.append(x * STEP + i)  # the same LOAD_GLOBAL each turn: remembered after the first
            if i == 1:
                _bump_step()
        return out

    global STEP
    STEP = 2
    x = t(3)
    want = fn(x)
    STEP = 2
    compiled = compile(fn)
    got = compiled(x)
    assert STEP == 3  # the write was replayed
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)
    STEP = 5  # a new value of the global: the guard of the remembered read fails, and the capture is redone
    want = fn(x)
    STEP = 5
    got = compiled(x)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)
    assert len(compiled.captures) == 2


def test_a_remembered_builtin_read_is_not_used_once_a_module_global_shadows_it():
    code = "def fn(x):\n    n = 0\n    for i in range(3):\n        n += len([i])\n    return x + n\n"
    scope = {"__name__": "shadow_test"}
    exec(code, scope)
    fn = scope["fn"]
    compiled = compile(fn)
    x = t(2)
    torch.testing.assert_close(compiled(x), fn(x))
    scope["len"] = lambda items: 10  # shadows the builtin in the function's module
    torch.testing.assert_close(compiled(x), fn(x))
    assert len(compiled.captures) == 2
