"""Methods of dicts, their views and iterators (vt/dict_methods.py, vt/dicts.py), against eager."""
import pytest

from helpers import RAISES, assert_same_as_eager, opnames
from test_container_lists import assert_breaks, one_tensor, t
from core.outcomes import BreakKind
from effects import heap


def all_opnames(code) -> set:
    """Opcode names in `code` and the code objects nested in it (comprehensions)."""
    names = opnames(code)
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            names |= all_opnames(const)
    return names


def test_get_setdefault_pop_popitem():
    def fn(x):
        d = {"a": 1, "b": x}
        got = d.get("a"), d.get("zz"), d.get("zz", 7)
        d.setdefault("h", []).append(x + 1)  # the default is stored and returned
        kept = d.setdefault("a", 100)
        popped = d.pop("a"), d.pop("nope", None)
        last = d.popitem()
        return d, got, kept, popped, last

    assert_same_as_eager(fn, one_tensor)


def test_update_from_a_dict_pairs_and_keywords():
    def fn(x):
        d = {"a": 1}
        d.update({"b": x}, c=3)
        d.update([("d", 4), ["f", x + 1]])
        d.update((("e", 5),), a=0)  # keywords after the pairs win
        d.update()
        return d

    assert_same_as_eager(fn, one_tensor)


def test_copy_clear_and_fromkeys():
    def fn(x):
        d = {"a": x, "b": [1]}
        c = d.copy()
        c["b"].append(2)  # shallow: the list is shared
        c["new"] = 1
        fresh = d.fromkeys("ab", x + 1)
        d.clear()
        return d, c, fresh

    assert_same_as_eager(fn, one_tensor)


def test_views_are_live_and_support_len_in_and_iteration():
    def fn(x):
        d = {"a": 1, "b": x}
        keys, values, items = d.keys(), d.values(), d.items()
        d["c"] = x * 2  # the views see the change
        del d["a"]
        return list(keys), list(values), list(items), len(keys), len(items), bool(values)

    assert_same_as_eager(fn, one_tensor)


def test_contains_on_views():
    from helpers import make_state
    from vt.data.constant import ConstantVariable
    from vt.data.dicts import DictViewVariable, new_dict
    from vt.data.lists import TupleVariable

    state = make_state(lambda: None)
    state, d = new_dict(state, [ConstantVariable("a"), ConstantVariable(1)], [ConstantVariable(2), ConstantVariable(3)])

    def contains(view, item):
        return view.contains(state, item)[1].constant_value()

    keys, values, items = (DictViewVariable(d, kind) for kind in ("keys", "values", "items"))
    assert contains(keys, ConstantVariable("a")) and not contains(keys, ConstantVariable(2))
    assert contains(values, ConstantVariable(3)) and not contains(values, ConstantVariable(1))
    assert contains(items, TupleVariable((ConstantVariable("a"), ConstantVariable(2))))
    assert contains(items, ConstantVariable(("a", 2)))
    assert not contains(items, TupleVariable((ConstantVariable("a"), ConstantVariable(3))))
    assert not contains(items, ConstantVariable("a2"))  # only a pair can be in an items view
    assert contains(d, ConstantVariable(True))  # 1 and True are one key


def test_loops_over_items_see_values_changed_meanwhile():
    def fn(x):
        d = {"a": x, "b": x * 2, "c": x * 3}
        out = []
        for key, value in d.items():
            out.append(value + 1)
            d["c"] = x - 1  # read by the last step, as in CPython
        for key in d:
            d[key] = key
        return out, d, [v for v in d.values()]

    assert_same_as_eager(fn, one_tensor)


def test_changing_a_dicts_size_while_looping_is_the_runtime_error():
    def fn(x):
        d = {"a": 1}
        for key in d:
            d["b"] = x
        return d

    assert_breaks(fn, one_tensor, RAISES)


def test_store_and_delete_subscr_on_dicts():
    def fn(x):
        d = {"a": 1}
        d["b"] = x
        d[1] = "one"
        d[True] = "true"  # the same key as 1: the first key object stays
        d[(1, 2)] = x + 1
        del d["a"]
        return d, d[1]

    assert {"STORE_SUBSCR", "DELETE_SUBSCR"} <= opnames(fn)
    assert_same_as_eager(fn, one_tensor)


def test_dict_merge_operators():
    def fn(x):
        a = {"a": 1, "b": x}
        b = {"b": 2, "c": x + 1}
        merged = a | b
        alias = a
        a |= [("d", 4)]  # in place, from pairs: the same object
        return merged, a, alias, a == alias, a != b, a == {"a": 1, "b": x, "d": 4}

    res = assert_same_as_eager(fn, one_tensor)
    _, a, alias, *_ = res(t(3))
    assert a is alias


def test_dict_displays_with_unpacking_and_comprehensions():
    def fn(x):
        base = {"a": x, "b": 2}
        return {**base, "c": 3}, {"a": 0, **base}, {k: x * i for i, k in ((0, "x"), (1, "y"), (2, "z"))}

    assert {"DICT_UPDATE", "MAP_ADD"} <= all_opnames(fn.__code__)
    assert_same_as_eager(fn, one_tensor)


def test_dict_merge_opcode_merges_and_rejects_a_repeated_keyword():
    from helpers import make_state, step_until
    from tracer.step import step

    def fn(x):
        return dict(**{"a": x}, **{"b": 2})

    def repeated(x):
        return dict(**{"a": x}, **{"a": 2})

    assert "DICT_MERGE" in opnames(fn)
    merged = step_until(step_until(make_state(fn, (t(2),)), "DICT_MERGE"), "DICT_MERGE")
    assert [key for key, _ in heap.current(merged, merged.peek()).entries] == ["a", "b"]
    before = step_until(step_until(make_state(repeated, (t(2),)), "DICT_MERGE"), "DICT_MERGE", after=False)
    failure = step(before).failure()
    assert type(failure).__name__ == "Raised" and failure.exception.cls is TypeError


@pytest.mark.parametrize("body, kind", [
    ("d = {}\n    d[x] = 1", BreakKind.UNSUPPORTED_OPERATION),
    ("d = {}\n    d[[1]] = 1", RAISES),
    ("d = {}\n    d.get([1])", RAISES),
    ("d = {}\n    d.pop('k')", RAISES),
    ("d = {}\n    d.popitem()", RAISES),
    ("d = {}\n    del d['k']", RAISES),
    ("d = {}\n    d.update([(1, 2, 3)])", RAISES),
    ("d = {}\n    d | [(1, 2)]", RAISES),
], ids=["tensor-key", "list-key", "get-list-key", "pop", "popitem", "delete", "update-triple", "or-list"])
def test_dict_errors_and_limits(body, kind):
    namespace = {}
    exec(f"def fn(x):\n    y = x + 1\n    {body}\n    return y\n", namespace)
    assert_breaks(namespace["fn"], one_tensor, kind)


def test_stores_keep_cpython_entry_order_after_deletes():
    """`d[k] = v` of a present key keeps its place, a new key goes after every slot used so far
    (also after deleted ones): what an iterator of the dict sees, as in CPython."""
    def fn(x):
        d = {"a": 1, "b": x, "c": 3}
        del d["b"]
        d["a"] = x + 1  # present: stays first
        d["b"] = 2  # back, after "c"
        d["d"] = x * 2
        seen = []
        for key in d:
            seen.append(key)
            d[key] = (key, d[key])  # only values change: the loop goes on
        return d, seen, list(d.items())

    assert_same_as_eager(fn, one_tensor)


def test_deleting_and_storing_back_a_key_while_looping_is_the_runtime_error():
    def fn(x):
        d = {"a": 1, "b": 2}
        for key in d:
            del d["a"]
            d["a"] = x  # same size, but the key took a new slot
        return d

    assert_breaks(fn, one_tensor, RAISES)
