"""The final state as bytecode: replay the effects, then rebuild the value the entry returns.

Each family of VTs says *what* it is when it leaves the trace, through its
`rebuild` method (and `replay_changes` for an object that existed before the
call), by calling the operations of an `Emitter`: a tensor the graph computed is
read from the graph's output tuple, an input tensor loads its source (so the
caller gets its own object back), a constant is loaded as a constant, a tuple,
list, dict, set, object of a Python class, cell or function made by the trace is
built around its items, once each (an object that appears twice is built once
and loaded again, so aliasing matches eager), and an object that existed before
the call is loaded from its source, after the effect code has given it the
final contents the heap holds for it.  The bytecode itself is written here only.
"""
from __future__ import annotations

import types

from core.assembler import Instr
from core.outcomes import BreakKind, unsupported
from effects import heap
from effects.replay import changed_values, replay
from graph.codegen import load_output
from graph.rebuild_support import dict_base, ensure_absent, Held, identity_matters, pure_hook, rebuilt_function
from vt.data.object_keys import is_object_key, key_value
from vt.protocol import DELETED
from vt.data.sets import fresh_set


def graph_outputs(state, value) -> tuple:
    """Graph-log indices of computed tensors (and symbolic numbers) the entry needs: inside the return value, the final
    contents of mutated objects and stored globals; first-seen order, no repeats."""
    found = {}
    visited = set()
    # Depth-first, first-seen order, without a recursive closure (a function in its own cell is a
    # reference cycle: the state it walks, and the program's objects in it, would wait for gc).
    pending = [value] + list(reversed(list(changed_values(state))))
    while pending:
        vt = pending.pop()
        node = vt.graph_node()
        if node is not None:  # a tensor or a symbolic number
            if state.graph[node].op != "placeholder":
                found.setdefault(node, None)
            continue
        oid = getattr(vt, "oid", None)
        if oid is not None:
            if oid in visited:
                continue
            visited.add(oid)
        pending.extend(reversed(list(vt.references(state))))
    return tuple(found)


class Emitter:
    """Accumulates the instructions that rebuild values; each operation that can fail returns None
    or the Unsupported that stops it (the first failure wins)."""

    def __init__(self, state, positions: dict):
        self.state = state
        self.positions = positions  # graph-log index -> position in the graph's output tuple
        self.code = []
        self.built = set()
        self.in_progress = {}  # oid of an object being built -> cells to fill with it once it exists
        self.loaded = {}  # source -> local holding the real object, read before any effect

    # -- reading things -----------------------------------------------------------------------------
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

    def load_source(self, source) -> None:
        self.code.extend(self.load(source))

    def push_tensor(self, node: int) -> None:
        """A tensor (or symbolic number) of the graph log: an input is loaded from its source, a computed
        one from the outputs."""
        entry = self.state.graph[node]
        self.code.extend(self.load(entry.target) if entry.op == "placeholder" else load_output(self.positions[node]))

    def push_constant(self, value) -> None:
        """A constant: the very object the trace holds, for the types whose identity a program can
        see (a code object's constants are merged when equal, and its name-like strings interned)."""
        if identity_matters(value):
            self.code.extend([Instr("LOAD_CONST", Held(value)), Instr("LOAD_ATTR", "value")])
        else:
            self.code.append(Instr("LOAD_CONST", value))

    def emit(self, vt):
        return vt.rebuild(self)

    def emit_all(self, items):
        for item in items:
            failed = self.emit(item)
            if failed is not None:
                return failed
        return None

    # -- building new objects -----------------------------------------------------------------------
    def call_maker(self, maker, arguments: tuple) -> None:
        """maker(*arguments), every argument a constant."""
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", maker),
                          *[Instr("LOAD_CONST", argument) for argument in arguments],
                          Instr("PRECALL", len(arguments)), Instr("CALL", len(arguments))])

    def build_tuple(self, items, cls=None, tag=None):
        """A tuple of `items`; `cls` (a named tuple or struct sequence class) makes it from the tuple.
        A tuple with a `tag` (one the program built) is built once and loaded again after."""
        if tag is not None:
            temp = f"__snaptrace_tuple{tag}"
            if ("building", tag) in self.built:  # a tuple inside a cycle (t = ([],); t[0].append(t))
                return unsupported(BreakKind.UNSUPPORTED_VALUE, "a tuple that holds itself through a list or "
                                   "dict cannot be rebuilt")
            if ("tuple", tag) in self.built:
                self.code.append(Instr("LOAD_FAST", temp))
                return None
            self.built.add(("building", tag))
            failed = self.build_tuple(items, cls)
            self.built.discard(("building", tag))
            self.built.add(("tuple", tag))
            self.code.extend([Instr("COPY", 1), Instr("STORE_FAST", temp)])
            return failed
        maker = None if cls is None else getattr(cls, "_make", cls)
        if maker is not None:
            self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", maker)])
        failed = self.emit_all(items)
        self.code.append(Instr("BUILD_TUPLE", len(items)))
        if maker is not None:
            self.code.extend([Instr("PRECALL", 1), Instr("CALL", 1)])
        return failed

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

    def heap_object(self, vt, build_contents, shell=None):
        """A mutable object of the heap: reused when possible, else built once by
        `build_contents(current record)` and kept in a local for later references.

        `shell` (an opname pair such as ("BUILD_LIST", "LIST_EXTEND")) makes the empty object
        first and fills it from what `build_contents` pushes, so a list or dict that holds itself
        finds itself in the local while its items are built."""
        current = heap.current(self.state, vt)
        if vt.oid in self.in_progress:  # it holds itself (l.append(l)) and has no shell to fill later
            return unsupported(BreakKind.UNSUPPORTED_VALUE, "a container that holds itself cannot be rebuilt yet")
        if self._reused(vt, current):
            return None
        temp = f"__snaptrace_obj{vt.oid}"
        if shell is None:
            self.in_progress[vt.oid] = []
            failed = build_contents(current)
            self.code.extend([Instr("COPY", 1), Instr("STORE_FAST", temp)])
            self._fill_waiting_cells(vt.oid)
            return failed
        make, fill = shell  # the empty object exists (in its local) while its contents are built
        self.code.extend([Instr(make, 0), Instr("COPY", 1), Instr("STORE_FAST", temp)])
        failed = build_contents(current)
        self.code.append(Instr(fill, 1))
        return failed

    def _fill_waiting_cells(self, oid: int) -> None:
        """The object `oid` now exists: give it to the cells made while it was being built."""
        for cell in self.in_progress.pop(oid):
            self.code.extend([Instr("LOAD_FAST", f"__snaptrace_obj{oid}"), Instr("LOAD_FAST", cell),
                              Instr("STORE_ATTR", "cell_contents")])

    def build_list(self, items):
        failed = self.emit_all(items)
        self.code.append(Instr("BUILD_LIST", len(items)))
        return failed

    def build_dict(self, entries):
        """A dict of (key, VT) entries, in order: constant keys are constants, an object key
        (vt/data/object_keys.py) is the object, rebuilt or loaded like any value."""
        if not any(is_object_key(key) for key, _ in entries):
            failed = self.emit_all(item for _, item in entries)
            keys = tuple(key for key, _ in entries)
            self.code.extend([Instr("LOAD_CONST", keys), Instr("BUILD_CONST_KEY_MAP", len(keys))])
            return failed
        hashes = [key.hash_value for key, _ in entries if is_object_key(key)]
        for key, _ in entries:  # BUILD_MAP hashes each key again (and compares keys whose hashes meet)
            cls = key.vt.runtime_type() if is_object_key(key) else None
            if cls is not None and (not pure_hook(cls, "__hash__")
                                    or (key.python_eq and hashes.count(key.hash_value) > 1
                                        and not pure_hook(cls, "__eq__"))):
                return unsupported(BreakKind.UNSUPPORTED_VALUE, f"a dict keyed by {key.vt.describe()} cannot be "
                                   "built again after the graph: that would run its Python __hash__ / __eq__ again")
        failed = None
        for key, item in entries:
            if is_object_key(key):
                failed = failed or self.emit(key_value(key))
            else:
                self.push_constant(key)
            failed = failed or self.emit(item)
        self.code.append(Instr("BUILD_MAP", len(entries)))
        return failed

    def make_object(self, maker, parts) -> object:
        """maker(<part>, ...) for a constant callable `maker` (a class): each part is a function that
        pushes one argument (an OrderedDict's dict, a deque's items and maxlen)."""
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", maker)])
        failed = None
        for push in parts:
            failed = push() or failed
        self.code.extend([Instr("PRECALL", len(parts)), Instr("CALL", len(parts))])
        return failed

    def build_set(self, values: tuple, recipe=None):
        """A set of constants; a `recipe` replays the set's history, whose order a plain set would lose."""
        if any(is_object_key(value) for value in values):
            return unsupported(BreakKind.UNSUPPORTED_VALUE, "a set of objects cannot leave the traced function yet "
                               "(its order depends on the objects' hashes)")
        if recipe is not None:
            self.call_maker(fresh_set, (recipe,))
            return None
        self.code.extend([Instr("BUILD_SET", 0), Instr("LOAD_CONST", tuple(values)), Instr("SET_UPDATE", 1)])
        return None

    def cell(self, vt, later: list | None = None):
        """A cell: the caller's own (its contents are set by the effects), or a new one, made empty
        first so that a function stored in its own cell (recursion) finds it while being built.
        With `later`, a new cell's contents are left for the caller to fill (`fill_cells`): a
        function fills its closure's cells once it exists itself."""
        current = heap.current(self.state, vt)
        if self._reused(vt, current):
            return None
        temp = f"__snaptrace_obj{vt.oid}"
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", types.CellType), Instr("PRECALL", 0),
                          Instr("CALL", 0), Instr("STORE_FAST", temp)])
        failed = None
        waiting = self.in_progress.get(getattr(current.contents, "oid", None))
        if waiting is not None:  # a method's cell naming the class being made: filled once it exists
            waiting.append(temp)
        elif current.contents is not None:
            if later is not None:
                later.append(vt)
            else:
                failed = self.fill_cells([vt])
        self.code.append(Instr("LOAD_FAST", temp))
        return failed

    def fill_cells(self, cells):
        failed = None
        for vt in cells:
            failed = failed or self.emit(heap.current(self.state, vt).contents)
            self.code.extend([Instr("LOAD_FAST", f"__snaptrace_obj{vt.oid}"), Instr("STORE_ATTR", "cell_contents")])
        return failed

    def function(self, vt):
        """A function the trace made (a nested def, a lambda): a real function over the same code,
        defaults and cells, in the traced function's globals, built once, then given the
        attributes the program wrote (and its annotations)."""
        current = heap.current(self.state, vt)
        if vt.oid in self.built:
            self.code.append(Instr("LOAD_FAST", f"__snaptrace_obj{vt.oid}"))
            return None
        self.built.add(vt.oid)
        parts, temp = vt.parts, f"__snaptrace_obj{vt.oid}"
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", rebuilt_function),
                          Instr("LOAD_CONST", parts.code), Instr("LOAD_GLOBAL", (False, "__snaptrace_G"))])
        failed = self.emit_all(parts.defaults)
        self.code.append(Instr("BUILD_TUPLE", len(parts.defaults)))
        failed = failed or self.emit_all(value for _, value in parts.kwdefaults)
        self.code.extend([Instr("LOAD_CONST", tuple(name for name, _ in parts.kwdefaults)),
                          Instr("BUILD_CONST_KEY_MAP", len(parts.kwdefaults))])
        later = []
        for cell in parts.closure:
            failed = failed or self.cell(cell, later)
        self.code.extend([Instr("BUILD_TUPLE", len(parts.closure)), Instr("LOAD_CONST", self.state.env.rebuilt),
                          Instr("PRECALL", 6), Instr("CALL", 6), Instr("STORE_FAST", temp)])
        failed = failed or self.fill_cells(later)
        attributes = [(name, value) for name, value in current.attributes if value is not DELETED]
        if current.annotations and "__annotations__" not in dict(attributes):
            failed = failed or self.build_dict(current.annotations)
            self.code.extend([Instr("LOAD_FAST", temp), Instr("STORE_ATTR", "__annotations__")])
        for name, value in attributes:
            failed = failed or self._call(setattr, [Instr("LOAD_FAST", temp), Instr("LOAD_CONST", name)], value)
        self.code.append(Instr("LOAD_FAST", temp))
        return failed

    def instance(self, vt, cls_vt=None):
        """An object of a Python class: loaded from its source when it existed before the call
        (the effects give it its final attributes), else made again after the graph runs as
        `cls.__new__(cls)` plus its attributes in write order (and a dict subclass's items).
        `cls_vt`: the class is one the trace made, rebuilt (once) too."""
        current = heap.current(self.state, vt)
        if self._reused(vt, current):
            return None
        temp = f"__snaptrace_obj{vt.oid}"
        cls = current.cls
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", cls.__new__)])
        if cls_vt is None:
            self.code.append(Instr("LOAD_CONST", cls))
        else:
            failed = self.emit(cls_vt)
            if failed is not None:
                return failed
        self.code.extend([Instr("PRECALL", 1), Instr("CALL", 1), Instr("STORE_FAST", temp)])
        for name, value in getattr(current, "entries", None) or ():
            failed = self._call(dict_base(cls).__setitem__, [Instr("LOAD_FAST", temp), Instr("LOAD_CONST", name)],
                                value)
            if failed is not None:
                return failed
        if getattr(current, "items", None):  # a list subclass's list part
            failed = self._fill_list(list.extend, [Instr("LOAD_FAST", temp)], current.items)
            if failed is not None:
                return failed
        for name, value in current.attributes:
            if value is DELETED:
                continue
            failed = self._call(object.__setattr__, [Instr("LOAD_FAST", temp), Instr("LOAD_CONST", name)], value)
            if failed is not None:
                return failed
        self.code.append(Instr("LOAD_FAST", temp))
        return None

    def construct(self, maker, values):
        """maker(*values): `maker` a constant, the values emitted."""
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", maker)])
        failed = self.emit_all(values)
        self.code.extend([Instr("PRECALL", len(values)), Instr("CALL", len(values))])
        return failed

    def made_class(self, vt, metaclass, name: str, bases, attributes, classcell=None, decorators=()):
        """A class the trace made, made again after the graph runs (once per call, as eager makes
        it): `metaclass(name, bases, namespace)` with the class attributes it holds at the end,
        and its methods' `__class__` cell passed as `__classcell__`, which the metaclass fills;
        then each of `decorators` (a constant called with the class) applied again."""
        current = heap.current(self.state, vt)
        if vt.oid in self.in_progress:
            return unsupported(BreakKind.UNSUPPORTED_VALUE, f"class {name} holds itself in a class attribute, which "
                               "cannot be rebuilt yet")
        if self._reused(vt, current):
            return None
        # A value with `__set_name__` in the namespace would get that call from the metaclass; the class
        # body's own ones break when the trace makes the class, so these were stored on it later
        # (`C.attr = cached_property(...)`), which calls nothing: they are set after it is made.
        later = [(key, value) for key, value in attributes if value is not DELETED and _names_itself(value)]
        attributes = [(key, value) for key, value in attributes if (key, value) not in later]
        keys = [key for key, value in attributes if value is not DELETED]
        if classcell is not None:
            cell_temp = f"__snaptrace_obj{classcell.oid}"
            if classcell.oid not in self.built:  # methods find the class through it: made empty first
                self.built.add(classcell.oid)
                self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", types.CellType), Instr("PRECALL", 0),
                                  Instr("CALL", 0), Instr("STORE_FAST", cell_temp)])
        self.in_progress[vt.oid] = []
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", metaclass), Instr("LOAD_CONST", name)])
        failed = self.emit_all(bases)
        self.code.append(Instr("BUILD_TUPLE", len(bases)))
        failed = failed or self.emit_all(value for _, value in attributes if value is not DELETED)
        if classcell is not None:
            keys.append("__classcell__")
            self.code.append(Instr("LOAD_FAST", cell_temp))
        temp = f"__snaptrace_obj{vt.oid}"
        self.code.extend([Instr("LOAD_CONST", tuple(keys)), Instr("BUILD_CONST_KEY_MAP", len(keys)),
                          Instr("PRECALL", 3), Instr("CALL", 3), Instr("STORE_FAST", temp)])
        for decorator in decorators:
            self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", decorator), Instr("LOAD_FAST", temp),
                              Instr("PRECALL", 1), Instr("CALL", 1), Instr("STORE_FAST", temp)])
        for key, value in later:
            failed = failed or self.emit(value)
            self.code.extend([Instr("LOAD_FAST", temp), Instr("STORE_ATTR", key)])
        self.code.append(Instr("LOAD_FAST", temp))
        self._fill_waiting_cells(vt.oid)
        return failed

    def bind(self, fn, receiver):
        """`types.MethodType(fn, receiver)`: the constant `fn` bound to the value `receiver`."""
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", types.MethodType), Instr("LOAD_CONST", fn)])
        failed = self.emit(receiver)
        self.code.extend([Instr("PRECALL", 2), Instr("CALL", 2)])
        return failed

    def bind_value(self, function, receiver):
        """`types.MethodType(function, receiver)`, both values of the trace."""
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", types.MethodType)])
        failed = self.emit(function) or self.emit(receiver)
        self.code.extend([Instr("PRECALL", 2), Instr("CALL", 2)])
        return failed

    def bound_method(self, fn, fn_source, receiver):
        """`types.MethodType(fn, receiver)`, bound again after the graph runs: the function itself,
        not a lookup by its name (it may be stored under another name, or only on the instance).
        The function is read through its (guarded) source when it has one, so the entry holds no
        reference to it."""
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", types.MethodType)])
        self.code.extend(self.load(fn_source) if fn_source is not None else [Instr("LOAD_CONST", fn)])
        failed = self.emit(receiver)
        self.code.extend([Instr("PRECALL", 2), Instr("CALL", 2)])
        return failed

    # -- giving objects that existed before the call their final contents -----------------------------
    def _call(self, fn, leading: list, value=None):
        """fn(<leading pushed>, <value emitted>) with the result discarded."""
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", fn)] + leading)
        failed = None if value is None else self.emit(value)
        argc = len(leading) + (value is not None)
        self.code.extend([Instr("PRECALL", argc), Instr("CALL", argc), Instr("POP_TOP")])
        return failed

    def _fill_list(self, fn, leading: list, items):
        """fn(<leading pushed>, [items]) with the result discarded (list.extend, list.__setitem__)."""
        self.code.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", fn)] + leading)
        failed = self.build_list(items)
        argc = len(leading) + 1
        self.code.extend([Instr("PRECALL", argc), Instr("CALL", argc), Instr("POP_TOP")])
        return failed

    def _call_method(self, source, name: str, argument=None):
        """source.name(<argument pushed by `argument()`>) with the result discarded."""
        self.code.extend(self.load(source) + [Instr("LOAD_METHOD", name)])
        failed = argument() if argument is not None else None
        argc = 0 if argument is None else 1
        self.code.extend([Instr("PRECALL", argc), Instr("CALL", argc), Instr("POP_TOP")])
        return failed

    def set_list_contents(self, source, items):
        """obj[:] = [items]"""
        failed = self.build_list(items)
        self.code.extend(self.load(source) + [Instr("LOAD_CONST", slice(None)), Instr("STORE_SUBSCR")])
        return failed

    def refill(self, source, build_contents, method: str = "update"):
        """obj.clear(); obj.update(<new contents>) for a dict or set (`extend` for a deque)."""
        self._call_method(source, "clear")
        return self._call_method(source, method, build_contents)

    def set_cell_contents(self, source, contents):
        if contents is None:
            self.code.extend(self.load(source) + [Instr("DELETE_ATTR", "cell_contents")])
            return None
        failed = self.emit(contents)
        self.code.extend(self.load(source) + [Instr("STORE_ATTR", "cell_contents")])
        return failed

    def set_attributes(self, current, is_class: bool):
        """Give a pre-existing object (or class) the attributes the program wrote, past its own
        __setattr__ (whose Python body was traced already); a class goes through setattr()."""
        if getattr(current, "dict_changed", False):  # a dict subclass: dict.clear, then dict.__setitem__ each
            base = dict_base(current.cls)
            self._call(base.clear, self.load(current.source))
            for key, value in current.entries:
                failed = self._call(base.__setitem__, [*self.load(current.source), Instr("LOAD_CONST", key)], value)
                if failed is not None:
                    return failed
        if getattr(current, "list_changed", False):  # a list subclass: list.__setitem__(obj, slice(None), [...])
            failed = self._fill_list(list.__setitem__, [*self.load(current.source), Instr("LOAD_CONST", slice(None))],
                                     current.items)
            if failed is not None:
                return failed
        for name, value in current.attributes:
            target = [*self.load(current.source), Instr("LOAD_CONST", name)]
            if value is DELETED:
                self._call(ensure_absent, target)
                continue
            failed = self._call(setattr if is_class else object.__setattr__, target, value)
            if failed is not None:
                return failed
        return None

    def store_global(self, name: str, value):
        failed = self.emit(value)
        self.code.extend([Instr("LOAD_GLOBAL", (False, "__snaptrace_G")), Instr("LOAD_CONST", name),
                          Instr("STORE_SUBSCR")])
        return failed

    def delete_global(self, name: str):
        self.code.extend([Instr("LOAD_GLOBAL", (False, "__snaptrace_G")), Instr("LOAD_CONST", name),
                          Instr("DELETE_SUBSCR")])
        return None


def rebuild(state, value, positions: dict, spread: bool = False):
    """(prologue, body): the prologue reads the sources the body needs and runs before the graph;
    the body replays the effects and pushes `value` (with `spread`, a tuple VT: each of its items,
    as the arguments of a call).  Or the Unsupported that prevents it.

    `positions` maps a graph-log index to its position in the graph's output tuple.
    """
    emitter = Emitter(state, positions)
    failed = replay(state, emitter) or (emitter.emit_all(value.items) if spread else emitter.emit(value))
    return failed if failed is not None else (emitter.prologue(), emitter.code)


def _names_itself(value) -> bool:
    """Whether a class attribute's type defines `__set_name__` (which `type()` would call)."""
    kind = value.runtime_type()
    return kind is not None and hasattr(kind, "__set_name__")
