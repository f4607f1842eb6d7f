"""Mappings, dict subclasses and sets where CPython looks closely: dict(m) / d.update(m) / {**m} of a
Mapping read through keys() and m[k] (a dict subclass that keeps dict's iteration: its storage),
dict's own methods called on a dict subclass object, a key deleted and added back while
iterating, a set looked up as a frozenset, a Sequence iterated while it grows."""
import collections
import collections.abc
import os

from helpers import assert_same_outcome
from tracer import compile


class _Mapping(collections.abc.Mapping):
    def __init__(self, data):
        self.data = data

    def __getitem__(self, key):
        return self.data[key] * 10

    def __iter__(self):
        return iter(self.data)

    def __len__(self):
        return len(self.data)


class _LoggingDict(dict):
    log = []

    def __getitem__(self, key):
        _LoggingDict.log.append(key)
        return super().__getitem__(key)


def test_dict_of_a_counter():
    assert_same_outcome(lambda: dict(collections.Counter("aab")))


def test_dict_of_a_user_mapping_calls_keys_and_getitem():
    assert_same_outcome(lambda: (dict(_Mapping({"a": 1, "b": 2})), {**_Mapping({"c": 3})}))


def test_update_with_a_chain_map():
    def f():
        d = {"x": 0}
        d.update(collections.ChainMap({"a": 1}, {"a": 2, "b": 3}))
        return d

    assert_same_outcome(f)


def test_dict_of_os_environ():
    assert_same_outcome(lambda: dict(os.environ) == dict(os.environ.items()))


def test_dict_subclass_with_dict_iteration_is_read_from_its_storage():
    def f(d):
        _LoggingDict.log.clear()
        return dict(d), list(_LoggingDict.log)

    assert_same_outcome(f, lambda: (_LoggingDict(a=1, b=2),))


def test_sequence_of_pairs_still_works_and_bad_ones_raise():
    assert_same_outcome(lambda: dict([("a", 1), ["b", 2]]))
    assert_same_outcome(lambda: dict(["ab", "c"]))


class _OD(collections.OrderedDict):
    pass


class _D(dict):
    pass


def test_dict_methods_called_on_a_dict_subclass_object():
    def f():
        od = _D()
        od["spam"] = 1
        od["ham"] = 2
        od["eggs"] = 3
        popped = dict.pop(od, "spam"), dict.setdefault(od, "new", 4), dict.popitem(od)
        dict.clear(od)
        return popped, list(od.items())

    assert_same_outcome(f)


def test_dict_methods_called_on_an_ordered_dict_run_for_real():
    def f():
        od = _OD()
        od["spam"] = 1
        od["ham"] = 2
        dict.pop(od, "spam")
        try:
            od["spam"]
        except KeyError as exc:
            return repr(exc)

    assert_same_outcome(f)


def _mutate_while_iterating(view):
    d = {0: 0}
    try:
        for _ in view(d):
            del d[0]
            d[0] = 0
    except RuntimeError as exc:
        return str(exc)
    return "no error"


def test_deleting_and_adding_back_a_key_while_iterating():
    for view in (lambda d: d, dict.values, dict.items):
        assert_same_outcome(lambda: _mutate_while_iterating(view))


def test_changing_a_value_while_iterating_is_fine():
    def f():
        d = {"a": 1, "b": 2}
        for k in d:
            d[k] = d[k] + 1
        return d

    assert_same_outcome(f)


def test_changing_size_while_iterating():
    def f():
        d = {"a": 1}
        try:
            for k in d:
                d["b"] = 2
        except RuntimeError as exc:
            return str(exc)

    assert_same_outcome(f)


def test_set_lookup_of_a_set_uses_a_frozenset():
    def f():
        s = {frozenset({1}), 2}
        found = {1} in s
        s.discard({1})
        key = {3}
        try:
            s.remove(key)
        except KeyError as exc:
            return found, sorted(map(str, s)), exc.args, exc.args[0] is key
        return None

    assert_same_outcome(f)


def test_iterator_over_a_user_list_sees_items_appended_later():
    def f():
        u = collections.UserList([1, 2])
        it = iter(u)
        first = next(it)
        u.append(3)
        return first, list(it)

    traced = assert_same_outcome(f)
    assert traced.graph_breaks == []


def test_ordered_dict_setdefault_takes_default_by_keyword():
    def f():
        od = _OD()
        od["a"] = 1
        return od.setdefault("a", 10), od.setdefault("g", default=9), list(od.items())

    assert_same_outcome(f)


class _OldSequence:
    def __getitem__(self, index):
        if index >= 3:
            raise IndexError(index)
        return index * 2


def test_old_sequence_protocol_iterates():
    assert_same_outcome(lambda: list(_OldSequence()))


class _Missing(dict):
    def __missing__(self, key):
        return key * 2


def test_dict_subclass_missing_is_asked():
    def f():
        d = _Missing()
        d[1] = 5
        return d[1], d[3], collections.Counter("aab")["z"]

    assert_same_outcome(f)


class _SetSubclass(set):
    pass


def test_a_containers_own_methods_unbound_on_other_objects():
    """set's methods called unbound: on a set subclass's object they run (Lib/test's
    TestMethodsMutating_Subclass_Subclass); on another type, or with no argument, eager's TypeError."""
    from helpers import assert_same_outcome

    def on_subclass(s):
        return sorted(set.difference(s, {1})), sorted(set.union(s, [3]))

    def on_int():
        return set.difference(1, {1})

    def without_argument():
        return set.difference()

    assert_same_outcome(on_subclass, lambda: (_SetSubclass({1, 2}),))
    assert_same_outcome(on_int)
    assert_same_outcome(without_argument)


class _Plain(dict):
    pass


def test_a_dict_compared_with_a_counter_or_a_dict_subclass_object():
    """Counter.__eq__ gives NotImplemented against a plain dict; then dict's own C `==` compares the
    two dict parts (Lib/test's TestCounter.test_basics)."""
    def with_counter():
        c = collections.Counter("aaabbc")
        return c == {"a": 3, "b": 2, "c": 1}, {"a": 3, "b": 2, "c": 1} == c, c != {"a": 3}, {"a": 1} != c

    def with_subclass(d):
        return {"x": 1} == d, d == {"x": 1}, {"x": 2} != d, {"x": 2} == d

    assert_same_outcome(with_counter)
    assert_same_outcome(with_subclass, lambda: (_Plain(x=1),))


def test_ordered_dict_keywords_and_dicts_own_changes_on_it():
    """OrderedDict.fromkeys(value=) and setdefault(key=, default=) take keywords; dict's own
    changing methods on an OrderedDict leave its order list behind, which eager sees as a KeyError
    later (Lib/test's test_dict_pop / test_dict_delitem / test_setdefault / test_fromkeys)."""
    ordered = collections.OrderedDict

    def keywords():
        od = ordered.fromkeys("abc", value=1)
        made = od.setdefault("x", default=5), od.setdefault(key="y"), od.setdefault("a")
        return list(od.items()), made, list(ordered.fromkeys("ab").items())

    def dict_pop_then_iterate():
        od = ordered([(1, 1), (2, 2)])
        dict.pop(od, 1)
        return list(od)

    def dict_delitem_then_iterate():
        od = ordered([(1, 1)])
        dict.__delitem__(od, 1)
        return list(od)

    for fn in (keywords, dict_pop_then_iterate, dict_delitem_then_iterate):
        assert_same_outcome(fn)


def test_an_ordered_dict_changed_while_iterated_raises_its_own_error():
    """Lib/test's test_key_change_during_iteration: moving, adding or deleting a key while a loop
    walks an OrderedDict is "OrderedDict mutated during iteration"; assigning an existing key is not."""
    def fn():
        od = collections.OrderedDict.fromkeys("abcde")
        out = []
        for body in (lambda k: od.move_to_end(k), lambda k: od.__setitem__("f", None),
                     lambda k: od.__delitem__("c"), lambda k: od.__setitem__("a", 1)):
            try:
                for k in od:
                    body(k)
                out.append("ok")
            except RuntimeError as error:
                out.append(str(error))
        return out, list(od)

    assert_same_outcome(fn)


def test_an_ordered_dict_input_whose_order_list_and_storage_disagree_runs_eagerly():
    """After `dict.pop(od, k)` ran for real the order list still names `k`: reading such an input is a
    break (it runs for real and raises eager's KeyError), not a tracer error."""
    from tracer import trace

    def make():
        od = collections.OrderedDict([("spam", 1), ("ham", 2)])
        dict.pop(od, "spam")
        return (od,)

    def fn(od):
        return list(od)

    assert_same_outcome(fn, make)
    res = trace(fn, make())
    assert "order list and storage disagree" in res.graph_breaks[0].reason
