"""The VariableTracker protocol.

A VT is a frozen record describing a value the traced program holds.  Every
operation a handler may need is a method here with a default that reports the
operation as unsupported, so a new VT family states its capabilities by what it
overrides, and opcode handlers never test types.

Operations that can extend the graph or the guards take the current `State`
and return an *outcome*: `(new_state, vt)` on success or an `Unsupported`
record.  They never mutate anything.
"""
from __future__ import annotations

import types

import attrs
import torch

from core.outcomes import BreakKind, Thrown, unsupported

class _Sentinel:
    """A named marker object; its repr says what it marks."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return self.name


NOT_CONSTANT = _Sentinel("NOT_CONSTANT")
"""Returned by `constant_value()` when a VT has no Python value known at trace time."""

MISSING = _Sentinel("MISSING")
"""A name that is not there: a class lookup that found nothing, an attribute never written."""

DELETED = _Sentinel("DELETED")
"""The value of an attribute (or global) the program deleted; also what DELETE_ATTR passes to `setattr`."""

MAX_ITEMS = 4096
"""The most items the tracer models in one container: a longer input, or an operation that would
build a longer list or tuple, is a graph break (eager then runs it; one VT per item and one guard
per item would cost far more than the work itself, and `[0] * huge` must not run at trace time)."""


@attrs.frozen(slots=True)
class VariableTracker:
    """Base of every VT; `source` says where a pre-existing value came from."""

    always_true = False  # objects whose bool() is True whatever they hold (modules, functions, classes)
    source = None  # where a value that existed before the call came from (core/sources.py); None: made here
    dunder_dispatch = False  # an object of a Python class: operators and builtins run its class's dunders
    # The VT names nothing of one state (no heap handle, no graph node, no symbol) and stays true of
    # its object for the whole trace: a per-trace memo may hand it to any later state (vt/registry.py).
    stateless = False

    def constant_value(self):
        """The Python value if it is fully known while tracing, else NOT_CONSTANT."""
        return NOT_CONSTANT

    def specialized(self):
        """The Python value, for a use that needs a concrete one (an index into a list, a dict key,
        a repeat count): a symbolic number is guarded to keep the value it has now.  Otherwise the
        same as `constant_value()`."""
        return self.constant_value()

    def graph_node(self):
        """The graph-log index of the node that computes this value (tensors, symbolic numbers),
        else None: what the graph must output when the value leaves the trace."""
        return None

    def type_name(self) -> str:
        """The name of the value's type, as Python's messages spell it."""
        kind = self.runtime_type()
        return kind.__name__ if isinstance(kind, type) else "object"

    def getattr(self, state, name):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"attribute {name!r} of {self.type_name()} is not modelled")

    def load_method(self, state, name):
        """LOAD_METHOD: returns (state, (callable, self_or_NULL))."""
        out = self.getattr(state, name)
        if type(out) is not tuple:
            return out
        return out[0], (NULL, out[1])

    def setattr(self, state, name, value):
        """STORE_ATTR `self.name = value` (value is DELETED for DELETE_ATTR):
        the next State, or Unsupported."""
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"attribute {'deletion' if value is DELETED else 'assignment'} on {self.describe()} "
                           "is not modelled")

    def call(self, state, args, kwargs):
        return unsupported(BreakKind.UNSUPPORTED_CALL,
                           f"calling {self.describe()} is not modelled")

    def truth(self, state):
        """bool(self) when known while tracing, else NOT_CONSTANT."""
        if self.always_true:
            return True
        value = self.constant_value()
        if value is NOT_CONSTANT:
            return NOT_CONSTANT
        return bool(value)

    def iterate(self, state):
        """GET_ITER: returns (state, iterator_vt)."""
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"iterating over {self.type_name()} is not modelled")

    def unpack(self, state, count):
        """The items of a sequence of known length (`count` or any if None), or None."""
        return None

    def contains(self, state, item):
        """`item in self`: (state, bool ConstantVariable) or Unsupported."""
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"`in` on {self.describe()} is not modelled")

    def getitem(self, state, index):
        """BINARY_SUBSCR `self[index]`: (state, vt), or the stop that prevents it."""
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"indexing {self.describe()} is not modelled")

    def store_item(self, state, key, value):
        """STORE_SUBSCR `self[key] = value`: the next State, or Unsupported."""
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"item assignment on {self.describe()} is not modelled")

    def delete_item(self, state, key):
        """DELETE_SUBSCR `del self[key]`: the next State, or Unsupported."""
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"item deletion on {self.describe()} is not modelled")

    def describe(self) -> str:
        return self.type_name()

    # -- as a class attribute the trace made or wrote (a local class's namespace, `C.f = ...`) ------
    def descriptor_get(self, state, instance, owner):
        """What reading this value off a class gives (its `__get__`): through the object `instance`,
        or off the class itself when `instance` is None; `owner` is the class's VT.  Functions bind
        to the object, `staticmethod` unwraps, `classmethod` binds to the class, a property runs its
        getter.  By default the value itself (plain data has no `__get__`); a value whose type has a
        `__get__` the VT does not model is a break rather than that wrong answer."""
        kind = self.runtime_type()
        if kind is not None and hasattr(kind, "__get__"):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{self.describe()} as a class attribute: its "
                               f"type {kind.__name__} has a __get__, which is not modelled for it")
        return state, self

    def is_data_descriptor(self) -> bool:
        """Whether the value, as a class attribute, takes precedence over the object's own attributes
        (a property: it defines `__set__`).  By default whether its type defines `__set__` or
        `__delete__` (whose `descriptor_set` then breaks unless the VT models it)."""
        kind = self.runtime_type()
        return kind is not None and (hasattr(kind, "__set__") or hasattr(kind, "__delete__"))

    def descriptor_set(self, state, instance, value):
        """`instance.name = value` (value DELETED: `del`) through this class attribute, when it is a
        data descriptor: the next State, or the stop that prevents it."""
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"writing through {self.describe()} is not modelled")

    # -- what the value is at run time ------------------------------------------------------------
    def runtime_type(self):
        """The Python type the value has at run time, when the tracer knows it; else None."""
        fixed = self.fixed_object()
        return None if fixed is NOT_CONSTANT else type(fixed)

    def fixed_object(self):
        """The real object, when this VT stands for one object fixed for the capture and guarded by
        identity (a module, a builtin, a class, a torch function); else NOT_CONSTANT."""
        return NOT_CONSTANT

    def pinned_object(self):
        """The real object this VT is on every call the capture is reused for (its identity is
        guarded, or it is fixed), else NOT_CONSTANT: what `id()` may be answered from."""
        return self.fixed_object()

    def as_python(self, state):
        """A fresh real value equal to this one when it is plain data known while tracing (numbers,
        strings, and tuples, lists, dicts, sets of them); else NOT_CONSTANT.  Folding pure calls
        runs the real function on these."""
        return NOT_CONSTANT

    def identity(self):
        """A key naming the run-time object this VT is, when the tracer knows which one: equal keys
        are one object, different keys two.  None when unknown."""
        fixed = self.fixed_object()
        if fixed is not NOT_CONSTANT:
            return ("fixed", id(fixed))
        oid = getattr(self, "oid", None)
        return None if oid is None else ("heap", oid)

    def same_object(self, state, other):
        """`self is other`: (state, bool), None when the tracer cannot know, or NotImplemented to let
        `other` answer (see `identical`)."""
        mine, theirs = self.identity(), other.identity()
        if mine is not None and theirs is not None:
            return state, mine == theirs
        return NotImplemented

    def own_less_than(self, state, other):
        """`type(self).__lt__(self, other)` through the type's own comparison slot, as CPython's sort
        calls it first for keys of one type (vt/data/sorting.py): (state, result) or the stop;
        None when the type has no `__lt__` written in Python (the full `<` then decides)."""
        return None

    def hash_key(self, state):
        """The real key this value is as a dict key or set element when finding it runs the class's
        own Python `__hash__` (vt/data/object_keys.py): (state, key) or the stop; None when the
        value is a constant or hashed by C code (vt/data/equality.py answers)."""
        return None

    def comparison_kind(self):
        """How the value takes part in `==`, `<` and `in` inside containers: "list", "tuple", "set"
        (sets, frozensets, keys views), "dict", "other" (compares only by identity or as a plain
        constant), or None when not modelled (vt/equality.py)."""
        return None

    def known_equality(self, state, other):
        """`self == other` when this value's kind can answer without running Python code (an
        object whose class keeps object's __eq__ is equal only to itself); None otherwise."""
        return None

    def dict_items(self, state):
        """(state, (key, VT) pairs) when the value is a dict, or an object of a dict subclass that
        keeps dict's own iteration, whose items the tracer holds: what `dict(v)`, `d.update(v)` and
        `{**v}` read without calling `keys()` or `__getitem__`, as CPython's dict_merge does.
        None for any other value (then the mapping protocol or the pairs protocol applies)."""
        return None

    def bool_value(self, state):
        """`bool(self)` as the program computes it for a condition: (state, bool), or the stop that
        prevents it.  Objects of Python classes run their __bool__ / __len__ here."""
        truth = self.truth(state)
        if truth is NOT_CONSTANT:
            return self.truth_limit()
        return state, truth

    def truth_limit(self):
        """Why bool(self) cannot be answered while tracing (when `truth` gives NOT_CONSTANT)."""
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"the truth value of {self.describe()} is not modelled")

    # -- leaving the trace (graph/rebuild.py, effects/replay.py) ---------------------------------
    def rebuild(self, emitter):
        """Push this value in the generated code that runs after the graph: None when done, or the
        Unsupported that prevents it.  By default an object the caller can reach is loaded from its
        source (so the generated code holds no reference to it), and a fixed object without one is a
        constant of the generated code."""
        if self.source is not None and hasattr(self.source, "emit"):
            emitter.load_source(self.source)
            return None
        fixed = self.fixed_object()
        if fixed is not NOT_CONSTANT:
            emitter.push_constant(fixed)
            return None
        return unsupported(BreakKind.UNSUPPORTED_VALUE,
                           f"a {self.describe()} cannot leave a traced function yet (returned or stored)")

    def references(self, state):
        """The values this one holds that rebuilding it needs (items, attributes, cells, defaults):
        what the graph must output for it."""
        return ()

    def replay_changes(self, emitter):
        """Give the real object (it existed before the call) the contents its heap record holds
        now, in generated code: None, or the Unsupported that prevents it."""
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"changes to a {self.describe()} cannot be replayed")


_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE


def is_python_class(cls: type) -> bool:
    """Whether `cls` was made by Python code (a class statement, `type(...)`), not by C: only such a
    class can hold Python functions as its dunders, or give its objects another `__class__`."""
    return bool(cls.__flags__ & _HEAP_TYPE)


def is_tensor(vt) -> bool:
    """Whether the value is a tensor at run time (for code below vt/tensor.py, which cannot name
    TensorVariable)."""
    kind = vt.runtime_type()
    return isinstance(kind, type) and issubclass(kind, torch.Tensor)


def is_identity_key(value) -> bool:
    """A fixed object usable as a dict key while tracing: hashed and compared by C code (classes,
    functions, modules, `typing.Union`), so a lookup runs none of the user's code."""
    kind = type(value)
    if isinstance(kind.__eq__, types.FunctionType) or isinstance(kind.__hash__, types.FunctionType):
        return False
    return isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType)) \
        or kind.__module__ in ("typing", "types")


def real_value(state, vt):
    """The real Python object behind a VT when the tracer has it: the fixed object it stands for
    (modules, classes, builtins, torch functions), or a fresh copy of plain data; else NOT_CONSTANT."""
    fixed = vt.fixed_object()
    return fixed if fixed is not NOT_CONSTANT else vt.as_python(state)


def raises(state, out, cls: type) -> bool:
    """Whether an outcome is the program raising `cls` (a builtin's error, or an exception Python
    code raised, which is a heap exception)."""
    if type(out) is not Thrown:
        return False
    if out.exception is not None:
        kind = (out.state or state).heap[out.exception.oid].cls
    else:
        kind = out.cls
    return isinstance(kind, type) and issubclass(kind, cls)


def is_attribute_error(state, out) -> bool:
    """Whether an outcome is the program raising AttributeError (which getattr's default catches)."""
    return raises(state, out, AttributeError)


def reaches_itself(state, vt) -> bool:
    """Whether a container holds itself, directly or through others (`l.append(l)`): such a value
    is not plain data (a copy of it would never end).  Depth-first over heap objects, without recursion."""
    done, on_path = set(), set()
    pending = [(vt, False)]
    while pending:
        item, leaving = pending.pop()
        oid = getattr(item, "oid", None)
        if leaving:
            on_path.discard(oid)
            done.add(oid)
            continue
        if oid is not None:
            if oid in on_path:
                return True
            if oid in done:
                continue
            on_path.add(oid)
            pending.append((item, True))
        pending.extend((inner, False) for inner in item.references(state))
    return False


def identical(state, a, b):
    """`a is b`: (state, bool), or None when the tracer cannot know.  Each side may answer; the
    second is asked when the first returns NotImplemented, as Python does for reflected operators."""
    out = a.same_object(state, b)
    if out is NotImplemented:
        out = b.same_object(state, a)
    return None if out is NotImplemented else out


@attrs.frozen(slots=True)
class NullVariable(VariableTracker):
    """The NULL that 3.11 pushes below a callable (PUSH_NULL, LOAD_GLOBAL with bit 0)."""

    def describe(self) -> str:
        return "NULL"


NULL = NullVariable()
