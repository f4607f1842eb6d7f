"""Rules for the builtins that reduce, convert or inspect values: min, max, sum, any, all,
functools.reduce, type, getattr, hasattr, callable, issubclass, id, and conversions of tensors.

Reductions run CPython's own loop over the items (vt.iterators.for_each):
`sum` adds from its start value with `+`, `min`/`max` compare each new item
with the best so far with `<` / `>`, `any`/`all` stop at the first decisive
item.  Each step goes through the same operator rules as the opcodes, so
constants fold, tensors add graph nodes, and a comparison of tensors breaks as
data-dependent exactly where eager would call `bool()` on a tensor.
"""
from __future__ import annotations

import functools
import operator

from core.guards import MissingAttribute
from core.sources import AttrSource
from effects import heap
from vt.callables.builtin import class_value
from vt.data.operators import binary_operation
from vt.objects.local_classes import make_class_from_type
from vt.objects.object_attributes import class_vt_of, has_attribute
from vt.objects.attributes import written
from vt.protocol import DELETED, MISSING, NOT_CONSTANT, VariableTracker, is_attribute_error, real_value
from vt.callables.exceptions import with_attribute_context
from vt.folding import bind, given
from vt.data.constant import ConstantVariable, is_constant_value
from vt.data.iterators import for_each, truth_of
from vt.data.lists import TupleVariable
from core.outcomes import BreakKind, needs_frame, unsupported, raise_error, raised, is_stop
from vt import registry
from vt.registry import wrap_value
from vt.data.tensor import TensorVariable
from vt.callables.classes import class_vt
from vt.nn.nn_modules import NNModuleVariable, module_attributes


def plain_fold(state, fn, args, kwargs):
    """fn(*args, **kwargs) computed for real in one call when every argument is plain data and
    the answer is a constant: the item-by-item loop would give the same, only slower
    (`sum(range(10**6))`).  None when that does not apply."""
    values = [arg.as_python(state) for arg in args]
    kw_values = {key: arg.as_python(state) for key, arg in kwargs.items()}
    if any(value is NOT_CONSTANT for value in (*values, *kw_values.values())):
        return None
    try:
        result = fn(*values, **kw_values)
    except Exception:  # let the loop find the error, with the message it gives
        return None
    return (state, ConstantVariable(result)) if is_constant_value(result) else None


def _binary(state, fn, a, b, symbol):
    return binary_operation(state, fn, a, b, symbol)


def _min_max(fn, compare, symbol):
    name = fn.__name__

    def rule(state, args, kwargs):
        unknown = set(kwargs) - {"key", "default"}
        if unknown:
            return raise_error(TypeError, f"'{unknown.pop()}' is an invalid keyword argument for {name}()")
        if not args:
            return raise_error(TypeError, f"{name} expected at least 1 argument, got 0")
        if len(args) > 1 and "default" in kwargs:
            return raise_error(TypeError, f"Cannot specify a default for {name}() "
                               "with multiple positional arguments")
        folded = plain_fold(state, fn, args, kwargs)
        if folded is not None:
            return folded
        key = given(kwargs.get("key"))
        iterable = args[0] if len(args) == 1 else TupleVariable(tuple(args))

        def visit(state, best, item):
            value = item
            if key is not None:
                out = key.call(state, [item], {})
                if type(out) is not tuple:
                    return out
                state, value = out
            if best is None:
                return state, (item, value), False
            out = _binary(state, compare, value, best[1], symbol)
            if type(out) is not tuple:
                return out
            state, result = out
            truth = truth_of(state, result)
            if is_stop(truth):
                return truth
            return state, (item, value) if truth else best, False

        out = for_each(state, iterable, visit, None)
        if type(out) is not tuple:
            return out
        state, best = out
        if best is not None:
            return state, best[0]
        if "default" in kwargs:
            return state, kwargs["default"]
        return raise_error(ValueError, f"{name}() arg is an empty sequence")
    return rule


def _sum(state, args, kwargs):
    def stub(iterable, /, start=None):
        pass

    bound = bind(stub, args, kwargs, "sum()")
    if type(bound) is not dict:
        return bound
    start = bound["start"] or ConstantVariable(0)
    kind = type(start.constant_value())
    if kind in (str, bytes, bytearray):
        join = "''" if kind is str else "b''"
        return raise_error(TypeError, f"sum() can't sum {kind.__name__}s "
                           f"[use {join}.join(seq) instead]")

    folded = plain_fold(state, sum, args, kwargs)
    if folded is not None:
        return folded

    def visit(state, total, item):
        out = _binary(state, operator.add, total, item, "+")
        if type(out) is not tuple:
            return out
        return out[0], out[1], False

    return for_each(state, bound["iterable"], visit, start)


def _any_all(fn):
    """any (stops at the first true item) and all (at the first false one)."""
    stop_on = fn is any

    def rule(state, args, kwargs):
        if kwargs or len(args) != 1:
            return None
        folded = plain_fold(state, fn, args, kwargs)
        if folded is not None:
            return folded

        def visit(state, answer, item):
            truth = truth_of(state, item)
            if is_stop(truth):
                return truth
            return (state, stop_on, True) if truth == stop_on else (state, answer, False)

        out = for_each(state, args[0], visit, not stop_on)
        if type(out) is not tuple:
            return out
        return out[0], ConstantVariable(out[1])
    return rule


def _reduce(state, args, kwargs):
    """functools.reduce(fn, iterable[, initial]): fn(fn(a, b), c)..., called as items arrive."""
    if kwargs or len(args) not in (2, 3):
        return raise_error(TypeError, "reduce expected 2 or 3 arguments")
    fn = args[0]

    def visit(state, total, item):
        if total is None:
            return state, item, False
        out = fn.call(state, [total, item], {})
        if type(out) is not tuple:
            return out
        return out[0], out[1], False

    out = for_each(state, args[1], visit, args[2] if len(args) == 3 else None)
    if type(out) is tuple and out[1] is None:
        return raise_error(TypeError, "reduce() of empty iterable with no initial value")
    return out


# -- inspecting values ---------------------------------------------------------------------------

def _type(state, args, kwargs):

    if not kwargs and len(args) == 3:  # type(name, bases, namespace) makes a class
        made = make_class_from_type(state, args)
        return made if made is not None else unsupported(BreakKind.UNSUPPORTED_CALL, "type(name, bases, namespace) "
                                                         "with arguments not known while tracing is not modelled")
    if kwargs or len(args) != 1:
        return raise_error(TypeError, "type() takes 1 or 3 arguments")
    if args[0].dunder_dispatch:
        return class_vt_of(state, heap.current(state, args[0]))  # the class's own heap record
    if isinstance(args[0], NNModuleVariable) and args[0].source is not None:
        return wrap_value(state, type(args[0].module), AttrSource(args[0].source, "__class__"))
    kind = args[0].runtime_type()
    if kind is None:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"the type of {args[0].describe()} is not known while tracing")
    return state, class_vt(kind)


def _attribute_name(value):
    name = value.constant_value()
    if type(name) is not str:
        kind = value.runtime_type()
        if isinstance(kind, type) and issubclass(kind, str):  # a str subclass: its own __eq__ / __hash__
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"an attribute name of type {kind.__name__} "
                               "(a str subclass) is not modelled")
        if kind is None and name is NOT_CONSTANT:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"the attribute name {value.describe()} is not known")
        return raise_error(TypeError, f"attribute name must be string, not '{value.type_name()}'")
    return name


def _has_real_attribute(state, value, name):
    """hasattr on the real object when there is one: True/False, or None when unknown."""
    if value.dunder_dispatch:
        return has_attribute(state, value, name)
    if isinstance(value, TensorVariable) and not hasattr(value.python_type, name):
        return False  # guarded by MissingAttribute for an input tensor; a computed one has none of its own
    if isinstance(value, NNModuleVariable):
        record = module_attributes(state, value.module)
        if record is not None and written(record.attributes, name) is not MISSING:
            return written(record.attributes, name) is not DELETED
        real = value.module
    else:
        real = real_value(state, value)
    if real is NOT_CONSTANT:
        return None
    try:
        return hasattr(real, name)
    except Exception:  # an attribute raising something else: leave it to the VT
        return None


def _missing_attribute(state, value, name):
    """The state after learning that `value` has no attribute `name`: guarded when it has a source,
    so that the attribute appearing later recaptures."""
    source = getattr(value, "source", None)
    return state.add_guard(MissingAttribute(source, name)) if source is not None else state


def _setattr_rule(deleting: bool):
    """setattr(obj, name, value) / delattr(obj, name): what STORE_ATTR / DELETE_ATTR do."""
    def rule(state, args, kwargs):
        if kwargs or len(args) != (2 if deleting else 3):
            return raise_error(TypeError, f"{'delattr' if deleting else 'setattr'} expected "
                               f"{2 if deleting else 3} arguments, got {len(args) + len(kwargs)}")
        name = _attribute_name(args[1])
        if type(name) is not str:
            return name
        out = args[0].setattr(state, name, DELETED if deleting else args[2])
        return out if is_stop(out) else (out, ConstantVariable(None))
    return rule


def _vars(state, args, kwargs):
    """vars(obj) is obj.__dict__; vars() with no argument is the frame's locals, which runs eagerly."""
    if not args and not kwargs:
        return needs_frame("vars() without an argument reads the frame and runs for real")
    if len(args) != 1 or kwargs:
        return None
    return args[0].getattr(state, "__dict__")


def _getattr(state, args, kwargs):
    if kwargs or len(args) not in (2, 3):
        return None
    name = _attribute_name(args[1])
    if type(name) is not str:
        return name
    if len(args) == 3 and _has_real_attribute(state, args[0], name) is False:
        return _missing_attribute(state, args[0], name), args[2]
    out = args[0].getattr(state, name)
    if len(args) == 3 and is_attribute_error(state, out):  # getattr's default catches AttributeError
        return out.state or state, args[2]
    return with_attribute_context(state, out, args[0], name)


def _hasattr(state, args, kwargs):
    if kwargs or len(args) != 2:
        return None
    name = _attribute_name(args[1])
    if type(name) is not str:
        return name
    known = _has_real_attribute(state, args[0], name)
    if known is False:
        return _missing_attribute(state, args[0], name), ConstantVariable(False)
    if known is not None:
        return state, ConstantVariable(known)
    out = args[0].getattr(state, name)
    if is_attribute_error(state, out):
        return out.state or state, ConstantVariable(False)
    if type(out) is not tuple:
        return out
    return out[0], ConstantVariable(True)


def _callable(state, args, kwargs):
    if kwargs or len(args) != 1 or isinstance(args[0], ConstantVariable):
        return None  # constants fold
    if args[0].dunder_dispatch:
        return state, ConstantVariable(any("__call__" in klass.__dict__ for klass in args[0].cls.__mro__))
    return state, ConstantVariable(type(args[0]).call is not VariableTracker.call)


def _issubclass(state, args, kwargs):
    if kwargs or len(args) != 2:
        return None
    kind, classes = class_value(args[0]), class_value(args[1])
    if kind is None or classes is None:
        return None
    try:
        return state, ConstantVariable(issubclass(kind, classes))
    except TypeError as exc:
        return raised(exc)


def _id(state, args, kwargs):
    """id(x) of an object the capture pins by identity (a module, a function, a class, an object that
    existed before the call): its real address, the same on every call the guards accept."""
    if len(args) == 1 and not kwargs:
        pinned = args[0].pinned_object()
        if pinned is not NOT_CONSTANT:
            return state, ConstantVariable(id(pinned))
    return unsupported(BreakKind.UNSUPPORTED_CALL, "id() of an object made while tracing is its address, which "
                       "differs from run to run", "compare objects with `is` instead")


def _reads_tensor_values(name):
    """int(x), float(x), str(x), ... of a tensor need its values; None lets constants fold."""
    def rule(state, args, kwargs):
        if not any(isinstance(arg, TensorVariable) for arg in (*args, *kwargs.values())):
            return None
        if name == "hash":
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, "hash() of a tensor is its id, which differs per run")
        if name in ("round", "divmod"):
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"TypeError: {name}() is not defined for tensors",
                               f"use torch.{'round' if name == 'round' else 'div'}(x, ...)")
        return unsupported(BreakKind.DATA_DEPENDENT, f"{name}() of a tensor reads the values inside it",
                           "keep the computation in tensors, or use metadata such as x.shape")
    return rule


DATA_RULES = {
    min: _min_max(min, operator.lt, "<"), max: _min_max(max, operator.gt, ">"), sum: _sum,
    any: _any_all(any), all: _any_all(all), type: _type, getattr: _getattr, hasattr: _hasattr,
    setattr: _setattr_rule(False), delattr: _setattr_rule(True), vars: _vars,
    callable: _callable, issubclass: _issubclass, id: _id, functools.reduce: _reduce,
    **{fn: _reads_tensor_values(fn.__name__) for fn in (int, float, complex, str, repr, ascii, format, hash, round,
                                                         divmod, hex, oct, bin, chr, ord)},
}
registry.register_builtin_rules(DATA_RULES)
