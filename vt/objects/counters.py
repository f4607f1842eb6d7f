"""The C helpers `collections.Counter`'s Python code calls, as rules.

`Counter` is a dict subclass written in Python, so its methods are inlined like
any user class's (its dict part is a `DictSubclassObjectVariable`, its missing
keys go through its Python `__missing__`); only the C functions it reaches need
rules here:

* `collections._count_elements(mapping, iterable)` (Counter("aab"), update,
  the fast path CPython takes when the mapping keeps dict's `get` and
  `__setitem__`): each element's count is `get(elem, 0) + 1`, stored in turn;
* `heapq.nlargest` / `heapq.nsmallest` (most_common(n)): documented as
  `sorted(iterable, key=key, reverse=True)[:n]` and `sorted(...)[:n]`, ties
  included (both keep the first-seen order of equal keys), so they are that.
"""
from __future__ import annotations

import collections
import heapq
import operator

import attrs

from core.outcomes import BreakKind, Thrown, is_stop, raise_error, unsupported
from effects import heap
from vt import registry
from vt.data.constant import ConstantVariable
from vt.data.dicts import DictVariable
from vt.data.equality import hashable_key
from vt.data.iterators import items_of
from vt.data.lists import new_list
from vt.data.operators import binary_operation
from vt.folding import bind, call_builtin
from vt.objects.dict_subclass import DictSubclassObjectVariable, entries_of
from vt.objects.object_attributes import lookup

_count_elements = getattr(collections, "_count_elements", None)
ONE = ConstantVariable(1)


def _fast_path(state, mapping) -> bool:
    """The mapping keeps dict's own `get` and `__setitem__` (CPython's fast path, no Python code)."""
    if isinstance(mapping, DictVariable):
        return True
    if not isinstance(mapping, DictSubclassObjectVariable):
        return False
    cls = heap.current(state, mapping).cls
    return lookup(state, cls, "get")[1] is dict.get and lookup(state, cls, "__setitem__")[1] is dict.__setitem__


def _count(state, args, kwargs):
    if len(args) != 2 or kwargs:
        return raise_error(TypeError, f"_count_elements expected 2 arguments, got {len(args)}")
    mapping, iterable = args
    if not _fast_path(state, mapping):
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"counting into {mapping.describe()}, whose get or "
                           "__setitem__ is its own, is not traced yet")
    out = items_of(state, iterable)
    if type(out) is not tuple:
        return out
    state, elements = out
    if isinstance(mapping, DictVariable):
        entries = dict(heap.current(state, mapping).entries)
    else:
        out = entries_of(state, mapping)
        if type(out) is not tuple:
            return out
        state, entries = out[0], dict(out[1])
    for position, element in enumerate(elements):
        key = hashable_key(element)
        out = key if is_stop(key) else ((state, ONE) if key not in entries else
                                        binary_operation(state, operator.add, entries[key], ONE, "+"))
        if type(out) is not tuple:
            return _after(out, position)
        state, entries[key] = out
    return _store(state, mapping, entries), ConstantVariable(None)


def _after(stop, position: int):
    """A failure part-way: CPython has stored the counts before it, which is not modelled."""
    if type(stop) is Thrown and position:
        return unsupported(BreakKind.PYTHON_EXCEPTION, "counting failed part-way; the counts stored before the "
                           "error are not modelled")
    return stop


def _store(state, mapping, entries: dict):
    current = heap.current(state, mapping)
    if isinstance(mapping, DictVariable):
        return heap.mutate(state, current.with_entries(entries.items()), "_count_elements")
    record = attrs.evolve(current, entries=tuple(entries.items()), dict_changed=True)
    return heap.mutate(state, record, "_count_elements")


if _count_elements is not None:
    registry.add_builtin_rule(_count_elements, _count)


def _largest(reverse: bool):
    def stub(n, iterable, key=None):
        """heapq.nlargest / nsmallest's signature."""

    def rule(state, args, kwargs):
        bound = bind(stub, args, kwargs, "nlargest" if reverse else "nsmallest")
        if type(bound) is not dict:
            return bound
        count = bound["n"].constant_value()
        if type(count) is not int:
            return unsupported(BreakKind.UNSUPPORTED_CALL, "heapq.nlargest/nsmallest with n not an int known "
                               "while tracing")
        options = {"reverse": ConstantVariable(reverse)}
        if bound["key"] is not None:
            options["key"] = bound["key"]
        out = call_builtin(state, sorted, [bound["iterable"]], options)
        if type(out) is not tuple:
            return out
        state, ordered = out
        return new_list(state, heap.current(state, ordered).items[:max(count, 0)])
    return rule


registry.add_builtin_rule(heapq.nlargest, _largest(True))
registry.add_builtin_rule(heapq.nsmallest, _largest(False))
