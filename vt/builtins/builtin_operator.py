"""The `operator` module on VTs: `operator.add(a, b)` means exactly `a + b`.

Each function is routed to the rule its opcode uses (`binary_operation` for
arithmetic and comparisons, `unary_operation`, `subscript` for getitem), so
tensors become the same graph nodes and constants fold the same way.  The
callables `itemgetter`, `attrgetter` and `methodcaller` return small VTs that
remember their arguments and apply them when called.
"""
from __future__ import annotations

import operator

import attrs

from vt import registry
from vt.callables.builtin import BuiltinVariable
from vt.data.constant import ConstantVariable
from vt.data.operators import COMPARE_OPS, _SYMBOL_TO_FUNCTIONS, binary_operation, unary_operation
from vt.folding import call_builtin
from vt.protocol import NULL, VariableTracker, identical
from vt.data.lists import TupleVariable
from core.outcomes import BreakKind, raise_error, unsupported


def subscript(state, container, index):
    """container[index], by the same rules as the BINARY_SUBSCR opcode."""
    return container.getitem(state, index)


def _arity_error(name, expected, got):
    return raise_error(TypeError, f"{name} expected {expected} argument{'s' if expected > 1 else ''}, got {got}")


def _binary_rule(fn, symbol, plain):
    def rule(state, args, kwargs):
        if kwargs or len(args) != 2:
            return _arity_error(fn.__name__, 2, len(args) + len(kwargs))
        return binary_operation(state, fn, args[0], args[1], symbol, plain)
    return rule


def _unary_rule(fn, opname):
    def rule(state, args, kwargs):
        if kwargs or len(args) != 1:
            return _arity_error(fn.__name__, 1, len(args) + len(kwargs))
        return unary_operation(state, opname, args[0])
    return rule


def _truth(state, args, kwargs):
    return call_builtin(state, bool, args, kwargs)


def _abs(state, args, kwargs):
    return BuiltinVariable(abs).call(state, args, kwargs)


def _getitem(state, args, kwargs):
    if kwargs or len(args) != 2:
        return _arity_error("getitem", 2, len(args) + len(kwargs))
    return subscript(state, args[0], args[1])


def _call(state, args, kwargs):
    if not args:
        return _arity_error("call", 1, 0)
    return args[0].call(state, list(args[1:]), kwargs)


# -- the callables operator builds ------------------------------------------------------------------

@attrs.frozen(slots=True)
class ItemGetterVariable(VariableTracker):
    """operator.itemgetter(*items): obj[item], or a tuple of them for several items."""

    items: tuple

    always_true = True

    def describe(self) -> str:
        return f"operator.itemgetter({', '.join(item.describe() for item in self.items)})"

    def call(self, state, args, kwargs):
        if kwargs or len(args) != 1:
            return _arity_error("itemgetter", 1, len(args) + len(kwargs))
        found = []
        for item in self.items:
            out = subscript(state, args[0], item)
            if type(out) is not tuple:
                return out
            state, value = out
            found.append(value)
        return state, found[0] if len(found) == 1 else TupleVariable(tuple(found))


@attrs.frozen(slots=True)
class AttrGetterVariable(VariableTracker):
    """operator.attrgetter(*names): obj.name (dotted names walk further), a tuple for several names."""

    names: tuple

    always_true = True

    def describe(self) -> str:
        return f"operator.attrgetter({', '.join(map(repr, self.names))})"

    def call(self, state, args, kwargs):
        if kwargs or len(args) != 1:
            return _arity_error("attrgetter", 1, len(args) + len(kwargs))
        found = []
        for name in self.names:
            value = args[0]
            for part in name.split("."):
                out = value.getattr(state, part)
                if type(out) is not tuple:
                    return out
                state, value = out
            found.append(value)
        return state, found[0] if len(found) == 1 else TupleVariable(tuple(found))


@attrs.frozen(slots=True)
class MethodCallerVariable(VariableTracker):
    """operator.methodcaller(name, *args, **kwargs): obj.name(*args, **kwargs), as a method call."""

    name: str
    args: tuple
    kwargs: tuple

    always_true = True

    def describe(self) -> str:
        return f"operator.methodcaller({self.name!r}, ...)"

    def call(self, state, args, kwargs):
        if kwargs or len(args) != 1:
            return _arity_error("methodcaller", 1, len(args) + len(kwargs))
        out = args[0].load_method(state, self.name)
        if type(out) is not tuple:
            return out
        state, (method, receiver) = out
        if method is NULL:  # an attribute, not a method: the pair is (NULL, callable), as LOAD_METHOD pushes it
            method, receiver = receiver, NULL
        call_args = list(self.args) if receiver is NULL else [receiver, *self.args]
        return method.call(state, call_args, dict(self.kwargs))


def _constant_names(args, what):
    names = tuple(arg.constant_value() for arg in args)
    if not names or any(type(name) is not str for name in names):
        return raise_error(TypeError, f"{what} needs attribute names as strings")
    return names


def _itemgetter(state, args, kwargs):
    if kwargs or not args:
        return _arity_error("itemgetter", 1, 0)
    return state, ItemGetterVariable(tuple(args))


def _attrgetter(state, args, kwargs):
    names = _constant_names(args, "attrgetter")
    if kwargs or type(names) is not tuple:
        return names if not kwargs else _arity_error("attrgetter", 1, 0)
    return state, AttrGetterVariable(names)


def _methodcaller(state, args, kwargs):
    names = _constant_names(args[:1], "methodcaller")
    if type(names) is not tuple:
        return names
    return state, MethodCallerVariable(names[0], tuple(args[1:]), tuple(kwargs.items()))


def operator_rules():
    """Rules for the operator module's functions, keyed by function (registered as builtin rules)."""
    rules = {}
    for symbol, (plain, in_place) in _SYMBOL_TO_FUNCTIONS.items():
        rules[plain] = _binary_rule(plain, symbol, plain)
        rules[in_place] = _binary_rule(in_place, symbol + "=", plain)
    for symbol, fn in COMPARE_OPS.items():
        rules[fn] = _binary_rule(fn, symbol, fn)
    for fn, opname in ((operator.neg, "UNARY_NEGATIVE"), (operator.pos, "UNARY_POSITIVE"),
                       (operator.invert, "UNARY_INVERT"), (operator.inv, "UNARY_INVERT"),
                       (operator.not_, "UNARY_NOT")):
        rules[fn] = _unary_rule(fn, opname)
    rules.update({operator.truth: _truth, operator.abs: _abs, operator.getitem: _getitem, operator.call: _call,
                  operator.itemgetter: _itemgetter, operator.attrgetter: _attrgetter,
                  operator.methodcaller: _methodcaller})
    return rules


PURE_OPERATOR_FUNCTIONS = frozenset({
    operator.contains, operator.countOf, operator.indexOf, operator.index, operator.concat, operator.length_hint,
})
"""Folded on plain data by value (unlike `is_`, which would compare the copies folding makes)."""


registry.register_builtin_rules(operator_rules())
registry.pure_function(*PURE_OPERATOR_FUNCTIONS)


def _identity_rule(negate: bool):
    """operator.is_(a, b) is `a is b` (is_not its negation), with the same guards."""
    def rule(state, args, kwargs):
        if len(args) != 2 or kwargs:
            return None
        out = identical(state, args[0], args[1])
        if out is None:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"`is` between {args[0].describe()} and "
                               f"{args[1].describe()} is not known while tracing")
        state, same = out
        return state, ConstantVariable(same != negate)
    return rule


registry.register_builtin_rules({operator.is_: _identity_rule(False), operator.is_not: _identity_rule(True)})
