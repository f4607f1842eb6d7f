"""Python functions, closures and cells; calling a Python function inlines it.

A call runs the callee's bytecode to completion in a nested run of the same
`step` loop, on a State whose top frame is the callee's: the graph, guards,
heap and effects it builds are the caller's own, since State is one value.
If the callee cannot be traced to its return, the whole call is reported as
one limit at the caller's CALL (with where inside the callee it stopped), so
no half-traced callee ever reaches the caller.
"""
from __future__ import annotations

import inspect
import types

import attrs
from pyrsistent import pvector

from core.signatures import binder
from core.state import Frame
from core.stops import Raised, Returned
from effects import heap
from vt.data.dicts import new_dict_from_entries
from vt.callables.lazy import LazyVariable, realize_if_lazy
from vt.data.constant import ConstantVariable
from vt.data.lists import TupleVariable
from vt.data.module_globals import GlobalsVariable
from vt.protocol import MISSING, NOT_CONSTANT, VariableTracker
from core.outcomes import BreakKind, CalleeFrame, Thrown, Unsupported, raise_error, unsupported
from core.guards import MissingAttribute
from core.sources import AttrSource, GlobalSource, ItemSource
from vt import registry
from vt.registry import wrap_value

MAX_INLINE_DEPTH = 64


@attrs.frozen(slots=True)
class CellVariable(VariableTracker):
    """A closure cell in the heap; `contents` is None while the cell is empty."""

    oid: int
    contents: object = attrs.field(default=None, eq=False)
    source: object = attrs.field(default=None, eq=False)  # set for cells that existed before the call


    def references(self, state):
        contents = heap.current(state, self).contents
        return () if contents is None else (contents,)

    def rebuild(self, emitter):
        return emitter.cell(self)

    def replay_changes(self, emitter):
        return emitter.set_cell_contents(self.source, self.contents)

    def with_contents(self, contents) -> "CellVariable":
        return CellVariable(self.oid, contents, self.source)

    def getattr(self, state, name):
        """`cell.cell_contents`: what the cell holds now (ValueError when empty)."""
        if name != "cell_contents":
            return super().getattr(state, name)
        contents = heap.current(state, self).contents
        if contents is None:
            return raise_error(ValueError, "Cell is empty")
        out = realize_if_lazy(state, contents)
        if type(out) is not tuple:
            return out
        state, value = out
        if value is not contents:
            state = heap.update_object(state, heap.current(state, self).with_contents(value))
        return state, value


@attrs.frozen(slots=True)
class FunctionParts:
    """What a call needs from a function, whether it existed before the call or was made by it."""

    code: types.CodeType
    globals: dict = attrs.field(eq=False)
    globals_source: object = attrs.field(eq=False)
    defaults: tuple  # VTs for the trailing positional parameters
    kwdefaults: tuple  # (name, VT) pairs
    closure: tuple  # CellVariable handles, one per free variable


_FUNCTION_DATA = ("__name__", "__qualname__", "__module__", "__doc__", "__code__", "__defaults__", "__kwdefaults__",
                  "__dict__", "__annotations__")
"""Attributes of a function read as data through its source (its `__dict__` entries too)."""


def _missing_attribute(state, source, name: str):
    """`fn.name` of a function without it: AttributeError, guarded to stay missing."""
    return Thrown(AttributeError, (f"'function' object has no attribute {name!r}",),
                  state=state.add_guard(MissingAttribute(source, name)))


def _is_async_code(code) -> bool:
    return bool(code.co_flags & (inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE))


@attrs.frozen(slots=True)
class UserFunctionVariable(VariableTracker):
    """A Python function that existed before the call (a global, a module attribute, ...)."""

    fn: types.FunctionType
    source: object = attrs.field(default=None, eq=False)

    always_true = True
    stateless = True  # the function and where it was read: its attributes are read through the source

    def pinned_object(self):
        rebuilt = made_anew(self.fn, self.source)  # made anew per call: guarded by its code
        return NOT_CONSTANT if rebuilt or self.source is None else self.fn

    def runtime_type(self):
        return types.FunctionType

    def identity(self):
        return ("fixed", id(self.fn))  # functions that existed before the call are guarded by identity

    def rebuild(self, emitter):
        if self.source is not None and hasattr(self.source, "emit"):
            emitter.load_source(self.source)
        else:
            emitter.push_constant(self.fn)
        return None

    def describe(self) -> str:
        return f"function {self.fn.__qualname__}"

    def getattr(self, state, name):
        """Attributes of the real function, read (and guarded) through its source: its own
        `__dict__` entries, its metadata, `__annotations__`, its closure cells and globals; a
        missing one raises AttributeError (guarded to stay missing)."""
        if self.source is None:
            return super().getattr(state, name)
        fn = self.fn
        if name == "__closure__":
            if fn.__closure__ is None:
                return state, ConstantVariable(None)
            state, cells = existing_cells(state, fn, self.source)
            return state, TupleVariable(cells)
        if name == "__globals__":
            own = fn.__globals__ is state.env.globals
            return state, GlobalsVariable(fn.__globals__, None if own else AttrSource(self.source, name))
        if name in fn.__dict__ or name in _FUNCTION_DATA:
            return wrap_value(state, getattr(fn, name), AttrSource(self.source, name))
        if not hasattr(fn, name):
            return _missing_attribute(state, self.source, name)
        return super().getattr(state, name)

    def parts(self, state):
        """The function's code, globals, defaults and cells as VTs (guarded through its source)."""
        fn = self.fn
        globals_source = None if fn.__globals__ is state.env.globals else AttrSource(self.source, "__globals__")
        defaults = []
        for position, value in enumerate(fn.__defaults__ or ()):
            out = wrap_value(state, value, ItemSource(AttrSource(self.source, "__defaults__"), position))
            if type(out) is not tuple:
                return out
            state, vt = out
            defaults.append(vt)
        kwdefaults = []
        for name, value in (fn.__kwdefaults__ or {}).items():
            out = wrap_value(state, value, ItemSource(AttrSource(self.source, "__kwdefaults__"), name))
            if type(out) is not tuple:
                return out
            state, vt = out
            kwdefaults.append((name, vt))
        state, closure = existing_cells(state, fn, self.source)
        return state, FunctionParts(fn.__code__, fn.__globals__, globals_source, tuple(defaults),
                                    tuple(kwdefaults), closure)

    def call(self, state, args, kwargs):
        out = self.parts(state)
        if type(out) is not tuple:
            return out
        state, parts = out
        return inline_call(state, parts, args, kwargs)

    def descriptor_get(self, state, instance, owner):
        return state, (self if instance is None else BoundMethodVariable(self, instance))


def made_anew(fn, source) -> bool:
    """A nested function reached through a value the entry makes on every call (a resume function's
    parameter): a new function object each time, to be guarded by its code, not its identity."""
    return source is not None and source.made_per_call() and bool(fn.__code__.co_flags & inspect.CO_NESTED)
def existing_cells(state, fn, fn_source):
    """Heap cells for a pre-existing function's closure; contents are read lazily through sources."""
    cells = []
    known, records = state.known_objects, state.heap
    for position, cell in enumerate(fn.__closure__ or ()):
        oid = known.get(id(cell))
        if oid is not None and oid in records:  # reached before (a method's `__class__` cell, each call)
            cells.append(records[oid])
            continue
        state, handle = existing_cell(state, cell, ItemSource(AttrSource(fn_source, "__closure__"), position))
        cells.append(handle)
    return state, tuple(cells)


def existing_cell(state, cell, source):
    """(state, heap handle) for a real cell reached through `source`, one per cell however many
    ways it is reached (a resume function gets a cell both as a local and in a closure)."""
    return heap.existing_object(state, cell, lambda state, oid: (state, CellVariable(oid, _lazy_contents(cell, source),
                                                                                     source)))


def _lazy_contents(cell, source):
    """The contents of a real cell, read lazily through `source` (None: an empty cell); made only the
    first time the cell is reached (a method's `__class__` cell is reached on every call)."""
    try:
        return LazyVariable(AttrSource(source, "cell_contents"), cell.cell_contents)
    except ValueError:  # an empty cell
        return None


def bind_arguments(code, parts: FunctionParts, args, kwargs):
    """Locals for a call, as CPython binds them: a list of VTs (None: unbound), or Unsupported."""
    name = code.co_qualname
    npos, nkwonly = code.co_argcount, code.co_kwonlyargcount
    names = code.co_varnames
    flags = code.co_flags
    has_varargs, has_varkw = bool(flags & inspect.CO_VARARGS), bool(flags & inspect.CO_VARKEYWORDS)
    bound = [None] * (npos + nkwonly)
    if len(args) > npos and not has_varargs:
        return _type_error(f"{name}() takes {npos} positional argument{'s' if npos != 1 else ''} "
                           f"but {len(args)} were given")
    for position, value in enumerate(args[:npos]):
        bound[position] = value
    extra_keywords = []
    for key, value in kwargs.items():
        if key in names[code.co_posonlyargcount:npos + nkwonly]:
            position = names.index(key)
            if bound[position] is not None:
                return _type_error(f"{name}() got multiple values for argument '{key}'")
            bound[position] = value
        elif has_varkw:
            extra_keywords.append((key, value))
        else:
            return _type_error(f"{name}() got an unexpected keyword argument '{key}'")
    first_default = npos - len(parts.defaults)
    for position in range(npos):
        if bound[position] is None and position >= first_default:
            bound[position] = parts.defaults[position - first_default]
    kwdefaults = dict(parts.kwdefaults)
    for position in range(npos, npos + nkwonly):
        if bound[position] is None and names[position] in kwdefaults:
            bound[position] = kwdefaults[names[position]]
    missing = [names[i] for i, value in enumerate(bound) if value is None]
    if missing:
        return _type_error(f"{name}() missing required argument(s): {', '.join(missing)}")
    return bound, tuple(args[npos:]) if has_varargs else None, tuple(extra_keywords) if has_varkw else None


def _type_error(message: str):
    return raise_error(TypeError, message)


def _exact_binding_error(code, parts: FunctionParts, nargs: int, keywords: tuple):
    """The TypeError CPython raises for this bad call, word for word: a stand-in function with the
    callee's signature (and no body) is called with placeholder arguments."""
    stand_in = types.SimpleNamespace(__code__=code, __defaults__=tuple(object() for _ in parts.defaults) or None,
                                     __kwdefaults__={name: object() for name, _ in parts.kwdefaults} or None)
    try:
        binder(stand_in)(*[object()] * nargs, **{key: object() for key in keywords})
    except TypeError as exc:
        return raise_error(TypeError, str(exc))
    return None


def inline_call(state, parts: FunctionParts, args, kwargs, namespace=None):
    """Trace a call of a Python function to its return; (state, return value) or Unsupported.
    `namespace` (a dict VT) runs the code as a class body, whose names live in that dict."""
    code = parts.code
    if _is_async_code(code):
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{code.co_qualname} is an async function, which is not traced")
    if len(state.parents) >= MAX_INLINE_DEPTH:
        return unsupported(BreakKind.UNSUPPORTED_CALL,
                           f"calls nested deeper than {MAX_INLINE_DEPTH} frames (recursion?) are not traced")
    binding = bind_arguments(code, parts, list(args), dict(kwargs))
    if type(binding) is not tuple:
        return _exact_binding_error(code, parts, len(args), tuple(kwargs)) or binding
    bound, varargs, varkw = binding
    info = state.env.code_info(code, parts.globals, parts.globals_source)
    values = list(bound)
    if varargs is not None:
        values.append(TupleVariable(varargs))
    if varkw is not None:
        state, mapping = new_dict_from_entries(state, varkw)
        values.append(mapping)
    values += [None] * (len(info.localsplus) - len(values) - len(parts.closure))
    values += list(parts.closure)
    callee = Frame(info, 0, (), pvector(values), (), None, namespace)
    make = registry.code_call_rule_for(code)
    if make is not None:  # a generator: the body runs only as items are asked for
        return make(state, callee, code.co_qualname)
    caller = state.frame
    final, stop = state.env.interpreter.run(state.replace(frame=callee, parents=state.parents.append(caller)))
    if type(stop) is Raised:  # the callee raised: unwind on in the caller's frame, effects kept
        return Thrown(exception=stop.exception, state=final.replace(frame=caller, parents=state.parents),
                      reraise=True)
    if type(stop) is not Returned:
        return Unsupported(stop.kind, stop.reason, stop.hint, stop.inside, needs_frame=stop.needs_frame,
                           rule=stop.rule).within(
            CalleeFrame(code.co_qualname, stop.filename, stop.lineno))
    return final.replace(frame=caller, parents=state.parents), stop.value


def global_source(info, name: str):
    """Source of a global read by code running in `info`'s globals."""
    if info.globals_source is None:
        return GlobalSource(name)
    return ItemSource(info.globals_source, name)


# -- functions read from classes ------------------------------------------------------------------

def call_function_from(state, fn, source, args, kwargs):
    """Inline a Python function read from a class, guarded by identity through `source`."""
    out = registry.wrap_value(state, fn, source)
    if type(out) is not tuple:
        return out
    state, fn_vt = out
    return fn_vt.call(state, list(args), dict(kwargs))


def lookup_class_attribute(cls, name: str):
    """The first definition of `name` along the class's MRO, without running descriptors."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return MISSING


def class_attribute(cls, name: str):
    """`lookup_class_attribute`, with None for a missing name."""
    found = lookup_class_attribute(cls, name)
    return None if found is MISSING else found





@attrs.frozen(slots=True)
class UserMethodVariable(VariableTracker):
    """A Python function bound to an object: calling it inlines the function with `self` first."""

    fn: types.FunctionType
    receiver: object
    source: object = attrs.field(default=None, eq=False)  # where the function itself is read from

    always_true = True

    def runtime_type(self):
        return types.MethodType

    def getattr(self, state, name):
        """`m.__func__` and `m.__self__` (and what the function itself answers, `m.__name__` ...)."""
        if name == "__self__" and self.receiver is not None:
            return state, self.receiver
        if self.source is not None and (name == "__func__" or not hasattr(types.MethodType, name)
                                        or name in ("__name__", "__qualname__", "__module__", "__doc__", "__dict__")):
            out = registry.wrap_value(state, self.fn, self.source)  # a method forwards the rest to its function
            if type(out) is not tuple or name == "__func__":
                return out
            return out[1].getattr(out[0], name)
        return super().getattr(state, name)

    def rebuild(self, emitter):
        if self.receiver is not None:  # obj.method, bound again
            return emitter.bound_method(self.fn, self.source, self.receiver)
        return super().rebuild(emitter)

    def describe(self) -> str:
        return f"method {self.fn.__qualname__}"

    def call(self, state, args, kwargs):
        return call_function_from(state, self.fn, self.source, [self.receiver, *args], kwargs)


@attrs.frozen(slots=True)
class BoundMethodVariable(VariableTracker):
    """A function the trace holds as a VT (a method of a class defined inside the traced function,
    a function the program stored on a class) bound to an object: calling it calls the function
    with the object first."""

    function: VariableTracker
    receiver: VariableTracker

    always_true = True

    def runtime_type(self):
        return types.MethodType

    def describe(self) -> str:
        return f"bound {self.function.describe()}"

    def getattr(self, state, name):
        if name == "__self__":
            return state, self.receiver
        if name == "__func__":
            return state, self.function
        return self.function.getattr(state, name)

    def references(self, state):
        return (self.function, self.receiver)

    def rebuild(self, emitter):
        return emitter.bind_value(self.function, self.receiver)

    def call(self, state, args, kwargs):
        return self.function.call(state, [self.receiver, *args], kwargs)


@attrs.frozen(slots=True)
class CompiledCallVariable(VariableTracker):
    """A callee that stopped the trace while being inlined, called instead through its own compiled
    function (a `Traced` made by the driver), bound to `receiver` when it is a method: the caller
    keeps its graphs before and after the call, and the callee gets its own graphs and resume
    functions, at any depth.  It only ever crosses a break (the step function calls it)."""

    compiled: object = attrs.field(eq=False)
    receiver: object = None

    always_true = True

    def describe(self) -> str:
        return f"compiled {getattr(self.compiled, '__qualname__', 'callee')}"

    def rebuild(self, emitter):
        if self.receiver is None:
            emitter.push_constant(self.compiled)
            return None
        return emitter.bind(self.compiled, self.receiver)
