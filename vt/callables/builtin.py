"""Python's operators and builtin functions on VTs, as rule tables.

Binary and unary operators dispatch through rules registered by operand VT
class (vt/registry.py); builtins through rules registered by function, with
folding of pure builtins applied to constants (vt/folding.py).  The rules of
the builtins themselves (`len`, `isinstance`, ...) are registered here.
"""
from __future__ import annotations

import builtins
import operator

import attrs
import torch

from vt import registry
from vt.data.container_methods import class_method
from vt.folding import call_builtin, call_constant_fn, class_subscript
from vt.iteration import IteratorVariable
from vt.data.operators import compare_classes
from vt.protocol import NOT_CONSTANT, VariableTracker
from vt.data.constant import ConstantVariable, is_constant_value
from vt.data.lists import TupleVariable
from core.outcomes import BreakKind, unsupported, raise_error, raised
from vt.data.tensor import TensorVariable, record_op, size_vt

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

    def getitem(self, state, index):
        out = class_subscript(state, self.fixed_object(), index)
        return out if out is not None else super().getitem(state, index)

    def fixed_object(self):
        return self.fn

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
        return size_vt(state, value, 0)
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


def _print(state, args, kwargs):
    return unsupported(BreakKind.UNSUPPORTED_CALL, "print() writes to stdout, a side effect outside the graph",
                       "remove the print, or print outside the traced function")


registry.register_builtin_rules({
    len: _len, isinstance: _isinstance, print: _print, bool: _bool,
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
