"""Iterators over sequences known while tracing.

An iterator created by GET_ITER lives on the value stack; FOR_ITER replaces it
with an advanced copy, so iterating never mutates anything.
"""
from __future__ import annotations

import attrs

from vt.base import VariableTracker
from vt.constant import ConstantVariable


@attrs.frozen(slots=True)
class SequenceIteratorVariable(VariableTracker):
    """Iterator over a tuple of VTs, at position `index`."""

    items: tuple
    index: int

    family = "iterator"

    def next_item(self, state):
        """(value, advanced iterator), or None when exhausted."""
        if self.index >= len(self.items):
            return None
        return self.items[self.index], SequenceIteratorVariable(self.items, self.index + 1)


@attrs.frozen(slots=True)
class ListIteratorVariable(VariableTracker):
    """Iterator over a list in the heap; reads the list's current items, so growing it while
    looping over it behaves as in CPython."""

    oid: int
    index: int

    family = "iterator"

    def next_item(self, state):
        items = state.heap[self.oid].items
        if self.index >= len(items):
            return None
        return items[self.index], ListIteratorVariable(self.oid, self.index + 1)


@attrs.frozen(slots=True)
class RangeIteratorVariable(VariableTracker):
    """Iterator over a range, at position `index`; items are made on demand."""

    values: range
    index: int

    family = "iterator"

    def next_item(self, state):
        if self.index >= len(self.values):
            return None
        return ConstantVariable(self.values[self.index]), RangeIteratorVariable(self.values, self.index + 1)
