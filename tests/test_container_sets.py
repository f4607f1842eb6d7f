"""Sets (vt/sets.py, vt/set_methods.py): methods, operators, opcodes, and CPython's exact iteration order.

Returned sets are compared as `tuple(s)`, so the order matters: a set's order
depends on its history (removals leave dummies, tables grow, `pop` resumes
where it stopped), and the tracer must reproduce it, not just the elements.
"""
import operator

import pytest
import torch

from helpers import RAISES, assert_same_as_eager
from test_container_dicts import all_opnames
from test_container_lists import assert_breaks, one_tensor
from effects import heap
from vt.data.constant import ConstantVariable
from vt.data.sets import SetVariable
from core.outcomes import BreakKind


def test_add_discard_remove_pop_clear():
    def fn(x):
        s = {1, 2, 3}
        s.add(4)
        s.add(1)
        s.discard(1)
        s.discard(100)
        s.remove(2)
        popped = s.pop()
        t = {5}
        t.clear()
        return tuple(s), popped, tuple(t), x + 1

    assert_same_as_eager(fn, one_tensor)


def test_methods_making_new_sets():
    def fn(x):
        s = {1, 2, 3, 4}
        return (tuple(s.union([7, 8], (9,))), tuple(s.intersection({3, 4, 5}, range(4))),
                tuple(s.difference({3}, "ab")), tuple(s.symmetric_difference({4, 10})), tuple(s.copy()),
                tuple(s.union()), tuple(s), x + 1)

    assert_same_as_eager(fn, one_tensor)


def test_update_methods_and_questions():
    def fn(x):
        s = {1, 2, 3}
        s.update(range(20, 25), {"a": 1})  # a dict gives its keys
        s.intersection_update(range(0, 23), {1, 2, 20, 21, 22, "a"})
        s.difference_update({20})
        s.symmetric_difference_update({21, 30})
        return (tuple(s), s.issubset(range(100)), s.issuperset({1}), s.isdisjoint({1000}),
                s.issubset(s), x + 1)

    assert_same_as_eager(fn, one_tensor)


def test_order_after_many_removals_is_cpythons():
    def fn(x):
        s = {*range(100)}
        for i in range(95):
            s.discard(i)
        s.add(200)
        s.add(8)  # the table is still large: 8 goes before 95
        return tuple(s), x + 1

    res = assert_same_as_eager(fn, one_tensor)
    assert res(torch.ones(1))[0] == (8, 95, 96, 97, 98, 99, 200)


def test_pop_resumes_where_it_stopped():
    def fn(x):
        s = {10, 2, 18, 26}  # all in one hash bucket chain
        s.pop()
        s.add(10)
        return s.pop(), tuple(s), x + 1

    res = assert_same_as_eager(fn, one_tensor)
    assert res(torch.ones(1))[0] == 2  # not 10, although 10 comes first when iterating


def test_string_elements_keep_this_process_order():
    def fn(x):
        s = {"alpha", "beta", "gamma", "delta"}
        s.discard("beta")
        s.update(["epsilon", "zeta"])
        return tuple(s), [item for item in s], x + 1

    assert_same_as_eager(fn, one_tensor)


def test_set_operators_and_in_place_forms():
    def fn(x):
        a, b = {1, 2, 3}, {3, 4}
        made = tuple(a | b), tuple(a & b), tuple(a - b), tuple(a ^ b)
        alias = a
        a |= b
        a -= {1}
        a &= {2, 3, 4, 5}
        a ^= {5, 6, 7}  # the right side is a frozenset constant
        return made, tuple(a), tuple(alias), a is alias, x + 1

    assert_same_as_eager(fn, one_tensor)


def test_frozenset_constants_with_sets():
    from helpers import make_state
    from vt.data.operators import binary_operation
    from vt.data.sets import new_set

    state, s = new_set(make_state(lambda: None), (1, 2))
    frozen = ConstantVariable(frozenset({2, 9}))
    state, union = binary_operation(state, operator.or_, frozen, s, "|")
    assert union.constant_value() == frozenset({1, 2, 9})  # frozenset | set is a frozenset
    state, difference = binary_operation(state, operator.sub, s, frozen, "-")
    assert type(difference) is SetVariable and heap.current(state, difference).values == (1,)
    state, same = binary_operation(state, operator.eq, s, ConstantVariable(frozenset({1, 2})), "==")
    assert same.constant_value() is True


def test_set_comparisons():
    def fn(x):
        a, b = {1, 2}, {1, 2, 3}
        return (a < b, a <= b, b > a, a >= a, a == {2, 1}, a != b, a == {1, 2, 5} - {5}, a == [1, 2],
                {1} < {1}, x + 1)

    assert_same_as_eager(fn, one_tensor)


def test_set_displays_comprehensions_and_starred():
    def fn(x):
        a = (3, 1)
        return tuple({*a, 2}), tuple({1, 2, 3, 4}), tuple({i % 3 for i in range(7)}), tuple({x.shape[0], 1}), x + 1

    assert {"BUILD_SET", "SET_UPDATE", "SET_ADD"} <= all_opnames(fn.__code__)
    assert_same_as_eager(fn, one_tensor)


def test_keys_view_operators_make_sets():
    def fn(x):
        d = {"a": 1, "b": 2, "c": 3}
        keys = d.keys()
        return (tuple(keys & {"a", "c", "z"}), tuple(keys | ["q"]), tuple(keys - {"a"}),
                tuple(keys ^ {"a", "y"}), keys == {"a", "b", "c"}, x + 1)

    assert_same_as_eager(fn, one_tensor)


def test_changing_a_set_while_looping_is_the_runtime_error():
    def fn(x):
        s = {1, 2}
        for item in s:
            s.add(item + 10)
        return x

    assert_breaks(fn, one_tensor, RAISES)


def test_contains_on_sets():
    from helpers import make_state
    from vt.data.constant import ConstantVariable
    from vt.data.sets import new_set

    state, s = new_set(make_state(lambda: None), (1, "a", (2, 3)))
    assert s.contains(state, ConstantVariable(True))[1].constant_value() is True  # True == 1
    assert s.contains(state, ConstantVariable((2, 3)))[1].constant_value() is True
    assert s.contains(state, ConstantVariable("b"))[1].constant_value() is False


@pytest.mark.parametrize("body, kind", [
    ("s = {x}", BreakKind.UNSUPPORTED_OPERATION),
    ("s = {1}\n    s.add([1])", RAISES),
    ("s = {1}\n    s.remove(2)", RAISES),
    ("s = {1}\n    s.pop()\n    s.pop()", RAISES),
    ("s = {1}\n    s | [2]", RAISES),
    ("s = {1}\n    s < [2]", RAISES),
    ("s = {1}\n    s.update([x])", BreakKind.UNSUPPORTED_OPERATION),
], ids=["tensor-element", "unhashable", "remove", "pop-empty", "or-list", "lt-list", "update-tensor"])
def test_set_errors_and_limits(body, kind):
    namespace = {}
    exec(f"def fn(x):\n    y = x + 1\n    {body}\n    return y\n", namespace)
    assert_breaks(namespace["fn"], one_tensor, kind)
