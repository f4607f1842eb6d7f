"""Methods of lists and tuples (vt/list_methods.py) and list item assignment, against eager.

Every function is traced once and then compared with eager on fresh inputs:
return values, their structure and their aliasing (helpers.assert_same_as_eager).
"""
import operator

import pytest
import torch

from helpers import RAISES, assert_same_as_eager, clone_inputs, opnames, ops
from tracer import trace
from core.outcomes import BreakKind


def t(*shape):
    return torch.randn(*shape)


def one_tensor():
    return (t(3),)


def assert_breaks(fn, make_inputs, kind):
    """One break of `kind`, no graph, and the traced function behaves like eager (it runs eagerly)."""
    res = trace(fn, tuple(make_inputs()))
    assert [brk.kind for brk in res.graph_breaks] == ([] if kind == RAISES else [kind]), res.graph_breaks
    fresh = tuple(make_inputs())
    outcomes = []
    for call, args in ((res, fresh), (fn, clone_inputs(fresh))):
        try:
            outcomes.append(("ok", repr(call(*args))))
        except Exception as exc:  # the program's own exception
            outcomes.append(("raised", type(exc), str(exc)))
    assert outcomes[0] == outcomes[1]
    return res


# -- changing lists --------------------------------------------------------------------------------

def test_append_extend_insert_pop_and_return():
    def fn(x):
        items = [3, 1]
        items.append(x)
        items.extend((5, x + 1))
        items.insert(-100, 0)  # clamped, as CPython does
        items.insert(100, 9)
        first = items.pop(0)
        last = items.pop()
        return items, first, last

    res = assert_same_as_eager(fn, one_tensor)
    assert ops(res.graphs[0]) == [operator.add]  # list methods leave nothing in the graph


def test_remove_clear_reverse_copy():
    def fn(x):
        items = [1, 2, 1, x]
        items.remove(1)  # the first 1 only
        copy = items.copy()
        items.reverse()
        copy.clear()
        return items, copy, x * 2

    assert_same_as_eager(fn, one_tensor)


def test_index_and_count_with_bounds():
    def fn(x):
        items = [5, 6, 5, 7, 5]
        return x + 1, items.index(5), items.index(5, 1), items.index(5, -2), items.index(7, 0, 4), items.count(5)

    assert_same_as_eager(fn, one_tensor)


def test_sort_plain_key_and_reverse():
    def fn(x):
        words = ["ccc", "a", "bb", "dd"]
        words.sort(key=len)  # stable: "bb" stays before "dd"
        numbers = [3, -1, 2, -3]
        numbers.sort(key=abs, reverse=True)
        plain = [2, 3, 1]
        plain.sort()
        return words, numbers, plain, x - 1

    assert_same_as_eager(fn, one_tensor)


def test_sort_tensors_by_a_key_read_from_their_shapes():
    def fn(x):
        items = [x.sum(0, keepdim=True), x, x[:1, :1]]
        items.sort(key=lambda item: item.numel())
        return items

    assert_same_as_eager(fn, lambda: (t(3, 2),))


def test_sorting_tensors_themselves_needs_their_values():
    def fn(x):
        items = [x, x + 1]
        items.sort()
        return items

    assert_breaks(fn, one_tensor, BreakKind.DATA_DEPENDENT)


def test_methods_read_as_attributes_are_bound():
    def fn(x):
        items = []
        push = items.append
        push(x)
        push(2)
        return items, x + 1

    assert_same_as_eager(fn, one_tensor)


def test_a_list_changed_through_an_alias_is_one_object():
    def fn(x):
        a = [x]
        b = a
        b.append(x + 1)
        a.extend(b)
        return a, b

    res = assert_same_as_eager(fn, one_tensor)
    first, second = res(t(3))
    assert first is second and len(first) == 4


def test_list_method_copy_is_a_new_object_with_the_same_items():
    def fn(x):
        inner = [x]
        outer = [inner, 1]
        copy = outer.copy()
        copy[0].append(2)  # the inner list is shared
        copy.append(3)
        return outer, copy, inner, x * 2

    assert_same_as_eager(fn, lambda: (t(2),))


# -- tensors inside lists --------------------------------------------------------------------------

def test_stack_and_cat_over_a_list_built_in_a_loop():
    def fn(x):
        parts = []
        for i in range(4):
            parts.append(x * i)
        last = parts.pop()
        parts.insert(0, last)
        return torch.stack(parts), torch.cat(parts), len(parts)

    res = assert_same_as_eager(fn, lambda: (t(2, 3),))
    assert torch.stack in ops(res.graphs[0]) and torch.cat in ops(res.graphs[0])


def test_tensors_are_found_by_identity():
    def fn(x):
        y = x + 1
        items = [x, y]
        return items.index(x), items.count(x), items.index(y) if items[0] is x else -1

    # `items.index(y)` compares x == y first: that needs tensor values.
    assert_breaks(fn, one_tensor, BreakKind.DATA_DEPENDENT)

    def found(x):
        y = x + 1
        items = [y, x]
        items.remove(y)
        return items, [y].index(y), [x, x].count(x), y

    assert_same_as_eager(found, one_tensor)


def test_remove_of_a_tensor_that_is_not_first_needs_values():
    def fn(x):
        items = [x + 1, x]
        items.remove(x)
        return items

    assert_breaks(fn, lambda: (t(3),), BreakKind.DATA_DEPENDENT)


# -- errors the program raises ---------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    "items = [1]\n    items.remove(5)",
    "items = []\n    items.pop()",
    "items = [1]\n    items.pop(3)",
    "items = [1]\n    items.index(2)",
    "items = [1]\n    items[5] = 0",
    "items = [1]\n    del items[-2]",
    "items = [1, 2, 3]\n    items[::2] = [1, 2, 3]",
    "items = [1]\n    items['a'] = 1",
    "items = [1, 'a']\n    items.sort()",
    "(1, 2).index(3)\n    items = 0",
], ids=["remove", "pop-empty", "pop-index", "index", "store-range", "delete-range", "extended-slice",
        "str-index", "sort-mixed", "tuple-index"])
def test_errors_break_as_python_exceptions_and_raise_like_eager(body):
    namespace = {}
    exec(f"def fn(x):\n    y = x + 1\n    {body}\n    return y, items\n", namespace)
    # a failed sort leaves the list partly sorted, as the real sort the trace runs leaves it
    assert_breaks(namespace["fn"], one_tensor, RAISES)


def test_unknown_list_attribute_is_an_attribute_error():
    def fn(x):
        return [x].push(1)

    assert_breaks(fn, one_tensor, RAISES)


# -- item assignment and deletion ------------------------------------------------------------------

def test_store_subscr_on_lists():
    def fn(x):
        items = [0, 1, 2, 3, 4, 5, 6]
        items[0] = x
        items[-1] = x + 1
        items[1:3] = [7]  # shorter
        items[4:4] = (8, 9)  # insertion
        items[::3] = "abc"  # extended slice of the same size
        items[-2:] = items  # the list itself, read before the change
        return items

    assert "STORE_SUBSCR" in opnames(fn)
    assert_same_as_eager(fn, one_tensor)


def test_delete_subscr_on_lists():
    def fn(x):
        items = [x, 1, 2, 3, 4, 5, 6]
        del items[1]
        del items[-1]
        del items[::2]
        del items[10:]
        return items, x * 2

    assert "DELETE_SUBSCR" in opnames(fn)
    assert_same_as_eager(fn, one_tensor)


# -- tuples ---------------------------------------------------------------------------------------

def test_tuple_index_and_count_on_built_tuples():
    def fn(x, n):
        values = (n, 2, n, 3)
        pair = (x, n)
        return x + 1, values.index(3), values.count(n), values.index(n, 1), pair.index(x)

    assert_same_as_eager(fn, lambda: (t(2), 7))


def test_named_tuple_fields_still_read_and_methods_work():
    def fn(x):
        result = x.max(dim=0)
        return result.values, result.indices, result.index(result.values)

    assert_same_as_eager(fn, lambda: (t(3, 2),))
