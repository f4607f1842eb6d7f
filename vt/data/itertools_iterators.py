"""The iterators of `itertools`, as heap records (see vt/iterators.py).

Each `step` follows the C code of CPython 3.11's itertools module: when it
pulls from its inputs, what it keeps, and when it gives up for good.  That is
what makes a shared input iterator end up where CPython leaves it, and lazy
ones (`count`, `repeat`, `cycle`) safe to loop over with a `break`.
"""
from __future__ import annotations

import itertools
import math
import operator

import attrs

from core.stops import Exhausted
from effects import heap
from vt.iteration import IteratorVariable, next_value
from vt.data.iterators import items_of, next_row, truth_of
from vt.data.lists import TupleVariable
from core.outcomes import is_stop
from vt.data.operators import binary_operation


def _add(state, total, value):
    return binary_operation(state, operator.add, total, value, "+")


@attrs.frozen(slots=True)
class ChainIteratorVariable(IteratorVariable):
    """chain(*iterables) and chain.from_iterable(iterable): `source` yields the iterables,
    each opened only when the previous one ran out; once `source` runs out chain stays done."""

    source: object = None
    active: object = None

    python_type = itertools.chain

    def step(self, state):
        record = self
        while record.source is not None:
            if record.active is None:
                out = next_value(state, record.source)
                if type(out) is Exhausted:
                    state, record = out.state, attrs.evolve(record, source=None)
                    break
                if type(out) is not tuple:
                    return out
                state, iterable = out
                out = iterable.iterate(state)
                if type(out) is not tuple:
                    return out
                state, active = out
                record = attrs.evolve(record, active=active)
            out = next_value(state, record.active)
            if type(out) is tuple:
                state, value = out
                return state, value, record
            if type(out) is not Exhausted:
                return out
            state, record = out.state, attrs.evolve(record, active=None)
        return Exhausted(heap.update_object(state, record))


@attrs.frozen(slots=True)
class ProductIteratorVariable(IteratorVariable):
    """product(*iterables, repeat=n): the pools were read in full when it was made; item
    `position` is `position` written in mixed radix over the pool sizes, last pool fastest."""

    pools: tuple = ()
    position: int = 0

    python_type = itertools.product

    def step(self, state):
        if self.position >= math.prod(len(pool) for pool in self.pools):
            return None
        index, picked = self.position, []
        for pool in reversed(self.pools):
            index, digit = divmod(index, len(pool))
            picked.append(pool[digit])
        return state, TupleVariable(tuple(reversed(picked))), attrs.evolve(self, position=self.position + 1)


@attrs.frozen(slots=True)
class CombinatoricIteratorVariable(IteratorVariable):
    """permutations / combinations / combinations_with_replacement over a pool read in full:
    the real itertools function run on positions 0..n-1 picks which items make each tuple."""

    kind: object = None
    pool: tuple = ()
    r: object = None
    position: int = 0

    @property
    def python_type(self):
        return self.kind

    def step(self, state):
        picks = self.kind(range(len(self.pool)), self.r) if self.r is not None else self.kind(range(len(self.pool)))
        chosen = next(itertools.islice(picks, self.position, None), None)
        if chosen is None:
            return None
        row = TupleVariable(tuple(self.pool[index] for index in chosen))
        return state, row, attrs.evolve(self, position=self.position + 1)


@attrs.frozen(slots=True)
class IsliceIteratorVariable(IteratorVariable):
    """islice(iterable, start, stop, step): skips up to `next_index`, never reads past `stop`,
    and drops its input for good once it is done (CPython's islice_next)."""

    iterator: object = None
    next_index: int = 0
    stop: object = None
    stride: int = 1
    count: int = 0

    python_type = itertools.islice

    def step(self, state):
        if self.iterator is None:
            return None
        done = attrs.evolve(self, iterator=None)
        count = self.count
        while count < self.next_index:
            out = next_value(state, self.iterator)
            if type(out) is Exhausted:
                return Exhausted(heap.update_object(out.state, done))
            if type(out) is not tuple:
                return out
            state, _ = out
            count += 1
        if self.stop is not None and count >= self.stop:
            return Exhausted(heap.update_object(state, done))
        out = next_value(state, self.iterator)
        if type(out) is Exhausted:
            return Exhausted(heap.update_object(out.state, done))
        if type(out) is not tuple:
            return out
        state, value = out
        following = self.next_index + self.stride
        if self.stop is not None and following > self.stop:
            following = self.stop
        return state, value, attrs.evolve(self, count=count + 1, next_index=following)


@attrs.frozen(slots=True)
class AccumulateIteratorVariable(IteratorVariable):
    """accumulate(iterable, func, initial=...): running totals, `func` (default `+`) called lazily."""

    iterator: object = None
    fn: object = None
    total: object = None
    initial: object = None

    python_type = itertools.accumulate

    def step(self, state):
        if self.initial is not None:
            return state, self.initial, attrs.evolve(self, total=self.initial, initial=None)
        out = next_value(state, self.iterator)
        if type(out) is not tuple:
            return out
        state, value = out
        if self.total is not None:
            out = _add(state, self.total, value) if self.fn is None else self.fn.call(state, [self.total, value], {})
            if type(out) is not tuple:
                return out
            state, value = out
        return state, value, attrs.evolve(self, total=value)


@attrs.frozen(slots=True)
class RepeatIteratorVariable(IteratorVariable):
    """repeat(value, times): the same VT each time; `remaining` None means forever."""

    value: object = None
    remaining: object = None

    python_type = itertools.repeat

    def step(self, state):
        if self.remaining is None:
            return state, self.value, self
        if self.remaining <= 0:
            return None
        return state, self.value, attrs.evolve(self, remaining=self.remaining - 1)


@attrs.frozen(slots=True)
class CountIteratorVariable(IteratorVariable):
    """count(start, step): returns the current value and stores current + step, as CPython does."""

    current: object = None
    stride: object = None

    python_type = itertools.count

    def step(self, state):
        out = _add(state, self.current, self.stride)
        if type(out) is not tuple:
            return out
        state, following = out
        return state, self.current, attrs.evolve(self, current=following)


@attrs.frozen(slots=True)
class ZipLongestIteratorVariable(IteratorVariable):
    """zip_longest(*iterables, fillvalue=...): an input that runs out is dropped (None here) and
    filled in; the row in which the last one runs out ends the iteration."""

    iterators: tuple = ()
    fill: object = None
    active: int = 0

    python_type = itertools.zip_longest

    def step(self, state):
        if self.active == 0:
            return None
        iterators, active, row = list(self.iterators), self.active, []
        for position, iterator in enumerate(iterators):
            if iterator is None:
                row.append(self.fill)
                continue
            out = next_value(state, iterator)
            if type(out) is tuple:
                state, value = out
                row.append(value)
                continue
            if type(out) is not Exhausted:
                return out
            state, active = out.state, active - 1
            if active == 0:
                return Exhausted(heap.update_object(state, attrs.evolve(self, active=0)))
            iterators[position] = None
            row.append(self.fill)
        return state, TupleVariable(tuple(row)), attrs.evolve(self, iterators=tuple(iterators), active=active)


@attrs.frozen(slots=True)
class CycleIteratorVariable(IteratorVariable):
    """cycle(iterable): passes the input through once while saving it, then repeats the saved items."""

    iterator: object = None
    saved: tuple = ()
    index: int = 0

    python_type = itertools.cycle

    def step(self, state):
        record = self
        if record.iterator is not None:
            out = next_value(state, record.iterator)
            if type(out) is tuple:
                state, value = out
                return state, value, attrs.evolve(record, saved=record.saved + (value,))
            if type(out) is not Exhausted:
                return out
            state, record = out.state, attrs.evolve(record, iterator=None)
        if not record.saved:
            return Exhausted(heap.update_object(state, record))
        value = record.saved[record.index]
        return state, value, attrs.evolve(record, index=(record.index + 1) % len(record.saved))


@attrs.frozen(slots=True)
class PairwiseIteratorVariable(IteratorVariable):
    """pairwise(iterable): overlapping pairs; drops its input once it runs out."""

    iterator: object = None
    previous: object = None

    python_type = itertools.pairwise

    def step(self, state):
        if self.iterator is None:
            return None
        previous = self.previous
        if previous is None:
            out = next_value(state, self.iterator)
            if type(out) is Exhausted:
                return Exhausted(heap.update_object(out.state, attrs.evolve(self, iterator=None)))
            if type(out) is not tuple:
                return out
            state, previous = out
        out = next_value(state, self.iterator)
        if type(out) is Exhausted:
            return Exhausted(heap.update_object(out.state, attrs.evolve(self, iterator=None, previous=None)))
        if type(out) is not tuple:
            return out
        state, value = out
        return state, TupleVariable((previous, value)), attrs.evolve(self, previous=value)


@attrs.frozen(slots=True)
class StarmapIteratorVariable(IteratorVariable):
    """starmap(fn, iterable): fn(*item) for each item, called lazily."""

    fn: object = None
    iterator: object = None

    python_type = itertools.starmap

    def step(self, state):
        out = next_value(state, self.iterator)
        if type(out) is not tuple:
            return out
        state, item = out
        out = items_of(state, item)
        if type(out) is not tuple:
            return out
        state, args = out
        out = self.fn.call(state, list(args), {})
        if type(out) is not tuple:
            return out
        state, value = out
        return state, value, self


@attrs.frozen(slots=True)
class WhileIteratorVariable(IteratorVariable):
    """takewhile (`take=True`) and dropwhile: `settled` is set once the predicate first fails
    (takewhile is then done for good; dropwhile passes everything on without asking)."""

    fn: object = None
    iterator: object = None
    take: bool = True
    settled: bool = False

    @property
    def python_type(self):
        return itertools.takewhile if self.take else itertools.dropwhile

    def step(self, state):
        if self.take and self.settled:
            return None
        while True:
            out = next_value(state, self.iterator)
            if type(out) is not tuple:
                return out
            state, item = out
            if self.settled:
                return state, item, self
            out = self.fn.call(state, [item], {})
            if type(out) is not tuple:
                return out
            state, tested = out
            truth = truth_of(state, tested)
            if is_stop(truth):
                return truth
            if self.take:
                if truth:
                    return state, item, self
                return Exhausted(heap.update_object(state, attrs.evolve(self, settled=True)))
            if not truth:
                return state, item, attrs.evolve(self, settled=True)


@attrs.frozen(slots=True)
class CompressIteratorVariable(IteratorVariable):
    """compress(data, selectors): a datum, then its selector; keeps the datum when the selector is true."""

    data: object = None
    selectors: object = None

    python_type = itertools.compress

    def step(self, state):
        while True:
            out = next_row(state, (self.data, self.selectors))
            if type(out) is not tuple:
                return out
            state, (datum, selector) = out
            truth = truth_of(state, selector)
            if is_stop(truth):
                return truth
            if truth:
                return state, datum, self
