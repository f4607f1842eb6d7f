"""core/pmaps.py's PersistentMap against pyrsistent's PMap: the same contents after any history of
sets, removes and updates, every old version unchanged, and a PersistentMap out of each change."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pyrsistent import PMap, pmap

from core.pmaps import EMPTY, PersistentMap


class Colliding:
    """Keys whose hashes collide, so buckets hold several pairs."""

    def __init__(self, n):
        self.n = n

    def __hash__(self):
        return self.n % 3

    def __eq__(self, other):
        return type(other) is Colliding and other.n == self.n

    def __repr__(self):
        return f"Colliding({self.n})"


keys = st.one_of(st.integers(-50, 50), st.text(max_size=2), st.builds(Colliding, st.integers(0, 20)))
operations = st.lists(st.tuples(st.sampled_from(["set", "set_same", "remove", "discard", "update"]), keys,
                                st.integers()), max_size=120)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_every_operation_agrees_with_pmap(ops):
    fast, reference = EMPTY, pmap()
    history = []
    for op, key, value in ops:
        if op == "set":
            fast, reference = fast.set(key, value), reference.set(key, value)
        elif op == "set_same" and key in reference:
            same = fast.set(key, fast[key])
            assert same is fast  # setting the value already there changes nothing
        elif op == "remove" and key in reference:
            fast, reference = fast.remove(key), reference.remove(key)
        elif op == "discard":
            fast, reference = fast.discard(key), reference.discard(key)
        elif op == "update":
            fast, reference = fast.update({key: value}), reference.update({key: value})
        assert type(fast) is PersistentMap
        history.append((fast, dict(reference)))
        assert fast == reference and dict(fast) == dict(reference) and len(fast) == len(reference)
        assert (key in fast) == (key in reference)
        assert fast.get(key, "absent") == reference.get(key, "absent")
    for version, contents in history:  # persistence: later changes left every version as it was
        assert dict(version) == contents
        for key, value in contents.items():
            assert version[key] == value and version.get(key) == value and key in version


def test_missing_keys_and_construction():
    m = EMPTY.update({"a": 1})
    assert isinstance(m, PMap) and m == pmap({"a": 1}) and hash(m) == hash(pmap({"a": 1}))
    assert m.get("b") is None and "b" not in m
    try:
        m["b"]
    except KeyError as error:
        assert error.args == ("b",)
    else:
        raise AssertionError("a missing key read without KeyError")
    big = EMPTY
    for n in range(1000):  # past several of pyrsistent's reallocations
        big = big.set(n, n * n)
    assert type(big) is PersistentMap and all(big[n] == n * n for n in range(1000)) and len(big) == 1000
