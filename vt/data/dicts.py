"""Dicts keyed by constants, their views, and iterators over them.

Like lists, a dict VT is a handle on the heap (`oid`); `entries` holds
(key, VT) pairs in insertion order, the order Python iterates in.  Keys are
the real constants; every change goes through a real `dict` rebuilt from the
entries (`dict(entries)` keeps the order, and deleting never reorders), so
rules such as `1` and `True` being one key come out as in CPython.

`d.keys()`, `d.values()` and `d.items()` are views: small records that name
the dict and read its *current* entries whenever they are used, so a view
taken before a change sees the change, as in CPython.
"""
from __future__ import annotations

import collections
import operator

import attrs

from effects import heap
from vt import registry
from vt.data.constant import ConstantVariable
from vt.data.container_methods import container_attribute, container_load_method
from vt.data.equality import container_key, contains_in, equal
from vt.data.object_keys import is_object_key, key_value, key_vt
from vt.iteration import IteratorVariable, new_iterator
from core.outcomes import raise_error, raised
from vt.data.lists import TupleVariable
from vt.protocol import NOT_CONSTANT, VariableTracker, reaches_itself

_first = operator.itemgetter(0)  # the key of an (key, VT) entry


@attrs.frozen(slots=True)
class DictVariable(VariableTracker):
    """A handle on a dict in the heap; `entries` is its contents when this copy was made."""

    oid: int
    entries: tuple = attrs.field(eq=False)
    source: object = attrs.field(default=None, eq=False)  # set when the dict existed before the call
    # Where each entry sits in CPython's entry table (None: 0, 1, 2, ...): a deleted key leaves a
    # hole and a key added later goes after every slot used so far, which is how an iterator sees
    # that a key was deleted and added back (DictIteratorVariable).
    slots: tuple = attrs.field(default=None, eq=False)
    next_slot: int = attrs.field(default=None, eq=False)  # the slot a new key takes (None: len(entries))


    def getitem(self, state, index):
        out = self.key(state, index)
        if type(out) is not tuple:
            return out
        return self.lookup(*out)

    def key(self, state, value):
        """(state, the real key `value` is in this dict), or the stop (vt/data/object_keys.py)."""
        return container_key(state, value, list(map(_first, heap.current(state, self).entries)), key_vt)

    def comparison_kind(self):
        return "dict"

    def runtime_type(self):
        return dict

    def dict_items(self, state):
        return state, tuple(heap.current(state, self).entries)

    def as_python(self, state):
        if reaches_itself(state, self):
            return NOT_CONSTANT
        entries = [(key, value.as_python(state)) for key, value in heap.current(state, self).entries]
        if any(value is NOT_CONSTANT or is_object_key(key) for key, value in entries):
            return NOT_CONSTANT
        return dict(entries)

    def references(self, state):
        entries = heap.current(state, self).entries
        return [value for _, value in entries] + [key_value(key) for key, _ in entries if is_object_key(key)]

    def rebuild(self, emitter):
        return emitter.heap_object(self, lambda current: emitter.build_dict(current.entries),
                                   ("BUILD_MAP", "DICT_UPDATE"))

    def replay_changes(self, emitter):
        return emitter.refill(self.source, lambda: emitter.build_dict(self.entries))

    def type_name(self) -> str:
        return "dict"

    def describe(self) -> str:
        return "{" + ", ".join(f"{k!r}: {v.describe()}" for k, v in self.entries) + "}"

    def truth(self, state):
        return bool(heap.current(state, self).entries)

    def with_entries(self, entries) -> "DictVariable":
        entries = tuple(entries)
        old = dict(zip(map(_first, self.entries), self.entry_slots()))
        following = len(self.entries) if self.next_slot is None else self.next_slot
        slots = []
        for key, _ in entries:
            if key in old:
                slots.append(old[key])
            else:
                slots.append(following)
                following += 1
        return attrs.evolve(self, entries=entries, slots=tuple(slots), next_slot=following)  # keeps the kind

    def with_value_stored(self, entries: tuple, present: bool) -> "DictVariable":
        """After `d[key] = value` gave `entries`: the same slots when `key` was `present` (it keeps
        its place), else one more slot at the end (`with_entries` for one store, without walking
        the entries: building a dict of N items store by store stays linear)."""
        if present:
            return attrs.evolve(self, entries=entries)
        following = len(self.entries) if self.next_slot is None else self.next_slot
        return attrs.evolve(self, entries=entries, slots=(*self.entry_slots(), following), next_slot=following + 1)

    def cleared(self) -> "DictVariable":
        """After `clear()`: empty, with a new entry table."""
        return attrs.evolve(self, entries=(), slots=None, next_slot=None)

    def entry_slots(self) -> tuple:
        return tuple(range(len(self.entries))) if self.slots is None else self.slots

    def unpack(self, state, count):
        """Iterating a dict gives its keys."""
        entries = heap.current(state, self).entries
        if count is None or count == len(entries):
            return tuple(key_vt(key) for key, _ in entries)
        return None

    def iterate(self, state):
        return iterate_dict(state, self, "keys")

    def lookup(self, state, key):
        """`d[key]` for a real constant key, with dict semantics (`d[True]` finds key 1)."""
        try:
            return state, dict(heap.current(state, self).entries)[key]
        except KeyError:
            return raise_error(KeyError, key)
        except TypeError as exc:
            return raised(exc)

    def getattr(self, state, name):
        return container_attribute(state, self, dict, name)

    def load_method(self, state, name):
        return container_load_method(state, self, dict, name)

    def contains(self, state, item):
        """`item in d`: (state, bool constant), or Unsupported for keys the tracer does not hash."""
        out = self.key(state, item)
        if type(out) is not tuple:
            return out
        state, key = out
        return state, ConstantVariable(key in dict(heap.current(state, self).entries))

    def store_item(self, state, key, value):
        """STORE_SUBSCR `d[key] = value`: the next State, or Unsupported."""
        out = self.key(state, key)
        if type(out) is not tuple:
            return out
        state, real_key = out
        current = heap.current(state, self)
        entries = dict(current.entries)
        present = real_key in entries
        entries[real_key] = value
        return heap.mutate(state, current.with_value_stored(tuple(entries.items()), present), "dict.__setitem__")

    def delete_item(self, state, key):
        """DELETE_SUBSCR `del d[key]`: the next State, or Unsupported."""
        out = self.key(state, key)
        if type(out) is not tuple:
            return out
        state, real_key = out
        current = heap.current(state, self)
        entries = dict(current.entries)
        if real_key not in entries:
            return raise_error(KeyError, real_key)
        del entries[real_key]
        return heap.mutate(state, current.with_entries(entries.items()), "dict.__delitem__")


_VIEW_TYPES = {"keys": type({}.keys()), "values": type({}.values()), "items": type({}.items())}


@attrs.frozen(slots=True)
class DictViewVariable(VariableTracker):
    """`d.keys()`, `d.values()` or `d.items()`: reads the dict's current entries when used."""

    mapping: DictVariable  # a handle on the dict
    kind: str  # "keys", "values" or "items"

    always_true = False

    def runtime_type(self):
        return _VIEW_TYPES[self.kind]

    def comparison_kind(self):
        return {"keys": "set", "values": "other"}.get(self.kind)

    def as_python(self, state):
        """A keys view is plain data (its keys are constants); values and items may hold anything."""
        if self.kind != "keys" or any(is_object_key(key) for key, _ in heap.current(state, self.mapping).entries):
            return NOT_CONSTANT
        return {key: None for key, _ in heap.current(state, self.mapping).entries}.keys()

    def elements(self, state) -> tuple:
        """A keys view's real keys, objects as their keys (vt/data/object_keys.py)."""
        return tuple(key for key, _ in heap.current(state, self.mapping).entries)

    def type_name(self) -> str:
        return _VIEW_TYPES[self.kind].__name__

    def describe(self) -> str:
        return f"{self.type_name()} of a dict"

    def truth(self, state):
        return bool(heap.current(state, self.mapping).entries)

    def unpack(self, state, count):
        items = view_items(state, self.mapping, self.kind)
        if count is None or count == len(items):
            return items
        return None

    def iterate(self, state):
        return iterate_dict(state, self.mapping, self.kind)

    def contains(self, state, item):
        if self.kind == "keys":
            return self.mapping.contains(state, item)
        if self.kind == "values":
            return contains_in(state, view_items(state, self.mapping, "values"), item)
        pair = item.unpack(state, None) if isinstance(item, (TupleVariable, ConstantVariable)) else None
        if pair is None or len(pair) != 2 or (isinstance(item, ConstantVariable) and type(item.constant_value()) is not tuple):
            return state, ConstantVariable(False)  # only a (key, value) pair can be in an items view
        out = self.mapping.contains(state, pair[0])
        if type(out) is not tuple or not out[1].constant_value():
            return out
        value = dict(heap.current(state, self.mapping).entries)[pair[0].constant_value()]
        same = equal(state, value, pair[1])
        return same if type(same) is not bool else (state, ConstantVariable(same))


def view_items(state, mapping, kind: str) -> tuple:
    """What iterating a dict (or one of its views) gives right now, as VTs."""
    entries = heap.current(state, mapping).entries
    if kind == "keys":
        return tuple(key_vt(key) for key, _ in entries)
    if kind == "values":
        return tuple(value for _, value in entries)
    return tuple(TupleVariable((key_vt(key), value)) for key, value in entries)


@attrs.frozen(slots=True)
class DictIteratorVariable(IteratorVariable):
    """Iterator over a dict in the heap, walking its entry table as CPython's dictiter does: it
    reads the dict at every step (values changed meanwhile are seen), a size change is
    "changed size" RuntimeError, and finding an entry after it has given as many items as the
    dict had (a key deleted and added back) is "keys changed"."""

    dict_oid: int = 0
    kind: str = "keys"
    used: int = 0  # the dict's size when iteration began
    position: int = 0  # the next slot of the entry table to look at
    remaining: int = 0  # items still expected
    order: tuple = attrs.field(default=None, eq=False)  # an OrderedDict's keys when iteration began

    def step(self, state):
        current = state.heap[self.dict_oid]
        entries = current.entries
        if self.order is not None and tuple(key for key, _ in entries) != self.order:
            return raise_error(RuntimeError, "OrderedDict mutated during iteration")  # its od_state check
        if len(entries) != self.used:
            return raise_error(RuntimeError, "dictionary changed size during iteration")
        found = next(((slot, entry) for slot, entry in zip(current.entry_slots(), entries)
                      if slot >= self.position), None)
        if found is None:
            return None
        if self.remaining == 0:
            return raise_error(RuntimeError, "dictionary keys changed during iteration")
        slot, (key, value) = found
        if self.kind == "keys":
            item = key_vt(key)
        elif self.kind == "values":
            item = value
        else:
            item = TupleVariable((key_vt(key), value))
        return state, item, attrs.evolve(self, position=slot + 1, remaining=self.remaining - 1)


def iterate_dict(state, mapping, kind: str):
    current = heap.current(state, mapping)
    size = len(current.entries)
    ordered = current.runtime_type() is not dict and issubclass(current.runtime_type(), collections.OrderedDict)
    order = tuple(key for key, _ in current.entries) if ordered else None
    return new_iterator(state, lambda oid: DictIteratorVariable(oid, mapping.oid, kind, size, 0, size, order))


def new_dict_from_entries(state, entries: tuple):
    """Allocate a dict from (constant key, VT) pairs, already free of duplicate keys."""
    return heap.allocate(state, lambda oid: DictVariable(oid, tuple(entries)))


def new_dict(state, keys, values):
    """Allocate a dict built by BUILD_MAP / BUILD_CONST_KEY_MAP; keys must be hashable."""
    entries = {}
    for key, value in zip(keys, values):
        out = container_key(state, key, list(entries), key_vt)
        if type(out) is not tuple:
            return out
        state, real_key = out
        entries[real_key] = value
    return new_dict_from_entries(state, tuple(entries.items()))


registry.container_type(dict, DictVariable)


@registry.from_python_rule(dict)
def _dict_from_python(state, value):
    out = registry.from_python_items(state, value.values())
    return None if out is None else new_dict_from_entries(out[0], tuple(zip(value.keys(), out[1])))
