"""Iterators, as objects in the heap.

An iterator is mutable (every `next` advances it) and can be shared (`it =
iter(xs)`, then both a `for` loop and `next(it)` use it), so like a list it is
a handle: the record in `State.heap` under its `oid` holds the position.
`next_item` reads the current record, asks it for one more item with `step`,
and stores the advanced record back; nothing is ever mutated in place.
"""
from __future__ import annotations

import attrs

from vt.base import VariableTracker
from vt.constant import ConstantVariable


@attrs.frozen(slots=True)
class IteratorVariable(VariableTracker):
    """Base of iterator records; subclasses add their position and implement `step`."""

    oid: int

    family = "iterator"
    always_true = True

    def describe(self) -> str:
        return type(self).__name__.replace("Variable", "").replace("Iterator", " iterator").strip()

    def iterate(self, state):
        return state, self  # iter(it) is it

    def step(self, state):
        """(state, value, advanced record), None when exhausted, or Unsupported."""
        raise NotImplementedError

    def next_item(self, state):
        """(state, value) with the iterator advanced in the heap, None when exhausted, or Unsupported."""
        out = state.current(self).step(state)
        if type(out) is not tuple:
            return out
        state, value, advanced = out
        return state.update_object(advanced), value


def new_iterator(state, make):
    """Allocate an iterator record built by `make(oid)`; returns (state, handle)."""
    return state.allocate(make)


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
    while looping over it behaves as in CPython."""

    list_oid: int = 0
    index: int = 0

    def step(self, state):
        items = state.heap[self.list_oid].items
        if self.index >= len(items):
            return None
        return state, items[self.index], attrs.evolve(self, index=self.index + 1)


@attrs.frozen(slots=True)
class RangeIteratorVariable(IteratorVariable):
    """Iterator over a range; items are made on demand, so huge ranges cost nothing up front."""

    values: range = range(0)
    index: int = 0

    def step(self, state):
        if self.index >= len(self.values):
            return None
        return state, ConstantVariable(self.values[self.index]), attrs.evolve(self, index=self.index + 1)


def iterate_items(state, items: tuple):
    """A new iterator over `items`; returns (state, handle)."""
    return new_iterator(state, lambda oid: SequenceIteratorVariable(oid, tuple(items), 0))
