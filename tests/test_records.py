"""Named tuples (collections.namedtuple, typing.NamedTuple) and enums (Enum, IntEnum, Flag)."""
import collections
import enum
import operator
import typing

import pytest
import torch

from helpers import all_ops, assert_same_as_eager
from tracer import compile, trace
from core.outcomes import BreakKind

Point = collections.namedtuple("Point", "x y")
Config = collections.namedtuple("Config", ["scale", "shift", "name"], defaults=[0.0, "cfg"])


class Pair(typing.NamedTuple):
    left: torch.Tensor
    right: torch.Tensor
    weight: float = 0.5

    def mix(self):
        return self.left * self.weight + self.right * (1 - self.weight)

    @property
    def total(self):
        return self.left + self.right


def x3():
    return (torch.randn(3),)


# -- named tuples ------------------------------------------------------------------------------

def test_namedtuple_construction_positional_keyword_and_defaults():
    def fn(x):
        p = Point(x, y=x + 1)
        c = Config(2.0)
        d = Config(3.0, shift=1.0, name="d")
        return p, c, d, Pair(x, x * 2), Pair(x, x, weight=0.25)

    res = assert_same_as_eager(fn, x3)
    assert res.graph_breaks == []


def test_namedtuple_field_access_index_unpack_iterate_len_equality():
    def fn(x):
        p = Point(x, 2.0)
        a, b = p
        total = 0.0
        for item in Config(1.0, 2.0):
            total = total + (item if not isinstance(item, str) else 0.0)
        return (p.x * p[1] + a * b, len(p), Config(1.0) == Config(1.0), Config(1.0) == (1.0, 0.0, "cfg"),
                Config(1.0) != Config(2.0), total, p[0:1], Point._fields, Config(1.0)._fields,
                isinstance(p, tuple), isinstance(p, Point), type(p) is Point)

    assert_same_as_eager(fn, x3)


def test_namedtuple_replace_asdict_make():
    def fn(x):
        p = Point(x, 1.0)
        q = p._replace(y=x * 3)
        r = Point._make([x, 5.0])
        return q, p._asdict(), r, r._make((1, 2)), Config(1.0)._field_defaults

    assert_same_as_eager(fn, x3)


def test_namedtuple_bad_field_raises_like_eager():
    res = trace(lambda x: Point(x, 1.0)._replace(z=1), x3())
    assert res.graph_breaks[0].kind is BreakKind.PYTHON_EXCEPTION
    with pytest.raises(ValueError):
        res(torch.randn(3))
    res = trace(lambda x: Point(x), x3())
    with pytest.raises(TypeError):
        res(torch.randn(3))


def test_typing_namedtuple_methods_and_properties_are_inlined():
    def fn(x):
        pair = Pair(x, x * 2, 0.25)
        return pair.mix(), pair.total

    res = assert_same_as_eager(fn, x3)
    assert all_ops(res).count(operator.mul) == 3


def test_namedtuple_input_is_guarded_and_returned_with_its_type():
    def fn(p):
        first = p._fields[0]
        return p._replace(**{first: p[0] * p[1]}), p.mix() if isinstance(p, Pair) else p.x

    res = compile(fn)
    for value in (Point(torch.randn(3), 2.0), Point(torch.randn(3), 3.0), Pair(torch.randn(3), torch.randn(3))):
        out, expected = res(value), fn(value)
        assert type(out[0]) is type(expected[0])
        torch.testing.assert_close(out, expected)
    assert len(res.captures) == 3  # y is a guarded constant; Pair is another type
    guards = "\n".join(map(str, res.captures[0].guards))
    assert "p: Point of length 2" in guards and "p[1]: float == 2.0" in guards


def test_namedtuple_default_changes_recapture():
    Local = collections.namedtuple("Local", "a b", defaults=[2.0])
    fn = lambda x: Local(x).b * x  # noqa: E731
    res = trace(fn, x3())
    x = torch.randn(3)
    torch.testing.assert_close(res(x), x * 2.0)
    Local.__new__.__defaults__ = (5.0,)
    torch.testing.assert_close(res(x), x * 5.0)


# -- enums --------------------------------------------------------------------------------------

class Color(enum.Enum):
    RED = 1
    GREEN = 2
    BLUE = 3

    def brightness(self):
        return self.value * 10


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 5


class Perm(enum.Flag):
    READ = 1
    WRITE = 2
    EXEC = 4


MODE = Color.GREEN
WEIGHTS = {Color.RED: 0.5, Color.GREEN: 2.0}


def test_enum_name_value_identity_and_equality():
    def fn(x):
        mode = MODE
        scale = 2.0 if mode is Color.GREEN else 3.0
        return (x * scale, mode.name, mode.value, mode == Color.GREEN, mode != Color.RED, mode is not Color.RED,
                Color.RED.brightness(), mode.brightness())

    res = assert_same_as_eager(fn, x3)
    assert all_ops(res) == [operator.mul]
    assert "G['MODE'] is Color.GREEN" in "\n".join(map(str, res.guards))


def test_enum_guard_recaptures_on_another_member():
    def fn(x):
        return x * 2 if MODE is Color.GREEN else x - 1

    global MODE
    res = compile(fn)
    x = torch.randn(3)
    torch.testing.assert_close(res(x), x * 2)
    MODE = Color.BLUE
    try:
        torch.testing.assert_close(res(x), x - 1)
    finally:
        MODE = Color.GREEN
    assert len(res.captures) == 2


def test_intenum_arithmetic_and_int_comparisons():
    def fn(x):
        level = Level.HIGH
        return x * (level + 1), level > 3, level == 5, Level.LOW < Level.HIGH, int(level), level * 2

    assert_same_as_eager(fn, x3)


def test_flag_operators_membership_and_dict_keys():
    def fn(x):
        perm = Perm.READ | Perm.WRITE
        table = {Color.RED: x, Color.BLUE: x * 2}
        return (Perm.READ in perm, Perm.EXEC in perm, bool(perm & Perm.EXEC), perm,
                Color.RED in (Color.RED, Color.GREEN), Color.BLUE in {Color.RED}, table[Color.BLUE],
                WEIGHTS[MODE] * x, Color.GREEN in WEIGHTS)

    assert_same_as_eager(fn, x3)


def test_enum_class_iteration_lookup_and_len():
    def fn(x):
        total = x
        for color in Color:
            total = total + color.value
        return (total, len(Color), [c.name for c in Level], Color(2), Color["BLUE"], Color(3) is Color.BLUE,
                Level(5), Color.RED in Color, list(Perm))

    assert_same_as_eager(fn, x3)


def test_enum_lookup_of_a_missing_value_raises_like_eager():
    res = trace(lambda x: Color(9), x3())
    assert res.graph_breaks[0].kind is BreakKind.PYTHON_EXCEPTION
    with pytest.raises(ValueError):
        res(torch.randn(3))


class Settings:
    def __init__(self, color):
        self.color = color


def test_enum_members_from_closures_and_attributes_are_guarded():
    settings = Settings(Color.RED)
    chosen = Level.HIGH

    def fn(x):
        return x * chosen if settings.color is Color.RED else x - chosen, settings.color.brightness()

    res = assert_same_as_eager(fn, x3)
    guards = "\n".join(map(str, res.guards))
    assert "is Color.RED" in guards and "is Level.HIGH" in guards
    settings.color = Color.BLUE
    x = torch.randn(3)
    out = res(x)
    torch.testing.assert_close(out[0], x - 5)
    assert out[1] == 30


def test_type_of_a_record_is_usable_as_its_class():
    def fn(x):
        p = Point(x, 2.0)
        color = Color.GREEN
        return type(p)(x * 2, 1.0), type(p)._make((x, 3.0)), type(color)(3), type(color)["RED"], len(type(color))

    assert_same_as_eager(fn, x3)
