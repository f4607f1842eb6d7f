"""The builtins' iterator combinators (zip, enumerate, map, filter), and consuming iterables.

Iterators are heap records (vt/iteration.py).  Combinators built over other
iterators pass along the state that finding an item (or running out) left:
finding out that `zip(a, b)` is done may already have taken an item from `a`,
and a generator runs its last lines, so shared iterators advance exactly as in
CPython.  `items_of` and `for_each` consume any iterable as the builtins do.
The combinators of `itertools` are in vt/data/itertools_iterators.py.
"""
from __future__ import annotations

import attrs

from vt.iteration import IteratorVariable, next_value
from vt.protocol import NOT_CONSTANT
from vt.data.constant import ConstantVariable
from vt.data.lists import TupleVariable
from vt.data.symbolic import add_numbers
from core.outcomes import BreakKind, unsupported, is_stop, raise_error, Thrown
from core.stops import Exhausted

DRAIN_LIMIT = 100_000
"""Items a builtin may pull out of one iterator while tracing (`list(itertools.count())` never ends)."""


def open_iterators(state, values):
    """iter() of each value, in order, as a combinator does when it is made: (state, handles)."""
    handles = []
    for value in values:
        out = value.iterate(state)
        if type(out) is not tuple:
            return out
        state, handle = out
        handles.append(handle)
    return state, tuple(handles)


def _partly_consumed(out, taken):
    """An iterator raising after a builtin took some of its items: the builtin may have done part of
    its work (list.extend appends item by item), which the raise would drop, so that is a break."""
    if taken and type(out) is Thrown:
        return unsupported(BreakKind.PYTHON_EXCEPTION, "an iterator raised part-way through a builtin consuming "
                                                       "it; the builtin's partial work is not modelled")
    return out


def drain(state, iterator, limit: int = DRAIN_LIMIT):
    """Every remaining item of `iterator`, pulled one by one: (state, items) or Unsupported."""
    items = []
    while len(items) <= limit:
        out = next_value(state, iterator)
        if type(out) is Exhausted:
            return out.state, tuple(items)
        if type(out) is not tuple:
            return _partly_consumed(out, items)
        state, value = out
        items.append(value)
    return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                       f"{iterator.describe()} gave more than {limit} items while tracing (is it infinite?)")


def items_of(state, iterable):
    """The items `iter(iterable)` would give, as list(iterable) collects them: (state, items) or Unsupported.

    Sequences answer from their contents; iterators are drained (and so end up exhausted).
    """
    items = iterable.unpack(state, None)
    if items is not None:
        return state, tuple(items)
    if type(iterable.constant_value()) is frozenset:
        return state, tuple(ConstantVariable(item) for item in iterable.constant_value())
    out = iterable.iterate(state)
    if type(out) is not tuple:
        return out
    state, iterator = out
    return drain(state, iterator)


def for_each(state, iterable, visit, acc):
    """CPython's `for item in iterable` loop as a fold: (state, acc) or Unsupported.

    `visit(state, acc, item)` returns (state, acc, done) or Unsupported; `done`
    stops the loop early, leaving the rest of the iterator unread (any, all).
    """
    out = iterable.iterate(state)
    if type(out) is not tuple:
        return out
    state, iterator = out
    visited = []
    while True:
        out = next_value(state, iterator)
        if type(out) is Exhausted:
            return out.state, acc
        if type(out) is not tuple:
            return _partly_consumed(out, visited)
        state, item = out
        visited.append(item)
        out = visit(state, acc, item)
        if type(out) is not tuple:
            return out
        state, acc, done = out
        if done:
            return state, acc


def truth_of(state, value):
    """bool(value) as a Python bool, or the Unsupported saying why it is not known while tracing."""
    truth = value.truth(state)
    if truth is NOT_CONSTANT:

        return value.truth_limit()
    return truth


def next_row(state, iterators):
    """One item from each iterator in order, as zip and map take them: (state, items) or Exhausted."""
    row = []
    for iterator in iterators:
        out = next_value(state, iterator)
        if type(out) is not tuple:
            return out
        state, value = out
        row.append(value)
    return state, tuple(row)


# -- iterators over containers -------------------------------------------------------------------

# -- the builtins' lazy iterators -------------------------------------------------------------------

@attrs.frozen(slots=True)
class ZipIteratorVariable(IteratorVariable):
    """zip(*iterables, strict=...): takes one item from each in order, stops at the first that runs out."""

    iterators: tuple = ()
    strict: bool = False

    python_type = zip

    def step(self, state):
        if not self.iterators:
            return None
        row = []
        for position, iterator in enumerate(self.iterators):
            out = next_value(state, iterator)
            if type(out) is Exhausted:
                return self._ended(out.state, position) if self.strict else out
            if type(out) is not tuple:
                return out
            state, value = out
            row.append(value)
        return state, TupleVariable(tuple(row)), self

    def _ended(self, state, position):
        """strict=True: every iterable must run out together (CPython's messages)."""
        if position:
            plural = " " if position == 1 else "s 1-"
            return raise_error(ValueError, f"zip() argument {position + 1} is "
                               f"shorter than argument{plural}{position}")
        for later, iterator in enumerate(self.iterators[1:], start=1):
            out = next_value(state, iterator)
            if type(out) is tuple:
                plural = " " if later == 1 else "s 1-"
                return raise_error(ValueError, f"zip() argument {later + 1} is "
                                   f"longer than argument{plural}{later}")
            if type(out) is not Exhausted:
                return out
            state = out.state
        return Exhausted(state)


@attrs.frozen(slots=True)
class EnumerateIteratorVariable(IteratorVariable):
    """enumerate(iterable, start): pairs a running count with each item."""

    iterator: object = None
    count: int = 0

    python_type = enumerate

    def step(self, state):
        out = next_value(state, self.iterator)
        if type(out) is not tuple:
            return out
        state, value = out
        if type(self.count) is int:
            return state, TupleVariable((ConstantVariable(self.count), value)), \
                EnumerateIteratorVariable(self.oid, self.iterator, self.count + 1)
        out = add_numbers(state, self.count, ConstantVariable(1))  # a symbolic count (SymNodeVariable)
        if type(out) is not tuple:
            return out
        state, following = out
        return state, TupleVariable((self.count, value)), attrs.evolve(self, count=following)


@attrs.frozen(slots=True)
class MapIteratorVariable(IteratorVariable):
    """map(fn, *iterables): calls `fn` only when asked for the next item, as CPython does."""

    fn: object = None
    iterators: tuple = ()

    python_type = map

    def step(self, state):
        out = next_row(state, self.iterators)
        if type(out) is not tuple:
            return out
        state, row = out
        out = self.fn.call(state, list(row), {})
        if type(out) is not tuple:
            return out
        state, value = out
        return state, value, self


@attrs.frozen(slots=True)
class FilterIteratorVariable(IteratorVariable):
    """filter(fn, iterable) (`keep=True`) and itertools.filterfalse (`keep=False`); fn None tests the item."""

    fn: object = None
    iterator: object = None
    keep: bool = True

    @property
    def python_type(self):
        import itertools

        return filter if self.keep else itertools.filterfalse

    def step(self, state):
        while True:
            out = next_value(state, self.iterator)
            if type(out) is not tuple:
                return out
            state, item = out
            tested = item
            if self.fn is not None:
                out = self.fn.call(state, [item], {})
                if type(out) is not tuple:
                    return out
                state, tested = out
            truth = truth_of(state, tested)
            if is_stop(truth):
                return truth
            if truth == self.keep:
                return state, item, self
