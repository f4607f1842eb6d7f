"""Sets of constants.

A set VT is a heap handle like a list.  `values` holds the real, hashable
elements in the order CPython iterates them: every operation is done on a
real `set` rebuilt from that order, and its iteration order is kept.
"""
from __future__ import annotations

import attrs

from vt.base import VariableTracker
from vt.constant import ConstantVariable


@attrs.frozen(slots=True)
class SetVariable(VariableTracker):
    """A handle on a set in the heap; `values` are its elements when this copy was made."""

    oid: int
    values: tuple = attrs.field(eq=False)
    source: object = attrs.field(default=None, eq=False)

    family = "set"

    def describe(self) -> str:
        return "{" + ", ".join(repr(v) for v in self.values) + "}" if self.values else "set()"

    def truth(self, state):
        return bool(state.current(self).values)

    def unpack(self, state, count):
        values = state.current(self).values
        if count is None or count == len(values):
            return tuple(ConstantVariable(v) for v in values)
        return None

    def iterate(self, state):
        from vt.iterators import iterate_items

        return iterate_items(state, self.unpack(state, None))

    def real(self, state) -> set:
        """A fresh real set with the current elements."""
        return set(state.current(self).values)

    def with_values(self, values) -> "SetVariable":
        return SetVariable(self.oid, tuple(values), self.source)


def new_set(state, values: tuple):
    """Allocate a set created by the traced code from hashable constants; returns (state, vt)."""
    ordered = tuple(set(values))
    return state.allocate(lambda oid: SetVariable(oid, ordered))
