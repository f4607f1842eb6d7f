"""Python's operators and builtin functions on VTs, as rule tables.

Binary operators dispatch on the pair of operand families
(`BINARY_RULES[(a.family, b.family)]`); builtins dispatch on the function
(`BUILTIN_RULES[fn]`), with a generic rule that folds a pure builtin applied to
constants.  Adding a VT family means adding rows here, not editing handlers.
"""
from __future__ import annotations

import builtins
import dis
import operator

import attrs

from vt.base import NOT_CONSTANT, VariableTracker
from vt.constant import ConstantVariable
from vt.convert import from_python, to_python
from vt.lists import TupleVariable, new_list
from vt.outcome import BreakKind, unsupported
from vt.tensor import record_op

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

def _fold(state, fn, a, b, symbol, plain):
    return call_constant_fn(state, plain, f"operator {symbol}", (a, b), {})


def _tensor_op(state, fn, a, b, symbol, plain):
    if a.family not in ("tensor", "constant") or b.family not in ("tensor", "constant"):
        return _no_rule(state, fn, a, b, symbol, plain)
    # For `x += y` on a tensor the in-place operator itself is recorded: it writes into x.
    target = fn if a.family == "tensor" else plain
    return record_op(state, "call_function", target, (a, b), {}, f"operator {symbol}")


def _sequence_op(state, fn, a, b, symbol, plain):
    left, right = a.unpack(state, None), b.unpack(state, None)
    if plain is operator.add and left is not None and right is not None and _same_kind(a, b):
        if a.family == "list":
            if fn is not plain:  # `lst += other` extends the same list
                return state.mutate(state.current(a).with_items(left + right), "list +="), a
            return new_list(state, left + right)
        return state, TupleVariable(left + right)
    if plain is operator.mul and left is not None and type(b.constant_value()) is int and fn is plain:
        items = left * b.constant_value()
        return new_list(state, items) if a.family == "list" else (state, TupleVariable(items))
    return _no_rule(state, fn, a, b, symbol, plain)


def _same_kind(a, b) -> bool:
    kinds = {a.family if a.family != "constant" else type(a.constant_value()).__name__,
             b.family if b.family != "constant" else type(b.constant_value()).__name__}
    return kinds <= {"tuple"} or kinds <= {"list"}


def _no_rule(state, fn, a, b, symbol, plain):
    return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                       f"`{symbol}` between {a.describe()} and {b.describe()} is not modelled")


BINARY_RULES = {
    ("constant", "constant"): _fold,
    ("tensor", "tensor"): _tensor_op, ("tensor", "constant"): _tensor_op,
    ("constant", "tensor"): _tensor_op,
    ("tuple", "tuple"): _sequence_op, ("list", "list"): _sequence_op,
    ("tuple", "constant"): _sequence_op, ("constant", "tuple"): _sequence_op,
    ("list", "constant"): _sequence_op,
}


def binary_operation(state, fn, a, b, symbol, plain=None):
    """a <symbol> b; `fn` may be the in-place operator, `plain` is its out-of-place twin."""
    plain = plain or fn
    rule = BINARY_RULES.get((a.family, b.family), _no_rule)
    return rule(state, fn, a, b, symbol, plain)


def truth_unknown(value):
    """Why bool(value) cannot be answered while tracing."""
    if value.family == "tensor":
        return unsupported(BreakKind.DATA_DEPENDENT,
                           f"the truth value of a {value.describe()} depends on values only known at run time",
                           "use torch.where or torch.cond instead of a Python `if` on tensor values")
    return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"the truth value of {value.describe()} is not modelled")


def unary_operation(state, opname, value):
    fn = UNARY_OPS[opname]
    if value.family == "constant":
        return call_constant_fn(state, fn, opname, (value,), {})
    if fn is operator.not_:
        truth = value.truth(state)
        if truth is NOT_CONSTANT:
            return truth_unknown(value)
        return state, ConstantVariable(not truth)
    if value.family == "tensor":
        return record_op(state, "call_function", fn, (value,), {}, opname)
    return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{opname} of {value.describe()} is not modelled")


# -- calling functions on constants ----------------------------------------------------------

def call_constant_fn(state, fn, what, args, kwargs):
    """Call a pure function at trace time on arguments that are plain data known while tracing
    (constants, and tuples, lists, dicts, sets of them); the result comes back as VTs."""
    values = [to_python(state, arg) for arg in args]
    kw_values = {key: to_python(state, arg) for key, arg in kwargs.items()}
    if any(v is NOT_CONSTANT for v in values) or any(v is NOT_CONSTANT for v in kw_values.values()):
        return unsupported(BreakKind.UNSUPPORTED_CALL,
                           f"{what} with arguments ({', '.join(a.describe() for a in args)}) is not modelled")
    try:
        result = fn(*values, **kw_values)
    except Exception as exc:  # the traced program raises this; the eager run will too
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"{what} raised {type(exc).__name__}: {exc}")
    out = from_python(state, result)
    if out is None:
        return unsupported(BreakKind.UNSUPPORTED_VALUE,
                           f"{what} returned a {type(result).__name__}, which is not modelled")
    return out


# -- builtin functions ------------------------------------------------------------------------

PURE_BUILTINS = frozenset({
    abs, all, any, ascii, bin, bool, chr, complex, divmod, float, format, hash, hex, int, len,
    max, min, oct, ord, pow, range, repr, round, slice, sorted, str, sum, tuple, callable, bytes,
})


@attrs.frozen(slots=True)
class BuiltinVariable(VariableTracker):
    """A Python builtin function or type (`len`, `range`, `int`, `isinstance`, ...)."""

    fn: object
    source: object = attrs.field(default=None, eq=False)

    family = "builtin"
    always_true = True

    def describe(self) -> str:
        return f"builtin {self.fn.__name__}"

    def as_class(self):
        return self.fn if isinstance(self.fn, type) else None

    def call(self, state, args, kwargs):
        rule = BUILTIN_RULES.get(self.fn)
        if rule is not None:
            out = rule(state, args, kwargs)
            if out is not None:
                return out
        if self.fn in PURE_BUILTINS:
            return call_constant_fn(state, self.fn, f"{self.fn.__name__}()", args, kwargs)
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"builtin {self.fn.__name__}() is not modelled",
                           "move this call out of the traced function")


def _len(state, args, kwargs):
    if len(args) != 1 or kwargs:
        return None
    (value,) = args
    if value.family == "tensor":
        if value.fake.dim() == 0:
            return unsupported(BreakKind.PYTHON_EXCEPTION, "len() of a 0-d tensor raised TypeError")
        return state, ConstantVariable(value.fake.shape[0])
    items = value.unpack(state, None)
    if items is not None:
        return state, ConstantVariable(len(items))
    return None


def _isinstance(state, args, kwargs):
    if len(args) != 2 or kwargs:
        return None
    kind = python_type_of(args[0])
    classes = class_value(args[1])
    if kind is None or classes is None:
        return None
    return state, ConstantVariable(issubclass(kind, classes))


def _tensor_math(fn, name):
    def rule(state, args, kwargs):
        if any(arg.family == "tensor" for arg in args) and not kwargs:
            return record_op(state, "call_function", fn, tuple(args), {}, f"{name}()")
        return None
    return rule


def _sequence_constructor(make):
    def rule(state, args, kwargs):
        if kwargs or len(args) > 1:
            return None
        items = args[0].unpack(state, None) if args else ()
        if items is None:
            return None
        if make is list:
            return new_list(state, items)
        return state, TupleVariable(tuple(items))
    return rule


def _bool(state, args, kwargs):
    if len(args) != 1 or kwargs:
        return None
    truth = args[0].truth(state)
    if truth is NOT_CONSTANT:
        return truth_unknown(args[0])
    return state, ConstantVariable(truth)


def _print(state, args, kwargs):
    return unsupported(BreakKind.UNSUPPORTED_CALL, "print() writes to stdout, a side effect outside the graph",
                       "remove the print, or print outside the traced function")


BUILTIN_RULES = {
    len: _len, isinstance: _isinstance, print: _print, bool: _bool,
    abs: _tensor_math(operator.abs, "abs"), pow: _tensor_math(operator.pow, "pow"),
    tuple: _sequence_constructor(tuple), list: _sequence_constructor(list),
}


def python_type_of(value):
    """The Python type the VT's value has at run time, when it is known."""
    if value.family == "tensor":
        return value.python_type
    if value.family == "constant":
        return type(value.constant_value())
    if value.family == "tuple":
        return value.python_type or tuple
    if value.family == "list":
        return list
    return None


def class_value(value):
    """A class or tuple of classes held by a VT (isinstance's second argument), or None."""
    as_class = getattr(value, "as_class", None)
    if as_class is not None:
        return as_class()
    items = value.unpack(None, None) if value.family == "tuple" else None
    if items is not None:
        classes = tuple(class_value(item) for item in items)
        return None if any(c is None for c in classes) else classes
    return None


BUILTIN_NAMES = frozenset(vars(builtins))


# Rules contributed by other modules, merged once at import.
from vt.container_ops import CONTAINER_BINARY_RULES  # noqa: E402

BINARY_RULES.update(CONTAINER_BINARY_RULES)
