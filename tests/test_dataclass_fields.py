"""`dataclasses.fields(obj)` of an object the trace made, answered from the real class
(vt/objects/local_dataclasses.py `_fields_of_made_object`), as `ModelOutput.__setattr__` calls it."""
from __future__ import annotations

import dataclasses

import torch

from helpers import assert_same_as_eager
from tracer import trace
from vt.objects.local_dataclasses import _FIELD_SOURCE


def _output_class():
    @dataclasses.dataclass
    class Out:
        a: object = None
        b: object = None

        def __setattr__(self, name, value):
            names = {f.name for f in dataclasses.fields(self)}
            if name in names and value is not None:
                value = value * 2
            super().__setattr__(name, value)

    return Out


def _uses_fields(cls):
    def fn(x):
        out = cls(x, x + 1)
        return out.a + out.b, [f.name for f in dataclasses.fields(out)]
    return fn


def test_fields_of_an_object_made_in_the_trace_match_eager_without_running_fields():
    res = assert_same_as_eager(_uses_fields(_output_class()), lambda: (torch.randn(2),))
    assert any(getattr(guard, "source", None) == _FIELD_SOURCE for guard in res.guards)


def test_a_field_that_changes_kind_after_the_capture_recaptures():
    cls = _output_class()
    fn = _uses_fields(cls)
    res = trace(fn, (torch.randn(2),))
    field = cls.__dataclass_fields__["b"]
    field._field_type = dataclasses._FIELD_CLASSVAR  # now a pseudo-field: fields() leaves it out
    try:
        x = torch.randn(2)
        actual, expected = res(x), fn(x)
        torch.testing.assert_close(actual[0], expected[0])
        assert actual[1] == expected[1] == ["a"]
        assert len(res.captures) == 2
    finally:
        field._field_type = dataclasses._FIELD


def test_fields_after_the_program_changed_the_fields_dict_run_for_real():
    cls = _output_class()

    def fn(x):
        out = cls(x, x + 1)
        table = cls.__dataclass_fields__
        removed = table.pop("b")
        names = [f.name for f in dataclasses.fields(out)]
        table["b"] = removed
        return out.a + out.b, names

    assert_same_as_eager(fn, lambda: (torch.randn(2),))


def test_fields_asked_again_after_the_program_renamed_a_field_see_the_new_name():
    """The answer remembered for the class (Env.dataclass_fields) is not given again once the program
    wrote to one of its `Field`s: fields() then runs and reads the written name."""
    cls = _output_class()

    def fn(x):
        out = cls(x, x + 1)  # asks fields() on each attribute write: remembered
        field = dataclasses.fields(out)[1]
        field.name = "renamed"
        names = [f.name for f in dataclasses.fields(out)]
        out.b = x * 3  # __setattr__ asks again: "b" is no longer a field name
        field.name = "b"
        return out.a + out.b, names, dict(out.__dict__)

    assert_same_as_eager(fn, lambda: (torch.randn(2),))


def test_fields_of_two_dataclasses_are_remembered_apart():
    first, second = _output_class(), _output_class()

    @dataclasses.dataclass
    class Other:
        c: object = None

        def __setattr__(self, name, value):
            names = {f.name for f in dataclasses.fields(self)}
            super().__setattr__(name, value + 1 if name in names else value)

    def fn(x):
        a, b, c = first(x, x), second(x + 1, None), Other(x)
        return a.a + a.b + b.a + c.c, [[f.name for f in dataclasses.fields(o)] for o in (a, b, c)]

    assert_same_as_eager(fn, lambda: (torch.randn(2),))
