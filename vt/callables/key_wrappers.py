"""`functools.cmp_to_key(cmp)`: the C key class it returns, and the key objects it makes.

`cmp_to_key(cmp)` returns a class `K`; `K(obj)` is a key object that compares with another key
object by calling `cmp(a.obj, b.obj)` and comparing the result with 0 (`<` is `cmp(...) < 0`,
`==` is `cmp(...) == 0`, ...).  Here `cmp` is any callable VT, inlined at each comparison, so
`sorted(items, key=cmp_to_key(cmp))` makes exactly the calls CPython's sort makes
(vt/data/sorting.py), in its order.  Comparing a key object with anything else raises eager's
TypeError; key objects are unhashable, as in CPython.
"""
from __future__ import annotations

import functools
import operator

import attrs

from core.outcomes import BreakKind, raise_error, unsupported
from vt import registry
from vt.data.constant import ConstantVariable
from vt.data.operators import binary_operation
from vt.protocol import VariableTracker

_KEY_TYPE = type(functools.cmp_to_key(lambda a, b: 0)(None))
_COMPARISONS = {operator.lt: "<", operator.le: "<=", operator.eq: "==", operator.ne: "!=", operator.gt: ">",
                operator.ge: ">="}


@attrs.frozen(slots=True)
class CmpToKeyVariable(VariableTracker):
    """The class `functools.cmp_to_key(cmp)` returns (called `K`)."""

    cmp: VariableTracker

    always_true = True

    def runtime_type(self):
        return type

    def describe(self) -> str:
        return f"functools.cmp_to_key({self.cmp.describe()})"

    def references(self, state):
        return (self.cmp,)

    def call(self, state, args, kwargs):
        if kwargs and set(kwargs) != {"obj"}:
            return raise_error(TypeError, f"K() got an unexpected keyword argument {next(iter(kwargs))!r}")
        values = list(args) + list(kwargs.values())
        if len(values) != 1:
            if not values:
                return raise_error(TypeError, "K() missing required argument 'obj' (pos 1)")
            return raise_error(TypeError, f"K() takes at most 1 argument ({len(values)} given)")
        return state, CmpKeyVariable(self.cmp, values[0])


@attrs.frozen(slots=True)
class CmpKeyVariable(VariableTracker):
    """`K(obj)`: a key object of `cmp_to_key(cmp)`."""

    cmp: VariableTracker
    obj: VariableTracker

    always_true = True

    def runtime_type(self):
        return _KEY_TYPE

    def describe(self) -> str:
        return "functools.KeyWrapper object"

    def references(self, state):
        return (self.cmp, self.obj)

    def getattr(self, state, name):
        if name == "obj":
            return state, self.obj
        return super().getattr(state, name)

    def hash_key(self, state):
        return raise_error(TypeError, "unhashable type: 'functools.KeyWrapper'")


def _compare(state, fn, a, b, symbol, plain):
    """`a <op> b` between key objects: `cmp(a.obj, b.obj) <op> 0`."""
    if plain not in _COMPARISONS:
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"TypeError: unsupported operand type(s) for {symbol}: "
                           "'functools.KeyWrapper'")
    if not (isinstance(a, CmpKeyVariable) and isinstance(b, CmpKeyVariable)):
        return raise_error(TypeError, "other argument must be K instance")
    out = a.cmp.call(state, [a.obj, b.obj], {})
    if type(out) is not tuple:
        return out
    state, result = out
    return binary_operation(state, plain, result, ConstantVariable(0), _COMPARISONS[plain])


def _cmp_to_key(state, args, kwargs):
    if kwargs and set(kwargs) != {"mycmp"}:
        return raise_error(TypeError, f"cmp_to_key() got an unexpected keyword argument {next(iter(kwargs))!r}")
    values = list(args) + list(kwargs.values())
    if len(values) != 1:
        if not values:
            return raise_error(TypeError, "cmp_to_key() missing required argument 'mycmp' (pos 1)")
        return raise_error(TypeError, f"cmp_to_key() takes at most 1 argument ({len(values)} given)")
    return state, CmpToKeyVariable(values[0])


registry.add_binary_rule(CmpKeyVariable, VariableTracker, _compare)
registry.add_binary_rule(VariableTracker, CmpKeyVariable, _compare)
registry.register_builtin_rules({functools.cmp_to_key: _cmp_to_key})
