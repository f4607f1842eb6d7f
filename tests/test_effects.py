"""Inputs that are lists, dicts and sets, and closure cells: changes replayed on the real objects."""
import torch

from helpers import assert_same_as_eager
from tracer import compile, trace


def t(*shape):
    return torch.randn(*shape)


def test_list_argument_extended_in_place_is_replayed():
    def fn(xs):
        xs += [xs[0] * 2]
        return len(xs)

    res = trace(fn, ([t(2)],))
    real = [t(2)]
    first = real[0]
    assert res(real) == 2
    assert len(real) == 2 and real[0] is first
    torch.testing.assert_close(real[1], first * 2)


def test_tracing_itself_changes_nothing():
    def fn(xs):
        xs += [1]
        return xs

    real = [t(2)]
    trace(fn, (real,))
    assert len(real) == 1


def test_returning_an_input_list_returns_the_callers_object():
    def fn(xs, ys):
        return xs, ys, xs

    res = trace(fn, ([1], [2]))
    a, b = [1], [2]
    out = res(a, b)
    assert out[0] is a and out[1] is b and out[2] is a


def test_same_list_passed_twice_is_one_object():
    def fn(xs, ys):
        xs += [len(ys)]
        return ys

    res = trace(fn, ([1], [1]))  # two different lists at capture
    shared = [1]
    out = res(shared, shared)  # one list now: recaptured, not reused
    assert out is shared and shared == [1, 1]
    assert len(res.captures) == 2
    assert any("same object" in str(g) for g in res.guards)


def test_source_read_before_the_replay():
    def fn(xs):
        first = xs[0]
        xs += [first + 1]
        return first

    res = trace(fn, ([t(2)],))
    real = [t(2)]
    head = real[0]
    assert res(real) is head


def test_dict_and_set_arguments_are_guarded_on_keys_and_key_types():
    def fn(d, s):
        return d["a"] * 2 + len(s)

    res = compile(fn)
    assert res({"a": 1}, {1, 2}) == 4
    assert res({"a": 3}, {1, 2}) == 8
    assert res({"a": 3}, {1.0, 2}) == 8
    assert res({"a": 3, "b": 0}, {1, 2}) == 8
    assert len(res.captures) == 4
    guards = "\n".join(str(g) for g in res.guards)
    assert "d: dict with keys ['a']" in guards and "s: set with keys" in guards


def test_tensors_inside_an_input_dict_become_graph_inputs():
    def fn(d):
        return torch.cat([d["x"], d["y"]]) * 2

    res = assert_same_as_eager(fn, lambda: ({"x": t(2), "y": t(3)},))
    assert len(list(res.graphs[0].graph.find_nodes(op="placeholder"))) == 2


def test_global_list_extended_is_replayed():
    res = trace(_grow_global, (t(2),))
    before = len(GROWING)
    res(t(2))
    assert len(GROWING) == before + 1


GROWING = []


def _grow_global(x):
    GROWING.extend([x])  # noqa: B038
    return x


COUNTER = 0


def _count_calls(x):
    global COUNTER, SCRATCH
    COUNTER += 1
    SCRATCH = x * 2
    del SCRATCH
    return x + COUNTER


def test_global_store_and_delete_are_replayed():
    global COUNTER
    COUNTER = 0
    res = trace(_count_calls, (t(2),))
    assert COUNTER == 0  # tracing changed nothing
    x = t(2)
    torch.testing.assert_close(res(x), x + 1)
    assert COUNTER == 1 and "SCRATCH" not in globals()
    torch.testing.assert_close(res(x), x + 2)  # the guard on COUNTER's value recaptures
    assert COUNTER == 2


def _delete_missing(x):
    global NEVER_DEFINED
    del NEVER_DEFINED
    return x


def test_deleting_an_undefined_global_raises_like_eager():
    import pytest

    res = trace(_delete_missing, (t(2),))
    assert res.graph_breaks == []
    with pytest.raises(NameError):
        res(t(2))


_effect_log = []


def test_side_effects_are_listed_with_their_origin_and_line():
    from effects.records import AttributeStore, Existing, GlobalStore, ObjectMutation
    from tracer import explain

    class Box:
        pass

    def fn(x, items, box):
        global _effect_log
        items.append(x.sum())
        box.seen = True
        _effect_log = _effect_log + [1]
        return x * 2

    first = fn.__code__.co_firstlineno
    x, items, box = torch.ones(2), [], Box()
    report = explain(fn, x, items, box)
    mutation, store, global_store = report.side_effects
    assert type(mutation) is ObjectMutation and mutation.what == "list.append"
    assert mutation.origin == Existing(mutation.origin.source) and mutation.origin.source.expr() == "items"
    assert mutation.lineno == first + 2
    assert type(store) is AttributeStore and store.name == "seen" and store.lineno == first + 3
    assert type(global_store) is GlobalStore and global_store.name == "_effect_log"
    text = str(report)
    assert "items changed by list.append" in text and "box.seen = True" in text
    assert "global _effect_log = [1]" in text
    assert len(items) == 1 and box.seen is True  # the call itself ran once, eagerly equivalent
