"""Dicts created by the traced code, keyed by constants.

Like lists, a dict VT is a handle on the heap (`oid`); `entries` holds
(key, VT) pairs in insertion order, the order Python iterates in.
"""
from __future__ import annotations

import attrs

from vt.base import VariableTracker
from vt.constant import ConstantVariable
from vt.outcome import BreakKind, unsupported


@attrs.frozen(slots=True)
class DictVariable(VariableTracker):
    """A handle on a dict in the heap; `entries` is its contents when this copy was made."""

    oid: int
    entries: tuple = attrs.field(eq=False)
    source: object = attrs.field(default=None, eq=False)  # set when the dict existed before the call

    family = "dict"

    def describe(self) -> str:
        return "{" + ", ".join(f"{k!r}: {v.describe()}" for k, v in self.entries) + "}"

    def truth(self, state):
        return bool(state.current(self).entries)

    def with_entries(self, entries) -> "DictVariable":
        return DictVariable(self.oid, tuple(entries), self.source)

    def unpack(self, state, count):
        """Iterating a dict gives its keys."""
        entries = state.current(self).entries
        if count is None or count == len(entries):
            return tuple(ConstantVariable(key) for key, _ in entries)
        return None

    def iterate(self, state):
        from vt.iterators import iterate_items

        # Keys are read at the start; changing a dict's size while iterating it is an error in CPython.
        return iterate_items(state, self.unpack(state, None))

    def lookup(self, state, key):
        for existing, value in state.current(self).entries:
            if existing == key:
                return state, value
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"KeyError: {key!r}")


def new_dict_from_entries(state, entries: tuple):
    """Allocate a dict from (constant key, VT) pairs, already free of duplicate keys."""
    return state.allocate(lambda oid: DictVariable(oid, tuple(entries)))


def new_dict(state, keys, values):
    """Allocate a dict built by BUILD_MAP / BUILD_CONST_KEY_MAP; keys must be constants."""
    entries = {}
    for key, value in zip(keys, values):
        constant = key.constant_value() if type(key) is ConstantVariable else None
        if type(key) is not ConstantVariable:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"dict key {key.describe()} is not a constant")
        try:
            entries[constant] = value
        except TypeError as exc:
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"TypeError: {exc}")
    return new_dict_from_entries(state, tuple(entries.items()))
