"""Methods of lists and tuples, and item assignment/deletion on lists, as rule tables.

Every change builds the list's new items and hands them to `state.mutate`,
which updates the heap (every alias sees it) and logs the change when the
list existed before the call.  Where CPython's index arithmetic is subtle
(clamping in `insert`, negative and extended slices in `lst[a:b:c] = ...`),
the rule runs the real list operation on a list of *positions* and maps the
result back to the items, so the arithmetic and its errors are CPython's own.
Searching (`index`, `count`, `remove`) compares items with
`vt.container_ops.equal`: by identity first, so tensors are found by identity.
"""
from __future__ import annotations

import attrs

from effects import heap
from vt import registry
from vt.protocol import NOT_CONSTANT
from vt.data.constant import ConstantVariable
from vt.data.container_methods import int_argument
from vt.data.iterators import items_of
from vt.data.equality import equal
from vt.data.lists import ListVariable, new_list
from core.outcomes import BreakKind, Thrown, is_stop, raise_error, raised, unsupported
from vt.data.sorting import sort_values
from vt.data.tensor import TensorVariable

NONE = ConstantVariable(None)


def _items(state, sequence) -> tuple:
    return tuple(sequence.unpack(state, None))


def _changed(state, lst, items, what: str, result=NONE):
    """The list now holds `items`: (state, result), the change logged for pre-existing lists."""
    return heap.mutate(state, heap.current(state, lst).with_items(tuple(items)), what), result


# -- changing a list ---------------------------------------------------------------------------------

@registry.method(list, "append", 1)
def _append(state, lst, args, kwargs):
    return _changed(state, lst, heap.current(state, lst).items + (args[0],), "list.append")


@registry.method(list, "extend", 1)
def _extend(state, lst, args, kwargs):
    out = items_of(state, args[0])
    if type(out) is not tuple:
        return out
    state, extra = out
    return _changed(state, lst, heap.current(state, lst).items + extra, "list.extend")


@registry.method(list, "insert", 2)
def _insert(state, lst, args, kwargs):
    index = int_argument(args[0], "list.insert() index")
    if type(index) is not int:
        return index
    items = list(heap.current(state, lst).items)
    items.insert(index, args[1])  # clamps like CPython
    return _changed(state, lst, items, "list.insert")


@registry.method(list, "pop", 0, 1)
def _pop(state, lst, args, kwargs):
    index = int_argument(args[0], "list.pop() index") if args else -1
    if type(index) is not int:
        return index
    items = list(heap.current(state, lst).items)
    if not items:
        return raise_error(IndexError, "pop from empty list")
    try:
        value = items.pop(index)
    except IndexError:
        return raise_error(IndexError, "pop index out of range")
    return _changed(state, lst, items, "list.pop", value)


@registry.method(list, "remove", 1)
def _remove(state, lst, args, kwargs):
    items = heap.current(state, lst).items
    for position, item in enumerate(items):
        same = equal(state, item, args[0])
        if type(same) is not bool:
            return same
        if same:
            return _changed(state, lst, items[:position] + items[position + 1:], "list.remove")
    return raise_error(ValueError, "list.remove(x): x not in list")


@registry.method(list, "clear", 0)
def _clear(state, lst, args, kwargs):
    return _changed(state, lst, (), "list.clear")


@registry.method(list, "reverse", 0)
def _reverse(state, lst, args, kwargs):
    return _changed(state, lst, heap.current(state, lst).items[::-1], "list.reverse")


@registry.method(list, "sort", 0, 0, keywords=("key", "reverse"))
def _sort(state, lst, args, kwargs):
    """Keys are computed first, in order, by calling `key` on each item (any callable VT); the
    permutation then comes from CPython's sort of the keys (vt/data/sorting.py): stable, exact,
    with objects compared by their own `__lt__`."""
    reverse = kwargs.get("reverse")
    descending = int_argument(reverse, "sort() reverse") if reverse is not None else 0
    if type(descending) is not int:
        return descending
    items = heap.current(state, lst).items
    key = kwargs.get("key")
    keys = list(items)
    if key is not None and not key.constant_value() is None:
        keys = []
        for item in items:
            out = key.call(state, [item], {})
            if type(out) is not tuple:
                return out
            state, value = out
            keys.append(value)
    if len(items) < 2:  # CPython compares nothing
        return _changed(state, lst, items, "list.sort")
    if any(isinstance(value, TensorVariable) for value in keys):
        return unsupported(BreakKind.DATA_DEPENDENT, "sorting needs to compare tensor values",
                           "sort by a key that is a number or string (e.g. key=len)")
    state, order, stop = sort_values(state, keys, bool(descending))
    if type(stop) is not Thrown and stop is not None:
        return stop
    if heap.current(state, lst).items != items:  # a comparison changed the list: CPython's ValueError
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, "a comparison changed the list being sorted")
    state, result = _changed(state, lst, (items[position] for position in order), "list.sort")
    if stop is None:
        return state, result
    return attrs.evolve(stop, state=state)  # the comparison raised: the list stays as the sort left it


@registry.method(list, "copy", 0)
def _copy(state, lst, args, kwargs):
    return new_list(state, heap.current(state, lst).items)


# -- searching (lists and tuples) ----------------------------------------------------------------------

def _index(state, sequence, args, kwargs):
    items = _items(state, sequence)
    bounds = []
    for bound in args[1:]:
        value = int_argument(bound, "slice index")
        if type(value) is not int:
            return value
        bounds.append(value)
    start, stop = (bounds + [0, len(items)][len(bounds):])[:2]
    start, stop = (max(bound + len(items), 0) if bound < 0 else bound for bound in (start, stop))
    for position in range(start, min(stop, len(items))):
        same = equal(state, items[position], args[0])
        if type(same) is not bool:
            return same
        if same:
            return state, ConstantVariable(position)
    if isinstance(sequence, ListVariable):
        wanted = args[0].constant_value()
        if wanted is NOT_CONSTANT:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, "list.index of a value not in the list: eager's "
                                                               "message shows the value, which is not known here")
        return raise_error(ValueError, f"{wanted!r} is not in list")
    return raise_error(ValueError, "tuple.index(x): x not in tuple")


def _count(state, sequence, args, kwargs):
    found = 0
    for item in _items(state, sequence):
        same = equal(state, item, args[0])
        if type(same) is not bool:
            return same
        found += same
    return state, ConstantVariable(found)


for _owner in (list, tuple):
    registry.method(_owner, "index", 1, 3)(_index)
    registry.method(_owner, "count", 1)(_count)


# -- item assignment and deletion --------------------------------------------------------------------

def _index_or_slice(key):
    """A constant slice, or an int index, or Unsupported."""
    value = key.specialized()  # symbolic ints and slices with symbolic bounds are specialised
    if type(value) is slice:
        return value
    if value is not NOT_CONSTANT and not hasattr(type(value), "__index__"):
        return raise_error(TypeError, "list indices must be integers or slices, "
                           f"not {type(value).__name__}")
    return int_argument(key, "list index")


@registry.method(list, "__setitem__", 2)
def _setitem(state, lst, args, kwargs):
    out = store_list_item(state, lst, *args)
    return out if is_stop(out) else (out, NONE)


@registry.method(list, "__delitem__", 1)
def _delitem(state, lst, args, kwargs):
    out = delete_list_item(state, lst, *args)
    return out if is_stop(out) else (out, NONE)


def store_list_item(state, lst, key, value):
    """`lst[key] = value`: the next State, or Unsupported."""
    index = _index_or_slice(key)
    if type(index) is slice:
        out = items_of(state, value)
        if type(out) is not tuple:
            return out
        state, extra = out
        items = heap.current(state, lst).items
        positions = list(range(len(items)))
        try:
            positions[index] = range(len(items), len(items) + len(extra))
        except ValueError as exc:  # extended slice of another size
            return raised(exc)
        pool = items + extra
        return _changed(state, lst, (pool[position] for position in positions), "list.__setitem__")[0]
    if type(index) is not int:
        return index
    items = list(heap.current(state, lst).items)
    try:
        items[index] = value
    except IndexError:
        return raise_error(IndexError, "list assignment index out of range")
    return _changed(state, lst, items, "list.__setitem__")[0]


def delete_list_item(state, lst, key):
    """`del lst[key]`: the next State, or Unsupported."""
    index = _index_or_slice(key)
    if type(index) is not int and type(index) is not slice:
        return index
    items = list(heap.current(state, lst).items)
    try:
        del items[index]
    except IndexError:
        return raise_error(IndexError, "list assignment index out of range")
    return _changed(state, lst, items, "list.__delitem__")[0]
