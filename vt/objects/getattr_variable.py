"""GetAttrVariable: a method of a builtin base class read off an object, kept symbolic until called.

`super().__init__()` reaching `object.__init__`, `object.__setattr__(self, n, v)`
inside a frozen dataclass's `__init__`, `super().__setattr__(n, v)` inside a
user's own `__setattr__`, `dict.get` on a dict subclass: the tracer does not run
the C method, it keeps "attribute `name` of `receiver`, implemented by `fn`" and
models the call with the bound rule registered for the C function (vt/registry.py).
"""
from __future__ import annotations

import attrs

from vt.protocol import VariableTracker
from core.outcomes import BreakKind, unsupported
from vt import registry


@attrs.frozen(slots=True)
class GetAttrVariable(VariableTracker):
    """`receiver.name` where the class attribute is the C function `fn`, called later with a rule."""

    receiver: object
    name: str
    fn: object = attrs.field(eq=False)

    always_true = True

    def describe(self) -> str:
        return f"{getattr(self.fn, '__qualname__', self.name)} of {self.receiver.describe()}"

    def call(self, state, args, kwargs):
        rule = registry.bound_rule_for(self.fn)
        if rule is None:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"calling {self.describe()} is not traced yet")
        return rule(state, self.receiver, list(args), dict(kwargs))


def builtin_method(state, receiver, found, name: str):
    """(state, GetAttrVariable) when the C class attribute `found` has a rule, else None."""
    if registry.bound_rule_for(found) is not None:
        return state, GetAttrVariable(receiver, name, found)
    return None
