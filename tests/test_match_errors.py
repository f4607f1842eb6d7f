"""Errors a `match` statement raises as CPython's ceval raises them: a class pattern naming an
attribute twice, `__match_args__` that is not a tuple of strings or is too short, too many
positional sub-patterns for a self-matching builtin, a mapping pattern with a key twice."""
import pytest

from helpers import assert_same_outcome


class _Twice:
    __match_args__ = ("a", "a")
    a = None


class _One:
    __match_args__ = ("a",)
    a = None


class _NotStrings:
    __match_args__ = (None,)
    a = None


class _NotTuple:
    __match_args__ = ["a"]
    a = None


class _Short:
    __match_args__ = ()


class _Keys:
    KEY = "a"


def _patterns(x, which):
    try:
        if which == "positional twice":
            match x:
                case _Twice(y, z):
                    return "matched", y, z
        elif which == "positional and keyword":
            match x:
                case _One(y, a=z):
                    return "matched", y, z
        elif which == "not strings":
            match x:
                case _NotStrings(y):
                    return "matched", y
        elif which == "not a tuple":
            match x:
                case _NotTuple(y):
                    return "matched", y
        elif which == "too short":
            match x:
                case _Short(y):
                    return "matched", y
        elif which == "self-matching":
            match x:
                case int(a, b):
                    return "matched", a, b
        elif which == "key twice":
            match x:
                case {_Keys.KEY: _, _Keys.KEY: _}:
                    return "matched"
        return "no match"
    except (TypeError, ValueError) as error:
        return type(error).__name__, str(error)


@pytest.mark.parametrize("which, make", [
    ("positional twice", _Twice), ("positional and keyword", _One), ("not strings", _NotStrings),
    ("not a tuple", _NotTuple), ("too short", _Short), ("self-matching", lambda: 3),
    ("key twice", lambda: {"a": 1, "b": 2}),
])
def test_match_errors_are_cpythons(which, make):
    assert_same_outcome(_patterns, lambda: (make(), which))
