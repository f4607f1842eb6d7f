"""Operators on containers (vt/container_ops.py), `contains`, the container opcodes, and changes
to containers passed in as arguments, against eager."""

import pytest
import torch

from helpers import RAISES, assert_same_as_eager, assert_same_structure, clone_inputs, make_state, opnames
from test_container_dicts import all_opnames
from test_container_lists import assert_breaks, one_tensor, t
from effects import heap
from tracer import trace
from vt.data.constant import ConstantVariable
from core.outcomes import BreakKind


# -- comparisons ---------------------------------------------------------------------------------

def test_sequence_comparisons_fold():
    def fn(x, n):
        a, b = [1, n], [1, n, 0]
        return (a == b, a != b, a < b, a <= [1, n], [2] > a, (n, 1) == (n, 1), (n,) < (n, 0), a == (1, n),
                (1, [2]) == (1, [2]), [[1], (2,)] < [[1], (3,)], x.shape == (n, 4), x + 1)

    assert_same_as_eager(fn, lambda: (t(3, 4), 3))


def test_containers_holding_one_tensor_are_equal_by_identity():
    def fn(x):
        a = [x, {"k": x}]
        return a == [x, {"k": x}], (x, 1) == (x, 1), [x] != [x, x], x + 1

    assert_same_as_eager(fn, one_tensor)


def test_comparing_different_tensors_needs_their_values():
    def fn(x):
        return [x] == [x + 0]

    assert_breaks(fn, lambda: (t(1),), BreakKind.DATA_DEPENDENT)


def test_ordering_different_types_is_the_type_error():
    def fn(x):
        return [1] < (1,), x

    assert_breaks(fn, one_tensor, RAISES)


# -- arithmetic ----------------------------------------------------------------------------------

def test_sequence_arithmetic():
    def fn(x):
        a = [1, x]
        alias = a
        a += (2,)  # list += any iterable extends in place
        a += "ab"
        a *= 2
        pair = (x, 1)
        pair += (3,)
        return (a, alias, [x] * 2, 2 * [x], pair * 2, 3 * (1, x), [0] * -1, a + [5], x.shape + (2,),
                (1,) + x.shape, x + 1)

    res = assert_same_as_eager(fn, one_tensor)
    a, alias, *_ = res(t(3))
    assert a is alias


def test_repeat_keeps_items_shared():
    def fn(x):
        rows = [[0]] * 3
        rows[0].append(x)
        return rows

    res = assert_same_as_eager(fn, lambda: (t(2),), graphs=0)
    rows = res(t(2))
    assert rows[0] is rows[1] is rows[2]


def test_string_formatting_with_a_built_tuple_folds():
    def fn(x, n):
        return "%d-%s" % (n, "a"), x + 1

    assert_same_as_eager(fn, lambda: (t(2), 4))


@pytest.mark.parametrize("expression", ["[1] + (2,)", "(1,) + [2]", "[1] * 2.0", "{} | [1]", "[1] - [1]"])
def test_operators_python_lacks_are_type_errors(expression):
    namespace = {}
    exec(f"def fn(x):\n    y = x + 1\n    return y, {expression}\n", namespace)
    assert_breaks(namespace["fn"], one_tensor, RAISES)


# -- contains --------------------------------------------------------------------------------------

def _contains(container, item, state):
    out = container.contains(state, item)
    return out if type(out) is not tuple else out[1].constant_value()


def test_contains_on_lists_tuples_and_dicts():
    from vt.data.dicts import new_dict
    from vt.data.lists import TupleVariable, new_list

    state = make_state(lambda x: x, (torch.ones(2),))
    state, lst = new_list(state, (ConstantVariable(1), ConstantVariable("a")))
    state, d = new_dict(state, [ConstantVariable("k")], [ConstantVariable(0)])
    assert _contains(lst, ConstantVariable(1.0), state) is True
    assert _contains(lst, ConstantVariable("b"), state) is False
    assert _contains(TupleVariable((lst,)), lst, state) is True  # identity
    assert _contains(d, ConstantVariable("k"), state) is True
    assert _contains(d, ConstantVariable(0), state) is False
    assert _contains(d, lst, state).cls is TypeError  # unhashable: the program raises


def test_contains_with_tensors_is_identity_or_needs_values():
    from tracer.step import step
    from vt.data.lists import new_list

    def fn(x):
        return x + 1

    state = make_state(fn, (torch.ones(2),))
    while state.frame.instruction.opname != "LOAD_CONST":
        state = step(state).unwrap()
    state = step(step(state).unwrap()).unwrap()  # x + 1 computed
    x, y = state.frame.locals[0], state.peek()
    state, lst = new_list(state, (x, ConstantVariable(1)))
    assert _contains(lst, x, state) is True
    assert _contains(lst, y, state).kind is BreakKind.DATA_DEPENDENT
    assert _contains(lst, ConstantVariable(1), state).kind is BreakKind.DATA_DEPENDENT  # x == 1 comes first


# -- opcodes ---------------------------------------------------------------------------------------

def test_starred_displays_and_comprehensions():
    def fn(x):
        a = (1, 2)
        return [*a, 1], [*x.shape, 2], (*a, 3), [x * i for i in range(3)], [*[x], *"ab", *range(2)]

    assert {"LIST_APPEND", "LIST_EXTEND"} <= all_opnames(fn.__code__)
    assert_same_as_eager(fn, one_tensor)


def test_list_extend_opcode_with_an_iterator():
    def fn(x):
        d = {"a": x, "b": 2}
        return [*d, *d.values(), *{3}], x + 1

    assert "LIST_EXTEND" in opnames(fn)
    assert_same_as_eager(fn, one_tensor)


# -- containers passed in --------------------------------------------------------------------------

def assert_same_changes(fn, make_inputs):
    """The traced function leaves its list/dict/set arguments as eager leaves them."""
    res = trace(fn, tuple(make_inputs()))
    assert res.graph_breaks == [], res.graph_breaks
    fresh = tuple(make_inputs())
    eager = tuple(set(value) if type(value) is set else value for value in clone_inputs(fresh))
    expected = fn(*eager)
    actual = res(*fresh)
    assert_same_structure(actual, expected)
    assert_same_structure(list(fresh), list(eager), "inputs")


def test_methods_on_arguments_are_replayed():
    def fn(x, items, table, seen):
        items.append(x + 1)
        items.sort(key=lambda item: item.shape[0] if isinstance(item, torch.Tensor) else item)
        items[0] = x * 2
        table["new"] = x * 3
        table.pop("a")
        table.update(b=0)
        seen.add(7)
        seen.discard(1)
        seen |= {9}
        return x

    assert_same_changes(fn, lambda: (t(3), [5, 1], {"a": 1, "b": 2}, {1, 2}))


def test_in_place_operators_on_arguments_are_replayed():
    def fn(x, items, table):
        items += [x]
        items *= 2
        table |= {"z": x + 1}
        del items[0]
        return items

    assert_same_changes(fn, lambda: (t(2), [1], {"a": 1}))


# -- speculation -----------------------------------------------------------------------------------

def test_set_changes_from_an_old_state_give_the_same_result():
    """Set changes reuse the real set the previous step left; going back to an older State
    (speculation) must still see that State's own set."""
    from vt.data.sets import change_set, new_set

    state, s = new_set(make_state(lambda: None), tuple(range(20)))
    later, _ = change_set(state, s, "difference_update", (tuple(range(2, 18)),), "set.difference_update")
    later, _ = change_set(later, s, "add", (40,), "set.add")
    again, _ = change_set(state, s, "add", (40,), "set.add")  # from the older state
    real = set(range(20))
    real.add(40)
    assert heap.current(again, s).values == tuple(real)
    real = set(range(20))
    real.difference_update(range(2, 18))
    real.add(40)
    assert heap.current(later, s).values == tuple(real)


def test_operators_table_covers_container_pairs():
    import vt.families  # noqa: F401
    from vt import registry
    from vt.data.constant import ConstantVariable
    from vt.data.container_ops import container_operation
    from vt.data.dicts import DictVariable, DictViewVariable
    from vt.iteration import IteratorVariable, ListIteratorVariable
    from vt.data.lists import ListVariable, TupleVariable
    from vt.objects.records import EnumVariable
    from vt.data.sets import SetVariable

    def find(left, right):
        return registry.binary_rule_for(left.__new__(left), right.__new__(right))

    for pair in [(ListVariable, ListVariable), (TupleVariable, ConstantVariable), (SetVariable, SetVariable),
                 (DictVariable, DictVariable), (ConstantVariable, ListVariable), (DictViewVariable, SetVariable),
                 (ListVariable, IteratorVariable), (ListVariable, ListIteratorVariable)]:
        assert find(*pair) is container_operation
    assert find(ConstantVariable, ConstantVariable) is not container_operation
    assert find(EnumVariable, ConstantVariable) is find(ConstantVariable, ConstantVariable)  # found along the MRO
