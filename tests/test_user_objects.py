"""Objects of the user's own classes: attribute writes and deletes, objects made inside the trace,
dunder methods written in Python, descriptors, classes as values.  Every case compares with eager."""
from __future__ import annotations

import pytest
import functools
import torch

from tracer import trace
from core.outcomes import BreakKind


class Box:
    def __init__(self, value, scale=1.0):
        self.value = value
        self.scale = scale

    def scaled(self):
        return self.value * self.scale


class Counter:
    calls = 0

    def __init__(self):
        self.n = 0

    def bump(self):
        self.n += 1
        Counter.calls += 1
        return self.n


def _one_graph(res):
    assert res.graph_breaks == [], res.graph_breaks
    assert len(res.graphs) == 1


# -- step 1: writes and deletes on pre-existing objects -----------------------------------------

def test_writes_are_seen_by_later_reads_and_replayed_on_the_real_object():
    obj = Counter()

    def fn(x):
        obj.bump()
        obj.bump()
        return x + obj.n

    res = trace(fn, (torch.randn(3),))
    _one_graph(res)
    assert obj.n == 0 and Counter.calls == 0  # tracing changed nothing real
    x = torch.randn(3)
    assert torch.equal(res(x), x + 2)
    assert obj.n == 2 and Counter.calls == 2
    Counter.calls = 0


def test_tensor_written_onto_an_object_comes_out_of_the_graph():
    obj = Box(1.0)

    def fn(x):
        obj.cache = x * 2
        return obj.cache + 1

    res = trace(fn, (torch.randn(3),))
    _one_graph(res)
    x = torch.randn(3)
    out = res(x)
    assert torch.equal(obj.cache, x * 2) and torch.equal(out, x * 2 + 1)


def test_delete_then_read_raises_like_eager():
    obj = Box(1.0)

    def fn(x):
        del obj.scale
        return x * obj.scale

    res = trace(fn, (torch.randn(2),))
    assert res.graph_breaks == []  # modelled: the entry deletes, then raises eager's AttributeError
    with pytest.raises(AttributeError, match="'Box' object has no attribute 'scale'"):
        res(torch.randn(2))
    assert "scale" not in vars(obj)  # the delete made before the exception is applied


def test_delete_is_replayed_and_a_class_attribute_shows_through():
    class WithDefault:
        scale = 3.0

        def __init__(self):
            self.scale = 5.0

    obj = WithDefault()

    def fn(x):
        del obj.scale
        return x * obj.scale

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    x = torch.randn(2)
    assert torch.equal(res(x), x * 3.0)
    assert "scale" not in vars(obj)


def test_class_attribute_write_is_read_through_instances_and_replayed():
    class Config:
        factor = 2.0

    cfg = Config()

    def fn(x):
        Config.factor = 4.0
        return x * cfg.factor

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    x = torch.randn(2)
    assert torch.equal(res(x), x * 4.0)
    assert Config.factor == 4.0


def test_property_setter_and_python_setattr_are_inlined():
    class Temperature:
        def __init__(self):
            self._c = 0.0

        @property
        def celsius(self):
            return self._c

        @celsius.setter
        def celsius(self, value):
            self._c = float(value)

    class Logged:
        def __setattr__(self, name, value):
            object.__setattr__(self, "last", name)
            super().__setattr__(name, value)

    t, log = Temperature(), Logged()

    def fn(x):
        t.celsius = 21
        log.k = 3
        return x + t.celsius + log.k

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    x = torch.randn(2)
    assert torch.equal(res(x), x + 24.0)
    assert t._c == 21.0 and log.last == "k" and log.k == 3


# -- step 2: objects made inside the trace -------------------------------------------------------

def test_object_made_inside_the_trace_escapes_with_its_attributes_and_aliasing():
    def fn(x):
        b = Box(x + 1, 2.0)
        b.extra = "tag"
        return b, b, b.scaled()

    res = trace(fn, (torch.randn(3),))
    _one_graph(res)
    x = torch.randn(3)
    first, second, scaled = res(x)
    assert first is second and type(first) is Box
    assert list(vars(first)) == ["value", "scale", "extra"]
    assert torch.equal(first.value, x + 1) and first.scale == 2.0 and first.extra == "tag"
    assert torch.equal(scaled, (x + 1) * 2.0)


def test_object_stored_into_an_input_list_is_rebuilt():
    def fn(x, out):
        out.append(Box(x.sum()))
        return x

    res = trace(fn, (torch.randn(3), []))
    _one_graph(res)
    sink = []
    x = torch.randn(3)
    res(x, sink)
    assert len(sink) == 1 and torch.equal(sink[0].value, x.sum())


def test_object_that_does_not_escape_costs_nothing():
    def fn(x):
        return Box(x, 3.0).scaled()

    res = trace(fn, (torch.randn(3),))
    _one_graph(res)
    x = torch.randn(3)
    assert torch.equal(res(x), x * 3.0)


# -- step 3: dunders written in Python --------------------------------------------------------------

class Vec:
    def __init__(self, t):
        self.t = t

    def __add__(self, other):
        if isinstance(other, Vec):
            return Vec(self.t + other.t)
        return Vec(self.t + other)

    def __radd__(self, other):
        return Vec(other + self.t)

    def __mul__(self, k):
        return Vec(self.t * k)

    def __neg__(self):
        return Vec(-self.t)

    def __eq__(self, other):
        return isinstance(other, Vec) and self.t.shape == other.t.shape

    def __lt__(self, other):
        return self.t.numel() < other.t.numel()

    def __len__(self):
        return self.t.shape[0]

    def __getitem__(self, i):
        return self.t[i]

    def __setitem__(self, i, v):
        self.t = torch.cat([self.t[:i], v.reshape(1), self.t[i + 1:]])

    def __iter__(self):
        yield self.t[0]
        yield self.t[1]

    def __contains__(self, k):
        return k < len(self)

    def __call__(self, y):
        return self.t * y

    def __repr__(self):
        return f"Vec(n={len(self)})"

    def __hash__(self):
        return len(self)


def test_binary_reflected_and_unary_dunders():
    def fn(x):
        a, b = Vec(x), Vec(x * 2)
        c = 1.0 + (a + b) * 3
        return (-c).t, a == b, a != b, a < Vec(x[:1]), Vec(x[:1]) < a

    res = trace(fn, (torch.randn(3),))
    _one_graph(res)
    x = torch.randn(3)
    out, expected = res(x), fn(x)
    assert torch.allclose(out[0], expected[0]) and out[1:] == expected[1:]


def test_container_dunders_len_getitem_setitem_iter_contains_call():
    def fn(x):
        v = Vec(x)
        v[1] = x[0] * 10
        first, second = v
        shown = "non-empty" if v else "empty"
        return len(v), v[0], v[1], first + second, 2 in v, 5 in v, v(2.0), bool(v), repr(v), str(v), hash(v), shown

    res = trace(fn, (torch.randn(3),))
    _one_graph(res)
    x = torch.randn(3)
    out, expected = res(x), fn(x)
    for got, want in zip(out, expected):
        assert torch.allclose(got, want) if isinstance(want, torch.Tensor) else got == want


def test_default_equality_is_identity_and_isinstance_type_work():
    def fn(x):
        a, b = Box(x), Box(x)
        return a == a, a == b, a != b, isinstance(a, Box), type(a) is Box, issubclass(type(a), object)

    res = trace(fn, (torch.randn(3),))
    assert res.graph_breaks == []
    assert res(torch.randn(3)) == (True, False, True, True, True, True)


def test_python_descriptor_and_getattr_fallback():
    class Doubled:
        def __set_name__(self, owner, name):
            self.name = "_" + name

        def __get__(self, obj, owner):
            return getattr(obj, self.name) * 2

    class Thing:
        size = Doubled()

        def __init__(self, s):
            self._size = s

        def __getattr__(self, name):
            return name.upper()

    def fn(x):
        t = Thing(3)
        return x * t.size, t.whatever

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    x = torch.randn(2)
    out = res(x)
    assert torch.equal(out[0], x * 6) and out[1] == "WHATEVER"


def test_missing_dunder_raises_like_eager():
    def fn(x):
        return Box(x) + 1

    res = trace(fn, (torch.randn(2),))
    assert res.graph_breaks[0].kind is BreakKind.PYTHON_EXCEPTION
    with pytest.raises(TypeError):
        res(torch.randn(2))


# -- dict subclasses (the shape of Hugging Face's ModelOutput and registries) -----------------------

import collections  # noqa: E402
import dataclasses  # noqa: E402


class OutputBase(collections.OrderedDict):
    """A miniature ModelOutput: a dataclass that is also an OrderedDict of its non-None fields."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = self.__dict__.get(f.name)
            if v is not None:
                self[f.name] = v

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        super().__setattr__(key, value)

    def __setattr__(self, name, value):
        if name in self.keys() and value is not None:
            super().__setitem__(name, value)
        super().__setattr__(name, value)

    def __getitem__(self, k):
        if isinstance(k, str):
            return dict(self.items())[k]
        return self.to_tuple()[k]

    def to_tuple(self):
        return tuple(self[k] for k in self.keys())


@dataclasses.dataclass
class MiniOutput(OutputBase):
    logits: torch.Tensor = None
    loss: torch.Tensor = None
    extra: int = None


class Registry(dict):
    def __setitem__(self, key, value):
        super().__setitem__(str(key), value)

    def get(self, key):
        return super().get(str(key)) or {}


REGISTRY = Registry()
REGISTRY["a"] = {"flag": True}


def test_model_output_like_dict_subclass_dataclass_is_built_used_and_returned():
    def fn(x):
        o = MiniOutput(logits=x * 2, extra=3)
        o.logits = o.logits + 1  # __setattr__ override keeps the dict part in step
        return o, o["logits"] + o[1], len(o), "loss" in o, list(o.keys()), o.to_tuple()[0]

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    x = torch.randn(2)
    got, want = res(x), fn(x)
    assert type(got[0]) is MiniOutput and list(got[0].keys()) == list(want[0].keys()) == ["logits", "extra"]
    assert torch.equal(got[0]["logits"], want[0]["logits"]) and got[0].extra == 3 and got[0].loss is None
    assert got[0].logits is got[0]["logits"]
    assert torch.equal(got[1], want[1]) and got[2:5] == want[2:5] and torch.equal(got[5], want[5])


def test_pre_existing_dict_subclass_reads_and_writes_through_its_overrides():
    def fn(x):
        flags = REGISTRY.get("a")
        REGISTRY[7] = {"flag": False}
        return x + 1 if flags["flag"] else x - 1

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    x = torch.randn(2)
    assert torch.equal(res(x), x + 1)
    assert REGISTRY == {"a": {"flag": True}, "7": {"flag": False}}
    del REGISTRY["7"]


def test_python_getattribute_is_inlined_with_object_getattribute_underneath():
    class Aliased:
        aliases = {"width": "hidden"}

        def __init__(self):
            self.hidden = 4

        def __getattribute__(self, key):
            if key != "aliases" and key in super().__getattribute__("aliases"):
                key = super().__getattribute__("aliases")[key]
            return super().__getattribute__(key)

    cfg = Aliased()

    def fn(x):
        return x * cfg.width + Aliased().width

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    x = torch.randn(2)
    assert torch.equal(res(x), x * 4 + 4)


def test_sequence_mixin_iterates_through_len_and_getitem():
    import collections.abc

    class Layers(collections.abc.Sequence):
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            if i >= self.n:
                raise IndexError(i)
            return i * 10

    def fn(x):
        return [x + item for item in Layers(3)]

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    x = torch.randn(2)
    assert all(torch.equal(a, b) for a, b in zip(res(x), fn(x)))


def test_import_inside_the_function_of_a_loaded_module():
    def fn(x):
        import math
        from collections import OrderedDict as OD

        return x * math.pi, OD is collections.OrderedDict

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    x = torch.randn(2)
    out = res(x)
    assert torch.equal(out[0], x * torch.pi) or torch.allclose(out[0], x * 3.141592653589793)
    assert out[1] is True


class _PartialOfMine(functools.partial):
    """A Python subclass of a C class whose fields are readonly member descriptors."""


def _write_partial_field(p, x):
    try:
        p.func = max
    except AttributeError as exc:
        return x + 1, str(exc)
    return x, "written"


def test_writing_a_readonly_member_of_a_c_base_class_is_not_a_slot_store():
    from tests.helpers import assert_same_outcome

    traced = assert_same_outcome(_write_partial_field, lambda: (_PartialOfMine(min, 1), 3), calls=3)
    assert traced.side_effects == []
