"""The persistent map the State's tables use: pyrsistent's `PMap`, with its hot operations in one call.

`PMap` is pure Python, and each of its hot operations is a small tower of calls: `m.get(k)` goes
through `Mapping.get`, `__getitem__`, `_getitem` and `_get_bucket`; `m.set(k, v)` builds an
evolver, sets through it and asks it for a persistent map again (about a dozen calls).  The step
loop reads and writes the heap, the guards and the known objects thousands of times per capture,
so those towers were a tenth of all Python calls of a model's capture (`bench/step_cost.py`).

`PersistentMap` is a `PMap` (same buckets, same hashing, same equality, every other method
inherited) whose `get`, `[]`, `in` and `set` read and copy its buckets directly.  The layout is
pyrsistent's: `_size` and `_buckets`, a pvector of lists of (key, value) pairs indexed by
`hash(key) % len(_buckets)`; a map that must grow (pyrsistent's reallocation rule) or any other
change goes through pyrsistent's own code, whose result is re-wrapped.  `tests/test_pmaps.py`
checks every operation against `PMap` on random histories, so a pyrsistent release that changes
the layout fails there, not in a capture.
"""
from __future__ import annotations

from pyrsistent import PMap, pmap, pvector


class PersistentMap(PMap):
    """A `PMap` whose reads and single-key writes are one Python call each (see the module): the bucket
    scan is written out in each of them on purpose, since a shared helper would be a second call."""

    __slots__ = ()

    def __getitem__(self, key):
        buckets = self._buckets
        bucket = buckets[hash(key) % len(buckets)]
        if bucket:
            for k, v in bucket:
                if k == key:
                    return v
        raise KeyError(key)

    def get(self, key, default=None):
        buckets = self._buckets
        bucket = buckets[hash(key) % len(buckets)]
        if bucket:
            for k, v in bucket:
                if k == key:
                    return v
        return default

    def __contains__(self, key) -> bool:
        buckets = self._buckets
        bucket = buckets[hash(key) % len(buckets)]
        if bucket:
            for k, _ in bucket:
                if k == key:
                    return True
        return False

    def set(self, key, value) -> "PersistentMap":
        buckets = self._buckets
        index = hash(key) % len(buckets)
        bucket = buckets[index]
        if bucket:
            for position, (k, v) in enumerate(bucket):
                if k == key:
                    if v is value:
                        return self
                    changed = list(bucket)
                    changed[position] = (k, value)
                    return PersistentMap(self._size, buckets.set(index, changed))
        if len(buckets) < 0.67 * self._size:  # pyrsistent's rule for growing the table
            return _grown(self).set(key, value)
        added = [(key, value)]
        if bucket:
            added.extend(bucket)
        return PersistentMap(self._size + 1, buckets.set(index, added))

    def remove(self, key) -> "PersistentMap":
        return _wrapped(PMap.remove(self, key))

    def discard(self, key) -> "PersistentMap":
        return _wrapped(PMap.discard(self, key))

    def update(self, *maps) -> "PersistentMap":
        return _wrapped(PMap.update(self, *maps))

    def update_with(self, update_fn, *maps) -> "PersistentMap":
        return _wrapped(PMap.update_with(self, update_fn, *maps))


def _grown(m: PMap) -> PersistentMap:
    """`m` over twice as many buckets (pyrsistent's `_reallocate`, in one pass)."""
    size = 2 * len(m._buckets)
    buckets = [None] * size
    for bucket in m._buckets:
        if bucket:
            for pair in bucket:
                index = hash(pair[0]) % size
                if buckets[index]:
                    buckets[index].append(pair)
                else:
                    buckets[index] = [pair]
    return PersistentMap(m._size, pvector(buckets))


def _wrapped(result: PMap) -> PersistentMap:
    return result if type(result) is PersistentMap else PersistentMap(result._size, result._buckets)


EMPTY = _wrapped(pmap())
