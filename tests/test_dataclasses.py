"""dataclasses and the VT families behind them: UserDefinedObjectVariable, UserDefinedClassVariable,
FrozenDataClassVariable and GetAttrVariable.  Every case compares with eager."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest
import torch

from tracer import trace
from core.outcomes import BreakKind


@dataclass
class Point:
    x: torch.Tensor
    k: float = 2.0
    tags: list = field(default_factory=list)

    def scaled(self):
        return self.x * self.k


@dataclass(frozen=True)
class Frozen:
    a: int
    b: int = 3


@dataclass
class Pair:
    left: Point
    right: torch.Tensor


def _one_graph(res):
    assert res.graph_breaks == [], res.graph_breaks
    assert len(res.graphs) == 1


def test_dataclass_made_inside_the_trace_with_default_factory_escapes():
    def fn(t):
        p = Point(t)
        p.tags.append("seen")
        return p.scaled(), p

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    t = torch.randn(2)
    out, p = res(t)
    assert torch.equal(out, t * 2.0) and type(p) is Point and p.tags == ["seen"] and torch.equal(p.x, t)


def test_frozen_dataclass_init_replace_eq_and_repr():
    def fn(t):
        q = Frozen(1)
        r = dataclasses.replace(q, b=7)
        return t + r.b, q == Frozen(1), q == r, repr(q), str(r), q

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    t = torch.randn(2)
    out, expected = res(t), fn(t)
    assert torch.equal(out[0], expected[0]) and out[1:] == expected[1:]


def test_assigning_to_a_frozen_dataclass_raises_like_eager():
    def fn(t):
        q = Frozen(1)
        q.a = 5
        return t

    res = trace(fn, (torch.randn(2),))
    assert res.graph_breaks[0].kind is BreakKind.PYTHON_EXCEPTION
    assert "FrozenInstanceError" in res.graph_breaks[0].reason
    with pytest.raises(dataclasses.FrozenInstanceError):
        res(torch.randn(2))


def test_fields_and_asdict_with_nested_dataclasses_and_tensors():
    def fn(t):
        pair = Pair(Point(t, 3.0), t * 2)
        d = dataclasses.asdict(pair)
        return [f.name for f in dataclasses.fields(pair)], d, dataclasses.astuple(Frozen(4))

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    t = torch.randn(2)
    names, d, tup = res(t)
    assert names == ["left", "right"] and tup == (4, 3)
    assert set(d) == {"left", "right"} and d["left"]["k"] == 3.0 and d["left"]["tags"] == []
    assert torch.equal(d["left"]["x"], t) and torch.equal(d["right"], t * 2)
    assert d["left"]["x"] is not t  # asdict deep-copies its leaves


def test_pre_existing_dataclass_fields_written_then_replayed():
    p = Point(torch.zeros(2), 1.0)

    def fn(t):
        p.k = p.k + 1
        p.x = t * p.k
        return Frozen(1) == Frozen(1, 3), Frozen(1) != Frozen(2)

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    t = torch.randn(2)
    assert res(t) == (True, True)
    assert p.k == 2.0 and torch.equal(p.x, t * 2.0)


def test_vt_families_have_the_names_the_issue_asks_for():
    class Logged:
        def __setattr__(self, name, value):
            super().__setattr__(name, value)

    def fn(t):
        obj = Logged()
        obj.v = t + 1  # super().__setattr__ is a GetAttrVariable for object.__setattr__
        return obj.v, Frozen(2).a, Point(t).k

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    t = torch.randn(2)
    out = res(t)
    assert torch.equal(out[0], t + 1) and out[1:] == (2, 2.0)


def _wrapped(value):
    from core.state import Env, initial_state
    from core.code import decode
    from torch._subclasses import FakeTensorMode
    from vt.registry import wrap_value
    from core.sources import LocalSource

    env = Env(None, {}, {}, FakeTensorMode())
    state = initial_state(decode(_wrapped.__code__, {}), [None] * 10, env)
    return wrap_value(state, value, LocalSource("v"))[1]


def test_wrap_value_gives_the_named_families():
    from vt.objects.getattr_variable import GetAttrVariable, builtin_method
    from vt.objects.user_classes import UserDefinedClassVariable
    from vt.objects.user_objects import FrozenDataClassVariable, UserDefinedObjectVariable

    assert type(_wrapped(Point(torch.zeros(1)))) is UserDefinedObjectVariable
    assert type(_wrapped(Frozen(1))) is FrozenDataClassVariable
    assert type(_wrapped(Point)) is UserDefinedClassVariable
    receiver = _wrapped(Point(torch.zeros(1)))
    _, method = builtin_method(None, receiver, object.__setattr__, "__setattr__")
    assert type(method) is GetAttrVariable and method.name == "__setattr__"
