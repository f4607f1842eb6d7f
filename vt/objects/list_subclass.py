"""Objects of Python subclasses of `list`: attributes as any object, plus a list part.

`class Batch(list): def __init__(self, items): super().__init__(items); self.tag = 1`
makes an object with two parts: its attributes (as any object of a Python class,
UserDefinedObjectVariable) and its list part, `items`.  The C methods of list the
object inherits (`append`, `__getitem__`, `__iter__`, `__init__` reached through
`super()`, `==`, `+`...) are bound rules over the list part; each runs the rule of
the plain list method (vt/data/list_methods.py) on a list handle naming the same
heap record, so a list subclass changes exactly as a list does.  Dunders the class
writes in Python win, as always (vt/objects/object_protocol.py).

For an object that existed before the call the list part is read from the real
list on first use (its length guarded, each item wrapped through `obj[i]`), and a
change to it is replayed with `list.__setitem__(obj, slice(None), [...])`; an
object the trace made leaves it as `cls.__new__(cls)` + `list.extend` + its
attributes.
"""
from __future__ import annotations

import attrs

from core.guards import SequenceMatch
from core.outcomes import BreakKind, raise_error, unsupported
from core.sources import ItemSource
from effects import heap
from vt import registry
from vt.data.constant import ConstantVariable
from vt.data.equality import compare, contains_in, equal
from vt.data.iterators import items_of
from vt.data.lists import ListVariable, TupleVariable, new_list, subscript_sequence
from vt.iteration import ListIteratorVariable, ReversedListIteratorVariable, new_iterator
from vt.objects.object_attributes import python_method
from vt.objects.object_protocol import run_init
from vt.objects.user_objects import UserDefinedObjectVariable
from vt.registry import wrap_value

NOT_IMPLEMENTED = ConstantVariable(NotImplemented)
NONE = ConstantVariable(None)


@attrs.frozen(slots=True)
class ListSubclassObjectVariable(UserDefinedObjectVariable):
    """An object of a list subclass: attributes as any object, plus its list part."""

    items: object = attrs.field(default=None, eq=False)  # (VT, ...), or None: the real list, not read yet
    list_changed: bool = attrs.field(default=False, eq=False)

    def describe(self) -> str:
        return f"{self.cls.__name__} object (a list)"

    def with_items(self, items) -> "ListSubclassObjectVariable":
        """The list rules' way of changing a list: the list part, marked for replay."""
        return attrs.evolve(self, items=tuple(items), list_changed=True)


def is_list_subclass(cls) -> bool:
    return isinstance(cls, type) and issubclass(cls, list) and cls is not list and cls.__new__ is list.__new__


def list_part(state, vt):
    """(state, items) of the object's list part, read from the real list (guarded) on first use."""
    record = heap.current(state, vt)
    if record.items is not None:
        return state, record.items
    cls, real = record.cls, record.value
    if python_method(cls, "__len__") is not None or python_method(cls, "__getitem__") is not None:
        return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{record.source.expr()} is a {cls.__name__} with its own "
                           "__len__ or __getitem__, whose list part is not read yet")
    state = state.add_guard(SequenceMatch(record.source, cls, list.__len__(real)))
    items = []
    for position in range(list.__len__(real)):
        out = wrap_value(state, list.__getitem__(real, position), ItemSource(record.source, position))
        if type(out) is not tuple:
            return out
        state, item = out
        items.append(item)
    record = attrs.evolve(heap.current(state, vt), items=tuple(items))
    return heap.update_object(state, record), record.items


def _with_items(rule):
    """rule(state, vt, items, args, kwargs) with the list part read first."""
    def call(state, receiver, args, kwargs):
        if not isinstance(receiver, ListSubclassObjectVariable):
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"a list method on {receiver.describe()} is not traced")
        out = list_part(state, receiver)
        if type(out) is not tuple:
            return out
        state, items = out
        return rule(state, receiver, items, list(args), dict(kwargs))
    return call


def _handle(vt) -> ListVariable:
    """A list handle on the object's heap record: the rules of plain lists read and change its
    list part through it (`heap.current(...).items`, `.with_items(...)`)."""
    return ListVariable(vt.oid, (), vt.source)


def _table_rule(name):
    """The bound rule of `list.<name>`: the plain list's rule, arguments checked as its table says
    (the row is read when called: vt/data/list_methods.py may register it after this module loads)."""

    @_with_items
    def rule(state, vt, items, args, kwargs):
        row = registry.method_row(list, name)
        if not row.min_args <= len(args) <= row.max_args:
            return raise_error(TypeError, f"list.{name}() takes {row.min_args} to {row.max_args} positional "
                               f"arguments ({len(args)} given)")
        unknown = [key for key in kwargs if key not in row.keywords]
        if unknown:
            return raise_error(TypeError, f"list.{name}() got an unexpected keyword argument {unknown[0]!r}")
        return row.rule(state, _handle(vt), args, kwargs)
    return rule


@_with_items
def _getitem(state, vt, items, args, kwargs):
    return subscript_sequence(state, _handle(vt), args[0])  # a slice is a plain list, as CPython makes it


@_with_items
def _len(state, vt, items, args, kwargs):
    return state, ConstantVariable(len(items))


@_with_items
def _iter(state, vt, items, args, kwargs):
    return new_iterator(state, lambda oid: ListIteratorVariable(oid, vt.oid, 0))


@_with_items
def _reversed(state, vt, items, args, kwargs):
    return new_iterator(state, lambda oid: ReversedListIteratorVariable(oid, vt.oid, len(items) - 1))


@_with_items
def _contains(state, vt, items, args, kwargs):
    return contains_in(state, items, args[0])


@_with_items
def _init(state, vt, items, args, kwargs):
    """list.__init__(self, iterable=()): the list part becomes list(iterable) (cleared first)."""
    if kwargs:
        return raise_error(TypeError, "list() takes no keyword arguments")
    if len(args) > 1:
        return raise_error(TypeError, f"list expected at most 1 argument, got {len(args)}")
    new_items = ()
    if args:
        out = items_of(state, args[0])
        if type(out) is not tuple:
            return out
        state, new_items = out
    return heap.mutate(state, heap.current(state, vt).with_items(new_items), "list.__init__"), NONE


def _list_items(state, value):
    """(state, items) when `value` is a list (or a list subclass's object), else None."""
    if isinstance(value, ListSubclassObjectVariable):
        return list_part(state, value)
    if isinstance(value, ListVariable):
        return state, heap.current(state, value).items
    return None


def _comparison(symbol):
    @_with_items
    def rule(state, vt, items, args, kwargs):
        out = _list_items(state, args[0])
        if out is None:
            return state, NOT_IMPLEMENTED
        if type(out) is not tuple:
            return out
        state, others = out
        if symbol in ("==", "!=") and len(items) != len(others):
            return state, ConstantVariable(symbol == "!=")
        if symbol in ("==", "!="):
            for x, y in zip(items, others):
                same = equal(state, x, y)
                if type(same) is not bool:
                    return same
                if not same:
                    return state, ConstantVariable(symbol == "!=")
            return state, ConstantVariable(symbol == "==")
        result = compare(state, symbol, TupleVariable(items), TupleVariable(others))
        return result if type(result) is not bool else (state, ConstantVariable(result))
    return rule


@_with_items
def _add(state, vt, items, args, kwargs):
    out = _list_items(state, args[0])
    if out is None:
        return raise_error(TypeError, f'can only concatenate list (not "{args[0].type_name()}") to list')
    if type(out) is not tuple:
        return out
    state, others = out
    return new_list(state, items + others)


@_with_items
def _iadd(state, vt, items, args, kwargs):
    out = items_of(state, args[0])
    if type(out) is not tuple:
        return out
    state, extra = out
    return heap.mutate(state, heap.current(state, vt).with_items(items + extra), "list +="), vt


def _repeat(in_place: bool):
    @_with_items
    def rule(state, vt, items, args, kwargs):
        count = args[0].constant_value() if isinstance(args[0], ConstantVariable) else None
        if type(count) not in (int, bool):
            return state, NOT_IMPLEMENTED
        repeated = items * count
        if in_place:
            return heap.mutate(state, heap.current(state, vt).with_items(repeated), "list *="), vt
        return new_list(state, repeated)
    return rule


_TABLE = ("append", "extend", "insert", "pop", "remove", "clear", "reverse", "sort", "copy", "index", "count",
          "__setitem__", "__delitem__")
_DUNDERS = {"__eq__": "==", "__ne__": "!=", "__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">="}
LIST_BOUND_RULES = {
    **{getattr(list, name): _table_rule(name) for name in _TABLE},
    **{getattr(list, name): _comparison(symbol) for name, symbol in _DUNDERS.items()},
    list.__getitem__: _getitem, list.__len__: _len, list.__iter__: _iter, list.__reversed__: _reversed,
    list.__contains__: _contains, list.__init__: _init, list.__add__: _add, list.__iadd__: _iadd,
    list.__mul__: _repeat(False), list.__rmul__: _repeat(False), list.__imul__: _repeat(True),
}
registry.register_bound_rules(LIST_BOUND_RULES)


def wrap_list_subclass_object(state, value, source):
    return heap.existing_object(state, value, lambda state, oid: (state, ListSubclassObjectVariable(
        oid, type(value), value, source)))


def create_list_subclass_object(state, cls_vt, args, kwargs):
    """`Cls(...)` for a list subclass: an empty list part (list.__new__), then `__init__`."""
    cls = cls_vt.cls
    if cls_vt.source is None:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{cls_vt.describe()} was reached without a source")
    state, obj = heap.allocate(state, lambda oid: ListSubclassObjectVariable(oid, cls, None, None, (), cls_vt.source,
                                                                            ()))
    if cls.__init__ is list.__init__:
        out = _init(state, obj, list(args), dict(kwargs))
        return out if type(out) is not tuple else (out[0], obj)
    return run_init(state, cls_vt, obj, args, kwargs)
