"""Sorting, for `sorted()` and `list.sort()`: CPython's own sort, asking the trace each `<`.

Keys that are plain data (numbers, strings, tuples of them) are sorted for real at once.  Other
keys (objects whose class defines `__lt__` in Python, `functools.cmp_to_key` wrappers, a mix of
objects and numbers) are sorted by running the real `list.sort` on *proxies*, one per key, whose
`__lt__` asks the tracer for `a < b` (vt/data/operators.py: the object's Python `__lt__` inlined,
the reflected `__gt__` when it gives NotImplemented, ...) and returns the truth of the answer.
The state threads through the comparisons in order, so the comparisons made, their order, their
graph nodes and their side effects are CPython's exactly, stability and `reverse=` included,
whether or not the comparisons are consistent.

CPython compares keys of one type through that type's own comparison slot first
(`unsafe_object_compare`: `type(a).__lt__(a, b)`, then the full rich comparison if that gave
NotImplemented); the proxies do the same, so even a `__lt__` that returns NotImplemented is
called as often as in eager.  A comparison the tracer cannot answer (tensors: their truth is
data) stops the sort with that limit; one that raises leaves the list in the partial order the
real sort left it in, as CPython does for `list.sort`.
"""
from __future__ import annotations

import operator

import attrs

from core.outcomes import Thrown
from vt.data.operators import binary_operation
from vt.protocol import NOT_CONSTANT


class _Stopped(Exception):
    """Carries a traced comparison's stop out of the real sort."""

    def __init__(self, stop):
        super().__init__()
        self.stop = stop


class _Run:
    """The state of one sort, threaded through the comparisons (local to one call)."""

    __slots__ = ("state", "same_type", "compare_first")

    def __init__(self, state, same_type, compare_first):
        self.state = state
        self.same_type = same_type
        self.compare_first = compare_first


class _Proxy:
    """One key, ordered by asking the trace; `position` is its item's place in the input."""

    __slots__ = ("vt", "position", "run")

    def __init__(self, vt, position: int, run: _Run):
        self.vt = vt
        self.position = position
        self.run = run

    def __lt__(self, other):
        run = self.run
        out = None
        if run.same_type:
            out = run.compare_first(run.state, self.vt, other.vt)
            if out is not None and type(out) is tuple and _not_implemented(out[1]):
                run.state = out[0]
                out = None
        if out is None:
            out = binary_operation(run.state, operator.lt, self.vt, other.vt, "<")
        if type(out) is not tuple:
            raise _Stopped(out)
        state, result = out
        out = result.bool_value(state)
        if type(out) is not tuple:
            raise _Stopped(out)
        run.state, answer = out
        return answer


def _own_less_than(state, a, b):
    return a.own_less_than(state, b)


def _not_implemented(vt) -> bool:
    return vt.constant_value() is NotImplemented


def sort_values(state, keys, reverse: bool):
    """The order CPython's sort puts `keys` (VTs) in, as positions: (state, order, None), or, when a
    comparison stops the sort, (state at the stop, the partial order the real sort left, the stop).
    When every key has one type, its own `__lt__` is asked first (see the module docstring)."""
    values = [key.as_python(state) for key in keys]
    if all(value is not NOT_CONSTANT for value in values):
        order = list(range(len(keys)))
        try:
            order.sort(key=values.__getitem__, reverse=reverse)
        except Exception as exc:  # plain data CPython cannot order ("a" < 1): raised, the order left partial
            return state, order, _thrown(exc)
        return state, order, None
    types = {key.runtime_type() for key in keys}
    run = _Run(state, len(types) == 1 and None not in types, _own_less_than)
    proxies = [_Proxy(key, position, run) for position, key in enumerate(keys)]
    try:
        proxies.sort(reverse=reverse)
    except _Stopped as stopped:
        stop = stopped.stop
        if type(stop) is Thrown:  # raised after the comparisons before it: their effects stay
            at = stop.state if stop.state is not None else run.state
            return at, [proxy.position for proxy in proxies], attrs.evolve(stop, state=at)
        return run.state, [proxy.position for proxy in proxies], stop
    return run.state, [proxy.position for proxy in proxies], None


def _thrown(exc):
    return Thrown(type(exc), exc.args)
