"""The final state as bytecode: replay the effects, then rebuild the return value.

Tensors computed by the graph are read from the graph's output tuple; input
tensors load their source (so the caller gets its own object back);
constants are loaded as constants; tuples, lists, dicts and sets made by the
traced code are rebuilt around their items, once each (a list that appears
twice is built once and loaded again, so aliasing matches eager); objects
that existed before the call are loaded from their source, after the effect
code has given them the final contents the heap holds for them.
"""
from __future__ import annotations

import types

from bytecode import Instr

from effects import heap
from effects.records import AttributeDelete, AttributeStore, GlobalDelete, GlobalStore, ObjectMutation
from graph.codegen import load_output
from vt.functions import NestedUserFunctionVariable
from core.outcomes import BreakKind, unsupported

_OBJECT_CHANGES = (ObjectMutation, AttributeStore, AttributeDelete)
_OBJECT_FAMILIES = {"module": "module", "torch_function": "fn", "builtin": "fn", "class": "cls"}


def _mutated_objects(state) -> tuple:
    """Heap ids of pre-existing objects the program changed, in order of first change."""
    seen = {}
    for effect in state.effects:
        if type(effect) in _OBJECT_CHANGES:
            seen.setdefault(effect.oid, None)
    return tuple(seen)


def graph_outputs(state, value) -> tuple:
    """Graph-log indices of computed tensors the entry needs: inside the return value, the final
    contents of mutated objects and stored globals; first-seen order, no repeats."""
    found = {}
    visited = set()

    def walk(vt):
        family = vt.family
        if family == "tensor":
            if state.graph[vt.node].op != "placeholder":
                found.setdefault(vt.node, None)
        elif family == "tuple":
            for item in vt.items:
                walk(item)
        elif type(vt) is NestedUserFunctionVariable:  # a function made by the trace
            parts = vt.parts
            for item in (*parts.defaults, *(value for _, value in parts.kwdefaults), *parts.closure):
                walk(item)
        elif family in ("list", "dict", "cell") and vt.oid not in visited:
            visited.add(vt.oid)
            current = heap.current(state, vt)
            if family == "list":
                items = current.items
            elif family == "dict":
                items = [item for _, item in current.entries]
            else:
                items = [] if current.contents is None else [current.contents]
            for item in items:
                walk(item)
        elif family in ("user_object", "class") and getattr(vt, "oid", None) is not None and vt.oid not in visited:
            visited.add(vt.oid)
            for item in _attribute_values(heap.current(state, vt)):
                walk(item)

    for oid in _mutated_objects(state):
        walk(state.heap[oid])
    for effect in state.effects:
        if type(effect) is GlobalStore:
            walk(effect.value)
    walk(value)
    return tuple(found)


def _attribute_values(record) -> list:
    """The live attribute values a heap object or class was given, plus a dict subclass's items."""
    from vt.protocol import DELETED

    values = [value for _, value in record.attributes if value is not DELETED]
    values.extend(value for _, value in getattr(record, "entries", None) or ())
    return values


def _dict_base(cls):
    """The C dict class whose methods fill a dict subclass: OrderedDict keeps its own order list."""
    import collections

    return collections.OrderedDict if issubclass(cls, collections.OrderedDict) else dict


def _ensure_absent(obj, name: str) -> None:
    """Replay of `del obj.name` when the final state has no such attribute: the program may also have
    added it first, so the real object need not have it now."""
    if name in vars(obj):
        delattr(obj, name) if isinstance(obj, type) else object.__delattr__(obj, name)


class _Emitter:
    """Accumulates instructions; each `emit_*` returns None or the Unsupported that stops it."""

    def __init__(self, state, positions: dict):
        self.state = state
        self.positions = positions
        self.code = []
        self.built = set()
        self.loaded = {}  # source -> local holding the real object, read before any effect

    def load(self, source) -> list:
        """Instructions pushing the real object behind `source`, as it was when the call began.

        Sources are read once, in a prologue that runs before the graph and the effects, so
        that replaying a change to one input (a[:] = ...) cannot change what another source
        (a[0]) names."""
        temp = self.loaded.get(source)
        if temp is None:
            temp = self.loaded[source] = f"__snaptrace_src{len(self.loaded)}"
        return [Instr("LOAD_FAST", temp)]

    def prologue(self) -> list:
        code = []
        for source, temp in self.loaded.items():
            code.extend(source.emit() + [Instr("STORE_FAST", temp)])
        return code

    def emit_all(self, items):
        for item in items:
            failed = self.emit(item)
            if failed is not None:
                return failed
        return None

    def emit(self, vt):
        family, code = vt.family, self.code
        if family == "tensor":
            node = self.state.graph[vt.node]
            code.extend(self.load(node.target) if node.op == "placeholder" else load_output(self.positions[vt.node]))
        elif family == "constant":
            code.append(Instr("LOAD_CONST", vt.constant_value()))
        elif family == "tuple":
            return self._emit_tuple(vt)
        elif family in ("list", "dict", "set"):
            return self._emit_object(vt)
        elif family == "user_object":
            return self._emit_user_object(vt)
        elif family in _OBJECT_FAMILIES:
            code.append(Instr("LOAD_CONST", getattr(vt, _OBJECT_FAMILIES[family])))
        elif family == "cell":
            return self._emit_cell(vt)
        elif type(vt) is NestedUserFunctionVariable:
            return self._emit_function(vt)
        elif family == "function" and hasattr(vt, "fn"):
            source = getattr(vt, "source", None)
            code.extend(self.load(source) if hasattr(source, "emit") else [Instr("LOAD_CONST", vt.fn)])
        elif getattr(vt, "rebuild_recipe", None) is not None and vt.rebuild_recipe() is not None:
            maker, arguments = vt.rebuild_recipe()
            code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", maker),
                         *[Instr("LOAD_CONST", argument) for argument in arguments],
                         Instr("PRECALL", len(arguments)), Instr("CALL", len(arguments))])
        elif family == "method" and getattr(vt, "receiver", None) is not None:  # obj.method, bound again
            failed = self.emit(vt.receiver)
            code.append(Instr("LOAD_ATTR", vt.fn.__name__))
            return failed
        elif hasattr(getattr(vt, "source", None), "emit"):  # an object the caller passed in or can reach
            code.extend(self.load(vt.source))
        else:
            return unsupported(BreakKind.UNSUPPORTED_VALUE,
                               f"a {vt.describe()} cannot leave a traced function yet (returned or stored)")
        return None

    def _emit_tuple(self, vt):
        maker = None if vt.python_type is None else getattr(vt.python_type, "_make", vt.python_type)
        if maker is not None:
            self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", maker)])
        failed = self.emit_all(vt.items)
        if failed is not None:
            return failed
        self.code.append(Instr("BUILD_TUPLE", len(vt.items)))
        if maker is not None:
            self.code.extend([Instr("PRECALL", 1), Instr("CALL", 1)])
        return None

    def _reused(self, vt, current) -> bool:
        """Push the object if it needs no building: the caller's own (the effects give it its
        contents) or one built earlier in this code (aliasing); else claim it for building."""
        if current.source is not None:
            self.code.extend(self.load(current.source))
            return True
        if vt.oid in self.built:
            self.code.append(Instr("LOAD_FAST", f"__snaptrace_obj{vt.oid}"))
            return True
        self.built.add(vt.oid)
        return False

    def _emit_object(self, vt):
        current = heap.current(self.state, vt)
        if self._reused(vt, current):
            return None
        failed = self._emit_contents(current)
        self.code.extend([Instr("COPY", 1), Instr("STORE_FAST", f"__snaptrace_obj{vt.oid}")])
        return failed

    def _emit_cell(self, vt):
        """A cell: the caller's own (its contents are set by the effects), or a new one, made empty
        first so that a function stored in its own cell (recursion) finds it while being built."""
        current = heap.current(self.state, vt)
        if self._reused(vt, current):
            return None
        temp = f"__snaptrace_obj{vt.oid}"
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", types.CellType), Instr("PRECALL", 0),
                          Instr("CALL", 0), Instr("STORE_FAST", temp)])
        if current.contents is not None:
            failed = self.emit(current.contents)
            self.code.extend([Instr("LOAD_FAST", temp), Instr("STORE_ATTR", "cell_contents")])
            if failed is not None:
                return failed
        self.code.append(Instr("LOAD_FAST", temp))
        return None

    def _emit_function(self, vt):
        """A function the trace made (a nested def, a lambda): a real function over the same code,
        defaults and cells."""
        parts = vt.parts
        if parts.globals is not self.state.env.globals:
            return unsupported(BreakKind.UNSUPPORTED_VALUE,
                               f"{vt.describe()} was made in another module and cannot leave the trace yet")
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", rebuilt_function),
                          Instr("LOAD_CONST", parts.code), Instr("LOAD_GLOBAL", (False, "__snaptrace_G"))])
        failed = self.emit_all(parts.defaults)
        self.code.append(Instr("BUILD_TUPLE", len(parts.defaults)))
        failed = failed or self.emit_all(value for _, value in parts.kwdefaults)
        self.code.extend([Instr("LOAD_CONST", tuple(name for name, _ in parts.kwdefaults)),
                          Instr("BUILD_CONST_KEY_MAP", len(parts.kwdefaults))])
        failed = failed or self.emit_all(parts.closure)
        self.code.extend([Instr("BUILD_TUPLE", len(parts.closure)), Instr("PRECALL", 5), Instr("CALL", 5)])
        return failed

    def _emit_contents(self, current):
        """Push a new object equal to `current` (a list, dict or set record)."""
        if current.family == "list":
            failed = self.emit_all(current.items)
            self.code.append(Instr("BUILD_LIST", len(current.items)))
            return failed
        if current.family == "dict":
            failed = self.emit_all(item for _, item in current.entries)
            keys = tuple(key for key, _ in current.entries)
            self.code.extend([Instr("LOAD_CONST", keys), Instr("BUILD_CONST_KEY_MAP", len(keys))])
            return failed
        if getattr(current, "recipe", None) is not None:
            # A set's iteration order depends on its history: rebuild it by replaying that history.
            from vt.sets import fresh_set

            self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", fresh_set), Instr("LOAD_CONST", current.recipe),
                              Instr("PRECALL", 1), Instr("CALL", 1)])
            return None
        self.code.extend([Instr("BUILD_SET", 0), Instr("LOAD_CONST", tuple(current.values)), Instr("SET_UPDATE", 1)])
        return None

    def _emit_user_object(self, vt):
        """An object of a Python class: loaded from its source when it existed before the call
        (the effects give it its final attributes), else made again after the graph runs as
        `cls.__new__(cls)` plus its attributes in write order (and a dict subclass's items)."""
        from vt.protocol import DELETED

        current = heap.current(self.state, vt)
        if self._reused(vt, current):
            return None
        temp = f"__snaptrace_obj{vt.oid}"
        cls = current.cls
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", cls.__new__), Instr("LOAD_CONST", cls),
                          Instr("PRECALL", 1), Instr("CALL", 1), Instr("STORE_FAST", temp)])
        for name, value in getattr(current, "entries", None) or ():
            failed = self._call_builtin(_dict_base(cls).__setitem__, [Instr("LOAD_FAST", temp),
                                                                      Instr("LOAD_CONST", name)], value)
            if failed is not None:
                return failed
        for name, value in current.attributes:
            if value is DELETED:
                continue
            failed = self._call_builtin(object.__setattr__, [Instr("LOAD_FAST", temp), Instr("LOAD_CONST", name)],
                                        value)
            if failed is not None:
                return failed
        self.code.append(Instr("LOAD_FAST", temp))
        return None

    def _call_builtin(self, fn, leading: list, value=None):
        """fn(<leading pushed>, <value emitted>) with the result discarded."""
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", fn)] + leading)
        failed = None if value is None else self.emit(value)
        argc = len(leading) + (value is not None)
        self.code.extend([Instr("PRECALL", argc), Instr("CALL", argc), Instr("POP_TOP")])
        return failed

    def _emit_attribute_changes(self, current):
        """Give a pre-existing object (or class) the attributes the program wrote, past its own
        __setattr__ (whose Python body was traced already); a class goes through setattr()."""
        from vt.protocol import DELETED

        is_class = current.family == "class"
        if getattr(current, "dict_changed", False):  # a dict subclass: dict.clear, then dict.__setitem__ each
            base = _dict_base(current.cls)
            self._call_builtin(base.clear, self.load(current.source))
            for key, value in current.entries:
                failed = self._call_builtin(base.__setitem__, [*self.load(current.source), Instr("LOAD_CONST", key)],
                                            value)
                if failed is not None:
                    return failed
        for name, value in current.attributes:
            target = [*self.load(current.source), Instr("LOAD_CONST", name)]
            if value is DELETED:
                self._call_builtin(_ensure_absent, target)
                continue
            failed = self._call_builtin(setattr if is_class else object.__setattr__, target, value)
            if failed is not None:
                return failed
        return None

    # -- effects ------------------------------------------------------------------------------
    def _call_method(self, source, name: str, argument=None):
        """source.name(<argument pushed by `argument()`>) with the result discarded."""
        self.code.extend(self.load(source) + [Instr("LOAD_METHOD", name)])
        failed = argument() if argument is not None else None
        argc = 0 if argument is None else 1
        self.code.extend([Instr("PRECALL", argc), Instr("CALL", argc), Instr("POP_TOP")])
        return failed

    def emit_mutation(self, current):
        """Give a pre-existing object its final contents."""
        source = current.source
        if current.family == "list":  # obj[:] = [items]
            failed = self._emit_contents(current)
            self.code.extend(self.load(source) + [Instr("LOAD_CONST", slice(None)), Instr("STORE_SUBSCR")])
            return failed
        if current.family in ("dict", "set"):  # obj.clear(); obj.update(new contents)
            self._call_method(source, "clear")
            return self._call_method(source, "update", lambda: self._emit_contents(current))
        if current.family in ("user_object", "class"):
            return self._emit_attribute_changes(current)
        if current.family == "cell":
            if current.contents is None:
                self.code.extend(self.load(source) + [Instr("DELETE_ATTR", "cell_contents")])
                return None
            failed = self.emit(current.contents)
            self.code.extend(self.load(source) + [Instr("STORE_ATTR", "cell_contents")])
            return failed
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"changes to a {current.describe()} cannot be replayed")

    def emit_global(self, effect):
        load_globals = [Instr("LOAD_GLOBAL", (False, "__snaptrace_G")), Instr("LOAD_CONST", effect.name)]
        if type(effect) is GlobalDelete:
            self.code.extend(load_globals + [Instr("DELETE_SUBSCR")])
            return None
        failed = self.emit(effect.value)
        self.code.extend(load_globals + [Instr("STORE_SUBSCR")])
        return failed


def rebuilt_function(code, globals_: dict, defaults: tuple, kwdefaults: dict, closure: tuple):
    """The function MAKE_FUNCTION would have made (annotations aside)."""
    made = types.FunctionType(code, globals_, code.co_name, defaults or None, closure or None)
    made.__kwdefaults__ = kwdefaults or None
    made.__qualname__ = code.co_qualname
    made.__snaptrace_rebuilt__ = True  # a resume function receiving it guards its code, not its identity
    return made


def rebuild(state, value, positions: dict):
    """(prologue, body): the prologue reads the sources the body needs and runs before the graph;
    the body replays the effects and pushes `value`.  Or the Unsupported that prevents it.

    `positions` maps a graph-log index to its position in the graph's output tuple.
    """
    emitter = _Emitter(state, positions)
    for oid in _mutated_objects(state):
        failed = emitter.emit_mutation(state.heap[oid])
        if failed is not None:
            return failed
    for effect in state.effects:
        if type(effect) in (GlobalStore, GlobalDelete):
            failed = emitter.emit_global(effect)
            if failed is not None:
                return failed
    failed = emitter.emit(value)
    return failed if failed is not None else (emitter.prologue(), emitter.code)
