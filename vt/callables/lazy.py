"""Inputs that have not been looked at yet.

The traced function's arguments start as `LazyVariable`s holding the real
object and its source.  Only when an instruction reads one is it turned into a
real VT (which is when its guard and, for tensors, its graph placeholder are
created), so values the code never touches are never guarded.
"""
from __future__ import annotations

import attrs

from vt.protocol import VariableTracker
from vt.registry import wrap_value


@attrs.frozen(slots=True)
class LazyVariable(VariableTracker):
    """An input not yet realized; equality is by source, the value is only carried."""

    source: object
    value: object = attrs.field(eq=False, repr=False)

    def describe(self) -> str:
        return f"input {self.source.expr()}"

    def realize(self, state):
        return wrap_value(state, self.value, self.source)


def realize_if_lazy(state, value):
    """(state, vt) with a lazy input turned into its real VT (guards added); other VTs pass through.
    Unsupported if the input's value cannot be modelled."""
    if type(value) is LazyVariable:
        return value.realize(state)
    return state, value
