"""BINARY_OP, COMPARE_OP, IS_OP, CONTAINS_OP, unary operators and BINARY_SUBSCR."""
import operator

import pytest
import torch

from helpers import assert_same_as_eager, ops
from tracer import compile, trace
from core.outcomes import BreakKind


def t(*shape):
    return torch.randn(*shape)


# -- constants: every operator folds at trace time, no graph -----------------------------------

SCALAR_CASES = [
    (7, 3), (-7, 3), (7, -2), (2.5, 0.5), (-1.5, 4.0), (3, 2.0), (False, True), (True, 3), (0, 5),
]
ARITHMETIC = ["a + b", "a - b", "a * b", "a / b", "a // b", "a % b", "a ** 2", "b ** a if a >= 0 else 0",
              "-a", "+a", "not a", "a and b", "a or b"]
INTEGER_ONLY = ["a & b", "a | b", "a ^ b", "a << 2", "a >> 1", "~a"]
COMPARISONS = ["a < b", "a <= b", "a == b", "a != b", "a > b", "a >= b"]


def _lambda(expression):
    return eval(f"lambda a, b: {expression}")


@pytest.mark.parametrize("a, b", SCALAR_CASES)
def test_scalar_arithmetic_and_comparison_fold(a, b):
    expressions = ARITHMETIC + COMPARISONS
    if type(a) in (int, bool) and type(b) in (int, bool):
        expressions = expressions + INTEGER_ONLY
    fn = _lambda("(" + ", ".join(expressions) + ",)")
    res = assert_same_as_eager(fn, lambda: (a, b), graphs=0)
    assert res(a, b) == fn(a, b)
    assert [type(v) for v in res(a, b)] == [type(v) for v in fn(a, b)]


def test_in_place_operators_on_ints():
    def fn(a, b):
        a += b
        a -= 1
        a *= 3
        a //= 2
        a **= 2
        a %= 1000
        a <<= 1
        a |= 1
        return a

    assert assert_same_as_eager(fn, lambda: (5, 4), graphs=0)(5, 4) == fn(5, 4)


def test_strings():
    def fn(s, n):
        return s + "!", s * n, s == "hi", s < "zz", s.upper() + s[0], s[::-1], "i" in s, len(s) * n

    res = assert_same_as_eager(fn, lambda: ("hi", 3), graphs=0)
    assert res("hi", 3) == ("hi!", "hihihi", True, True, "HIh", "ih", True, 6)


def test_none_comparisons_and_is():
    def fn(a, b):
        return a is None, b is not None, a == None, a != b  # noqa: E711

    res = assert_same_as_eager(fn, lambda: (None, 3), graphs=0)
    assert res(None, 3) == (True, True, True, True)


def test_is_between_constants_of_different_values_recaptures():
    def fn(a, b):
        return a is b

    res = compile(fn)
    assert res(None, None) is True
    assert res(True, False) is False
    assert res(1, 1) is True


def test_division_by_zero_breaks_and_raises_like_eager():
    def fn(a, b):
        return a / b

    res = trace(fn, (1, 0))
    assert res.graphs == []
    assert res.graph_breaks == []
    with pytest.raises(ZeroDivisionError):
        res(1, 0)


def test_type_error_between_constants_raises_like_eager():
    def fn(a, b):
        return a + b

    res = trace(fn, ("x", 1))
    assert res.graph_breaks == []
    with pytest.raises(TypeError, match="can only concatenate str"):
        res("x", 1)


# -- tensors ---------------------------------------------------------------------------------

TENSOR_BINARY = [
    ("a + b", operator.add), ("a - b", operator.sub), ("a * b", operator.mul), ("a / b", operator.truediv),
    ("a // b", operator.floordiv), ("a % b", operator.mod), ("a ** b", operator.pow), ("a @ b", operator.matmul),
    ("a < b", operator.lt), ("a <= b", operator.le), ("a == b", operator.eq), ("a != b", operator.ne),
    ("a > b", operator.gt), ("a >= b", operator.ge),
]


@pytest.mark.parametrize("expression, target", TENSOR_BINARY, ids=[e for e, _ in TENSOR_BINARY])
def test_tensor_tensor_binary(expression, target):
    fn = _lambda(expression)
    res = assert_same_as_eager(fn, lambda: (torch.rand(3, 3) + 0.5, torch.rand(3, 3) + 0.5))
    assert ops(res.graphs[0]) == [target]


@pytest.mark.parametrize("expression", ["a & b", "a | b", "a ^ b"])
def test_tensor_bitwise_on_bool_tensors(expression):
    fn = _lambda(expression)
    res = assert_same_as_eager(fn, lambda: (torch.rand(4) > 0.5, torch.rand(4) > 0.5))
    assert len(ops(res.graphs[0])) == 1


def test_tensor_bitwise_on_int_tensors_and_shifts():
    def fn(a, b):
        return (a & b) + (a | 1) + (a ^ b) + (a << 1) + (b >> 1)

    assert_same_as_eager(fn, lambda: (torch.randint(0, 16, (4,)), torch.randint(0, 16, (4,))))


@pytest.mark.parametrize("expression, target", [
    ("a + 1", operator.add), ("2 * a", operator.mul), ("a / 2.0", operator.truediv), ("1 - a", operator.sub),
    ("a ** 2", operator.pow), ("2 ** a", operator.pow), ("a > 0.5", operator.gt), ("3 <= a", operator.le),
    ("a * True", operator.mul), ("a - b", operator.sub), ("b - a", operator.sub), ("a % b", operator.mod),
])
def test_mixed_tensor_scalar(expression, target):
    fn = _lambda(expression)
    res = assert_same_as_eager(fn, lambda: (torch.rand(3) + 1, 3))
    assert ops(res.graphs[0]) == [target]


def test_mixed_float_scalar_argument_is_a_constant_in_the_graph():
    def fn(x, s):
        return x * s

    res = assert_same_as_eager(fn, lambda: (t(3), 0.25))
    (node,) = [n for n in res.graphs[0].graph.nodes if n.op == "call_function"]
    assert node.args[1] == 0.25


@pytest.mark.parametrize("expression, target", [
    ("-a", operator.neg), ("abs(a)", operator.abs), ("-(+a)", operator.neg),
])
def test_tensor_unary(expression, target):
    res = assert_same_as_eager(_lambda(expression), lambda: (t(4), None))
    assert ops(res.graphs[0]) == [target]


def test_unary_plus_on_tensor_returns_the_tensor_itself_like_eager():
    res = assert_same_as_eager(lambda a: +a, lambda: (t(4),), graphs=0)
    x = t(4)
    assert res(x) is x


def test_tensor_invert_on_bool():
    res = assert_same_as_eager(lambda a: ~a, lambda: (torch.rand(4) > 0.5,))
    assert ops(res.graphs[0]) == [operator.invert]


def test_not_tensor_is_data_dependent():
    def fn(x):
        return not x

    res = assert_same_as_eager(fn, lambda: (torch.tensor(0.0),), graphs=0, breaks=1)
    assert res.graph_breaks[0].kind is BreakKind.DATA_DEPENDENT


def test_in_place_tensor_operator_is_recorded_in_order():
    def fn(x):
        y = x * 2
        y += 1
        return y

    res = assert_same_as_eager(fn, lambda: (t(3),))
    assert operator.iadd in ops(res.graphs[0])


def test_in_place_operator_on_an_input_changes_the_callers_tensor():
    def fn(x, y):
        x += y
        return x * 2

    res = trace(fn, (t(3), t(3)))
    x, y = t(3), t(3)
    expected_x = x + y
    out = res(x, y)
    torch.testing.assert_close(x, expected_x)
    torch.testing.assert_close(out, expected_x * 2)


def test_rebinding_with_plain_operator_does_not_break():
    def fn(x):
        y = x * 2
        y = y + 1
        return y

    assert ops(assert_same_as_eager(fn, lambda: (t(3),)).graphs[0]) == [operator.mul, operator.add]


# -- is / in ---------------------------------------------------------------------------------

def test_is_between_tensors():
    def fn(x, y):
        z = x
        return z is x, (x + 1) is x, x is None, y is not None

    res = assert_same_as_eager(fn, lambda: (t(2), t(2)), graphs=0)
    assert res(t(2), t(2)) == (True, False, False, True)


def test_is_between_two_inputs_guards_on_distinctness():
    def fn(x, y):
        if x is y:
            return x * 2
        return x + y

    res = compile(fn)
    a, b = t(3), t(3)
    torch.testing.assert_close(res(a, b), a + b)
    torch.testing.assert_close(res(a, a), a * 2)
    assert len(res.captures) == 2
    assert any("is not" in str(g) for g in res.captures[0].guards)


def test_is_on_lists():
    def fn(x):
        a = [x]
        b = a
        c = [x]
        return a is b, a is c

    res = assert_same_as_eager(fn, lambda: (t(2),), graphs=0)
    assert res(t(2)) == (True, False)


@pytest.mark.parametrize("expression", [
    "a in (1, 2, 3)", "a not in (1, 2, 3)", "a in [0, a]", "'b' in 'abc'", "a in range(5)",
])
def test_contains(expression):
    fn = _lambda(expression)
    res = assert_same_as_eager(fn, lambda: (2, None), graphs=0)
    assert res(2, None) is fn(2, None)


# -- subscripts ------------------------------------------------------------------------------

@pytest.mark.parametrize("expression", [
    "a[0]", "a[-1]", "a[1:]", "a[:, 0]", "a[..., 1]", "a[None]", "a[0, 1:3]", "a[::2]", "a[1:3, ::-1]"
    if False else "a[1:3, 1::2]", "a[:, None, 2]", "a[a.shape[0] // 2:]",
])
def test_tensor_indexing_and_slicing(expression):
    res = assert_same_as_eager(_lambda(expression), lambda: (t(4, 5), None))
    assert ops(res.graphs[0]) == [operator.getitem]


def test_tensor_indexing_with_index_tensor():
    def fn(x, idx):
        return x[idx]

    res = assert_same_as_eager(fn, lambda: (t(5, 2), torch.tensor([0, 3, 3])))
    assert ops(res.graphs[0]) == [operator.getitem]


def test_tensor_indexing_with_bounds_from_arguments():
    def fn(x, start, stop):
        return x[start:stop] * 2

    res = assert_same_as_eager(fn, lambda: (t(6), 1, 4))
    (getitem, _) = [n for n in res.graphs[0].graph.nodes if n.op == "call_function"]
    assert getitem.args[1] == slice(1, 4, None)


def test_boolean_mask_indexing_is_data_dependent():
    def fn(x):
        return x[x > 0]

    res = assert_same_as_eager(fn, lambda: (t(6),), graphs=1, breaks=1)
    assert res.graph_breaks[0].kind is BreakKind.DATA_DEPENDENT


def test_sequence_and_constant_subscripts():
    def fn(x, s):
        tup = (x, x + 1, 3)
        lst = [x * 2, 5]
        d = {"k": x - 1, "n": 7}
        return tup[1], tup[-1], tup[:2], lst[0], lst[-1:], d["k"], d["n"], s[1], s[-2:], (1, 2, 3)[1]

    res = assert_same_as_eager(fn, lambda: (t(3), "abcd"))
    assert ops(res.graphs[0]) == [operator.add, operator.mul, operator.sub]


def test_index_out_of_range_raises_like_eager():
    def fn(x):
        return (x, x)[5]

    res = trace(fn, (t(2),))
    assert res.graph_breaks == []
    with pytest.raises(IndexError):
        res(t(2))


def test_missing_dict_key_raises_like_eager():
    def fn(x):
        return {"a": x}["b"]

    res = trace(fn, (t(2),))
    assert res.graph_breaks == []
    with pytest.raises(KeyError):
        res(t(2))


def test_tuple_indexed_with_a_bool():
    def fn(x, y, flag):
        return (x + 1, y - 1)[flag]

    res = assert_same_as_eager(fn, lambda: (t(2), t(2), True))
    assert ops(res.graphs[0]) == [operator.sub]  # x + 1 is dead code


@pytest.mark.parametrize("item, text", [("ab", "xaby"), ("", "abc"), ("ba", "xaby")])
def test_substring_in_string(item, text):
    def fn(x, item, text):
        if item in text:
            return x + 1
        return x - 1

    res = assert_same_as_eager(fn, lambda: (t(2), item, text))
    assert ops(res.graphs[0]) == [operator.add if item in text else operator.sub]


# -- property: folding scalar operators agrees with Python ------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_SCALARS = st.one_of(st.integers(-50, 50), st.floats(-1e3, 1e3, allow_nan=False), st.booleans())
_OPERATORS = st.sampled_from(["+", "-", "*", "/", "//", "%", "<", "<=", "==", "!=", ">", ">=", "and", "or"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=_SCALARS, b=_SCALARS, op=_OPERATORS)
def test_folded_scalar_operator_matches_python(a, b, op):
    fn = _lambda(f"a {op} b")
    res = trace(fn, (a, b))
    try:
        expected = fn(a, b)
    except ZeroDivisionError:
        with pytest.raises(ZeroDivisionError):
            res(a, b)
        return
    assert res.graphs == [] and res.graph_breaks == []
    out = res(a, b)
    assert type(out) is type(expected)
    assert out == expected or (out != out and expected != expected)
