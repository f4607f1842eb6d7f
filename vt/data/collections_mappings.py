"""`collections.OrderedDict` and `collections.defaultdict`: dicts with a little more behaviour.

Both are dicts in the heap like `DictVariable` (same entries, same rules for every
method of dict, same replay for a changed input), and only what differs is here:

* an OrderedDict has `move_to_end` and `popitem(last=)`, and two OrderedDicts are
  equal only when their keys come in the same order (after the values compared
  equal, as CPython compares them); against a plain dict, order does not count;
* a defaultdict holds its `default_factory` (any callable VT, or None): `d[k]` on a
  missing key calls it and stores what it returns, while `get`, `in` and `pop`
  never do;
* both keep their type through `copy()`, `fromkeys`, `|` and `copy.copy`, and leave
  the trace as `OrderedDict({...})` / `defaultdict(factory, {...})`.

Calling the classes (`OrderedDict(pairs)`, `defaultdict(list, a=1)`) is a rule
keyed by the class itself, so `collections.OrderedDict(...)` needs nothing else.
"""
from __future__ import annotations

import collections

import attrs

from core.outcomes import BreakKind, is_stop, raise_error, unsupported
from effects import heap
from vt import registry
from vt.data.constant import ConstantVariable
from vt.data.container_methods import container_attribute, container_load_method, has_method
from vt.data.container_ops import container_operation
from vt.data.dict_methods import update_pairs
from vt.data.dicts import DictVariable, DictViewVariable, key_vt
from vt.data.equality import equal, hashable_key
from vt.data.object_keys import needs_python_eq
from vt.data.iterators import items_of
from vt.data.lists import ListVariable, TupleVariable
from vt.data.sets import SetVariable
from vt.folding import call_builtin
from vt.protocol import NOT_CONSTANT

OrderedDict = collections.OrderedDict
defaultdict = collections.defaultdict
NONE = ConstantVariable(None)


class _DictKind:
    """What OrderedDictVariable and DefaultDictVariable share on top of DictVariable: their own
    method table first (then dict's), and (through DictVariable.with_entries) entries changed without losing the kind."""

    python_type = dict

    def runtime_type(self):
        return self.python_type

    def type_name(self) -> str:
        return self.python_type.__name__

    def _owner(self, name):
        return self.python_type if has_method(self.python_type, name) else dict

    def getattr(self, state, name):
        return container_attribute(state, self, self._owner(name), name)

    def load_method(self, state, name):
        return container_load_method(state, self, self._owner(name), name)


@attrs.frozen(slots=True)
class OrderedDictVariable(_DictKind, DictVariable):
    """A handle on an OrderedDict in the heap."""

    python_type = OrderedDict

    def describe(self) -> str:
        return "OrderedDict(" + DictVariable.describe(self) + ")"

    def getattr(self, state, name):
        return self._own_attribute(state, name) or super().getattr(state, name)

    def load_method(self, state, name):
        return self._own_attribute(state, name) or super().load_method(state, name)

    def _own_attribute(self, state, name):
        """An OrderedDict has a `__dict__` (a dict has none).  Writing an attribute breaks, so one made in
        the call has none; one passed in (or made again at such a break) may: read for real."""
        if not has_method(OrderedDict, name) and not has_method(dict, name) and \
                (name == "__dict__" or heap.current(state, self).source is not None):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"attribute {name!r} of an OrderedDict that existed "
                               "before the call (its own __dict__) is not modelled")
        return None

    def as_python(self, state):
        plain = DictVariable.as_python(self, state)
        return plain if plain is NOT_CONSTANT else OrderedDict(plain)

    def rebuild(self, emitter):
        return emitter.heap_object(self, lambda current: emitter.make_object(
            OrderedDict, [lambda: emitter.build_dict(current.entries)]))

    def known_equality(self, state, other):
        """Between two OrderedDicts: dict equality, then the same key order (CPython's order of
        checks, so a value comparison that cannot be answered still stops the trace)."""
        if not isinstance(other, OrderedDictVariable):
            return None
        mine, theirs = heap.current(state, self).entries, heap.current(state, other).entries
        if needs_python_eq([key for key, _ in mine + theirs]):
            return None  # dict equality refuses keys compared by a Python __eq__
        if [key for key, _ in mine] == [key for key, _ in theirs]:
            return None  # dict equality decides
        if len(mine) != len(theirs):
            return False
        others = dict(theirs)
        for key, value in mine:
            if key not in others:
                return False
            same = equal(state, value, others[key])
            if same is not True:
                return same
        return False  # equal as dicts, in another order


@attrs.frozen(slots=True)
class DefaultDictVariable(_DictKind, DictVariable):
    """A handle on a defaultdict in the heap; `factory` is its default_factory (a VT)."""

    factory: object = attrs.field(default=NONE, eq=False)

    python_type = defaultdict

    def describe(self) -> str:
        return f"defaultdict({self.factory.describe()}, " + DictVariable.describe(self) + ")"

    def as_python(self, state):
        return NOT_CONSTANT  # the factory is a callable, not plain data

    def references(self, state):
        current = heap.current(state, self)
        return [current.factory, *DictVariable.references(self, state)]

    def rebuild(self, emitter):
        return emitter.heap_object(self, lambda current: emitter.make_object(
            defaultdict, [lambda: emitter.emit(current.factory), lambda: emitter.build_dict(current.entries)]))

    def getattr(self, state, name):
        if name == "default_factory":
            return state, heap.current(state, self).factory
        return super().getattr(state, name)

    def getitem(self, state, index):
        """`d[key]`: a missing key calls the factory (`__missing__`) and stores its result."""
        out = self.key(state, index)  # objects too, through their own __hash__ / __eq__
        if type(out) is not tuple:
            return out
        state, key = out
        current = heap.current(state, self)
        entries = dict(current.entries)
        if key in entries:
            return state, entries[key]
        return missing(state, self, key)


def missing(state, mapping, key):
    """defaultdict.__missing__(key): `self[key] = value = self.default_factory()`."""
    factory = heap.current(state, mapping).factory
    if factory.constant_value() is None:
        return raise_error(KeyError, key)
    out = factory.call(state, [], {})
    if type(out) is not tuple:
        return out
    state, value = out
    current = heap.current(state, mapping)  # the factory may have changed the dict itself
    entries = dict(current.entries)
    entries[key] = value
    return heap.mutate(state, current.with_entries(entries.items()), "defaultdict.__missing__"), value


# -- making them ---------------------------------------------------------------------------------

def mapping_pairs(state, args, kwargs, what: str):
    """The (key, VT) pairs `dict(*args, **kwargs)` would hold, in order: (state, pairs) or a stop."""
    if len(args) > 1:
        return raise_error(TypeError, f"{what} expected at most 1 arguments, got {len(args)}")
    entries = {}
    if args:
        if args[0].dunder_dispatch:  # a mapping of a Python class is read by its keys() and [], not modelled
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"{what} of {args[0].describe()} is not modelled",
                               "pass a dict or a list of pairs")
        out = update_pairs(state, args[0])
        if type(out) is not tuple:
            return out
        state, pairs = out
        entries.update(pairs)
    entries.update(kwargs)
    return state, tuple(entries.items())


def new_ordered_dict(state, entries):
    return heap.allocate(state, lambda oid: OrderedDictVariable(oid, tuple(entries)))


def new_default_dict(state, factory, entries):
    return heap.allocate(state, lambda oid: DefaultDictVariable(oid, tuple(entries), None, factory=factory))


def made_like(state, mapping, entries):
    """A new dict of the same kind as `mapping` (and the same factory), holding `entries`."""
    if isinstance(mapping, DefaultDictVariable):
        return new_default_dict(state, heap.current(state, mapping).factory, entries)
    if isinstance(mapping, OrderedDictVariable):
        return new_ordered_dict(state, entries)
    return heap.allocate(state, lambda oid: DictVariable(oid, tuple(entries)))


@registry.builtin_rule(OrderedDict)
def _ordered_dict(state, args, kwargs):
    out = mapping_pairs(state, list(args), dict(kwargs), "OrderedDict")
    return out if type(out) is not tuple else new_ordered_dict(*out)


def _is_callable(state, value):
    """callable(value) as the `callable` builtin answers it: True, False, or a stop."""
    out = call_builtin(state, callable, [value], {})
    if type(out) is not tuple:
        return out
    known = out[1].constant_value()
    if type(known) is not bool:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"whether {value.describe()} is callable is not known")
    return known


@registry.builtin_rule(defaultdict)
def _default_dict(state, args, kwargs):
    """defaultdict(default_factory=None, /, *dict_args, **dict_kwargs)."""
    factory = args[0] if args else NONE
    if factory.constant_value() is not None:
        known = _is_callable(state, factory)
        if type(known) is not bool:
            return known
        if not known:
            return raise_error(TypeError, "first argument must be callable or None")
    out = mapping_pairs(state, list(args[1:]), dict(kwargs), "defaultdict")
    return out if type(out) is not tuple else new_default_dict(out[0], factory, out[1])


# -- methods -------------------------------------------------------------------------------------

def _entries(state, mapping) -> dict:
    return dict(heap.current(state, mapping).entries)


def _changed(state, mapping, entries: dict, what: str, result=NONE):
    return heap.mutate(state, heap.current(state, mapping).with_entries(entries.items()), what), result


def _last(kwargs, args, position):
    value = kwargs.get("last", args[position] if len(args) > position else ConstantVariable(True))
    truth = value.truth(None)
    if truth is NOT_CONSTANT:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"last={value.describe()} is not known while tracing")
    return truth


@registry.method(OrderedDict, "move_to_end", 1, 2, keywords=("last",))
def _move_to_end(state, mapping, args, kwargs):
    key = hashable_key(args[0])
    if is_stop(key):
        return key
    last = _last(kwargs, args, 1)
    if type(last) is not bool:
        return last
    entries = _entries(state, mapping)
    if key not in entries:
        return raise_error(KeyError, key)
    value = entries.pop(key)
    moved = {key: value, **entries} if not last else {**entries, key: value}
    return _changed(state, mapping, moved, "OrderedDict.move_to_end")


@registry.method(OrderedDict, "popitem", 0, 1, keywords=("last",))
def _popitem(state, mapping, args, kwargs):
    last = _last(kwargs, args, 0)
    if type(last) is not bool:
        return last
    entries = _entries(state, mapping)
    if not entries:
        return raise_error(KeyError, "dictionary is empty")
    key = next(reversed(entries)) if last else next(iter(entries))
    value = entries.pop(key)
    return _changed(state, mapping, entries, "OrderedDict.popitem", TupleVariable((key_vt(key), value)))


def _copy(state, mapping, args, kwargs):
    return made_like(state, mapping, heap.current(state, mapping).entries)


def _fromkeys(python_type):
    def rule(state, receiver, args, kwargs):
        if "value" in kwargs and len(args) > 1:
            return raise_error(TypeError, "OrderedDict.fromkeys() got multiple values for argument 'value'")
        out = items_of(state, args[0])
        if type(out) is not tuple:
            return out
        state, items = out
        value = args[1] if len(args) > 1 else kwargs.get("value", NONE)
        entries = {}
        for item in items:
            key = hashable_key(item)
            if is_stop(key):
                return key
            entries[key] = value
        if python_type is OrderedDict:
            return new_ordered_dict(state, tuple(entries.items()))
        return new_default_dict(state, NONE, tuple(entries.items()))
    return rule


for _type in (OrderedDict, defaultdict):
    registry.method(_type, "copy", 0)(_copy)
    registry.method(_type, "fromkeys", 1, 2, keywords=("value",) if _type is OrderedDict else (),
                    is_classmethod=True)(_fromkeys(_type))


@registry.method(OrderedDict, "setdefault", 0, 2, keywords=("key", "default"))
def _ordered_setdefault(state, mapping, args, kwargs):
    """OrderedDict.setdefault(key, default=None): both may be given by keyword (dict's may not)."""
    bound = dict(zip(("key", "default"), args))
    for name, value in kwargs.items():
        if name in bound:
            return raise_error(TypeError, f"OrderedDict.setdefault() got multiple values for argument {name!r}")
        bound[name] = value
    if "key" not in bound:
        return raise_error(TypeError, "OrderedDict.setdefault() missing required argument 'key' (pos 1)")
    return registry.method_row(dict, "setdefault").rule(state, mapping, [bound["key"], bound.get("default", NONE)],
                                                        {})
registry.container_type(OrderedDict, OrderedDictVariable)
registry.container_type(defaultdict, DefaultDictVariable)


# -- operators -----------------------------------------------------------------------------------

def _mapping_operation(state, fn, a, b, symbol, plain):
    """`a | b` with an OrderedDict or defaultdict on a side: the entries of a then b, in a new mapping
    of the kind whose `__or__` / `__ror__` answers (the right one only when the left is a plain dict,
    of which it is a subclass); everything else as for dicts."""
    if symbol == "|" and isinstance(a, DictVariable) and isinstance(b, DictVariable):
        winner = b if type(a) is DictVariable else a
        entries = _entries(state, a)
        entries.update(_entries(state, b))
        return made_like(state, winner, tuple(entries.items()))
    return container_operation(state, fn, a, b, symbol, plain)


def _register_operations():
    others = (DictVariable, ListVariable, TupleVariable, SetVariable, DictViewVariable, ConstantVariable)
    for kind in (OrderedDictVariable, DefaultDictVariable):
        for other in others:
            registry.add_binary_rule(kind, other, _mapping_operation)
            if other is not DictVariable:
                continue
            registry.add_binary_rule(other, kind, _mapping_operation)


_register_operations()



# -- dict's dunders called by name (`d.__setitem__(k, v)`, `key=d.__getitem__`) --------------------------

def _by_protocol(operation):
    """A dict dunder as the VT's own operation, so a defaultdict's `__getitem__` still calls its factory."""
    def rule(state, mapping, args, kwargs):
        return operation(state, mapping, *args)
    return rule


def _stored(state, mapping, key, value):
    out = mapping.store_item(state, key, value)
    return out if is_stop(out) else (out, NONE)


def _deleted(state, mapping, key):
    out = mapping.delete_item(state, key)
    return out if is_stop(out) else (out, NONE)


def _length(state, mapping):
    return state, ConstantVariable(len(heap.current(state, mapping).entries))


for _name, _arity, _operation in (
        ("__getitem__", 1, lambda state, mapping, key: mapping.getitem(state, key)),
        ("__setitem__", 2, _stored), ("__delitem__", 1, _deleted),
        ("__contains__", 1, lambda state, mapping, key: mapping.contains(state, key)),
        ("__len__", 0, _length), ("__iter__", 0, lambda state, mapping: mapping.iterate(state))):
    registry.method(dict, _name, _arity)(_by_protocol(_operation))
