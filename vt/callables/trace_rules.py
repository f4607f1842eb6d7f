"""Trace rules: for every callable, one decision about what calling it means while tracing.

* `GRAPH`: the call becomes a node of the graph (torch functions, dispatcher ops, and what the user
  marks with `allow_in_graph`);
* `INLINE`: its Python code is traced into the caller's graph (the user's functions, and torch's own
  pure-Python helpers, as Dynamo does);
* `FOLD`: it is called while tracing and its result taken as a constant (pure builtins on values
  known while tracing, and what the user marks with `assume_constant_result`);
* `MODEL`: a rule of the registry says what it means (`len`, `isinstance`, `copy.deepcopy`, ...);
* `EAGER`: it runs for real, at a graph break (torch functions that touch global state or files,
  and what the user marks with `disable`).

`rule_for(fn)` gives the decision and why; the user's marks win over the defaults.  `explain`
prints the decision for the callee of every break at a call.
"""
from __future__ import annotations

import enum
import inspect
import types

import attrs
import torch

from core.guards import IdMatch
from core.outcomes import BreakKind, raised, unsupported
from vt import registry
from vt.data.tensor import METHODS_OUT_OF_GRAPH
from vt.callables.torch import GRAPHABLE, TorchFunctionVariable, torch_callable_limit
from vt.protocol import NOT_CONSTANT, VariableTracker, is_python_class, real_value


class Rule(enum.Enum):
    GRAPH = "put in the graph"
    INLINE = "inlined: its Python code is traced"
    FOLD = "folded: called while tracing, its result taken as a constant"
    MODEL = "modelled by a rule of the tracer"
    EAGER = "run eagerly, at a graph break"


_USER_RULES: dict = {}  # callable -> Rule, from allow_in_graph / disable / assume_constant_result

_EAGER = {print: "writes to stdout", input: "reads from stdin", open: "opens a file", breakpoint: "enters the debugger",
          exec: "runs code from a string", eval: "runs code from a string", locals: "exposes the frame's variables"}
"""Builtins that always run for real, at a break, and why."""


def mark(fn, rule: Rule) -> None:
    """Record the user's decision for `fn` (a later mark replaces an earlier one)."""
    try:
        hash(fn)
    except TypeError:
        raise TypeError(f"{fn!r} cannot be marked: it is not hashable") from None
    if not callable(fn):
        raise TypeError(f"{fn!r} is not callable")
    _USER_RULES[fn] = rule


def unmark(fn) -> None:
    _USER_RULES.pop(fn, None)


def _runs_python_to_hash(fn) -> bool:
    """Whether looking `fn` up in a dict would run Python code (a `__hash__` / `__eq__` of a Python
    class, also through a bound method's `__self__`): the tracer must not run the program's code."""
    for kind in (type(fn), type(getattr(fn, "__self__", None)) if type(fn) is types.MethodType else None):
        if kind is None or not is_python_class(kind):  # a C type has no Python __hash__ / __eq__
            continue
        if _defines_in_python(kind, "__hash__") or _defines_in_python(kind, "__eq__"):
            return True
    return False


_MRO, _DICT = type.__dict__["__mro__"], type.__dict__["__dict__"]  # read past any metaclass


def _defines_in_python(kind: type, name: str) -> bool:
    """Whether the first definition of `name` along the class's MRO is a Python function (the
    class-dict walk of `inspect.getattr_static`, without its instance and metaclass steps)."""
    for klass in _MRO.__get__(kind):
        found = _DICT.__get__(klass).get(name, _ABSENT)
        if found is not _ABSENT:
            return type(found) is types.FunctionType
    return False


_ABSENT = object()


def user_rule(fn):
    """The user's mark on `fn` (also `torch.compiler.disable`'s), or None.  Read without running any
    of the program's code (no Python `__hash__`, `__eq__` or `__getattr__`)."""
    if _runs_python_to_hash(fn):
        return None
    try:
        marked = _USER_RULES.get(fn)
    except TypeError:
        return None
    if marked is None and _disabled_by_torch(fn):
        return Rule.EAGER
    return marked


def _disabled_by_torch(fn) -> bool:
    """`torch.compiler.disable`'s mark, which it sets on the Python function it returns.  Other
    objects are asked through their class only: reading an object's own `__dict__` makes one where
    there was none, which is observable (a C `partial` no longer flattens into a partial of it)."""
    if type(fn) is types.FunctionType:  # the common case, read straight from the function's own dict
        return fn.__dict__.get("_torchdynamo_disable", False) is True
    holder = fn if isinstance(fn, type) else type(fn)
    return inspect.getattr_static(holder, "_torchdynamo_disable", False) is True


def rule_for(fn) -> tuple:
    """(Rule, why) for calling the real callable `fn`."""
    marked = user_rule(fn)
    if marked is not None:
        return marked, "marked by the user"
    try:
        if fn in _EAGER:
            return Rule.EAGER, _EAGER[fn]
    except TypeError:
        pass
    if registry.has_rule(fn):
        return (Rule.FOLD, "a pure function") if registry.is_pure(fn) and not registry.builtin_rules(fn) \
            else (Rule.MODEL, "a registered rule")
    try:
        graphable = fn in GRAPHABLE
    except TypeError:
        graphable = False
    if graphable or type(fn).__module__ == "torch._ops":
        return Rule.GRAPH, "a torch function"
    if type(fn) is types.MethodDescriptorType and fn.__objclass__ is torch._C.TensorBase:
        if fn.__name__ in METHODS_OUT_OF_GRAPH:
            return Rule.EAGER, METHODS_OUT_OF_GRAPH[fn.__name__]
        return Rule.GRAPH, "a tensor method"
    limit = torch_callable_limit(fn)
    if limit is not None:
        return Rule.EAGER, limit
    if isinstance(fn, (types.FunctionType, types.MethodType)):
        return Rule.INLINE, "Python code"
    return Rule.EAGER, "not modelled"


def describe(callee) -> str:
    """The decision for a callee VT, in words, for a break at a call ("" when no table entry applies:
    the callee is a value the tracer models itself, such as `tracer.graph_break`)."""
    fn = callee.pinned_object()
    if fn is NOT_CONSTANT:
        fn = getattr(callee, "fn", None)
    if fn is None or not callable(fn):
        return ""
    rule, why = rule_for(fn)
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or callee.describe()
    return f"{name}: {rule.value} ({why})"


@attrs.frozen(slots=True)
class MarkedCallableVariable(VariableTracker):
    """A callable the user marked `disable` (its call breaks and runs for real) or
    `assume_constant_result` (it is called while tracing, its result a constant of the graph)."""

    fn: object
    rule: Rule
    source: object = attrs.field(default=None, eq=False)

    always_true = True

    def describe(self) -> str:
        return getattr(self.fn, "__qualname__", repr(self.fn))

    def fixed_object(self):
        return self.fn

    def call(self, state, args, kwargs):
        if self.rule is Rule.EAGER:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"{self.describe()} is marked with tracer.disable",
                               "remove the mark to trace into it")
        values = [real_value(state, arg) for arg in args]
        kw_values = {key: real_value(state, arg) for key, arg in kwargs.items()}
        if NOT_CONSTANT in values or NOT_CONSTANT in kw_values.values():
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"{self.describe()} (assume_constant_result) got an "
                               "argument not known while tracing")
        try:
            result = self.fn(*values, **kw_values)
        except Exception as exc:  # the program raises the same
            return raised(exc)
        out = registry.from_python(state, result)
        return out if out is not None else unsupported(
            BreakKind.UNSUPPORTED_VALUE, f"{self.describe()} returned a {type(result).__name__}, which is not a constant")


@registry.wrap_rule("user_marked")
def _marked(state, value, source, guard):
    """Callables the user marked with allow_in_graph / disable / assume_constant_result."""
    rule = user_rule(value)
    if rule is None:
        return None
    if guard:
        state = state.add_guard(IdMatch(source, value, f"{getattr(value, '__qualname__', value)} (marked)"))
    if rule is Rule.GRAPH:
        return state, TorchFunctionVariable(value, source)
    if rule is Rule.INLINE:
        return None  # the ordinary rules inline Python functions
    return state, MarkedCallableVariable(value, rule, source)
