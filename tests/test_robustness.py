"""The tracer never fails inside its own code and never hangs on programs CPython runs: values too
large to model, containers that hold themselves, exception chains with cycles, C descriptors as
default arguments, objects without `__dict__`, descriptors written in Python (found by running
CPython's Lib/test through snaptrace, bench/cpython_tests.py)."""
import functools
import sys

from helpers import assert_same_outcome
from tracer import compile, graph_break


def _put(d, k, v, dict_setitem=dict.__setitem__):  # as the pure-Python OrderedDict does
    dict_setitem(d, k, v)
    return d


def test_wrapper_descriptor_as_default_argument():
    assert_same_outcome(lambda: _put({}, 1, 2))


def test_huge_repeat_is_not_computed_while_tracing():
    def f():
        try:
            [0] * (sys.maxsize // 2)
        except MemoryError:
            return "MemoryError"

    assert_same_outcome(f)


def test_repeat_below_the_limit_stays_in_the_trace():
    traced = assert_same_outcome(lambda: [1, 2] * 3)
    assert traced.graph_breaks == []


def test_large_tuple_input_breaks_instead_of_wrapping_every_item():
    big = (0,) * 100_000
    traced = compile(lambda t: len(repr(t)))
    assert traced(big) == len(repr(big))
    assert any("more than the tracer models" in b.reason for b in traced.graph_breaks)


def test_list_that_contains_itself():
    def f():
        l = [1]
        l.append(l)
        return repr(l)

    assert_same_outcome(f)


def test_list_that_contains_itself_crosses_a_break():
    def f():
        l = [1]
        l.append(l)
        graph_break()
        return l[1] is l, len(l)

    assert_same_outcome(f)


def test_dict_that_contains_itself_returned():
    def f():
        d = {}
        d["me"] = d
        return d

    out = compile(f)()
    assert out["me"] is out


def test_input_list_that_contains_itself():
    def make():
        l = [1]
        l.append(l)
        return (l,)

    assert_same_outcome(lambda l: repr(l) + str(len(l)), make)


def _context_cycle():
    try:
        try:
            raise ValueError(1)
        except ValueError as ex:
            ex.__context__ = ex
            raise TypeError(2)
    except TypeError as exc:
        return type(exc.__context__).__name__, exc.__context__.__context__ is exc.__context__


def test_exception_context_cycle_does_not_hang():
    assert_same_outcome(_context_cycle)


def test_exception_context_cycle_of_three():
    def f():
        a, b, c = ValueError("a"), ValueError("b"), ValueError("c")
        a.__context__, b.__context__, c.__context__ = b, c, b
        try:
            try:
                raise a
            except ValueError:
                raise KeyError("new")
        except KeyError as exc:
            return exc.__context__ is a, a.__context__ is b, c.__context__ is b

    assert_same_outcome(f)


class _Slots:
    __slots__ = ("_cost",)

    @functools.cached_property
    def cost(self):
        return 5


def test_cached_property_on_an_object_without_dict():
    def f(item):
        try:
            return item.cost
        except TypeError as exc:
            return str(exc)

    assert_same_outcome(f, lambda: (_Slots(),))


def _plain():
    pass


def test_missing_function_attribute_raises_attribute_error():
    def f():
        try:
            return _plain.__wrapped__
        except AttributeError:
            return "AttributeError"

    assert_same_outcome(f)


class _Meta(type):
    @functools.cached_property
    def prop(cls):
        return True


class _WithMeta(metaclass=_Meta):
    pass


def test_python_descriptor_on_a_metaclass_is_not_run_while_tracing():
    def f():
        try:
            return _WithMeta.prop
        except TypeError:
            return "TypeError"

    assert_same_outcome(f)


_calls = []


class _CountingDict(dict):
    def __getitem__(self, k):
        _calls.append(k)
        return super().__getitem__(k)


def test_dict_subclass_input_getitem_is_not_run_by_guards():
    def f(d):
        return list(d), len(_calls)

    _calls.clear()
    traced = compile(f)
    assert traced(_CountingDict(a=1, b=2)) == (["a", "b"], 0)
    assert traced(_CountingDict(a=1, b=2)) == (["a", "b"], 0)
    assert _calls == []


def test_a_trace_over_the_budget_runs_the_function_eagerly(monkeypatch):
    import tracer.step
    from core.outcomes import BreakKind

    monkeypatch.setattr(tracer.step, "MAX_STEPS", 500)

    def f(n):
        total = 0
        for i in range(n):
            total += i * i
        return total

    traced = compile(f)
    assert traced(1000) == f(1000)
    assert traced(1000) == f(1000)
    assert [b.kind for b in traced.graph_breaks] == [BreakKind.TRACE_BUDGET]
    assert traced.resumes == []


def test_tuple_inside_a_cycle_crossing_a_break():
    def f():
        t = ([],)
        t[0].append(t)
        graph_break()
        return t[0][0] is t

    assert_same_outcome(f)
