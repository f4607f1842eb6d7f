"""functools: partial objects and lru_cache / cache wrappers.

A partial is data: the wrapped callable's VT, the frozen positional VTs and
the frozen keyword VTs.  Calling it calls the wrapped VT with the frozen
arguments first, so a partial of a Python function is inlined, a partial of a
torch function becomes a graph node and a partial of a builtin follows the
builtin's rules.  A partial made while tracing needs no guard (the trace made
it); one that existed before the call is guarded by identity, and what it
holds is read through `p.func`, `p.args`, `p.keywords`, so each part gets the
guard its own type asks for.

`functools.reduce` lives with the other data builtins (vt/builtin_data.py).
"""
from __future__ import annotations

import functools

import attrs

from core.guards import IdMatch, KeysMatch
from vt.data.dicts import new_dict_from_entries
from vt.folding import call_builtin
from vt.callables.functions import UserFunctionVariable
from vt.callables.nested_functions import NestedUserFunctionVariable
from vt.data.lists import TupleVariable
from vt.protocol import NOT_CONSTANT, VariableTracker, is_attribute_error
from core.outcomes import BreakKind, unsupported
from core.state import State
from vt.data.constant import ConstantVariable
from core.sources import AttrSource, ItemSource
from vt import registry
from vt.registry import wrap_value


@attrs.frozen(slots=True)
class FunctoolsPartialVariable(VariableTracker):
    """`functools.partial(func, *args, **keywords)`; `keywords` is a tuple of (name, VT) pairs."""

    func: object
    args: tuple
    keywords: tuple
    source: object = attrs.field(default=None, eq=False)  # set when the partial existed before the call
    value: object = attrs.field(default=None, eq=False, repr=False)  # the real partial, then

    always_true = True

    def runtime_type(self):
        return functools.partial

    def describe(self) -> str:
        return f"functools.partial({self.func.describe()}, ...)"

    def call(self, state, args, kwargs):
        merged = dict(self.keywords)
        merged.update(kwargs)  # a keyword given at the call wins over the frozen one, as in CPython
        return self.func.call(state, [*self.args, *args], merged)

    def getattr(self, state, name):
        if name == "func":
            return state, self.func
        if name == "args":
            if self.value is not None:  # the caller's own tuple (copy.copy(p).args is p.args)
                return wrap_value(state, self.value.args, AttrSource(self.source, "args"))
            return state, TupleVariable(self.args)
        if name == "keywords":
            if self.value is not None:  # the caller's own dict: reading it twice gives one object

                return wrap_value(state, self.value.keywords, AttrSource(self.source, "keywords"))

            return new_dict_from_entries(state, self.keywords)
        if name in ("__call__",):
            return state, self
        return unsupported(BreakKind.PYTHON_EXCEPTION,
                           f"AttributeError: 'functools.partial' object has no attribute {name!r}")


def make_partial(state, args, kwargs):
    """The rule for calling `functools.partial`: CPython's checks and its flattening of a partial of a
    plain partial (`partial(partial(f, 1), 2)` holds `f` and `(1, 2)`)."""
    if not args:
        return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: type 'partial' takes at least one argument")
    func, frozen = args[0], tuple(args[1:])
    if not _is_callable(state, func):
        return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: the first argument must be callable")
    keywords = dict(kwargs)
    kind = func.runtime_type()
    if (type(func) is FunctoolsPartialVariable and func.value is not None) or \
            (kind is not functools.partial and isinstance(kind, type) and issubclass(kind, functools.partial)):
        # CPython flattens a partial (of a subclass too) whose `__dict__` was never made, which the
        # trace cannot tell for one that existed before the call: it is made for real
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"functools.partial of {func.describe()}, which existed "
                           "before the call or is of a subclass: whether CPython flattens it depends on whether "
                           "its __dict__ was ever made")
    if type(func) is FunctoolsPartialVariable:
        frozen = func.args + frozen
        inner = dict(func.keywords)
        inner.update(keywords)
        keywords, func = inner, func.func
    return state, FunctoolsPartialVariable(func, frozen, tuple(keywords.items()))


def _is_callable(state, value) -> bool:
    out = call_builtin(state, callable, [value], {})
    return type(out) is tuple and out[1].constant_value() is True


def wrap_partial(state, value: functools.partial, source, guard: bool):
    """A partial that existed before the call: identity guard, and its parts through their sources."""
    if guard:
        state = state.add_guard(IdMatch(source, value, "functools.partial object"))
    out = wrap_value(state, value.func, AttrSource(source, "func"), guard)
    if type(out) is not tuple:
        return out
    state, func = out
    args_source = AttrSource(source, "args")
    frozen = []
    for position, item in enumerate(value.args):
        out = wrap_value(state, item, ItemSource(args_source, position), guard)
        if type(out) is not tuple:
            return out
        state, vt = out
        frozen.append(vt)
    keywords_source = AttrSource(source, "keywords")
    if guard:
        state = state.add_guard(KeysMatch(keywords_source, dict, tuple(value.keywords)))
    keywords = []
    for name, item in value.keywords.items():
        out = wrap_value(state, item, ItemSource(keywords_source, name), guard)
        if type(out) is not tuple:
            return out
        state, vt = out
        keywords.append((name, vt))
    return state, FunctoolsPartialVariable(func, tuple(frozen), tuple(keywords), source, value)


@attrs.frozen(slots=True)
class CachedFunctionVariable(VariableTracker):
    """A function wrapped by `functools.lru_cache` / `functools.cache`, called by inlining `__wrapped__`.

    The real cache is neither consulted nor filled while tracing.  Consulting
    it would bake one call's cached answer into a graph that is reused for
    other inputs without any guard on the cache's contents; filling it would
    store values computed from fake tensors, visible to later eager calls.
    Inlining the wrapped function instead gives, for the pure functions a cache
    is meant for, the value the cache would return, and the graph computes it
    again on every run (cheap next to a recapture).  A function whose result
    depends on being cached (one that counts its calls, say) is therefore
    traced as if uncached.
    """

    wrapped: object  # the VT of `__wrapped__`
    value: object = attrs.field(eq=False, repr=False)
    source: object = attrs.field(default=None, eq=False)

    always_true = True

    def runtime_type(self):
        return functools._lru_cache_wrapper

    def describe(self) -> str:
        return f"cached function {getattr(self.value, '__qualname__', '?')}"

    def call(self, state, args, kwargs):
        return self.wrapped.call(state, args, kwargs)

    def getattr(self, state, name):
        if name == "__wrapped__":
            return state, self.wrapped
        if name in ("__name__", "__qualname__", "__module__", "__doc__"):
            return wrap_value(state, getattr(self.value, name), AttrSource(self.source, name))
        if name in ("cache_info", "cache_clear", "cache_parameters"):
            return unsupported(BreakKind.UNSUPPORTED_CALL,
                               f"{name}() of a cached function reads or changes the real cache, "
                               "which the tracer does not model", "call it outside the traced function")
        return super().getattr(state, name)


def wrap_cached_function(state, value, source, guard: bool):
    """An lru_cache wrapper that existed before the call: guarded by identity, its `__wrapped__` read
    through its source."""
    if guard:
        state = state.add_guard(IdMatch(source, value, f"cached function {value.__qualname__}"))
    out = wrap_value(state, value.__wrapped__, AttrSource(source, "__wrapped__"), guard)
    if type(out) is not tuple:
        return out
    state, wrapped = out
    return state, CachedFunctionVariable(wrapped, value, source)


CACHE_WRAPPER_TYPE = functools._lru_cache_wrapper


@attrs.frozen(slots=True)
class WrapsDecoratorVariable(VariableTracker):
    """`functools.wraps(wrapped, assigned, updated)`, waiting for the function it decorates."""

    wrapped: object
    assigned: tuple = functools.WRAPPER_ASSIGNMENTS
    updated: tuple = functools.WRAPPER_UPDATES

    always_true = True

    def describe(self) -> str:
        return f"functools.wraps({self.wrapped.describe()})"

    def call(self, state, args, kwargs):
        if len(args) != 1 or kwargs:
            return unsupported(BreakKind.UNSUPPORTED_CALL, "functools.wraps(...) called with other than one function")
        return _update_wrapper(state, args[0], self.wrapped, self.assigned, self.updated)


def _attribute_names(value, default):
    """The constant tuple of attribute names an `assigned` / `updated` argument gives, or None."""
    if value is None:
        return default
    names = value.constant_value()
    if isinstance(names, (tuple, list)) and all(isinstance(name, str) for name in names):
        return tuple(names)
    return None


def _dict_items(state, fn):
    """(state, (name, VT) pairs) of `fn.__dict__` for `updated=('__dict__',)`, or the stop."""
    if isinstance(fn, NestedUserFunctionVariable):
        return state, fn.attribute_items(state)
    if isinstance(fn, UserFunctionVariable) and fn.source is not None:
        real = fn.fn.__dict__
        source = AttrSource(fn.source, "__dict__")
        state = state.add_guard(KeysMatch(source, dict, tuple(real)))
        items = []
        for name, item in real.items():
            out = wrap_value(state, item, ItemSource(source, name))
            if type(out) is not tuple:
                return out
            state, vt = out
            items.append((name, vt))
        return state, tuple(items)
    fixed = fn.fixed_object()
    if fixed is not NOT_CONSTANT and not hasattr(fixed, "__dict__"):  # a builtin: getattr(x, '__dict__', {})
        return state, ()
    return unsupported(BreakKind.UNSUPPORTED_CALL, f"update_wrapper reading __dict__ of {fn.describe()} is not traced")


def _update_wrapper(state, wrapper, wrapped, assigned: tuple, updated: tuple):
    """What `functools.update_wrapper` does, on a function made while tracing: copy the `assigned`
    attributes that `wrapped` has, merge its `updated` dicts, set `__wrapped__`; returns the wrapper."""
    if not isinstance(wrapper, NestedUserFunctionVariable):
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"functools.update_wrapper on {wrapper.describe()} writes "
                           "attributes of an object that existed before the call, which is not traced",
                           "decorate it outside the traced function")
    for name in assigned:
        out = call_builtin(state, getattr, [wrapped, ConstantVariable(name)], {})
        if is_attribute_error(state, out):
            continue
        if type(out) is not tuple:
            return out
        state, value = out
        out = wrapper.setattr(state, name, value)
        if type(out) is not State:
            return out
        state = out
    for name in updated:
        if name != "__dict__":
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"update_wrapper updating {name!r} is not traced")
        out = _dict_items(state, wrapped)
        if type(out) is not tuple:
            return out
        state, items = out
        for key, value in items:
            out = wrapper.setattr(state, key, value)
            if type(out) is not State:
                return out
            state = out
    out = wrapper.setattr(state, "__wrapped__", wrapped)
    return out if type(out) is not State else (out, wrapper)


def _bind(args, kwargs, names):
    """Arguments of a functools call by parameter name (positional first), or None for a bad call."""
    bound = dict(zip(names, args))
    if len(args) > len(names) or any(key not in names or key in bound for key in kwargs):
        return None
    bound.update(kwargs)
    return bound


def make_wraps(state, args, kwargs):
    """The rule for `functools.wraps(wrapped, assigned=..., updated=...)`."""
    bound = _bind(args, kwargs, ("wrapped", "assigned", "updated"))
    if bound is None or "wrapped" not in bound:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "this call of functools.wraps is not traced")
    assigned = _attribute_names(bound.get("assigned"), functools.WRAPPER_ASSIGNMENTS)
    updated = _attribute_names(bound.get("updated"), functools.WRAPPER_UPDATES)
    if assigned is None or updated is None:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "functools.wraps with computed attribute lists is not traced")
    return state, WrapsDecoratorVariable(bound["wrapped"], assigned, updated)


def update_wrapper(state, args, kwargs):
    """The rule for `functools.update_wrapper(wrapper, wrapped, assigned=..., updated=...)`."""
    bound = _bind(args, kwargs, ("wrapper", "wrapped", "assigned", "updated"))
    if bound is None or "wrapper" not in bound or "wrapped" not in bound:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "this call of functools.update_wrapper is not traced")
    assigned = _attribute_names(bound.get("assigned"), functools.WRAPPER_ASSIGNMENTS)
    updated = _attribute_names(bound.get("updated"), functools.WRAPPER_UPDATES)
    if assigned is None or updated is None:
        return unsupported(BreakKind.UNSUPPORTED_CALL,
                           "functools.update_wrapper with computed attribute lists is not traced")
    return _update_wrapper(state, bound["wrapper"], bound["wrapped"], assigned, updated)


FUNCTOOLS_RULES = {functools.partial: make_partial, functools.wraps: make_wraps,
                   functools.update_wrapper: update_wrapper}
registry.register_builtin_rules(FUNCTOOLS_RULES)
