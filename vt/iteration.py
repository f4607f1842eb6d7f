"""Iterators, as objects in the heap: the record every iterator shares, and the ones sequences make.

An iterator is mutable (every `next` advances it) and can be shared (`it =
iter(xs)`, then both a `for` loop and `next(it)` use it), so like a list it is
a handle: the record in `State.heap` under its `oid` holds the position.
`next_value` reads the current record, asks it for one more item with `step`,
and stores the advanced record back; nothing is ever mutated in place.

Running out is an outcome with a state too (`Exhausted`): finding out that
`zip(a, b)` is done may already have taken an item from `a`, a generator runs
its last lines, and CPython's list iterators stay exhausted once they are.

This module sits low, so that every value can make its own iterator: a tuple
iterates its items (`iterate_items`), a list through `ListIteratorVariable`,
a range through the iterator in vt/constant.py; the builtins' combinators
(zip, map, enumerate, ...) are in vt/iterators.py.
"""
from __future__ import annotations

import attrs

from core.stops import Exhausted
from effects import heap
from vt.protocol import VariableTracker


@attrs.frozen(slots=True)
class IteratorVariable(VariableTracker):
    """Base of iterator records; subclasses add their position and implement `step`."""

    oid: int

    always_true = True
    python_type = None  # the CPython type, when one type stands for every value of this record

    def comparison_kind(self):
        return "other"

    def runtime_type(self):
        return self.python_type

    def describe(self) -> str:
        return type(self).__name__.replace("Variable", "").replace("Iterator", " iterator").strip()

    def iterate(self, state):
        return state, self  # iter(it) is it

    def step(self, state):
        """(state, value, advanced record), None or Exhausted when exhausted, or Unsupported."""
        raise NotImplementedError

    def next_item(self, state):
        """FOR_ITER's form: (state, value), Exhausted(state), or Unsupported."""
        return next_value(state, self)


def next_value(state, iterator):
    """next(iterator) as CPython runs it: (state, value), Exhausted(state), or Unsupported."""
    record = heap.current(state, iterator)
    out = record.step(state)
    if out is None:
        return Exhausted(state)
    if type(out) is not tuple:
        return out
    state, value, advanced = out
    return heap.update_object(state, advanced), value


# -- making iterators --------------------------------------------------------------------------

def new_iterator(state, make):
    """Allocate an iterator record built by `make(oid)`; returns (state, handle)."""
    return heap.allocate(state, make)


def iterate_items(state, items: tuple):
    """A new iterator over `items`; returns (state, handle)."""
    return new_iterator(state, lambda oid: SequenceIteratorVariable(oid, tuple(items), 0))


@attrs.frozen(slots=True)
class SequenceIteratorVariable(IteratorVariable):
    """Iterator over a fixed tuple of VTs (a tuple, a constant sequence, a materialized result)."""

    items: tuple = ()
    index: int = 0

    def step(self, state):
        if self.index >= len(self.items):
            return None
        return state, self.items[self.index], attrs.evolve(self, index=self.index + 1)


@attrs.frozen(slots=True)
class ListIteratorVariable(IteratorVariable):
    """Iterator over a list in the heap; reads the list's current items, so growing the list
    while looping over it behaves as in CPython, and like CPython's it stays exhausted once done."""

    list_oid: int = 0
    index: int = 0
    done: bool = False

    python_type = type(iter([]))

    def step(self, state):
        items = state.heap[self.list_oid].items
        if self.done:
            return None
        if self.index >= len(items):
            return Exhausted(heap.update_object(state, attrs.evolve(self, done=True)))
        return state, items[self.index], ListIteratorVariable(self.oid, self.list_oid, self.index + 1)


@attrs.frozen(slots=True)
class ReversedListIteratorVariable(IteratorVariable):
    """reversed(list): walks down from the end of the list's current items, as CPython's does."""

    list_oid: int = 0
    index: int = -1

    python_type = type(reversed([]))

    def step(self, state):
        items = state.heap[self.list_oid].items
        if 0 <= self.index < len(items):
            return state, items[self.index], attrs.evolve(self, index=self.index - 1)
        if self.index == -1:
            return None
        return Exhausted(heap.update_object(state, attrs.evolve(self, index=-1)))
