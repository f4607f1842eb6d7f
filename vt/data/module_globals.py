"""`globals()`: the module namespace of the running frame, read and written by name.

`globals()` is not copied into a dict VT (a module's namespace is large and
changes behind the tracer's back); it is a view, `GlobalsVariable`, that answers
what the program asks by name, exactly as `LOAD_GLOBAL` / `STORE_GLOBAL` would:

* `g["name"]`, `g.get("name", default)`: the program's own earlier write to that
  global if any (State.globals), else the real value, wrapped (and guarded)
  through `G['name']`; a missing name is KeyError, guarded as missing;
* `"name" in g`: the same question, its answer guarded (`GlobalPresence`);
* `g["name"] = v`, `del g["name"]`, `g.setdefault`, `g.pop`: global stores and
  deletes, replayed after the graph like `global name; name = v`.

Only the traced function's own module is written to (another module's globals,
reached inside an inlined callee, are read through that function's
`__globals__`).  What needs the whole namespace (`len`, iteration, `keys()`,
`items()`, `copy()`) is a graph break that says so.
"""
from __future__ import annotations

import attrs

from core.guards import GlobalPresence
from core.outcomes import BreakKind, Thrown, is_stop, raise_error, unsupported
from core.sources import GlobalSource, ItemSource
from effects import heap
from effects.records import GlobalStore
from vt import registry
from vt.data.constant import ConstantVariable
from vt.protocol import VariableTracker

NONE = ConstantVariable(None)
REAL = object()  # lookup's answer: a real global of the module
ABSENT = object()  # lookup's answer: no such global


@attrs.frozen(slots=True)
class GlobalsVariable(VariableTracker):
    """`globals()` of a frame: its module's dict, read and written by name."""

    namespace: dict = attrs.field(eq=False)  # the real module dict
    namespace_source: object = None  # None: the traced function's own module (G); else another module's

    always_true = True

    def runtime_type(self):
        return dict

    def identity(self):
        return ("fixed", id(self.namespace))

    def describe(self) -> str:
        return "globals()"

    def rebuild(self, emitter):
        emitter.push_constant(self.namespace)  # the module's own dict; the replay has written it already
        return None

    def _own(self) -> bool:
        return self.namespace_source is None

    def _source(self, name: str):
        return GlobalSource(name) if self._own() else ItemSource(self.namespace_source, name)

    def lookup(self, state, name: str):
        """(state, what the name holds): a VT the program stored, REAL for a real global, ABSENT; or a
        stop.  The answer about a real global is guarded."""
        written = heap.written_global(state, name) if self._own() else None
        if written is not None:
            return state, written.value if type(written) is GlobalStore else ABSENT
        present = name in self.namespace
        if not self._own():
            if not present:
                return unsupported(BreakKind.UNSUPPORTED_OPERATION, "a name missing from another module's "
                                   "globals() is not guarded yet")
            return state, REAL
        return state.add_guard(GlobalPresence(name, present)), REAL if present else ABSENT

    def read(self, state, key, default=None):
        """globals()[name], or .get(name, default) when `default` is given: (state, vt) or a stop."""
        name = _name(key)
        if type(name) is not str:
            return name
        out = self.lookup(state, name)
        if type(out) is not tuple:
            return out
        state, found = out
        if found is ABSENT:  # the KeyError keeps the state: the guard that the name is missing
            return (state, default) if default is not None else Thrown(KeyError, (name,), state=state)
        if found is REAL:
            return registry.wrap_value(state, self.namespace[name], self._source(name))
        return state, found

    def getitem(self, state, index):
        return self.read(state, index)

    def contains(self, state, item):
        name = item.constant_value() if isinstance(item, ConstantVariable) else None
        if type(name) is not str:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{item.describe()} in globals() is not modelled")
        out = self.lookup(state, name)
        if type(out) is not tuple:
            return out
        return out[0], ConstantVariable(out[1] is not ABSENT)

    def store_item(self, state, key, value):
        name = _name(key)
        if type(name) is not str:
            return name
        if not self._own():
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, "writing another module's globals() is not "
                               "traced yet")
        return heap.store_global(state, name, value)

    def delete_item(self, state, key):
        name = _name(key)
        if type(name) is not str:
            return name
        out = self.lookup(state, name)
        if type(out) is not tuple:
            return out
        state, found = out
        if found is ABSENT:
            return Thrown(KeyError, (name,), state=state)
        if not self._own():
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, "writing another module's globals() is not "
                               "traced yet")
        return heap.delete_global(state, name)

    def getattr(self, state, name):
        if name in _METHODS:
            return state, GlobalsMethodVariable(self, name)
        if hasattr(dict, name):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"globals().{name} needs the whole module "
                               "namespace, which is not modelled", "read globals by name")
        return raise_error(AttributeError, f"'dict' object has no attribute {name!r}")


def _name(key):
    name = key.constant_value() if isinstance(key, ConstantVariable) else None
    if type(name) is not str:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"globals() indexed by {key.describe()} is not modelled")
    return name


def _get(state, namespace, args):
    if len(args) not in (1, 2):
        return raise_error(TypeError, f"get expected at most 2 arguments, got {len(args)}")
    return namespace.read(state, args[0], args[1] if len(args) == 2 else NONE)


def _setdefault(state, namespace, args):
    if len(args) not in (1, 2):
        return raise_error(TypeError, f"setdefault expected at most 2 arguments, got {len(args)}")
    default = args[1] if len(args) == 2 else NONE
    out = namespace.read(state, args[0], ABSENT)
    if type(out) is not tuple or out[1] is not ABSENT:
        return out
    stored = namespace.store_item(out[0], args[0], default)
    return stored if is_stop(stored) else (stored, default)


def _pop(state, namespace, args):
    if len(args) not in (1, 2):
        return raise_error(TypeError, f"pop expected at most 2 arguments, got {len(args)}")
    out = namespace.read(state, args[0], ABSENT)
    if type(out) is not tuple:
        return out
    state, value = out
    if value is ABSENT:
        return (state, args[1]) if len(args) == 2 else raise_error(KeyError, args[0].constant_value())
    deleted = namespace.delete_item(state, args[0])
    return deleted if is_stop(deleted) else (deleted, value)


def _getitem(state, namespace, args):
    return namespace.read(state, args[0]) if len(args) == 1 else raise_error(TypeError, "expected 1 argument")


def _contains(state, namespace, args):
    return namespace.contains(state, args[0]) if len(args) == 1 else raise_error(TypeError, "expected 1 argument")


def _setitem(state, namespace, args):
    if len(args) != 2:
        return raise_error(TypeError, "expected 2 arguments")
    stored = namespace.store_item(state, args[0], args[1])
    return stored if is_stop(stored) else (stored, NONE)


_METHODS = {"get": _get, "setdefault": _setdefault, "pop": _pop, "__getitem__": _getitem,
            "__contains__": _contains, "__setitem__": _setitem}


@attrs.frozen(slots=True)
class GlobalsMethodVariable(VariableTracker):
    """`globals().get` and the other methods that name one global."""

    namespace: GlobalsVariable
    name: str

    always_true = True

    def describe(self) -> str:
        return f"globals().{self.name}"

    def call(self, state, args, kwargs):
        if kwargs:
            return raise_error(TypeError, f"{self.name}() takes no keyword arguments")
        return _METHODS[self.name](state, self.namespace, list(args))


@registry.builtin_rule(globals)
def _globals(state, args, kwargs):
    if args or kwargs:
        return raise_error(TypeError, f"globals() takes no arguments ({len(args) + len(kwargs)} given)")
    info = state.frame.code
    return state, GlobalsVariable(info.globals, info.globals_source)
