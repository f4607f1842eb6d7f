"""f-strings (FORMAT_VALUE, BUILD_STRING), `%` formatting and str.format, identical to eager."""
import math
import operator

import pytest
import torch

from helpers import assert_same_as_eager, opnames, ops
from tracer import trace
from core.outcomes import BreakKind


def t(*shape):
    return torch.randn(*shape)


def test_f_string_of_shape_values_with_tensor_work():
    def fn(x):
        n, m = x.shape
        return x * 2, f"{n} rows, {m} cols"

    assert {"FORMAT_VALUE", "BUILD_STRING"} <= opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(3, 4),))
    assert ops(res.graphs[0]) == [operator.mul]


@pytest.mark.parametrize("value", [3, 2.5, "s", None, (1, "a"), True, -0.0, math.inf], ids=repr)
def test_conversions_and_specs(value):
    def fn(x, v):
        return x + 1, f"{v}|{v!s}|{v!r}|{v!a}|{v!r:>12}|{v!s:^9}"

    assert_same_as_eager(fn, lambda: (t(2), value))


def test_numeric_format_specs_and_nested_spec():
    def fn(x, width):
        n = x.shape[0]
        ratio = n / 7
        return x.sum(), f"{ratio:.3f} {n:04d} {n:x} {n:>{width}} {ratio:{width}.{2}e} {n:,} {ratio:%}"

    assert_same_as_eager(fn, lambda: (t(1234), 8))


def test_ascii_conversion_of_non_ascii_text():
    def fn(x, s):
        return x - 1, f"{s!a} {s!r} {s}"

    assert_same_as_eager(fn, lambda: (t(2), "héllo"))


def test_f_string_of_dtype_device_and_plain_containers():
    def fn(x):
        items = [1, 2]
        table = {"k": (1.5, None)}
        return x.abs(), f"{x.dtype} {x.device} {x.shape} {items} {table!r} {x.shape[0]:3d}"

    assert_same_as_eager(fn, lambda: (t(2, 2),))


def test_f_string_of_modules_builtins_and_types():
    def fn(x, n):
        return x.neg(), f"{len} {type(n).__name__} {torch.float32}"

    assert_same_as_eager(fn, lambda: (t(2), 3))


def test_f_string_used_as_dict_key_and_in_comparison():
    def fn(x):
        parts = {}
        for i in range(2):
            parts[f"p{i}"] = x * i
        return parts, f"{x.shape[0]}" == "3"

    assert_same_as_eager(fn, lambda: (t(3),))


def test_f_string_of_a_tensor_breaks_as_data_dependent():
    res = trace(lambda x: f"value {x}", (t(2),))
    assert [brk.kind for brk in res.graph_breaks] == [BreakKind.DATA_DEPENDENT]


def test_f_string_of_a_list_holding_a_tensor_breaks_as_data_dependent():
    res = trace(lambda x: f"{[x, 1]}", (t(2),))
    assert [brk.kind for brk in res.graph_breaks] == [BreakKind.DATA_DEPENDENT]


def test_bad_format_spec_breaks_as_python_exception_like_eager():
    def fn(x, s):
        return f"{s:d}"

    res = trace(fn, (t(1), "text"))
    assert res.graph_breaks == []
    with pytest.raises(ValueError):
        res(t(1), "text")


def test_percent_s_with_tuple_display_compiles_to_f_string_ops():
    def fn(x):
        n = x.shape[0]
        return x + n, "%s items, %r" % (n, "a")

    assert "FORMAT_VALUE" in opnames(fn)
    assert_same_as_eager(fn, lambda: (t(3),))


def test_percent_formatting_with_built_tuple_and_dict():
    def fn(x, k):
        n, m = x.shape
        pair = (n, m)
        return x * k, "%d-%d" % (n, m), "%05.1f|%s" % (n / 3, pair), "%(a)s/%(b)d" % {"a": "x", "b": m}, \
            "%d" % n

    assert_same_as_eager(fn, lambda: (t(2, 5), 3))


def test_str_format_and_join_fold():
    def fn(x):
        n = x.shape[0]
        names = ["a", "b"]
        return x.sum(), "{}:{:>4}".format(n, "r"), "{k}={v!r}".format(k="n", v=n), ", ".join(names), \
            "x".join(["1", str(n)]), "{0[1]}".format(names)

    assert_same_as_eager(fn, lambda: (t(3),))


def test_string_building_in_a_loop():
    def fn(x):
        label = ""
        for size in x.shape:
            label = label + f"[{size}]"
        return x.reshape(-1), label

    assert_same_as_eager(fn, lambda: (t(2, 3, 4),))


def test_join_of_map_and_generator_expression():
    def fn(x):
        return x.flatten(), ", ".join(map(str, x.shape)), "x".join(f"{d:02d}" for d in x.shape)

    assert_same_as_eager(fn, lambda: (t(2, 3, 4),))
