"""BUILD_TUPLE / BUILD_LIST / BUILD_MAP / BUILD_CONST_KEY_MAP / BUILD_SLICE, UNPACK_SEQUENCE,
LIST_EXTEND / LIST_TO_TUPLE, and how built values are returned (structure and aliasing)."""
import operator

import pytest
import torch

from helpers import assert_same_as_eager, opnames, ops
from tracer import trace
from core.outcomes import BreakKind


def t(*shape):
    return torch.randn(*shape)


def test_build_and_return_tuple():
    def fn(x, y):
        return (x + 1, y, 3, "s", None)

    assert "BUILD_TUPLE" in opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(2), t(2)))
    assert ops(res.graphs[0]) == [operator.add]
    x, y = t(2), t(2)
    out = res(x, y)
    assert out[1] is y  # an input returned as it is stays the caller's object


def test_build_and_return_nested_structures():
    def fn(x, y):
        return {"pair": (x * 2, [y - 1, (x,)]), "n": 1, "empty": [], "none": {}}

    assert_same_as_eager(fn, lambda: (t(3), t(3)))


def test_build_list_and_return_it():
    def fn(x):
        return [x.sin(), x.cos(), 2.0]

    assert "BUILD_LIST" in opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(3),))
    assert ops(res.graphs[0]) == ["sin", "cos"]


def test_returned_list_is_a_new_object_each_call():
    def fn(x):
        return [x + 1]

    res = trace(fn, (t(2),))
    x = t(2)
    first, second = res(x), res(x)
    assert first is not second
    first.append(1)
    assert len(second) == 1


def test_returning_one_list_twice_gives_one_object_twice():
    def fn(x):
        lst = [x + 1, 2]
        return lst, lst

    res = assert_same_as_eager(fn, lambda: (t(2),))
    a, b = res(t(2))
    assert a is b


def test_returning_one_dict_twice_and_inside_a_list():
    def fn(x):
        d = {"a": x * 2}
        return [d, d], d

    res = assert_same_as_eager(fn, lambda: (t(2),))
    (first, second), third = res(t(2))
    assert first is second is third


def test_list_aliasing_through_two_names_and_extend():
    def fn(x):
        a = [x]
        b = a
        b += [x + 1]  # extends the one list both names refer to
        return a, len(a), a is b

    res = assert_same_as_eager(fn, lambda: (t(2),))
    out = res(t(2))
    assert len(out[0]) == 2 and out[1] == 2 and out[2] is True


def test_list_concatenation_makes_a_new_list():
    def fn(x):
        a = [x]
        b = a + [x * 2]
        return a, b

    res = assert_same_as_eager(fn, lambda: (t(2),))
    a, b = res(t(2))
    assert len(a) == 1 and len(b) == 2


def test_same_tensor_twice_in_a_list_stays_one_object():
    def fn(x):
        y = x + 1
        return [y, y, x, x]

    res = assert_same_as_eager(fn, lambda: (t(2),))
    x = t(2)
    out = res(x)
    assert out[0] is out[1] and out[2] is x and out[3] is x


def test_list_and_tuple_repetition():
    def fn(x):
        return [x] * 2, (x + 1, 1) * 2

    assert_same_as_eager(fn, lambda: (t(2),))


def test_list_and_tuple_constructors():
    def fn(x, y):
        pair = (x, y)
        as_list = list(pair)
        back = tuple(as_list)
        return as_list, back, list(), tuple(range(3))

    assert_same_as_eager(fn, lambda: (t(2), t(2)), graphs=0)


def test_starred_list_display_uses_list_extend():
    def fn(x, y):
        rest = (y, y * 2)
        return [x, *rest], (x, *rest)

    assert {"LIST_EXTEND"} <= opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(2), t(2)))
    assert ops(res.graphs[0]) == [operator.mul]


def test_big_list_display_of_constants():
    def fn(x):
        return x + torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])

    assert_same_as_eager(fn, lambda: (t(8),))


def test_unpack_sequence_from_tuple_list_and_tensor_op():
    def fn(x):
        a, b = (x, x + 1)
        c, d = [a * 2, b * 3]
        e, f = torch.chunk(x, 2)
        g, h = x.shape
        return a + b + c + d, e - f, g * h

    assert "UNPACK_SEQUENCE" in opnames(fn)
    assert_same_as_eager(fn, lambda: (t(4, 3),))


def test_unpack_wrong_count_raises_like_eager():
    def fn(x):
        a, b = (x, x, x)
        return a

    res = trace(fn, (t(2),))
    assert res.graphs == []
    assert res.graph_breaks == []
    with pytest.raises(ValueError, match="too many values to unpack"):
        res(t(2))


def test_unpack_tuple_argument():
    def fn(pair, n):
        a, b = pair
        return a * n + b

    res = assert_same_as_eager(fn, lambda: ((t(3), t(3)), 2))
    assert ops(res.graphs[0]) == [operator.mul, operator.add]


def test_tuple_argument_items_are_guarded():
    def fn(pair):
        return pair[0] + pair[1]

    res = trace(fn, ((t(2), 3),))
    assert len(res.graphs) == 1
    text = [str(g) for g in res.guards]
    assert any("pair" in g and "length 2" in g for g in text)
    assert any(g.startswith("pair[0]") for g in text) and any(g.startswith("pair[1]") for g in text)
    x = t(2)
    torch.testing.assert_close(res((x, 4)), x + 4)
    assert len(res.captures) == 2


def test_build_map_with_variable_keys_and_const_key_map():
    def fn(x, k):
        d1 = {k: x, "other": x + 1}
        d2 = {"a": x * 2, "b": 5}
        return d1, d2, d1[k] + d2["a"]

    assert {"BUILD_MAP", "BUILD_CONST_KEY_MAP"} <= opnames(fn)
    assert_same_as_eager(fn, lambda: (t(2), "key"))


def test_dict_with_duplicate_and_equal_keys_matches_eager():
    def fn(x, k):
        return {k: x, 1: x + 1, True: x + 2, k: x + 3}

    assert_same_as_eager(fn, lambda: (t(2), "k"))


def test_dict_with_tensor_key_keeps_the_tensor_object():
    def fn(x):
        return {x: 1}

    res = trace(fn, (t(2),))
    x = t(2)
    out = res(x)
    assert list(out) == [x] and next(iter(out)) is x and out[x] == 1


def test_build_slice():
    def fn(x, a, b):
        s = slice(a, b)
        return x[a:b:1], x[s], (1, 2, 3, 4)[a:]

    assert "BUILD_SLICE" in opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(5), 1, 3))
    assert ops(res.graphs[0]) == [operator.getitem, operator.getitem]


def test_tuple_concatenation_and_list_of_tuples():
    def fn(x):
        a = (x,) + (1, 2)
        b = (0,) + a
        return [b, a], len(b)

    res = assert_same_as_eager(fn, lambda: (t(2),), graphs=0)
    assert res(t(2))[1] == 4


def test_get_len_pushes_the_length_and_keeps_the_object():
    # GET_LEN only appears in `match` statements, whose other opcodes are not traced yet,
    # so the function is assembled directly: return (xs, len(xs)).
    import types

    from bytecode import Bytecode, Instr

    code = Bytecode([Instr("RESUME", 0), Instr("LOAD_FAST", "xs"), Instr("GET_LEN"), Instr("BUILD_TUPLE", 2),
                     Instr("RETURN_VALUE")])
    code.argnames, code.argcount, code.name = ["xs"], 1, "get_len"
    fn = types.FunctionType(code.to_code(), {})
    res = trace(fn, ([1, 2, 3],))
    assert res.graph_breaks == []
    items = [4, 5]
    out = res(items)
    assert out == (items, 2) and out[0] is items
