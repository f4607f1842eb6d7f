"""Classes defined inside the traced function, user objects as dict keys and set elements through
their own `__hash__` / `__eq__`, and sorting objects by their own `__lt__`.

Every case runs against eager on fresh inputs: the same results, the same mutations, no graph
break unless the case is about one (then the break has its reason and the answer is still
eager's).
"""
from __future__ import annotations

import abc
import dataclasses
import functools

import pytest
import torch

from core.outcomes import BreakKind
from helpers import assert_same_as_eager, opnames
from tracer import compile, trace


def _one_graph(res, graphs=1):
    assert res.graph_breaks == [], res.graph_breaks
    assert len(res.graphs) == graphs


# == 1. classes defined inside the traced function ================================================

class ModuleBase:
    scale = 2.0

    def __init__(self, value):
        self.value = value

    def get(self):
        return self.value * self.scale

    @classmethod
    def tag(cls):
        return cls.__name__


def test_class_with_methods_and_class_attributes_is_traced():
    def fn(x):
        class Box:
            offset = 3

            def __init__(self, value):
                self.value = value

            def shifted(self):
                return self.value + self.offset

        box = Box(x)
        return box.shifted() * 2, Box.offset, box.offset

    assert_same_as_eager(fn, lambda: (torch.randn(4),))
    assert "LOAD_BUILD_CLASS" in opnames(fn)


def test_methods_see_the_enclosing_function_and_the_body_reads_its_own_names():
    def fn(x, n):
        weight = x * 2

        class Scaled:
            factor = n + 1  # LOAD_CLASSDEREF: a free variable read by the class body
            twice = factor * 2  # LOAD_NAME: a name the body stored

            def apply(self, t):
                return t * weight + self.twice

        return Scaled().apply(x)

    body = next(c for c in fn.__code__.co_consts if getattr(c, "co_name", None) == "Scaled")
    assert {"LOAD_CLASSDEREF", "LOAD_NAME", "STORE_NAME"} <= opnames(body)
    assert_same_as_eager(fn, lambda: (torch.randn(3), 4))


def test_static_class_methods_and_properties_made_in_the_body():
    def fn(x):
        class Temperature:
            unit = "C"

            def __init__(self, degrees):
                self._degrees = degrees

            @property
            def degrees(self):
                return self._degrees

            @degrees.setter
            def degrees(self, value):
                self._degrees = value * 1

            @staticmethod
            def convert(value):
                return value * 9 / 5 + 32

            @classmethod
            def freezing(cls):
                return cls(torch.zeros(1))

        t = Temperature(x)
        t.degrees = x + 1
        cold = Temperature.freezing()
        return t.degrees, Temperature.convert(t.degrees), t.convert(2.0), cold.degrees, cold.unit

    assert_same_as_eager(fn, lambda: (torch.randn(3),))


def test_inheritance_between_local_classes_and_super():
    def fn(x):
        class Base:
            def __init__(self, value):
                self.value = value

            def get(self):
                return self.value + 1

        class Child(Base):
            def __init__(self, value):
                super().__init__(value * 2)

            def get(self):
                return super().get() * 3

        child = Child(x)
        return (child.get(), isinstance(child, Base), issubclass(Child, Base), type(child) is Child,
                type(child).__name__, Child.__qualname__.split(".")[-1])

    assert_same_as_eager(fn, lambda: (torch.randn(3),))


def test_local_class_with_a_module_level_base():
    def fn(x):
        class Local(ModuleBase):
            scale = 3.0

            def get(self):
                return super().get() + 1

        obj = Local(x)
        return obj.get(), obj.tag(), Local.tag(), isinstance(obj, ModuleBase), ModuleBase.scale

    assert_same_as_eager(fn, lambda: (torch.randn(3),))


def test_dunder_methods_of_a_local_class_are_inlined():
    def fn(x):
        class Vec:
            def __init__(self, data):
                self.data = data

            def __add__(self, other):
                return Vec(self.data + other.data)

            def __mul__(self, k):
                return Vec(self.data * k)

            def __len__(self):
                return self.data.shape[0]

            def __getitem__(self, i):
                return self.data[i]

            def __eq__(self, other):
                return isinstance(other, Vec) and len(other) == len(self)

            def __repr__(self):
                return f"Vec({len(self)})"

            def __call__(self, t):
                return self.data + t

        a = Vec(x) + Vec(x)
        b = a * 2
        return b.data, len(b), b[0], a == b, a != b, repr(b), b(1.0), bool(b)

    assert_same_as_eager(fn, lambda: (torch.randn(5),))


def test_class_attribute_writes_and_counters():
    def fn(x):
        class Counter:
            made = 0

            def __init__(self):
                Counter.made += 1
                self.id = Counter.made

        first, second = Counter(), Counter()
        return x + Counter.made, first.id, second.id

    assert_same_as_eager(fn, lambda: (torch.randn(2),))


def test_type_with_three_arguments_makes_a_class():
    def fn(x):
        def scaled(self):
            return self.value * self.k

        Made = type("Made", (object,), {"k": 3, "scaled": scaled})
        obj = Made()
        obj.value = x
        return obj.scaled(), Made.__name__, isinstance(obj, Made)

    assert_same_as_eager(fn, lambda: (torch.randn(3),))


def test_slots_abc_and_metaclass_keyword():
    def fn(x):
        class Slotted:
            __slots__ = ("a",)

            def __init__(self, a):
                self.a = a

        class Abstract(abc.ABC):
            def value(self):
                return 2

        class Plain(metaclass=type):
            pass

        return Slotted(x).a + Abstract().value(), type(Plain).__name__

    assert_same_as_eager(fn, lambda: (torch.randn(3),))


def test_exception_in_the_class_body_is_raised_like_eager():
    def fn(x):
        class Broken:
            limit = 1 // 0

        return x

    res = trace(fn, (torch.randn(2),))
    assert res.graph_breaks == []
    with pytest.raises(ZeroDivisionError):
        res(torch.randn(2))


def test_dataclass_on_a_local_class():
    def fn(x):
        @dataclasses.dataclass
        class Config:
            width: int
            scale: float = 2.0

            def __post_init__(self):
                self.area = self.width * self.scale

        @dataclasses.dataclass(frozen=True, order=True)
        class Key:
            layer: int
            kind: str = "attn"

        config = Config(3)
        table = {Key(0): x, Key(1, "mlp"): x + 1}
        return (x * config.area, config == Config(3), config == Config(4), repr(config), dataclasses.astuple(config),
                table[Key(0)], [(k.layer, k.kind) for k in sorted([Key(2), Key(0, "z"), Key(0)])],
                dataclasses.is_dataclass(config), [f.name for f in dataclasses.fields(Config)])

    res = assert_same_as_eager(fn, lambda: (torch.randn(3),))
    _one_graph(res)


def test_a_returned_local_dataclass_is_decorated_again_per_call():
    def fn(x):
        @dataclasses.dataclass
        class Output:
            logits: torch.Tensor
            loss: float = 0.0

        return Output(x * 2)

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    x = torch.randn(2)
    first, second, eager = res(x), res(x), fn(x)
    assert type(first) is not type(second) and dataclasses.is_dataclass(first)
    assert [f.name for f in dataclasses.fields(first)] == ["logits", "loss"]
    assert repr(first).split("(")[0] == repr(eager).split("(")[0] and type(first).__qualname__.endswith("fn.<locals>.Output")
    torch.testing.assert_close(first.logits, eager.logits)


def test_dataclass_errors_and_limits_on_a_local_class():
    def misordered(x):
        @dataclasses.dataclass
        class Bad:
            a: int = 1
            b: int

        return x

    res = trace(misordered, (torch.randn(2),))
    assert res.graph_breaks == []
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        res(torch.randn(2))

    def with_slots(x):
        @dataclasses.dataclass(slots=True)
        class Slotted:
            a: int = 1

        return x + Slotted().a

    res = trace(with_slots, (torch.randn(2),))
    assert any("slots=True" in b.reason for b in res.graph_breaks), res.graph_breaks
    torch.testing.assert_close(res(torch.ones(2)), torch.full((2,), 2.0))


def test_total_ordering_on_a_local_class():
    def fn(x):
        @functools.total_ordering
        class Level:
            def __init__(self, n):
                self.n = n

            def __lt__(self, other):
                return self.n < other.n

            def __eq__(self, other):
                return self.n == other.n

        levels = [Level(3), Level(1), Level(2)]
        return (x + 1, Level(1) > Level(0), Level(1) >= Level(1), Level(2) <= Level(1),
                [level.n for level in sorted(levels, reverse=True)], max(levels).n, Level)

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    x = torch.randn(2)
    got, want = res(x), fn(x)
    assert got[1:6] == want[1:6]
    assert got[6].__gt__ is functools._gt_from_lt and got[6](2) > got[6](1)  # rebuilt with functools' helpers


# -- guards: a class made per call ---------------------------------------------------------------

class Outside:
    pass


def test_isinstance_against_a_local_class_is_false_for_objects_made_before_the_call():
    def fn(x, obj):
        class Fresh:
            pass

        return x + 1, isinstance(obj, Fresh), type(obj) is Fresh, isinstance(Fresh(), Fresh)

    res = assert_same_as_eager(fn, lambda: (torch.randn(2), Outside()))
    previous_local = compile(lambda: type("Fresh", (), {})())()  # an object of an earlier local class
    assert res(torch.randn(2), previous_local)[1:] == fn(torch.randn(2), previous_local)[1:] == (False, False, True)


def test_a_class_leaving_the_function_is_made_again_on_every_call():
    def fn(x):
        class Point:
            dims = 2

            def __init__(self, t):
                self.t = t

            def norm(self):
                return (self.t * self.t).sum()

        return Point(x + 1), Point

    res = trace(fn, (torch.randn(3),))
    _one_graph(res)
    x = torch.randn(3)
    (p1, cls1), (p2, cls2) = res(x), res(x)
    eager_point, eager_cls = fn(x)
    assert cls1 is not cls2 and type(p1) is cls1 and type(p2) is cls2  # a new class per call, as eager
    assert cls1.__qualname__ == eager_cls.__qualname__ and cls1.__module__ == eager_cls.__module__
    assert list(vars(cls1)) == list(vars(eager_cls))
    torch.testing.assert_close(p1.norm(), eager_point.norm())
    torch.testing.assert_close(p1.t, eager_point.t)
    assert cls1.dims == 2 and isinstance(p1, cls1)


def test_a_returned_local_subclass_keeps_super_and_its_base():
    def fn(x):
        y = x * 2

        class A:
            def __init__(self, v):
                self.v = v

            def get(self):
                return self.v + 1

        class B(A):
            @property
            def twice(self):
                return self.v * 2

            @staticmethod
            def helper(t):
                return t + 100

            @classmethod
            def build(cls, t):
                return cls(t)

            def get(self):
                return super().get() * 10 + y

        return B(x), B, A

    res = trace(fn, (torch.randn(3),))
    _one_graph(res)
    x = torch.randn(3)
    (obj, B, A), (eager_obj, eager_B, _) = res(x), fn(x)
    assert B.__mro__[1] is A and isinstance(obj, A)
    for got, want in [(obj.get(), eager_obj.get()), (obj.twice, eager_obj.twice), (B.helper(x), eager_B.helper(x)),
                      (B.build(x).get(), eager_B.build(x).get())]:
        torch.testing.assert_close(got, want)


def test_a_returned_class_whose_methods_name_it_through_a_closure():
    def fn(x):
        class Node:
            def __init__(self, v):
                self.v = v

            def successor(self):
                return Node(self.v + 1)  # `Node` is a cell of fn holding the class

        return Node(x).successor(), Node

    res = trace(fn, (torch.randn(2),))
    _one_graph(res)
    x = torch.randn(2)
    node, Node = res(x)
    assert type(node) is Node and type(node.successor()) is Node
    torch.testing.assert_close(node.successor().v, fn(x)[0].successor().v)


def test_a_list_that_holds_itself_is_rebuilt_holding_itself():
    def fn(x):
        items = [x + 1]
        items.append(items)
        return items

    res = trace(fn, (torch.randn(2),))
    assert res.graph_breaks == [] and len(res.graphs) == 1  # made empty first, then filled (graph/rebuild.py)
    out = res(torch.ones(2))
    assert out[1] is out and torch.equal(out[0], torch.full((2,), 2.0))


def test_local_objects_stored_into_an_input_list_are_rebuilt():
    def fn(x, out):
        class Record:
            def __init__(self, t):
                self.t = t

        out.append(Record(x * 3))
        return x + 1

    res = trace(fn, (torch.randn(2), []))
    _one_graph(res)
    got, want = [], []
    x = torch.randn(2)
    res(x, got)
    fn(x, want)
    assert type(got[0]).__name__ == "Record" and type(got[0]) is not type(want[0])
    torch.testing.assert_close(got[0].t, want[0].t)


# -- what is not traced breaks with a reason -------------------------------------------------------

def _module_subclass(x):
    class Local(torch.nn.Module):
        def forward(self, t):
            return t + 1

    return Local()(x)


def _custom_new(x):
    class WithNew:
        def __new__(cls):
            return object.__new__(cls)

    return x + 1, type(WithNew()).__name__


def _init_subclass_base(x):
    class Registry:
        names = []

        def __init_subclass__(cls):
            Registry.names.append(cls.__name__)

    class Member(Registry):
        pass

    return x + 1, list(Registry.names)


@pytest.mark.parametrize("fn, reason", [
    (_module_subclass, "nn.Module subclasses defined inside the traced function"),
    (_custom_new, "has its own __new__"),
    (_init_subclass_base, "__init_subclass__"),
])
def test_what_local_classes_do_not_trace_breaks_with_a_reason(fn, reason):
    res = trace(fn, (torch.randn(3),))
    assert len(res.graph_breaks) == 1 and reason in res.graph_breaks[0].reason, res.graph_breaks
    x = torch.randn(3)
    got, want = res(x), fn(x)
    if isinstance(want, tuple):
        torch.testing.assert_close(got[0], want[0])
        assert got[1:] == want[1:]
    else:
        torch.testing.assert_close(got, want)


# == 2. user objects as dict keys and set elements ===============================================

class Token:
    """Hashed and compared by identity (object's defaults)."""

    def __init__(self, n):
        self.n = n


class Name:
    """Hashed and compared by value, in Python."""

    def __init__(self, text):
        self.text = text

    def __hash__(self):
        return hash(self.text)

    def __eq__(self, other):
        return isinstance(other, Name) and other.text == self.text


class EqOnly:
    def __eq__(self, other):
        return True


@dataclasses.dataclass(frozen=True)
class FrozenKey:
    layer: int
    kind: str


class BadHash:
    def __hash__(self):
        return "not an int"


PINNED_A, PINNED_B = Token(10), Token(20)


def test_objects_made_in_the_function_as_dict_keys():
    def fn(x):
        a, b = Token(1), Token(2)
        d = {a: x, b: x + 1}
        d[a] = d[a] * 2
        found = a in d, Token(3) in d, d.get(b) is not None, d.get(Token(4))
        del d[b]
        keys = [k.n for k in d]
        return d[a], found, keys, list(d)[0] is a, len(d)

    res = assert_same_as_eager(fn, lambda: (torch.randn(3),))
    _one_graph(res)


def test_pre_existing_objects_are_keys_by_identity_and_come_back_as_themselves():
    def fn(x, token):
        d = {PINNED_A: x, token: x * 3}
        d[PINNED_B] = x + 1
        first = next(iter(d))
        return d[token], d[PINNED_B], first is PINNED_A, first.n, [k.n for k in d], PINNED_A in d

    res = assert_same_as_eager(fn, lambda: (torch.randn(3), PINNED_B))
    x = torch.randn(3)
    out = res(x, PINNED_A)  # the same object passed for `token`: a different capture, same answers
    assert out[4] == [10, 20] and out[2] is True


def test_python_hash_and_eq_find_equal_objects():
    def fn(x):
        first = Name("a")
        d = {first: x}
        d[Name("b")] = x + 1
        d[Name("a")] = x * 3  # equal to `first`: the value changes, the key object stays
        return (d[Name("a")], len(d), Name("c") in d, [k.text for k in d], next(iter(d)) is first,
                d.get(Name("b")), d.pop(Name("b")), d.setdefault(Name("a"), None), len(d))

    res = assert_same_as_eager(fn, lambda: (torch.randn(3),))
    _one_graph(res)


def test_frozen_dataclasses_as_keys():
    def fn(x):
        table = {FrozenKey(0, "attn"): x, FrozenKey(1, "mlp"): x + 1}
        table[FrozenKey(0, "attn")] = table[FrozenKey(0, "attn")] * 2
        return table[FrozenKey(0, "attn")], FrozenKey(1, "mlp") in table, FrozenKey(2, "mlp") in table, len(table)

    assert_same_as_eager(fn, lambda: (torch.randn(3),))


class _Blocks(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.first = torch.nn.Linear(3, 3)
        self.second = torch.nn.Linear(3, 3)

    def forward(self, x):
        scales = {self.first: 2.0, self.second: 0.5}
        out = x
        for layer in (self.first, self.second):
            out = layer(out) * scales[layer]
        return out, self.first in scales, len(scales)


def test_modules_as_keys_by_identity():
    model = _Blocks()
    res = assert_same_as_eager(model, lambda: (torch.randn(2, 3),))
    _one_graph(res)


def test_a_returned_dict_keeps_its_object_keys():
    def fn(x, token):
        made = Token(5)
        return {made: x + 1, token: x * 2, Name("k"): x}

    res = trace(fn, (torch.randn(2), PINNED_A))
    _one_graph(res)
    x = torch.randn(2)
    out, want = res(x, PINNED_A), fn(x, PINNED_A)
    made, pinned, named = list(out)
    assert pinned is PINNED_A and type(made) is Token and made.n == 5 and named == Name("k")
    for got, expected in zip(out.values(), want.values()):
        torch.testing.assert_close(got, expected)


def test_an_object_key_written_into_an_input_dict_is_replayed():
    def fn(x, table):
        table[PINNED_B] = x + 1
        table[Name("z")] = 3
        return x

    res = trace(fn, (torch.randn(2), {"a": 1}))
    _one_graph(res)
    mine, theirs = {"a": 1}, {"a": 1}
    x = torch.randn(2)
    res(x, mine)
    fn(x, theirs)
    assert list(mine) == list(theirs) and list(mine)[1] is PINNED_B
    torch.testing.assert_close(mine[PINNED_B], theirs[PINNED_B])


def test_set_membership_and_order_of_objects():
    def fn(x, token):
        seen = {PINNED_A, token, Name("n")}
        seen.add(Name("n"))
        seen.discard(PINNED_B)
        local = {Token(1)}
        return (x + len(seen), PINNED_A in seen, Name("n") in seen, Token(0) in local,
                [getattr(item, "n", None) for item in {PINNED_A, PINNED_B}])

    res = assert_same_as_eager(fn, lambda: (torch.randn(2), PINNED_B))
    _one_graph(res)


def test_comprehensions_fromkeys_and_dict_of_pairs_with_object_keys():
    def fn(x):
        names = [Name("a"), Name("b"), Name("a")]
        by_comprehension = {name: i for i, name in enumerate(names)}
        by_pairs = dict(zip(names, range(3)))
        by_fromkeys = dict.fromkeys(names, 0)
        return x + 1, [(k.text, v) for k, v in by_comprehension.items()], len(by_pairs), len(by_fromkeys)

    assert_same_as_eager(fn, lambda: (torch.randn(2),))


def test_local_classes_and_their_objects_as_keys():
    def fn(x):
        class Slot:
            pass

        one, two = Slot(), Slot()
        d = {one: x, two: x + 1, Slot: "class"}
        return d[two], d[Slot], one in d, len(d)

    assert_same_as_eager(fn, lambda: (torch.randn(2),))


@pytest.mark.parametrize("make", [lambda: EqOnly(), lambda: BadHash()], ids=["eq-without-hash", "hash-not-int"])
def test_unhashable_objects_raise_like_eager(make):
    def fn(x):
        return {make(): x}

    res = trace(fn, (torch.randn(2),))
    assert res.graph_breaks == []
    with pytest.raises(TypeError) as traced:
        res(torch.randn(2))
    with pytest.raises(TypeError) as eager:
        fn(torch.randn(2))
    assert str(traced.value) == str(eager.value)


def test_what_object_keys_do_not_model_breaks_with_a_reason():
    def iterates_a_set_of_made_objects(x):
        return x, [t.n for t in {Token(1), Token(2)}]

    res = trace(iterates_a_set_of_made_objects, (torch.randn(2),))
    assert any("order differs from run to run" in b.reason for b in res.graph_breaks), res.graph_breaks
    assert sorted(res(torch.randn(2))[1]) == [1, 2]

    def input_dict_with_object_keys(x, table):
        return table[PINNED_A] + x

    res = trace(input_dict_with_object_keys, (torch.randn(2), {PINNED_A: 1.0}))
    assert any("keys that are not constants" in b.reason for b in res.graph_breaks), res.graph_breaks
    torch.testing.assert_close(res(torch.ones(2), {PINNED_A: 2.0}), torch.full((2,), 3.0))

    def merges_python_eq_keys(x):
        d = {Name("a"): 1}
        d.update({Name("a"): 2})
        return x, len(d)

    res = trace(merges_python_eq_keys, (torch.randn(2),))
    assert any("__eq__ in Python" in b.reason for b in res.graph_breaks), res.graph_breaks
    assert res(torch.randn(2))[1] == 1


# == 3. sorting objects by their own __lt__ ======================================================

class Job:
    def __init__(self, priority, name):
        self.priority = priority
        self.name = name

    def __lt__(self, other):
        return self.priority < other.priority


@functools.total_ordering
class Version:
    def __init__(self, major, minor):
        self.major, self.minor = major, minor

    def __lt__(self, other):
        return (self.major, self.minor) < (other.major, other.minor)

    def __eq__(self, other):
        return (self.major, self.minor) == (other.major, other.minor)


@dataclasses.dataclass(order=True)
class Ranked:
    score: int
    label: str


class Logged:
    """Records every comparison, so tests see that the trace makes CPython's comparisons in order."""

    def __init__(self, value, log):
        self.value, self.log = value, log

    def __lt__(self, other):
        self.log.append((self.value, other.value))
        return self.value < other.value


class GreaterOnly:
    """`<` gives NotImplemented: CPython's sort asks `__lt__`, then `<` in full (so `__lt__` again,
    then the reflected `__gt__`)."""

    def __init__(self, value, log):
        self.value, self.log = value, log

    def __lt__(self, other):
        self.log.append("lt")
        return NotImplemented

    def __gt__(self, other):
        self.log.append("gt")
        return self.value > other.value


JOBS = (Job(3, "a"), Job(1, "b"), Job(3, "c"), Job(2, "d"), Job(1, "e"))


def _jobs():
    return list(JOBS)  # the same objects on every call: the capture pins them by identity


def test_sorted_min_max_by_lt_are_stable_and_exact():
    def fn(x, jobs):
        ordered = sorted(jobs)
        backwards = sorted(jobs, reverse=True)
        by_name = sorted(jobs, key=lambda job: job.name, reverse=True)
        return (x + 1, [j.name for j in ordered], [j.name for j in backwards], [j.name for j in by_name],
                min(jobs).name, max(jobs).name, max(jobs[0], jobs[1]).name, min(jobs, key=lambda j: -j.priority).name)

    res = assert_same_as_eager(fn, lambda: (torch.randn(2), _jobs()))
    _one_graph(res)


def test_list_sort_of_objects_changes_the_input_list():
    def fn(x, jobs):
        jobs.sort()
        return x * 2

    jobs_traced, jobs_eager = _jobs(), _jobs()
    res = trace(fn, (torch.randn(2), _jobs()))
    _one_graph(res)
    res(torch.randn(2), jobs_traced)
    fn(torch.randn(2), jobs_eager)
    assert [j.name for j in jobs_traced] == [j.name for j in jobs_eager] == ["b", "e", "d", "a", "c"]


def test_sort_makes_cpythons_comparisons_in_order():
    def fn(x, values, log):
        items = [Logged(v, log) for v in values]
        items.sort()
        return x + 1, [item.value for item in items]

    values = [5, 2, 8, 1, 9, 3, 7, 7, 0]
    traced_log, eager_log = [], []
    res = trace(fn, (torch.randn(2), values, []))
    _one_graph(res)
    x = torch.randn(2)
    assert res(x, values, traced_log)[1] == fn(x, values, eager_log)[1]
    assert traced_log == eager_log and len(eager_log) > len(values)


def test_a_lt_giving_not_implemented_is_asked_as_often_as_in_eager():
    def fn(x, log):
        return x + 1, [item.value for item in sorted([GreaterOnly(v, log) for v in (2, 3, 1)])]

    traced_log, eager_log = [], []
    res = trace(fn, (torch.randn(2), []))
    x = torch.randn(2)
    assert res(x, traced_log)[1] == fn(x, eager_log)[1] == [1, 2, 3]
    assert traced_log == eager_log and eager_log[:3] == ["lt", "lt", "gt"]


def test_total_ordering_and_dataclass_order():
    def fn(x, versions, ranked):
        newest = max(versions)
        return (x + 1, [(v.major, v.minor) for v in sorted(versions)], (newest.major, newest.minor),
                versions[0] >= versions[1], versions[0] <= versions[1], sorted(ranked), min(ranked).label)

    assert_same_as_eager(fn, lambda: (torch.randn(2), [Version(1, 2), Version(0, 9), Version(1, 0)],
                                      [Ranked(2, "b"), Ranked(1, "z"), Ranked(1, "a")]))


def test_cmp_to_key_calls_the_python_cmp():
    def fn(x, log):
        def by_length_then_text(a, b):
            log.append((a, b))
            if len(a) != len(b):
                return len(a) - len(b)
            return (a > b) - (a < b)

        key = functools.cmp_to_key(by_length_then_text)
        words = ["ccc", "a", "bb", "aa", "b"]
        return (x + 1, sorted(words, key=key), sorted(words, key=key, reverse=True), key("a") < key("bb"),
                min(words, key=key), key("x").obj)

    traced_log, eager_log = [], []
    res = trace(fn, (torch.randn(2), []))
    _one_graph(res)
    x = torch.randn(2)
    assert res(x, traced_log)[1:] == fn(x, eager_log)[1:]
    assert traced_log == eager_log


def test_a_comparison_that_raises_leaves_the_list_as_cpython_does():
    class Fussy:
        def __init__(self, value):
            self.value = value

        def __lt__(self, other):
            if 0 in (self.value, other.value):
                raise ValueError("zero")
            return self.value < other.value

    def fn(x, items):
        try:
            items.sort()
        except ValueError:
            return x + 1
        return x

    def make():
        return [Fussy(v) for v in (4, 3, 9, 1, 7, 0, 5)]

    res = trace(fn, (torch.randn(2), make()))
    _one_graph(res)
    traced_items, eager_items = make(), make()
    x = torch.randn(2)
    torch.testing.assert_close(res(x, traced_items), fn(x, eager_items))
    assert [i.value for i in traced_items] == [i.value for i in eager_items]


def test_sorting_tensors_still_breaks_as_data_dependent():
    def fn(x, y):
        return sorted([x, y])

    res = trace(fn, (torch.randn(()), torch.randn(())))
    assert [b.kind for b in res.graph_breaks] == [BreakKind.DATA_DEPENDENT]


def test_sorted_raising_keeps_the_effects_of_earlier_comparisons():
    class Tripwire:
        def __init__(self, value, log):
            self.value, self.log = value, log

        def __lt__(self, other):
            self.log.append(self.value)
            if len(self.log) == 3:
                raise KeyError("third comparison")
            return self.value < other.value

    def fn(x, log):
        try:
            sorted([Tripwire(v, log) for v in (3, 1, 2, 5)])
        except KeyError as exc:
            return x + 1, exc.args
        return x, ()

    traced_log, eager_log = [], []
    res = trace(fn, (torch.randn(2), []))
    _one_graph(res)
    x = torch.randn(2)
    assert res(x, traced_log)[1] == fn(x, eager_log)[1] == ("third comparison",)
    assert traced_log == eager_log and len(eager_log) == 3


# == edge cases ====================================================================================

class Spelled:
    """Equal to its own spelling: `Spelled("a") == "a"`, with the same hash."""

    def __init__(self, text):
        self.text = text

    def __hash__(self):
        return hash(self.text)

    def __eq__(self, other):
        return other == self.text if isinstance(other, str) else isinstance(other, Spelled) and other.text == self.text


def test_a_constant_finds_an_object_key_whose_eq_says_so():
    def fn(x):
        d = {Spelled("a"): x}
        found = d["a"], "a" in d, "b" in d
        match d:
            case {"a": value}:
                return value + 1, found
        return x, found

    assert_same_as_eager(fn, lambda: (torch.randn(2),))


def test_class_bodies_delete_names_and_class_renames_break():
    def deletes(x):
        class Tmp:
            a = 1
            b = a + 1
            del a

        return x + Tmp.b, hasattr(Tmp, "a")

    assert "DELETE_NAME" in opnames(next(c for c in deletes.__code__.co_consts if getattr(c, "co_name", "") == "Tmp"))
    assert_same_as_eager(deletes, lambda: (torch.randn(2),))

    def renames(x):
        class Tmp:
            pass

        Tmp.__name__ = "Other"
        return x + 1, Tmp.__name__

    res = trace(renames, (torch.randn(2),))
    assert any("__name__" in b.reason for b in res.graph_breaks)
    assert res(torch.ones(2))[1] == "Other"


def test_deepcopy_of_a_dict_with_object_keys_breaks():
    import copy

    def fn(x):
        return x + 1, len(copy.deepcopy({Token(1): 1}))

    res = trace(fn, (torch.randn(2),))
    assert any("deepcopy" in b.reason for b in res.graph_breaks)
    assert res(torch.ones(2))[1] == 1


def test_defaultdict_groups_by_objects():
    import collections

    def fn(x):
        groups = collections.defaultdict(list)
        for name in (Name("a"), Name("b"), Name("a")):
            groups[name].append(name.text)
        groups[PINNED_A].append(x)
        return x + 1, [(k.text if isinstance(k, Name) else k.n, v if isinstance(k, Name) else len(v))
                       for k, v in groups.items()]

    res = assert_same_as_eager(fn, lambda: (torch.randn(2),))
    _one_graph(res)


class _CountingHash:
    """Lib/test's test_setdefault_atomic: __hash__ with an effect, counted."""

    def __init__(self):
        self.hash_count = 0
        self.eq_count = 0

    def __hash__(self):
        self.hash_count += 1
        return 42

    def __eq__(self, other):
        self.eq_count += 1
        return id(self) == id(other)  # a break (an address): the dict crosses it


def test_a_dict_keyed_by_objects_whose_hash_has_effects_is_not_built_twice():
    """The entry would build the dict again after the graph, calling __hash__ again: it breaks
    instead (the value runs for real), so the counts stay eager's."""
    def fn(x):
        first = _CountingHash()
        table = {first: 5}
        second = _CountingHash()
        table.setdefault(second, [])
        return x + 1, first.hash_count, second.hash_count, first.eq_count, second.eq_count, len(table)

    from helpers import assert_same_outcome
    assert_same_outcome(fn, lambda: (1,), calls=3)
