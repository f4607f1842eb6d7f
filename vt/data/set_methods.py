"""Methods and operators of sets, `set(...)`, and set operators on dict keys views, as rule tables.

A rule turns its arguments into *recipe arguments* (`set_argument`: another
set's recipe, a frozenset constant, a dict's keys, or a tuple of elements in
iteration order) and asks vt/sets.py to run the real set method: the result,
and the order the set iterates in afterwards, are CPython's own.  Elements
must be hashable constants (`vt.container_ops.hashable_key`); a tensor
element is Unsupported.
"""
from __future__ import annotations

from effects import heap
from vt import registry
from vt.data.constant import ConstantVariable
from vt.data.iterators import items_of
from vt.data.dicts import DictVariable
from vt.data.equality import hashable_keys
from vt.data.object_keys import key_vt, refuse_python_eq, unordered
from core.outcomes import BreakKind, unsupported, is_stop, raise_error, Thrown
from vt.data.sets import (DictKeysArg, Recipe, SELF, SetVariable, change_set, derive_set, new_set_from_recipe,
    query_set, recipe_of, resolve_argument)

NONE = ConstantVariable(None)
MANY = 1 << 30
_OPERATOR_NAMES = {"|": "or", "&": "and", "-": "sub", "^": "xor"}


def set_argument(state, value, self_oid=None):
    """The recipe argument standing for `value`: (state, argument) or Unsupported."""
    if isinstance(value, SetVariable):
        current = heap.current(state, value)
        limit = refuse_python_eq(current.values, "set operations")
        if limit is not None:
            return limit
        return state, SELF if value.oid == self_oid else recipe_of(current)
    if isinstance(value, DictVariable):  # CPython reads a dict through its own fast path: replay with a real dict
        keys = tuple(key for key, _ in heap.current(state, value).entries)
        return refuse_python_eq(keys, "set operations") or (state, DictKeysArg(keys))
    if isinstance(value, ConstantVariable) and type(value.constant_value()) in (frozenset, str, bytes):
        return state, value.constant_value()
    out = items_of(state, value)
    if type(out) is not tuple:
        return out
    state, items = out
    keys = hashable_keys(items, "set element", state)
    if not is_stop(keys):
        keys = refuse_python_eq(keys, "set operations") or keys
    if type(keys) is Thrown and len(items) > 1:  # s.update([1, [2]]) adds 1 before failing: not modelled
        return unsupported(BreakKind.PYTHON_EXCEPTION, "a set element after the first is unhashable; the "
                                                       "elements an in-place update adds before it are not modelled")
    return keys if is_stop(keys) else (state, keys)


def _set_arguments(state, values, self_oid):
    limit = refuse_python_eq(state.heap[self_oid].values, "set operations") if values else None
    if limit is not None:
        return limit
    arguments = []
    for value in values:
        out = set_argument(state, value, self_oid)
        if type(out) is Thrown and arguments:  # s.update(a, bad): CPython applied `a` first
            return unsupported(BreakKind.PYTHON_EXCEPTION, "a set method's later argument raised; the work "
                                                           "done with the earlier ones is not modelled")
        if type(out) is not tuple:
            return out
        state, argument = out
        arguments.append(argument)
    return state, tuple(arguments)




# -- changing a set ----------------------------------------------------------------------------------

def _change_with_element(name: str):
    def rule(state, handle, args, kwargs):
        out = handle.key(state, args[0])
        if type(out) is not tuple and name != "add" and isinstance(args[0], SetVariable):
            key = frozenset(heap.current(state, args[0]).values)  # CPython retries a set as a frozenset
            if name == "remove" and key not in set(heap.current(state, handle).values):
                return raise_error(KeyError, args[0])  # the set itself, not the frozenset looked up
            out = state, key
        if type(out) is not tuple:
            return out
        state, key = out
        out = change_set(state, handle, name, (key,), f"set.{name}")
        return out if type(out) is not tuple else (out[0], NONE)
    return rule


for _name in ("add", "discard", "remove"):
    registry.method(set, _name, 1)(_change_with_element(_name))


@registry.method(set, "pop", 0)
def _pop(state, handle, args, kwargs):
    if unordered(heap.current(state, handle).values):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, "set.pop() on a set of objects hashed by their address: "
                           "which one comes out differs from run to run")
    out = change_set(state, handle, "pop", (), "set.pop")
    return out if type(out) is not tuple else (out[0], key_vt(out[1]))


@registry.method(set, "clear", 0)
def _clear(state, handle, args, kwargs):
    out = change_set(state, handle, "clear", (), "set.clear")
    return out if type(out) is not tuple else (out[0], NONE)


def _change_with_others(name: str):
    def rule(state, handle, args, kwargs):
        out = _set_arguments(state, args, handle.oid)
        if type(out) is not tuple:
            return out
        state, arguments = out
        out = change_set(state, handle, name, arguments, f"set.{name}")
        return out if type(out) is not tuple else (out[0], NONE)
    return rule


for _name in ("update", "intersection_update", "difference_update"):
    registry.method(set, _name, 0, MANY)(_change_with_others(_name))
registry.method(set, "symmetric_difference_update", 1)(_change_with_others("symmetric_difference_update"))


# -- new sets and questions ------------------------------------------------------------------------------

def _derive(name: str):
    def rule(state, handle, args, kwargs):
        out = _set_arguments(state, args, handle.oid)
        if type(out) is not tuple:
            return out
        return derive_set(out[0], handle, name, out[1])
    return rule


for _name in ("union", "intersection", "difference"):
    registry.method(set, _name, 0, MANY)(_derive(_name))
registry.method(set, "symmetric_difference", 1)(_derive("symmetric_difference"))
registry.method(set, "copy", 0)(_derive("copy"))


def _query(name: str):
    def rule(state, handle, args, kwargs):
        out = _set_arguments(state, args, handle.oid)
        if type(out) is not tuple:
            return out
        state, arguments = out
        result = query_set(state, handle, name, arguments)
        return result if is_stop(result) else (state, ConstantVariable(result))
    return rule


for _name in ("issubset", "issuperset", "isdisjoint"):
    registry.method(set, _name, 1)(_query(_name))


# -- operators and the constructor ---------------------------------------------------------------------

def set_operator(state, symbol: str, a, b, inplace: bool):
    """`a <symbol> b` with `|&-^` between sets and frozensets; `a <symbol>= b` changes a set `a`."""
    name = _OPERATOR_NAMES[symbol]
    if not isinstance(a, SetVariable):  # a frozenset constant with a set: a new frozenset, a constant
        result = getattr(a.constant_value(), f"__{name}__")(resolve_argument(recipe_of(heap.current(state, b))))
        return state, ConstantVariable(result)
    out = set_argument(state, b, a.oid)
    if type(out) is not tuple:
        return out
    state, argument = out
    if inplace:
        out = change_set(state, a, f"__i{name}__", (argument,), f"set {symbol}=")
        return out if type(out) is not tuple else (out[0], a)
    return derive_set(state, a, f"__{name}__", (argument,))


def _keys_view_operation(keys, dunder, other):
    """What `d.keys() <op> other` computes, replayed on a real dict with the same keys."""
    result = getattr(dict.fromkeys(keys).keys(), dunder)(other)
    if result is NotImplemented:
        raise TypeError(f"unsupported operand for {dunder}")
    return result


def keys_view_operator(state, symbol: str, view, other):
    """`d.keys() <symbol> other` for `|&-^`: a new set, as CPython builds it."""
    out = set_argument(state, other)
    if type(out) is not tuple:
        return out
    state, argument = out
    keys = tuple(key for key, _ in heap.current(state, view.mapping).entries)
    dunder = f"__{_OPERATOR_NAMES[symbol]}__"
    return new_set_from_recipe(state, Recipe(None, _keys_view_operation, (keys, dunder, argument)))


def construct_set(state, args, kwargs):
    """`set()` and `set(iterable)`: (state, new set) or Unsupported.  (The builtin rule of `set`.)"""
    if kwargs or len(args) > 1:
        return raise_error(TypeError, "set() takes at most 1 argument, "
                           "and no keyword arguments")
    if not args:
        return new_set_from_recipe(state, Recipe(None, set, ()))
    out = set_argument(state, args[0])
    if type(out) is not tuple:
        return out
    state, argument = out
    return new_set_from_recipe(state, Recipe(None, set, (argument,)))
