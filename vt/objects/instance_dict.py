"""`obj.__dict__` of an object the trace created: a view on its heap record's attributes.

Reads (`get`, `[]`, `in`, `len`, `keys`/`values`/`items`) answer from the
attributes written so far; a write through the view (`obj.__dict__[k] = v`) is an
attribute write.  (For an object that existed before the call and that the trace
has not written to, `obj.__dict__` is its real dict, wrapped as a dict input.)
"""
from __future__ import annotations

import attrs

from effects import heap
from vt.objects.attributes import store_raw
from vt.iteration import iterate_items
from vt.data.lists import TupleVariable, new_list
from vt.protocol import DELETED, VariableTracker
from vt.data.constant import ConstantVariable
from core.outcomes import BreakKind, unsupported


@attrs.frozen(slots=True)
class InstanceDictVariable(VariableTracker):
    """The `__dict__` of the heap object `owner` (made inside the trace)."""

    owner: object


    def getitem(self, state, index):
        return subscript_instance_dict(state, self, index)

    def describe(self) -> str:
        return f"__dict__ of {self.owner.describe()}"

    def live(self, state) -> dict:
        return {name: value for name, value in heap.current(state, self.owner).attributes if value is not DELETED}

    def getattr(self, state, name):
        if name in _METHODS:
            return state, _BoundView(self, name)
        return super().getattr(state, name)

    def contains(self, state, item):
        return state, ConstantVariable(item.constant_value() in self.live(state))

    def store_item(self, state, key, value):
        name = key.constant_value()
        if type(name) is not str:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, "a non-string key in obj.__dict__ is not modelled")
        return store_raw(state, self.owner, name, value)

    def unpack(self, state, count):
        keys = tuple(ConstantVariable(name) for name in self.live(state))
        return keys if count is None or count == len(keys) else None

    def iterate(self, state):
        return iterate_items(state, self.unpack(state, None))


@attrs.frozen(slots=True)
class _BoundView(VariableTracker):
    view: object
    name: str

    always_true = True

    def describe(self) -> str:
        return f"{self.view.describe()}.{self.name}"

    def call(self, state, args, kwargs):
        return _METHODS[self.name](state, self.view, list(args))


def _get(state, view, args):
    if len(args) not in (1, 2):
        return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: get expected 1 or 2 arguments")
    default = args[1] if len(args) == 2 else ConstantVariable(None)
    return state, view.live(state).get(args[0].constant_value(), default)


def _listing(pick):
    def rule(state, view, args):
        return new_list(state, tuple(pick(ConstantVariable(k), v, TupleVariable) for k, v in view.live(state).items()))
    return rule


_METHODS = {
    "get": _get,
    "keys": _listing(lambda k, v, tup: k), "values": _listing(lambda k, v, tup: v),
    "items": _listing(lambda k, v, tup: tup((k, v))),
}


def subscript_instance_dict(state, view, index):
    live = view.live(state)
    key = index.constant_value()
    if key not in live:
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"KeyError: {key!r}")
    return state, live[key]
