"""The VariableTracker protocol.

A VT is a frozen record describing a value the traced program holds.  Every
operation a handler may need is a method here with a default that reports the
operation as unsupported, so a new VT family states its capabilities by what it
overrides, and opcode handlers never test types.

Operations that can extend the graph or the guards take the current `State`
and return an *outcome*: `(new_state, vt)` on success or an `Unsupported`
record.  They never mutate anything.
"""
from __future__ import annotations

import attrs

from core.outcomes import BreakKind, unsupported

class _Sentinel:
    """A named marker object; its repr says what it marks."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return self.name


NOT_CONSTANT = _Sentinel("NOT_CONSTANT")
"""Returned by `constant_value()` when a VT has no Python value known at trace time."""

MISSING = _Sentinel("MISSING")
"""A name that is not there: a class lookup that found nothing, an attribute never written."""

DELETED = _Sentinel("DELETED")
"""The value of an attribute (or global) the program deleted; also what DELETE_ATTR passes to `setattr`."""


@attrs.frozen(slots=True)
class VariableTracker:
    """Base of every VT; `source` says where a pre-existing value came from."""

    family = "object"
    always_true = False  # objects whose bool() is True whatever they hold (modules, functions, classes)

    def constant_value(self):
        """The Python value if it is fully known while tracing, else NOT_CONSTANT."""
        return NOT_CONSTANT

    def type_name(self) -> str:
        return type(self).__name__

    def getattr(self, state, name):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"attribute {name!r} of {self.type_name()} is not modelled")

    def load_method(self, state, name):
        """LOAD_METHOD: returns (state, (callable, self_or_NULL))."""
        out = self.getattr(state, name)
        if type(out) is not tuple:
            return out
        return out[0], (NULL, out[1])

    def setattr(self, state, name, value):
        """STORE_ATTR `self.name = value` (value is DELETED for DELETE_ATTR):
        the next State, or Unsupported."""
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"attribute {'deletion' if value is DELETED else 'assignment'} on {self.describe()} "
                           "is not modelled")

    def call(self, state, args, kwargs):
        return unsupported(BreakKind.UNSUPPORTED_CALL,
                           f"calling {self.describe()} is not modelled")

    def truth(self, state):
        """bool(self) when known while tracing, else NOT_CONSTANT."""
        if self.always_true:
            return True
        value = self.constant_value()
        if value is NOT_CONSTANT:
            return NOT_CONSTANT
        return bool(value)

    def iterate(self, state):
        """GET_ITER: returns (state, iterator_vt)."""
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"iterating over {self.type_name()} is not modelled")

    def unpack(self, state, count):
        """The items of a sequence of known length (`count` or any if None), or None."""
        return None

    def contains(self, state, item):
        """`item in self`: (state, bool ConstantVariable) or Unsupported."""
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"`in` on {self.describe()} is not modelled")

    def store_item(self, state, key, value):
        """STORE_SUBSCR `self[key] = value`: the next State, or Unsupported."""
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"item assignment on {self.describe()} is not modelled")

    def delete_item(self, state, key):
        """DELETE_SUBSCR `del self[key]`: the next State, or Unsupported."""
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"item deletion on {self.describe()} is not modelled")

    def describe(self) -> str:
        return self.type_name()


@attrs.frozen(slots=True)
class NullVariable(VariableTracker):
    """The NULL that 3.11 pushes below a callable (PUSH_NULL, LOAD_GLOBAL with bit 0)."""

    def describe(self) -> str:
        return "NULL"


NULL = NullVariable()
