"""Objects of Python subclasses of dict / OrderedDict (registries, Hugging Face's ModelOutput).

Such an object has two parts: its attributes (as any object of a Python class,
UserDefinedObjectVariable) and its dict part, `entries`: ((constant key, VT), ...)
in insertion order.  For an object that existed before the call, `entries` is
None until the program first touches the dict part; then the real keys are
guarded (KeysMatch) and the values wrapped through their sources.  The C methods
of dict reached from such an object (`super().get(k)`, `dict.__setitem__`,
`self.keys()`, `obj[k]` with no Python `__getitem__`) are rules over `entries`,
dispatched through GetAttrVariable.  Changes to a pre-existing object's dict part
are replayed with `dict.clear` + `dict.update` after the graph runs.
"""
from __future__ import annotations

import collections

import attrs

from core.guards import KeysMatch
from core.sources import DictItemSource
from effects import heap
from vt import registry
from vt.data.constant import ConstantVariable, is_constant_value
from core.outcomes import BreakKind, Thrown, Unsupported, is_stop, raise_error, unsupported
from core.sources import AttrSource
from vt.data.dict_methods import update_pairs
from vt.data.dicts import DictVariable, key_vt
from vt.data.container_methods import ContainerMethodVariable, has_method
from vt.data.equality import equal, hashable_key
from vt.data.lists import TupleVariable, new_list
from vt.registry import wrap_value
from vt.objects.object_attributes import call_python, class_source_of, lookup, python_method
from vt.objects.object_protocol import run_init
from vt.protocol import MISSING
from vt.objects.user_objects import UserDefinedObjectVariable


_ORDERED = collections.OrderedDict


@attrs.frozen(slots=True)
class DictSubclassObjectVariable(UserDefinedObjectVariable):
    """An object of a dict subclass: attributes as any object, plus its dict part."""

    entries: object = attrs.field(default=None, eq=False)  # ((key, VT), ...) or None: the real dict, unread
    dict_changed: bool = attrs.field(default=False, eq=False)

    def describe(self) -> str:
        return f"{self.cls.__name__} object (a dict)"

    def dict_items(self, state):
        if self.cls.__iter__ is not dict.__iter__:  # OrderedDict, or a Python __iter__: the mapping protocol
            return None
        out = entries_of(state, self)
        return out if type(out) is not tuple else (out[0], tuple(out[1]))


def is_dict_subclass(cls) -> bool:
    return issubclass(cls, dict) and cls.__new__ in (dict.__new__, collections.OrderedDict.__new__)


def entries_of(state, vt):
    """(state, entries) of the object's dict part, read from the real dict (guarded) on first use."""
    record = heap.current(state, vt)
    if record.entries is not None:
        return state, record.entries
    real = record.value
    try:  # in the order it iterates in
        keys = tuple(_ORDERED.keys(real) if isinstance(real, _ORDERED) else dict.keys(real))
    except (KeyError, RuntimeError):  # an OrderedDict whose order list and storage disagree
        return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{record.source.expr()} is an OrderedDict whose order "
                           "list and storage disagree (changed through dict's methods)")
    if isinstance(real, _ORDERED) and len(keys) != dict.__len__(real):
        return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{record.source.expr()} is an OrderedDict whose order "
                           "list and storage disagree (changed through dict's methods)")
    if not all(is_constant_value(key) for key in keys):
        return unsupported(BreakKind.UNSUPPORTED_VALUE, f"{record.source.expr()} has keys that are not constants")
    state = state.add_guard(KeysMatch(record.source, type(real), keys))
    entries = []
    for key in keys:
        out = wrap_value(state, dict.__getitem__(real, key), DictItemSource(record.source, key))
        if type(out) is not tuple:
            return out
        state, value = out
        entries.append((key, value))
    record = attrs.evolve(heap.current(state, vt), entries=tuple(entries))
    return heap.update_object(state, record), record.entries


def _set_entries(state, vt, entries, what):
    record = attrs.evolve(heap.current(state, vt), entries=tuple(entries), dict_changed=True)
    return heap.mutate(state, record, what)


def _key(vt):
    return hashable_key(vt)


def _with_entries(rule):
    """Rule(state, vt, entries, args, kwargs) with the dict part read first."""
    def call(state, receiver, args, kwargs):
        if not isinstance(receiver, DictSubclassObjectVariable):
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"a dict method on {receiver.describe()} is not traced")
        out = entries_of(state, receiver)
        if type(out) is not tuple:
            return out
        state, entries = out
        return rule(state, receiver, dict(entries), args, kwargs)
    return call


@_with_entries
def _get(state, vt, entries, args, kwargs):
    if kwargs or len(args) not in (1, 2):
        return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: get expected 1 or 2 arguments")
    key = _key(args[0])
    if type(key) is Unsupported:
        return key
    default = args[1] if len(args) == 2 else ConstantVariable(None)
    return state, entries.get(key, default)


@_with_entries
def _getitem(state, vt, entries, args, kwargs):
    key = _key(args[0])
    if type(key) is Unsupported:
        return key
    if key not in entries:
        return _missing(state, vt, args[0], key)
    return state, entries[key]


def _missing(state, vt, key_vt_, key):
    """dict.__getitem__ on a missing key calls the class's `__missing__` (Counter's gives 0)."""
    cls = heap.current(state, vt).cls
    found = lookup(state, cls, "__missing__")[1]
    if found is MISSING:  # raised in the state that read (and guarded) the keys
        return Thrown(KeyError, (key,), state=state)
    hook = python_method(cls, "__missing__")
    if hook is None:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{cls.__name__}.__missing__ is written in C, which is not "
                           "traced yet")
    return call_python(state, hook, AttrSource(class_source_of(heap.current(state, vt)), "__missing__"),
                       [vt, key_vt_])


@_with_entries
def _contains(state, vt, entries, args, kwargs):
    key = _key(args[0])
    if type(key) is Unsupported:
        return key
    return state, ConstantVariable(key in entries)


@_with_entries
def _len(state, vt, entries, args, kwargs):
    return state, ConstantVariable(len(entries))


@_with_entries
def _setitem(state, vt, entries, args, kwargs):
    key = _key(args[0])
    if type(key) is Unsupported:
        return key
    entries[key] = args[1]
    return _set_entries(state, vt, entries.items(), "dict item store"), ConstantVariable(None)


@_with_entries
def _delitem(state, vt, entries, args, kwargs):
    key = _key(args[0])
    if type(key) is Unsupported:
        return key
    if key not in entries:
        return raise_error(KeyError, key)
    del entries[key]
    return _set_entries(state, vt, entries.items(), "dict item delete"), ConstantVariable(None)


@_with_entries
def _update(state, vt, entries, args, kwargs):
    """dict.update(self, other=(), **kwargs): `other` a dict, a dict subclass's object, or pairs."""
    if len(args) > 1:
        return raise_error(TypeError, f"update expected at most 1 argument, got {len(args)}")
    for arg in args:
        out = update_pairs(state, arg)  # as CPython's dict_update_arg reads it (vt/data/dict_methods.py)
        if type(out) is not tuple:
            return out
        state, pairs = out
        entries.update(pairs)
    entries.update(kwargs)
    return _set_entries(state, vt, entries.items(), "dict update"), ConstantVariable(None)


@_with_entries
def _clear(state, vt, entries, args, kwargs):
    if args or kwargs:
        return raise_error(TypeError, "clear() takes no arguments")
    return _set_entries(state, vt, (), "dict clear"), ConstantVariable(None)


@_with_entries
def _pop(state, vt, entries, args, kwargs):
    if kwargs or len(args) not in (1, 2):
        return raise_error(TypeError, f"pop expected at most 2 arguments, got {len(args)}")
    key = _key(args[0])
    if is_stop(key):
        return key
    if key not in entries:
        return (state, args[1]) if len(args) == 2 else raise_error(KeyError, key)
    value = entries.pop(key)
    return _set_entries(state, vt, entries.items(), "dict pop"), value


def _popitem_rule(ordered: bool):
    @_with_entries
    def rule(state, vt, entries, args, kwargs):
        last = True
        if ordered:
            values = dict(zip(("last",), args), **kwargs)
            if len(args) > 1 or set(values) - {"last"}:
                return unsupported(BreakKind.UNSUPPORTED_CALL, "this popitem() call is not modelled")
            truth = values["last"].truth(state) if "last" in values else True
            if type(truth) is not bool:
                return unsupported(BreakKind.UNSUPPORTED_CALL, "popitem(last=...) on a value not known")
            last = truth
        elif args or kwargs:
            return raise_error(TypeError, "dict.popitem() takes no arguments")
        if not entries:
            return raise_error(KeyError, "dictionary is empty" if ordered else "popitem(): dictionary is empty")
        key = list(entries)[-1 if last else 0]
        value = entries.pop(key)
        return _set_entries(state, vt, entries.items(), "dict popitem"), TupleVariable((key_vt(key), value))
    return rule


def _setdefault_rule(ordered: bool):
    """dict.setdefault(key, default=None, /); OrderedDict's also takes `default` by keyword."""
    @_with_entries
    def rule(state, vt, entries, args, kwargs):
        bound = dict(zip(("key", "default"), args))
        if ordered and set(kwargs) <= {"key", "default"} and not set(kwargs) & set(bound):
            bound.update(kwargs)
        elif kwargs:
            return raise_error(TypeError, "setdefault() takes no keyword arguments")
        if "key" not in bound or len(args) > 2:
            return raise_error(TypeError, f"setdefault expected at least 1 argument, got {len(args)}"
                               if "key" not in bound else f"setdefault expected at most 2 arguments, got {len(args)}")
        key = _key(bound["key"])
        if is_stop(key):
            return key
        if key in entries:
            return state, entries[key]
        value = bound.get("default", ConstantVariable(None))
        entries[key] = value
        return _set_entries(state, vt, entries.items(), "dict setdefault"), value
    return rule


def _init(state, receiver, args, kwargs):
    """dict.__init__(self, other=(), **kwargs), reached by `super().__init__(...)`: dict.update."""
    if len(args) > 1:
        return raise_error(TypeError, f"dict expected at most 1 argument, got {len(args)}")
    return _update(state, receiver, args, kwargs)


def _view(pick):
    @_with_entries
    def rule(state, vt, entries, args, kwargs):
        items = [pick(key, value) for key, value in entries.items()]
        return new_list(state, tuple(items))  # a snapshot list: iteration, len, `in` behave as the view
    return rule


def _iter(state, receiver, args, kwargs):
    out = _view(lambda key, value: key_vt(key))(state, receiver, args, kwargs)
    if type(out) is not tuple:
        return out
    state, keys = out
    return keys.iterate(state)


@_with_entries
def _reversed(state, vt, entries, args, kwargs):
    """dict.__reversed__ / OrderedDict.__reversed__: the keys, last first (over a snapshot, as the views)."""
    out = new_list(state, tuple(key_vt(key) for key in reversed(list(entries))))
    return out[1].iterate(out[0])


def _items(key, value):
    return TupleVariable((key_vt(key), value))


def _equality(negate: bool):
    """dict.__eq__ / __ne__: equal to a dict or another dict subclass's object with equal entries
    (values compared as CPython does), NotImplemented against anything else."""
    @_with_entries
    def rule(state, vt, entries, args, kwargs):
        other = args[0]
        if isinstance(other, DictSubclassObjectVariable):
            out = entries_of(state, other)
            if type(out) is not tuple:
                return out
            state = out[0]
        elif not isinstance(other, DictVariable):
            return state, ConstantVariable(NotImplemented)
        same = equal(state, DictVariable(vt.oid, ()), DictVariable(other.oid, ()))  # handles on both dict parts
        return same if type(same) is not bool else (state, ConstantVariable(same != negate))
    return rule


_CHANGES = ("__setitem__", "__delitem__", "update", "clear", "pop", "popitem", "setdefault")


def _dict_method(fn, rule):
    """The rule of one of dict's own methods, also in its unbound form (`dict.pop(d, k)`): on a plain
    dict it is the dict's method; on a C OrderedDict a changing one breaks (dict's method changes
    the storage but not the order list, a state the model does not hold)."""
    name = fn.__name__

    def call(state, receiver, args, kwargs):
        ordered = isinstance(receiver.runtime_type(), type) and issubclass(receiver.runtime_type(), _ORDERED)
        if isinstance(receiver, DictVariable) and has_method(dict, name) and not (name in _CHANGES and ordered):
            return ContainerMethodVariable(dict, name).call(state, [receiver, *args], kwargs)
        if name in _CHANGES and ordered:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"dict.{name} on an OrderedDict leaves its order list "
                               "behind, which is not modelled")
        return rule(state, receiver, args, kwargs)
    return call


_DICT_RULES = {
    dict.get: _get, dict.__getitem__: _getitem, dict.__contains__: _contains, dict.__len__: _len,
    dict.__setitem__: _setitem, dict.__delitem__: _delitem, dict.update: _update, dict.__iter__: _iter,
    dict.keys: _view(lambda key, value: key_vt(key)), dict.values: _view(lambda key, value: value),
    dict.items: _view(_items), dict.clear: _clear, dict.pop: _pop, dict.popitem: _popitem_rule(False),
    dict.setdefault: _setdefault_rule(False), dict.__reversed__: _reversed,
}
DICT_BOUND_RULES = {fn: _dict_method(fn, rule) for fn, rule in _DICT_RULES.items()}
DICT_BOUND_RULES.update({
    dict.__init__: _init, _ORDERED.__init__: _init, dict.__eq__: _equality(False), dict.__ne__: _equality(True),
    _ORDERED.clear: _clear, _ORDERED.pop: _pop, _ORDERED.popitem: _popitem_rule(True),
    _ORDERED.setdefault: _setdefault_rule(True),
    _ORDERED.__setitem__: _setitem, _ORDERED.__delitem__: _delitem, _ORDERED.__iter__: _iter,
    _ORDERED.keys: _view(lambda key, value: key_vt(key)), _ORDERED.values: _view(lambda key, value: value),
    _ORDERED.items: _view(_items), _ORDERED.__reversed__: _reversed,
})
registry.register_bound_rules(DICT_BOUND_RULES)


def wrap_dict_subclass_object(state, value, source):
    return heap.existing_object(state, value, lambda state, oid: (state, DictSubclassObjectVariable(
        oid, type(value), value, source)))


def create_dict_subclass_object(state, cls_vt, args, kwargs):
    """`Cls(...)` for a dict subclass: an empty dict part, then `__init__` (Python, or dict's own)."""
    cls = cls_vt.cls
    if cls_vt.source is None:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{cls_vt.describe()} was reached without a source")
    state, obj = heap.allocate(state, lambda oid: DictSubclassObjectVariable(oid, cls, None, None, (), cls_vt.source, ()))
    if cls.__init__ in (dict.__init__, _ORDERED.__init__):
        out = _init(state, obj, list(args), kwargs)
        return out if type(out) is not tuple else (out[0], obj)
    return run_init(state, cls_vt, obj, args, kwargs)
