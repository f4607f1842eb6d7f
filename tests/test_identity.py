"""Identity of immutable values, both ways: one tuple is one object however many names it has,
also across a break and when returned; a tuple passed in is the caller's own object; equal
strings, frozensets, big numbers made separately stay separate objects when generated code
loads them (graph/rebuild_support.py `Held`, vt/data/lists.py `made_tuple`)."""
from helpers import assert_same_outcome
from tracer import compile, graph_break


def test_a_tuple_is_one_object_across_a_break():
    def f():
        t = ([1],)
        u = t
        graph_break()
        return t is u, t == u

    assert_same_outcome(f)


def test_is_between_built_tuples_is_known():
    def f():
        t = ([1],)
        u = t
        v = ([1],)
        return t is u, t is v

    traced = assert_same_outcome(f)
    assert traced.graph_breaks == []


def test_returned_tuple_appears_twice_as_one_object():
    def f(x):
        t = (x, [x])
        return t, t

    out = compile(f)(1)
    assert out[0] is out[1]


def test_a_tuple_passed_in_is_the_callers_own():
    big = ([1], "a")

    def f(t):
        graph_break()
        return t

    assert compile(f)(big) is big


def test_equal_frozensets_made_separately_stay_two_objects():
    def f():
        k1 = frozenset([1, 2])
        k2 = frozenset([2, 1])
        graph_break()
        return k1 is k2, k1 == k2

    assert_same_outcome(f)


def test_a_string_made_at_run_time_is_not_the_interned_literal():
    def f():
        name = str(b"__add__", "ascii")
        graph_break()
        return name is "__add__", name == "__add__"  # noqa: F632

    assert_same_outcome(f)


def test_big_numbers_keep_their_identity():
    def f():
        a = 10 ** 20
        b = a
        c = 10 ** 20 + 0
        graph_break()
        return a is b, a == c

    assert_same_outcome(f)


def test_args_of_a_partial_passed_in_are_its_own_tuple():
    import copy
    import functools

    def f(p):
        q = copy.copy(p)
        return q.args is p.args

    assert_same_outcome(f, lambda: (functools.partial(max, ["asdf"]),))


def test_tuple_and_frozenset_of_an_exact_one_are_that_object():
    def f(t):
        s = frozenset(range(5))
        u = tuple(t)
        graph_break()
        return frozenset(s) is s, u is t

    assert_same_outcome(f, lambda: ((1, [2]),))


def test_tuple_repeat_and_concat_keep_cpythons_identities():
    """`t * 1`, `t + ()`, `() + t` are `t` itself and `t * 0` is the empty tuple (Lib/test's
    test_repeat checks `id(s) == id(s * 1)`); other results are new tuples."""
    from helpers import assert_same_outcome

    def fn(t):
        s = tuple(range(3))
        return (id(s) == id(s * 1), s * 1 is s, s + () is s, () + s is s, s * 0 is (), t * 1 is t, t + () is t,
                (s * 2) is (s * 2), len(s * 3))

    assert_same_outcome(fn, lambda: ((1, 2),))
