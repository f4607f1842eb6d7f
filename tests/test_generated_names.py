"""Generated code (guard functions, entries, graphs, step and resume functions) works for any
function name and parameter name CPython allows: `<listcomp>`, `<lambda>`, names that are not
identifiers or are keywords, and a comprehension's `.0` parameter."""
import types

import pytest
import torch

from tracer import compile, graph_break


def _with_break(x, y=2):
    z = [v + y for v in (x, x)]
    graph_break()
    return z[0] * 2


@pytest.mark.parametrize("name", ["<listcomp>", "<lambda>", "<genexpr>", "a-b c", "3x", "class", "ünï"])
def test_functions_named_like_code_objects_compile_with_their_breaks(name):
    fn = types.FunctionType(_with_break.__code__.replace(co_name=name, co_qualname=name), _with_break.__globals__,
                            name, _with_break.__defaults__)
    traced = compile(fn)
    for _ in range(3):
        x = torch.randn(2)
        torch.testing.assert_close(traced(x), fn(x))
    assert len(traced.captures) == 1 and [len(r.captures) for r in traced.resumes] == [1]
    assert traced.resumes[0].fn.__name__.startswith(name)


def _squares(xs):
    return [x * x for x in xs]


def test_a_comprehension_code_object_with_its_dot_zero_parameter():
    code = next(c for c in _squares.__code__.co_consts if isinstance(c, types.CodeType))
    assert code.co_varnames[0] == ".0"
    comprehension = types.FunctionType(code, globals())
    traced = compile(comprehension)
    for _ in range(2):
        xs = [torch.randn(2), torch.randn(2)]
        expected = comprehension(iter(xs))
        actual = traced(iter(xs))
        assert len(actual) == len(expected) and all(torch.equal(a, e) for a, e in zip(actual, expected))
