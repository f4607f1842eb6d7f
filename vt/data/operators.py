"""Python's operators on VTs: the opcode tables, and dispatch to the rules each family registers.

`binary_operation` finds the rule for the pair of operand VT classes
(`registry.binary_rule_for`, along both MROs), `unary_operation` the rule for
the operand's class; with no rule, plain data known while tracing is folded
(the real operator runs on copies) and anything else is a limit.  Constants
fold here; tensors register their rules in vt/tensor.py, containers in
vt/container_ops.py, objects of Python classes in vt/user_objects.py.
"""
from __future__ import annotations

import dis
import operator

from core.outcomes import BreakKind, raised, unsupported
from vt import registry
from vt.data.constant import ConstantVariable, is_constant_value
from vt.folding import call_constant_fn, real_argument
from vt.protocol import NOT_CONSTANT

# -- operator tables ------------------------------------------------------------------------

_SYMBOL_TO_FUNCTIONS = {
    "+": (operator.add, operator.iadd), "&": (operator.and_, operator.iand),
    "//": (operator.floordiv, operator.ifloordiv), "<<": (operator.lshift, operator.ilshift),
    "@": (operator.matmul, operator.imatmul), "*": (operator.mul, operator.imul),
    "%": (operator.mod, operator.imod), "|": (operator.or_, operator.ior),
    "**": (operator.pow, operator.ipow), ">>": (operator.rshift, operator.irshift),
    "-": (operator.sub, operator.isub), "/": (operator.truediv, operator.itruediv),
    "^": (operator.xor, operator.ixor),
}


def _binary_op_table():
    """BINARY_OP's argument -> (symbol, operator, is_inplace), from 3.11's own list."""
    table = []
    for _, symbol in dis._nb_ops:
        inplace = symbol.endswith("=")
        plain, in_place = _SYMBOL_TO_FUNCTIONS[symbol[:-1] if inplace else symbol]
        table.append((symbol, in_place if inplace else plain, inplace, plain))
    return tuple(table)


BINARY_OPS = _binary_op_table()
COMPARE_OPS = {"<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
               ">": operator.gt, ">=": operator.ge}
UNARY_OPS = {"UNARY_NEGATIVE": operator.neg, "UNARY_POSITIVE": operator.pos,
             "UNARY_INVERT": operator.invert, "UNARY_NOT": operator.not_}


# -- binary operators ---------------------------------------------------------------------------

@registry.binary_rule((ConstantVariable, ConstantVariable))
def _fold(state, fn, a, b, symbol, plain):
    return call_constant_fn(state, plain, f"operator {symbol}", (a, b), {})


def _annotation_part(value) -> bool:
    return value is None or type(value) is type or type(value).__module__ in ("typing", "types")


def no_binary_rule(state, fn, a, b, symbol, plain):
    """No rule for the pair: fold when both sides are plain data (`x.shape == (n, 4)` with a built
    tuple, `"%d-%d" % (a, b)`), unless an in-place operator would have to change a mutable left side.
    `int | None` between classes and annotations folds to the real union (validators build them)."""
    if plain is operator.or_:
        left, right = real_argument(state, a), real_argument(state, b)
        if _annotation_part(left) and _annotation_part(right) and (left is not None or right is not None):
            try:
                union = left | right
            except Exception as exc:  # the program raises the same TypeError
                return raised(exc)
            out = registry.from_python(state, union)
            if out is not None:
                return out
    if (fn is plain or isinstance(a, ConstantVariable) or a.comparison_kind() == "tuple") and \
            a.as_python(state) is not NOT_CONSTANT and b.as_python(state) is not NOT_CONSTANT:
        return call_constant_fn(state, plain, f"operator {symbol}", (a, b), {})
    return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                       f"`{symbol}` between {a.describe()} and {b.describe()} is not modelled")


def compare_classes(state, fn, a, b, symbol, plain):
    """`type(x) == int` and friends: classes and builtins compare as the objects they stand for
    (the binary rule of every pair of class-like VTs)."""
    if plain not in (operator.eq, operator.ne):
        return no_binary_rule(state, fn, a, b, symbol, plain)
    return state, ConstantVariable(plain(a.fixed_object(), b.fixed_object()))


# Numbers and strings known while tracing: the operator itself, on the values (what `_fold` comes to,
# without the dispatch and the copying; loops of Python arithmetic are common).
_SCALARS = frozenset({int, float, bool, str})


def scalar_result(fn, a, b):
    """`fn(a, b)` for two constants of plain scalar types, as a ConstantVariable; None for anything
    else, or when the operator raises (the general path then raises the program's error)."""
    if type(a) is ConstantVariable and type(b) is ConstantVariable and type(a.value) in _SCALARS \
            and type(b.value) in _SCALARS:
        try:
            result = fn(a.value, b.value)
        except Exception:  # noqa: BLE001 - see the docstring
            return None
        return ConstantVariable(result) if is_constant_value(result) else None
    return None


def binary_operation(state, fn, a, b, symbol, plain=None):
    """a <symbol> b; `fn` may be the in-place operator, `plain` is its out-of-place twin."""
    plain = plain or fn
    result = scalar_result(plain, a, b)
    if result is not None:
        return state, result
    rule = registry.binary_rule_for(a, b) or no_binary_rule
    return rule(state, fn, a, b, symbol, plain)


@registry.unary_rule(ConstantVariable)
def _fold_unary(state, opname, value):
    return call_constant_fn(state, UNARY_OPS[opname], opname, (value,), {})


def unary_operation(state, opname, value):
    """UNARY_NEGATIVE, UNARY_POSITIVE, UNARY_INVERT, UNARY_NOT on any value: its class's rule, else
    `not` from its truth value."""
    rule = registry.unary_rule_for(value)
    if rule is not None:
        return rule(state, opname, value)
    if UNARY_OPS[opname] is operator.not_:
        truth = value.truth(state)
        if truth is NOT_CONSTANT:
            return value.truth_limit()
        return state, ConstantVariable(not truth)
    return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{opname} of {value.describe()} is not modelled")
