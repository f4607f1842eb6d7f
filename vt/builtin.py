"""Python's operators and builtin functions on VTs, as rule tables.

Binary and unary operators dispatch through rules registered by operand VT
class (vt/registry.py); builtins through rules registered by function, with
folding of pure builtins applied to constants (vt/folding.py).  The rules of
the builtins themselves (`len`, `isinstance`, ...) are registered here.
"""
from __future__ import annotations

import builtins
import dis
import functools
import operator
import types

import attrs
import torch

from effects import heap
from vt import registry
from vt.folding import call_builtin, call_constant_fn
from vt.iterators import IteratorVariable
from vt.protocol import NOT_CONSTANT, VariableTracker
from vt.constant import ConstantVariable, is_constant_value
from vt.lists import TupleVariable, new_list
from core.outcomes import BreakKind, unsupported, raise_error, raised
from vt.tensor import TensorVariable, record_op

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


@registry.binary_rule((TensorVariable, TensorVariable), (TensorVariable, ConstantVariable),
                      (ConstantVariable, TensorVariable))
def _tensor_op(state, fn, a, b, symbol, plain):
    # For `x += y` on a tensor the in-place operator itself is recorded: it writes into x.
    target = fn if isinstance(a, TensorVariable) else plain
    return record_op(state, "call_function", target, (a, b), {}, f"operator {symbol}")


def no_binary_rule(state, fn, a, b, symbol, plain):
    """No rule for the pair: fold when both sides are plain data (`x.shape == (n, 4)` with a built
    tuple, `"%d-%d" % (a, b)`), unless an in-place operator would have to change a mutable left side."""
    if (fn is plain or isinstance(a, (ConstantVariable, TupleVariable))) and \
            a.as_python(state) is not NOT_CONSTANT and b.as_python(state) is not NOT_CONSTANT:
        return call_constant_fn(state, plain, f"operator {symbol}", (a, b), {})
    return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                       f"`{symbol}` between {a.describe()} and {b.describe()} is not modelled")


def compare_classes(state, fn, a, b, symbol, plain):
    """`type(x) == int` and friends: classes and builtins compare as the objects they stand for
    (the binary rule of every pair of class-like VTs)."""
    if plain not in (operator.eq, operator.ne):
        return no_binary_rule(state, fn, a, b, symbol, plain)
    return state, ConstantVariable(plain(a.as_class(), b.as_class()))


def binary_operation(state, fn, a, b, symbol, plain=None):
    """a <symbol> b; `fn` may be the in-place operator, `plain` is its out-of-place twin."""
    plain = plain or fn
    rule = registry.binary_rule_for(a, b) or no_binary_rule
    return rule(state, fn, a, b, symbol, plain)


@registry.unary_rule(ConstantVariable)
def _fold_unary(state, opname, value):
    return call_constant_fn(state, UNARY_OPS[opname], opname, (value,), {})


@registry.unary_rule(TensorVariable)
def _tensor_unary(state, opname, value):
    fn = UNARY_OPS[opname]
    if fn is operator.not_:
        return value.truth_limit()
    return record_op(state, "call_function", fn, (value,), {}, opname)


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


# -- builtin functions ------------------------------------------------------------------------

registry.pure_function(
    abs, all, any, ascii, bin, bool, chr, complex, divmod, float, format, hash, hex, int, len,
    max, min, oct, ord, pow, range, repr, round, slice, sorted, str, sum, tuple, callable, bytes,
)


@attrs.frozen(slots=True)
class BuiltinVariable(VariableTracker):
    """A Python builtin function or type (`len`, `range`, `int`, `isinstance`, ...)."""

    fn: object
    source: object = attrs.field(default=None, eq=False)

    always_true = True

    def runtime_type(self):
        return type(self.fn)

    def fixed_object(self):
        return self.fn

    def rebuild(self, emitter):
        emitter.push_constant(self.fn)
        return None

    def describe(self) -> str:
        module = getattr(self.fn, "__module__", None)
        if module in (None, "builtins"):
            return f"builtin {self.fn.__name__}"
        return f"{module.lstrip('_')}.{self.fn.__name__}"

    def as_class(self):
        return self.fn if isinstance(self.fn, type) else None

    def getattr(self, state, name):
        """Constant attributes (`int.__name__`) fold; attributes that have rules themselves
        (`itertools.chain.from_iterable`) stay callable.  Both are fixed, so nothing is guarded."""
        try:
            value = getattr(self.fn, name)
        except AttributeError as exc:
            return raised(exc)
        if is_constant_value(value):
            return state, ConstantVariable(value)
        if registry.has_rule(value):
            return state, BuiltinVariable(value)
        from vt.container_methods import class_method

        method = class_method(self.fn, name) if isinstance(self.fn, type) else None
        if method is not None:  # list.append(lst, x), dict.fromkeys(keys)
            return state, method
        return super().getattr(state, name)

    def call(self, state, args, kwargs):
        return call_builtin(state, self.fn, args, kwargs, self.source)


registry.add_binary_rule(BuiltinVariable, BuiltinVariable, compare_classes)


def _len(state, args, kwargs):
    if len(args) != 1 or kwargs:
        return None
    (value,) = args
    if isinstance(value, TensorVariable):
        if value.fake.dim() == 0:
            return raise_error(TypeError, "len() of a 0-d tensor")
        return state, ConstantVariable(value.fake.shape[0])
    if isinstance(value, ConstantVariable):
        return call_constant_fn(state, len, "len()", (value,), {})  # len(range(10**9)) without the items
    if isinstance(value, IteratorVariable):
        kind = value.python_type
        if kind is None:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"len() of {value.describe()} (eager raises TypeError)")
        return raise_error(TypeError, f"object of type '{kind.__name__}' has no len()")
    length = getattr(value, "length", None)  # modules, module slices, enum classes
    if length is not None and length() is not None:
        return state, ConstantVariable(length())
    items = value.unpack(state, None)
    if items is not None:
        return state, ConstantVariable(len(items))
    return None


def _isinstance(state, args, kwargs):
    if len(args) != 2 or kwargs:
        return None
    kind = args[0].runtime_type()
    classes = class_value(args[1])
    if kind is None or classes is None:
        return None
    return state, ConstantVariable(issubclass(kind, classes))


def _tensor_math(fn, name):
    def rule(state, args, kwargs):
        if any(isinstance(arg, TensorVariable) for arg in args) and not kwargs:
            return record_op(state, "call_function", fn, tuple(args), {}, f"{name}()")
        return None
    return rule


def _bool(state, args, kwargs):
    if len(args) != 1 or kwargs:
        return None
    truth = args[0].truth(state)
    if truth is NOT_CONSTANT:
        return args[0].truth_limit()
    return state, ConstantVariable(truth)


def _super(state, args, kwargs):
    from vt.user_objects import make_super

    return make_super(state, args, kwargs)


def _print(state, args, kwargs):
    return unsupported(BreakKind.UNSUPPORTED_CALL, "print() writes to stdout, a side effect outside the graph",
                       "remove the print, or print outside the traced function")


registry.register_builtin_rules({
    len: _len, isinstance: _isinstance, print: _print, bool: _bool, super: _super,
    abs: _tensor_math(operator.abs, "abs"), pow: _tensor_math(operator.pow, "pow"),
})


def class_value(value):
    """A class or tuple of classes held by a VT (isinstance's second argument), or None."""
    as_class = getattr(value, "as_class", None)
    if as_class is not None:
        return as_class()
    items = value.unpack(None, None) if isinstance(value, TupleVariable) else None
    if items is not None:
        classes = tuple(class_value(item) for item in items)
        return None if any(c is None for c in classes) else classes
    return None


BUILTIN_NAMES = frozenset(vars(builtins))


def _compiling(state, args, kwargs):
    """torch.compiler.is_compiling() and friends: True while tracing, as under Dynamo, so library code
    takes its compile-friendly path (the captured graph is what runs)."""
    return state, ConstantVariable(True)


def _compiling_flags():
    fns = [torch.compiler.is_compiling, torch.compiler.is_dynamo_compiling]
    fns.extend(getattr(torch._dynamo, name) for name in ("is_compiling",) if hasattr(torch._dynamo, name))
    return {fn: _compiling for fn in fns}


def _not_exporting(state, args, kwargs):
    return state, ConstantVariable(False)


registry.register_builtin_rules(_compiling_flags())
registry.register_builtin_rules({torch.compiler.is_exporting: _not_exporting,
                                 torch.jit.is_tracing: _not_exporting,  # the tracer is not torch.jit.trace
                                 torch.jit.is_scripting: _not_exporting})
