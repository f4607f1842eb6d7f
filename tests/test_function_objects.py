"""Functions are objects: attributes written on them survive (inside the trace, across a break,
when returned), `functools.update_wrapper` / `wraps` copy what CPython copies, `__annotations__`
of a function made in the trace is its annotations, a function made once is one object
(vt/callables/nested_functions.py, vt/callables/functools_variables.py)."""
import functools

from helpers import assert_same_outcome
from tracer import compile, graph_break, trace


def _summary(fn):
    return (fn.__name__, fn.__qualname__, fn.__doc__, sorted(fn.__dict__), getattr(fn, "__wrapped__", None))


def test_attribute_written_on_a_nested_function():
    def f():
        def g():
            pass
        g.attr = 1
        g.attr += 1
        return g.attr, getattr(g, "other", "missing"), hasattr(g, "attr")

    traced = assert_same_outcome(f)
    assert traced.graph_breaks == []


def test_attribute_survives_a_break_and_the_function_stays_one_object():
    def f():
        def g():
            pass
        g.attr = 1
        h = g
        graph_break()
        return g.attr, g is h, sorted(vars(g))

    assert_same_outcome(f)


def test_returned_function_has_its_attributes():
    def f():
        def g():
            "doc"
        g.attr = [1]
        g.__name__ = "renamed"
        return g

    traced = trace(f, ())
    made, eager = traced(), f()
    assert (made.attr, made.__name__, made.__doc__) == (eager.attr, eager.__name__, eager.__doc__)


def test_deleting_and_missing_attributes():
    def f():
        def g():
            pass
        g.attr = 1
        del g.attr
        try:
            g.attr
        except AttributeError as exc:
            return str(exc)

    assert_same_outcome(f)


def test_bad_name_type_raises():
    def f():
        g = lambda: 0  # noqa: E731
        try:
            g.__name__ = 3
        except TypeError as exc:
            return str(exc)

    assert_same_outcome(f)


def test_update_wrapper_of_a_builtin():
    def f():
        def wrapper():
            pass
        functools.update_wrapper(wrapper, max)
        return wrapper.__name__, wrapper.__doc__[:4], wrapper.__wrapped__ is max, wrapper.__annotations__

    traced = assert_same_outcome(f)
    assert traced.graph_breaks == []


def _wrapped(a: "new annotation"):
    """This is a test"""


_wrapped.attr = "also a test"


def test_wraps_copies_name_doc_dict_and_annotations():
    def f():
        @functools.wraps(_wrapped)
        def wrapper(b: "prior annotation"):
            return b
        return _summary(wrapper), wrapper.__annotations__, wrapper.attr, wrapper(3)

    assert_same_outcome(f)


def test_update_wrapper_with_selected_lists():
    def f():
        def wrapper():
            pass
        functools.update_wrapper(wrapper, _wrapped, ("attr",), ())
        return _summary(wrapper), wrapper.attr

    assert_same_outcome(f)


def test_annotations_of_a_nested_function():
    def f():
        def g(arg: int, *, key: str = "k") -> list:
            pass
        first = g.__annotations__
        return first, first is g.__annotations__

    assert_same_outcome(f)


def test_annotations_cross_a_break_for_singledispatch():
    def f():
        @functools.singledispatch
        def show(arg):
            return "base"

        @show.register
        def _(arg: int):
            return "int"

        return show(1), show("s")

    assert_same_outcome(f)


def _plain():
    pass


_plain.flag = True


def test_attributes_of_a_function_that_existed_before():
    def f():
        return _plain.flag, _plain.__name__, getattr(_plain, "missing", None)

    traced = compile(f)
    assert traced() == f()
    _plain.flag = False
    assert traced() == f()  # guarded: the new value is seen
    _plain.flag = True
