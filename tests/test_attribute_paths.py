"""The cheap paths of attribute reads stay exact: the MRO walk that skips classes the trace never
saw, `super()` lookups that build a source only when the result needs one, a plain read that
builds sources only past the instance dict and reads the real instance dict past the class's
hook, function wraps remembered for the trace, guards given again in one `State.add_guards`, and
dict lookups that skip the Python-`__eq__` scan when no key needs it
(vt/objects/object_attributes.py, vt/objects/user_objects.py, vt/registry.py, core/state.py,
vt/data/object_keys.py)."""
from __future__ import annotations

import torch

from helpers import assert_raises_like_eager, assert_same_as_eager, make_state
from tracer import trace
from tracer.step import run


class Base:
    scale = 2

    def __init__(self):
        self.own = 3

    def twice(self, v):
        return v * 2

    @staticmethod
    def helper(v):
        return v + 1

    @property
    def prop(self):
        return self.own * 10


class Layered(Base):
    """A config-like class: every read goes through a Python `__getattribute__` and `super()`."""

    aliases = {"width": "own"}

    def __getattribute__(self, key):
        if key != "aliases" and key in super().__getattribute__("aliases"):
            key = super().__getattribute__("aliases")[key]
        return super().__getattribute__(key)

    def __getattr__(self, key):
        if key == "fallback":
            return 42
        raise AttributeError(key)


def test_reads_through_a_python_getattribute_and_super_match_eager():
    def fn(x, obj):
        return x * obj.width + obj.own + obj.scale + obj.prop + obj.twice(x) + obj.helper(1) + obj.fallback

    assert_same_as_eager(fn, lambda: (torch.randn(3), Layered()))


def test_a_missing_attribute_raises_attribute_error_like_eager():
    def fn(x, obj):
        return x + obj.nothing_here

    assert_raises_like_eager(fn, lambda: (torch.randn(3), Layered()))


def test_class_attributes_written_in_the_trace_are_seen_along_the_mro():
    class A:
        value = 1

    class B(A):
        pass

    def fn(x, obj):
        first = obj.value
        A.value = 5  # a class the trace has now seen and written: the MRO walk must look at its record
        second = obj.value
        del A.value
        return x * first + second + (1 if hasattr(obj, "value") else 0)

    res = trace(fn, (torch.randn(2), B()))
    A.value = 1  # tracing replays nothing; restored anyway in case
    assert not res.graph_breaks
    x = torch.randn(2)
    actual = res(x, B())
    traced_left = "value" in A.__dict__
    A.value = 1
    expected = fn(x, B())
    eager_left = "value" in A.__dict__
    A.value = 1
    assert torch.equal(actual, expected) and traced_left == eager_left is False


def test_super_finds_functions_static_methods_plain_values_and_c_methods():
    class Sub(Base):
        def twice(self, v):
            return super().twice(v) + 1

        def helper(self, v):
            return super().helper(v) * 3

        def read(self):
            return super().__getattribute__("own") + super().scale + object.__getattribute__(self, "own")

    def fn(x, obj):
        return obj.twice(x) + obj.helper(2) + obj.read()

    assert_same_as_eager(fn, lambda: (torch.randn(3), Sub()))


def test_super_sees_a_base_class_method_replaced_in_the_trace():
    class A:
        def f(self):
            return 1

    class B(A):
        def f(self):
            return super().f() + 10

    def replacement(self):
        return 100

    def fn(x, obj):
        before = obj.f()
        A.f = replacement
        return x * before + obj.f()

    original = A.f
    res = trace(fn, (torch.randn(2), B()))
    A.f = original
    assert not res.graph_breaks
    x = torch.randn(2)
    actual = res(x, B())
    traced_after = A.f
    A.f = original
    expected = fn(x, B())
    eager_after = A.f
    A.f = original
    assert torch.equal(actual, expected) and traced_after is eager_after is replacement


def test_super_missing_attribute_raises_attribute_error_like_eager():
    class Sub(Base):
        def read(self):
            try:
                return super().missing
            except AttributeError:
                return -1

    def fn(x, obj):
        return x + obj.read()

    assert_same_as_eager(fn, lambda: (torch.randn(3), Sub()))


def test_a_data_descriptor_wins_over_the_instance_dict():
    class WithProp:
        @property
        def shadow(self):
            return 7

    def fn(x, obj):
        return x + obj.shadow + obj.__class__.__name__.count("W")

    obj = WithProp()
    obj.__dict__["shadow"] = 1000  # a property is a data descriptor: the instance dict loses
    assert_same_as_eager(fn, lambda: (torch.randn(2), obj))


def _global_helper(v):
    return v + 1


def _other_helper(v):
    return v * 100


def test_a_function_rebound_in_the_trace_is_not_taken_from_the_memo():
    def fn(x):
        global _global_helper
        a = _global_helper(x)
        saved = _global_helper
        _global_helper = _other_helper
        b = _global_helper(x)
        _global_helper = saved
        return a + b + _global_helper(x)

    assert_same_as_eager(fn, lambda: (torch.randn(2),))


def test_a_function_wrap_is_remembered_for_the_trace():
    def fn(x):
        return _global_helper(x) + _global_helper(x)

    final, _ = run(make_state(fn, (torch.randn(2),)))
    remembered = [source for source, _ in final.env.wrapped if "_global_helper" in source.expr()]
    assert remembered


class LooseKey:
    """A dict key whose Python `__eq__` makes it equal to a string of the same hash."""

    def __init__(self, text):
        self.text = text

    def __hash__(self):
        return hash(self.text)

    def __eq__(self, other):
        return other == self.text or (isinstance(other, LooseKey) and other.text == self.text)


def test_a_dict_lookup_still_asks_a_python_eq_key():
    def fn(x):
        table = {LooseKey("a"): 5, "b": 1}
        return x * table.get("a", 0) + ("a" in table) + table["a"] + ("c" in table)

    assert_same_as_eager(fn, lambda: (torch.randn(2),))


def test_a_dict_of_plain_keys_misses_like_eager():
    def fn(x, table):
        return x * table.get("zz", 3) + ("zz" in table) + table.get(1, 0)

    assert_same_as_eager(fn, lambda: (torch.randn(2), {"a": 1, 1: 2}))


def test_add_guards_adds_like_add_guard_one_by_one():
    from core.guards import ConstantMatch
    from core.sources import GlobalSource

    a, b, c = (ConstantMatch.of(GlobalSource(name), value) for name, value in (("A", 1), ("B", 2), ("C", 3)))
    start = make_state(_global_helper, (torch.ones(2),)).add_guard(b)
    one_by_one = start.add_guard(a).add_guard(b).add_guard(c)
    assert start.add_guards((a, b, c)).guard_list() == one_by_one.guard_list()
    assert one_by_one.add_guards((a, c)) is one_by_one  # nothing new, nothing remembered: the same state
    assert start.add_guards(()) is start
    recording = start.replace(guard_trail=())
    from vt.guard_trail import trail_guards
    assert trail_guards(recording.add_guards((a, b)).guard_trail) == (a, b)  # the trail keeps those it had too


class Sneaky:
    """A `__getattribute__` that answers `__dict__` with another dict: generic lookup
    (`object.__getattribute__`) still reads the object's own attributes."""

    def __init__(self):
        self.a = 1

    def __getattribute__(self, key):
        if key == "__dict__":
            return {"a": 100}
        return object.__getattribute__(self, key)


def test_generic_lookup_reads_the_real_instance_dict_past_the_class_hook():
    def fn(x, obj):
        return x * obj.a + object.__getattribute__(obj, "a")

    obj = Sneaky()  # objects of a user class are guarded by identity: the same one again
    res = trace(fn, (torch.randn(2), obj))
    x = torch.randn(2)
    assert torch.equal(res(x, obj), fn(x, obj))
    assert len(res.captures) == 1  # the capture read 1, as eager does, so its guards held
