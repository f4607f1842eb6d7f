"""Tuples and lists.

Tuples are plain immutable records.  A list is mutable, so its VT is a handle:
`oid` names the object in `State.heap`, where the current items live; any copy
of the handle on the stack or in a local reads through `heap.current(state, ...)`,
which is what makes aliasing (two names, one list) come out right.

Methods (`lst.append`, `t.index`) are rule tables in vt/data/list_methods.py,
registered in the registry and reached through `getattr` / `load_method`.
"""
from __future__ import annotations

import attrs
import torch

from effects import heap
from vt import registry
from vt.data.container_methods import container_attribute, container_load_method, has_method
from vt.data.equality import contains_in
from vt.iteration import ListIteratorVariable, iterate_items, new_iterator
from vt.protocol import NOT_CONSTANT, VariableTracker, reaches_itself
from vt.data.constant import ConstantVariable, is_constant_value
from core.outcomes import BreakKind, unsupported, raise_error


@attrs.frozen(slots=True)
class TupleVariable(VariableTracker):
    """A tuple whose items are VTs; `python_type` is set for named tuples and struct sequences."""

    items: tuple
    python_type: object = None
    fields: object = None
    source: object = attrs.field(default=None, eq=False)  # a tuple passed in: the caller's own object
    tag: object = attrs.field(default=None, eq=False)  # a tuple the program built: one object, however used

    def getitem(self, state, index):
        return subscript_sequence(state, self, index)

    def comparison_kind(self):
        return "tuple"

    def identity(self):
        return None if self.tag is None else ("tuple", self.tag)

    def runtime_type(self):
        return self.python_type or tuple

    def as_python(self, state):
        if self.python_type is not None and self.python_type is not torch.Size:
            return NOT_CONSTANT
        items = tuple(item.as_python(state) for item in self.items)
        if any(item is NOT_CONSTANT for item in items):
            return NOT_CONSTANT
        return items if self.python_type is None else torch.Size(items)  # symbolic sizes, specialised

    def references(self, state):
        return self.items

    def rebuild(self, emitter):
        if self.source is not None:
            emitter.load_source(self.source)
            return None
        return emitter.build_tuple(self.items, self.python_type, self.tag)

    def type_name(self) -> str:
        return (self.python_type or tuple).__name__

    def describe(self) -> str:
        return f"({', '.join(item.describe() for item in self.items)})"

    def constant_value(self):
        if self.python_type is not None:
            return NOT_CONSTANT
        values = tuple(item.constant_value() for item in self.items)
        return NOT_CONSTANT if any(v is NOT_CONSTANT for v in values) else values

    def truth(self, state):
        return bool(self.items)

    def unpack(self, state, count):
        if count is None or count == len(self.items):
            return self.items
        return None

    def iterate(self, state):
        return iterate_items(state, self.items)

    def getattr(self, state, name):
        if self.fields and name in self.fields:
            return state, self.items[self.fields.index(name)]
        if has_method(tuple, name):
            return container_attribute(state, self, tuple, name)
        return super().getattr(state, name)

    def load_method(self, state, name):
        if has_method(tuple, name) and not (self.fields and name in self.fields):
            return container_load_method(state, self, tuple, name)
        return super().load_method(state, name)

    def contains(self, state, item):
        return contains_in(state, self.items, item)


@attrs.frozen(slots=True)
class ListVariable(VariableTracker):
    """A handle on a list in the heap; `items` is the contents when this copy was made."""

    oid: int
    items: tuple = attrs.field(eq=False)
    source: object = attrs.field(default=None, eq=False)  # set when the list existed before the call


    def getitem(self, state, index):
        return subscript_sequence(state, self, index)

    def comparison_kind(self):
        return "list"

    def runtime_type(self):
        return list

    def as_python(self, state):
        if reaches_itself(state, self):
            return NOT_CONSTANT
        items = [item.as_python(state) for item in heap.current(state, self).items]
        return NOT_CONSTANT if any(item is NOT_CONSTANT for item in items) else items

    def references(self, state):
        return heap.current(state, self).items

    def rebuild(self, emitter):
        return emitter.heap_object(self, lambda current: emitter.build_list(current.items),
                                   ("BUILD_LIST", "LIST_EXTEND"))

    def replay_changes(self, emitter):
        return emitter.set_list_contents(self.source, self.items)

    def type_name(self) -> str:
        return "list"

    def describe(self) -> str:
        return f"[{', '.join(item.describe() for item in self.items)}]"

    def truth(self, state):
        return bool(heap.current(state, self).items)

    def unpack(self, state, count):
        items = heap.current(state, self).items
        if count is None or count == len(items):
            return items
        return None

    def iterate(self, state):
        return new_iterator(state, lambda oid: ListIteratorVariable(oid, self.oid, 0))

    def with_items(self, items: tuple) -> "ListVariable":
        return ListVariable(self.oid, tuple(items), self.source)

    def getattr(self, state, name):
        return container_attribute(state, self, list, name)

    def load_method(self, state, name):
        return container_load_method(state, self, list, name)

    def contains(self, state, item):
        return contains_in(state, heap.current(state, self).items, item)

    def store_item(self, state, key, value):
        """STORE_SUBSCR `lst[key] = value`, for an int index or any slice: `list.__setitem__`'s rule."""
        out = registry.method_row(list, "__setitem__").rule(state, self, [key, value], {})
        return out[0] if type(out) is tuple else out

    def delete_item(self, state, key):
        """DELETE_SUBSCR `del lst[key]`, for an int index or any slice: `list.__delitem__`'s rule."""
        out = registry.method_row(list, "__delitem__").rule(state, self, [key], {})
        return out[0] if type(out) is tuple else out


def made_tuple(state, items: tuple):
    """(state, TupleVariable) for a tuple the program builds (BUILD_TUPLE, `tuple(...)`): tagged, so
    every reference to it is one object when it leaves the trace, and `is` is known."""
    tag = state.next_oid
    return attrs.evolve(state, next_oid=tag + 1), TupleVariable(tuple(items), tag=tag)


def new_list(state, items: tuple):
    """Allocate a list created by the traced code; returns (state, ListVariable)."""
    return heap.allocate(state, lambda oid: ListVariable(oid, tuple(items)))


def as_items(state, value):
    """The items of a tuple, list or constant sequence VT, or None."""
    return value.unpack(state, None)


def subscript_sequence(state, container, index):
    """container[index] for tuples and lists with a constant int or slice index."""
    items = container.unpack(state, None)
    key = index.specialized()
    if items is None or key is NOT_CONSTANT:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"indexing a {container.type_name()} with {index.describe()} is not modelled")
    if type(key) is slice:
        picked = items[key]
        if isinstance(container, ListVariable):
            return new_list(state, picked)
        return state, TupleVariable(picked, torch.Size if container.runtime_type() is torch.Size else None)
    if not isinstance(key, int):
        return raise_error(TypeError,
                           f"{container.type_name()} indices must be integers or slices, not {type(key).__name__}")
    if not -len(items) <= key < len(items):
        return raise_error(IndexError, f"{container.type_name()} index out of range")
    return state, items[key]


def to_constant_tuple_vt(value) -> TupleVariable:
    return TupleVariable(tuple(ConstantVariable(item) for item in value))


registry.container_type(list, ListVariable)
registry.container_type(tuple, TupleVariable)


@registry.from_python_rule(tuple)
def _tuple_from_python(state, value):
    if is_constant_value(value):
        return state, ConstantVariable(value)
    out = registry.from_python_items(state, value)
    return None if out is None else (out[0], TupleVariable(tuple(out[1])))


@registry.from_python_rule(list)
def _list_from_python(state, value):
    out = registry.from_python_items(state, value)
    return None if out is None else new_list(*out)
