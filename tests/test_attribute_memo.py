"""Reads through a Python `__getattribute__` are remembered within a trace, and only while nothing
the hook could see has changed (vt/objects/object_attributes.py `read_attribute`)."""
from __future__ import annotations

import torch

from helpers import assert_same_as_eager
from tracer import trace
from tracer.step import run


class Config:
    """A model config's idiom: attribute aliases resolved in `__getattribute__`."""

    aliases = {"width": "hidden"}

    def __init__(self, hidden=4):
        self.hidden = hidden

    def __getattribute__(self, key):
        if key != "aliases" and key in super().__getattribute__("aliases"):
            key = super().__getattribute__("aliases")[key]
        return super().__getattribute__(key)


CFG = Config()


def _same_as_eager_on_fresh_objects(fn, make_inputs, state_of):
    """Like helpers.assert_same_as_eager for inputs the program changes (clone_inputs shares user
    objects): traced and eager each run on inputs of their own, then results and `state_of` the
    inputs are compared."""
    res = trace(fn, make_inputs())
    assert len(res.graphs) == 1 and not res.graph_breaks, res.graph_breaks
    torch.manual_seed(0)
    traced_inputs = make_inputs()
    torch.manual_seed(0)
    eager_inputs = make_inputs()
    actual, expected = res(*traced_inputs), fn(*eager_inputs)
    torch.testing.assert_close(actual, expected)
    assert state_of(traced_inputs) == state_of(eager_inputs)
    return res


def _reads_width_three_times(x):
    return x * CFG.width + CFG.width - CFG.width


def test_a_repeated_read_is_remembered_and_matches_eager():
    from helpers import make_state

    final, _ = run(make_state(_reads_width_three_times, (torch.randn(2),)))
    assert [name for _, name in final.env.attribute_reads] == ["width"]
    assert_same_as_eager(_reads_width_three_times, lambda: (torch.randn(2),))


def test_remembered_reads_keep_their_guards():
    res = trace(_reads_width_three_times, (torch.randn(2),))
    x = torch.randn(2)
    CFG.hidden = 7
    try:
        assert torch.equal(res(x), _reads_width_three_times(x))  # a guard fails: recaptured with 7
    finally:
        CFG.hidden = 4
    assert len(res.captures) == 2


def test_a_write_to_the_object_between_reads_is_seen():
    def fn(x, cfg):
        a = cfg.width + cfg.width  # the second read is remembered
        cfg.hidden = cfg.hidden + 1
        return x * a + cfg.width

    _same_as_eager_on_fresh_objects(fn, lambda: (torch.randn(2), Config()), lambda inputs: inputs[1].hidden)


class Bag:
    def __init__(self):
        self.items = []

    def __getattribute__(self, key):
        if key == "size":
            return len(super().__getattribute__("items"))
        return super().__getattribute__(key)


def test_a_change_to_an_object_made_in_the_trace_is_seen():
    def fn(x):
        bag = Bag()
        before = bag.size + bag.size  # the second read is remembered
        bag.items.append(1)
        return x + before * 10 + bag.size

    assert_same_as_eager(fn, lambda: (torch.randn(2),))


def test_a_change_to_an_input_object_the_hook_reads_is_seen():
    def fn(x, bag):
        before = bag.size + bag.size  # the second read is remembered
        bag.items.append(1)
        return x + before * 10 + bag.size

    def inputs():
        bag = Bag()
        bag.items.append(0)
        return torch.randn(2), bag

    _same_as_eager_on_fresh_objects(fn, inputs, lambda inputs: inputs[1].items)


SCALE = 2


class Scaled:
    def __getattribute__(self, key):
        if key == "scale":
            return SCALE
        return super().__getattribute__(key)


def test_a_global_written_between_reads_is_seen():
    def fn(x, s):
        global SCALE
        a = s.scale + s.scale  # the second read is remembered
        SCALE = 3
        b = s.scale
        SCALE = 2
        return x * a + b

    assert_same_as_eager(fn, lambda: (torch.randn(2), Scaled()))


class Counting:
    def __init__(self):
        self.reads = []
        self.value = 5

    def __getattribute__(self, key):
        if key == "value":  # the tracer's own reads of dunders do not count
            super().__getattribute__("reads").append(key)
        return super().__getattribute__(key)


def test_a_hook_with_an_effect_runs_on_every_read():
    def fn(x, c):
        return x + c.value + c.value + c.value

    _same_as_eager_on_fresh_objects(fn, lambda: (torch.randn(2), Counting()), lambda inputs: inputs[1].reads)
    res = trace(fn, (torch.randn(2), Counting()))
    c = Counting()
    res(torch.randn(2), c)
    assert c.reads == ["value"] * 3


class Holder:
    def __init__(self):
        self.box = None

    def __getattribute__(self, key):
        if key == "count":
            return len(super().__getattribute__("box"))
        return super().__getattribute__(key)


def test_an_object_made_in_the_trace_and_stored_on_an_input_is_watched():
    def fn(x, holder):
        holder.box = []  # an input now reaches a list the trace made
        a = holder.count + holder.count + holder.count  # remembered from the second read on
        holder.box.append(1)  # a change to that list only
        return x + a * 10 + holder.count

    _same_as_eager_on_fresh_objects(fn, lambda: (torch.randn(2), Holder()), lambda inputs: inputs[1].box)


def test_changes_to_objects_made_in_the_trace_do_not_hide_a_read_of_an_unwritten_input():
    def fn(x, cfg):
        made = []
        a = cfg.width + cfg.width + cfg.width
        made.append(a)  # a trace-made object changes; no input or global was written
        return x * cfg.width + len(made) + a

    _same_as_eager_on_fresh_objects(fn, lambda: (torch.randn(2), Config()), lambda inputs: inputs[1].hidden)
