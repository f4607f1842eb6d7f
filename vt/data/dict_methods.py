"""Methods of dicts and `d1 | d2`, as rule tables.

Each rule works on a real `dict` rebuilt from the entries (real constant keys
mapped to VTs), so key identity rules (`1` and `True` are one key, the first
key object is kept) and insertion order are CPython's; a change hands the
new entries to `state.mutate`.  Keys must be hashable constants
(`vt.container_ops.hashable_key`): a tensor key is Unsupported.
"""
from __future__ import annotations

from effects import heap
from vt import registry
from vt.protocol import is_attribute_error
from vt.data.constant import ConstantVariable
from vt.data.iterators import items_of
from vt.data.equality import container_key, container_keys
from vt.data.object_keys import refuse_python_eq
from vt.data.dicts import DictVariable, DictViewVariable, key_vt, new_dict_from_entries
from core.outcomes import BreakKind, unsupported, raise_error, is_stop, Thrown
from vt.data.lists import ListVariable, TupleVariable
from vt.data.sets import SetVariable
from vt.data.tensor import TensorVariable

NONE = ConstantVariable(None)


def _entries(state, mapping) -> dict:
    return dict(heap.current(state, mapping).entries)


def _changed(state, mapping, entries: dict, what: str, result=NONE):
    return heap.mutate(state, heap.current(state, mapping).with_entries(entries.items()), what), result


def merge_limit(target_keys, incoming_keys):
    """None, or why adding `incoming_keys` to a dict holding `target_keys` is not modelled: the real
    merge compares keys by identity, which is wrong when a Python `__eq__` could match two."""
    if not target_keys or not incoming_keys:
        return None
    return refuse_python_eq(list(target_keys) + list(incoming_keys), "merging dicts")


# -- arguments -------------------------------------------------------------------------------------

def mapping_entries(state, value):
    """The (key, VT) pairs of a mapping argument (`{**m}`), read as CPython reads a mapping, or the
    TypeError for a value that is not one, or Unsupported."""
    fast = value.dict_items(state)
    if fast is not None:
        return fast
    keys = _keys_method(state, value)
    if keys is not None:
        return keys if type(keys) is not tuple else mapping_pairs(state, value, keys[1])
    if value.dunder_dispatch or isinstance(value, (ListVariable, TupleVariable, SetVariable, ConstantVariable,
                                                   TensorVariable, DictViewVariable)):  # no `keys`
        return raise_error(TypeError, f"'{value.type_name()}' object is not a mapping")
    return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                       f"{value.describe()} as a mapping is not modelled", "pass a dict")


def _keys_method(state, value):
    """`value.keys` when the value has one (then dict() reads it as a mapping): (state, method),
    None when it has none, or the stop that reading it hit."""
    kind = value.runtime_type()
    if not value.dunder_dispatch and isinstance(kind, type) and not hasattr(kind, "keys"):
        return None
    out = value.getattr(state, "keys")
    if is_attribute_error(state, out):
        return None
    return out


def mapping_pairs(state, value, keys):
    """The pairs of a mapping read as CPython's dict_merge reads one: `keys()`, then `value[key]`
    for each key; (state, pairs) or the stop."""
    out = keys.call(state, [], {})
    if type(out) is not tuple:
        return out
    state, listed = out
    out = items_of(state, listed)
    if type(out) is not tuple:
        return out
    state, names = out
    pairs = []
    for name in names:
        out = container_key(state, name, [key for key, _ in pairs], key_vt)
        if type(out) is not tuple:
            return _after_pairs(out, pairs)
        state, key = out
        out = value.getitem(state, name)
        if type(out) is not tuple:
            return _after_pairs(out, pairs)
        state, item = out
        pairs.append((key, item))
    return state, tuple(pairs)


def update_pairs(state, value):
    """The (key, VT) pairs `dict.update(value)` adds, in order, as CPython's dict_update_arg reads
    them: a dict's own items; a mapping's `keys()` and items; else an iterable of 2-item
    iterables; (state, pairs) or Unsupported."""
    fast = value.dict_items(state)
    if fast is not None:
        return fast
    keys = _keys_method(state, value)
    if keys is not None:
        if type(keys) is not tuple:
            return keys
        return mapping_pairs(state, value, keys[1])
    out = items_of(state, value)
    if type(out) is not tuple:
        return out
    state, elements = out
    pairs = []
    for number, element in enumerate(elements):
        out = items_of(state, element)
        if type(out) is not tuple:
            return _after_pairs(out, pairs)
        state, pair = out
        if len(pair) != 2:
            return _after_pairs(raise_error(ValueError, f"dictionary update sequence element "
                                            f"#{number} has length {len(pair)}; 2 is required"), pairs)
        out = container_key(state, pair[0], [key for key, _ in pairs], key_vt)
        if type(out) is not tuple:
            return _after_pairs(out, pairs)
        state, key = out
        pairs.append((key, pair[1]))
    return state, tuple(pairs)


def _after_pairs(out, pairs):
    """An error after some pairs: CPython's update has already stored them, which is not modelled."""
    if pairs and type(out) is Thrown:
        return unsupported(BreakKind.PYTHON_EXCEPTION, "dict.update failed part-way; the pairs it stored "
                                                       "before the error are not modelled")
    return out


def _update(state, entries: dict, args, kwargs):
    """dict.update's arguments applied to `entries` (a real dict); (state, None) or Unsupported."""
    if args:
        out = update_pairs(state, args[0])
        if type(out) is not tuple:
            return out
        state, pairs = out
        limit = merge_limit(entries, [key for key, _ in pairs])
        if limit is not None:
            return limit
        for key, value in pairs:
            entries[key] = value
    for key, value in kwargs.items():
        entries[key] = value
    return state, None


# -- methods ---------------------------------------------------------------------------------------

@registry.method(dict, "get", 1, 2)
def _get(state, mapping, args, kwargs):
    out = mapping.key(state, args[0])
    if type(out) is not tuple:
        return out
    state, key = out
    return state, _entries(state, mapping).get(key, args[1] if len(args) > 1 else NONE)


@registry.method(dict, "setdefault", 1, 2)
def _setdefault(state, mapping, args, kwargs):
    out = mapping.key(state, args[0])
    if type(out) is not tuple:
        return out
    state, key = out
    entries = _entries(state, mapping)
    if key in entries:
        return state, entries[key]
    entries[key] = args[1] if len(args) > 1 else NONE
    return _changed(state, mapping, entries, "dict.setdefault", entries[key])


@registry.method(dict, "update", 0, 1, keywords=("**",))
def _dict_update(state, mapping, args, kwargs):
    entries = _entries(state, mapping)
    out = _update(state, entries, args, kwargs)
    if type(out) is not tuple:
        return out
    return _changed(out[0], mapping, entries, "dict.update")


@registry.method(dict, "pop", 1, 2)
def _pop(state, mapping, args, kwargs):
    out = mapping.key(state, args[0])
    if type(out) is not tuple:
        return out
    state, key = out
    entries = _entries(state, mapping)
    if key not in entries:
        if len(args) > 1:
            return state, args[1]
        return raise_error(KeyError, key)
    value = entries.pop(key)
    return _changed(state, mapping, entries, "dict.pop", value)


@registry.method(dict, "popitem", 0)
def _popitem(state, mapping, args, kwargs):
    entries = _entries(state, mapping)
    if not entries:
        return raise_error(KeyError, "popitem(): dictionary is empty")
    key, value = entries.popitem()
    return _changed(state, mapping, entries, "dict.popitem", TupleVariable((key_vt(key), value)))


@registry.method(dict, "clear", 0)
def _clear(state, mapping, args, kwargs):
    return heap.mutate(state, heap.current(state, mapping).cleared(), "dict.clear"), NONE


@registry.method(dict, "copy", 0)
def _copy(state, mapping, args, kwargs):
    return new_dict_from_entries(state, heap.current(state, mapping).entries)


def _view(kind: str):
    def rule(state, mapping, args, kwargs):
        return state, DictViewVariable(mapping, kind)
    return rule


for _kind in ("keys", "values", "items"):
    registry.method(dict, _kind, 0)(_view(_kind))


@registry.method(dict, "fromkeys", 1, 2, is_classmethod=True)
def _fromkeys(state, receiver, args, kwargs):
    """`dict.fromkeys(keys, value)`: every key maps to the same value object."""
    out = items_of(state, args[0])
    if type(out) is not tuple:
        return out
    state, items = out
    value = args[1] if len(args) > 1 else NONE
    out = container_keys(state, items)
    if type(out) is not tuple:
        return out
    state, keys = out
    return new_dict_from_entries(state, tuple(dict.fromkeys(keys, value).items()))


# -- operators and the constructor -----------------------------------------------------------------

def dict_or(state, a, b, inplace: bool):
    """`a | b` (both dicts: a new dict) and `a |= b` (b any argument of update: `a` changed);
    None when Python has no such operator, for the caller to report the TypeError."""
    if not inplace:
        if not isinstance(b, DictVariable):
            return None
        entries = _entries(state, a)
        limit = merge_limit(entries, _entries(state, b))
        if limit is not None:
            return limit
        entries.update(_entries(state, b))
        return new_dict_from_entries(state, tuple(entries.items()))
    entries = _entries(state, a)
    out = _update(state, entries, (b,), {})
    if type(out) is not tuple:
        return out
    state, _ = _changed(out[0], a, entries, "dict |=")
    return state, a
