"""`@dataclasses.dataclass` on a class the traced function defines.

The real `dataclasses.dataclass` runs at trace time on the class's shell (vt/objects/
local_classes.py), whose namespace holds the field defaults and annotations as real values: the
fields, their order and every error (`non-default argument follows default argument`) are
dataclasses' own.  The functions it generates (`__init__`, `__eq__`, `__hash__`, `__repr__`, the
order methods, a frozen class's `__setattr__`) are real functions over code of its own; each one
becomes a function of the trace with the same code, defaults and closure (the class itself, where
the function names it, is the class's VT), stored in the class's heap record, so calls inline
them like any method.  `__dataclass_fields__` and `__dataclass_params__` stay real on the shell
(`dataclasses.fields`, `asdict`, `is_dataclass` read them).

When the class leaves the function it is made again from its own namespace and decorated again
by the real `dataclasses.dataclass` with the same options, a new dataclass per call as eager.
Class attributes that are not plain data (`field(default_factory=list)`, a tensor) and
`slots=True` (which makes another class) break with the reason.
"""
from __future__ import annotations

import dataclasses
import functools
import sys
import types

import attrs

from core.guards import IdMatch, KeysMatch
from core.outcomes import BreakKind, raised, unsupported
from core.sources import AttrSource, ImportedModuleSource, ItemSource
from effects import heap
from vt import registry
from vt.callables.functions import CellVariable, FunctionParts, UserFunctionVariable
from vt.callables.nested_functions import make_function
from vt.objects.attributes import store_raw, written
from vt.data.lists import TupleVariable
from vt.guard_trail import with_own_guards
from vt.objects.dataclasses_variables import is_generated_repr
from vt.objects.introspection import FrozenObjectVariable
from vt.objects.object_attributes import attribute_source, class_record, class_source_of, lookup, python_hook
from vt.objects.local_classes import LocalClassVariable, is_stand_in
from vt.protocol import MISSING, NOT_CONSTANT, VariableTracker

_OPTIONS = ("init", "repr", "eq", "order", "unsafe_hash", "frozen", "match_args", "kw_only", "slots",
            "weakref_slot")
_KINDS = (types.FunctionType, staticmethod, classmethod, property)


@attrs.frozen(slots=True)
class DataclassDecoratorVariable(VariableTracker):
    """`dataclasses.dataclass(**options)`, the decorator it returns."""

    options: tuple  # (name, VT) pairs, as given

    always_true = True

    def describe(self) -> str:
        return "dataclasses.dataclass(...)"

    def call(self, state, args, kwargs):
        return _dataclass(state, list(args), {**dict(self.options), **kwargs})


def _inlined(state, args, kwargs):
    """dataclasses' own Python code, for what is not a class defined in the traced function."""
    source = AttrSource(ImportedModuleSource("dataclasses"), "dataclass")
    return UserFunctionVariable(dataclasses.dataclass, source).call(state, args, kwargs)


def _dataclass(state, args, kwargs):
    if not args and set(kwargs) <= set(_OPTIONS):
        return state, DataclassDecoratorVariable(tuple(kwargs.items()))
    if len(args) != 1 or not isinstance(args[0], LocalClassVariable) or set(kwargs) - set(_OPTIONS):
        return _inlined(state, args, kwargs)
    options = {key: value.constant_value() for key, value in kwargs.items()}
    if any(value is NOT_CONSTANT for value in options.values()):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "dataclass options not known while tracing")
    if options.get("slots") or options.get("weakref_slot"):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "dataclass(slots=True) on a class defined inside the traced "
                           "function makes another class, which is not traced yet", "define the class at module level")
    return decorate(state, args[0], options)


def decorate(state, cls_vt, options: dict):
    """The class `dataclasses.dataclass(cls, **options)` leaves, for a class the trace made."""
    record = heap.current(state, cls_vt)
    shell = record.cls
    for key, vt in record.attributes:
        if vt.constant_value() is NOT_CONSTANT and vt.runtime_type() not in _KINDS and key != "__annotations__":
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"@dataclass on {cls_vt.describe()}: the class attribute "
                               f"{key!r} ({vt.describe()}) is not traced yet", "define the class at module level")
    annotations = shell.__dict__.get("__annotations__", {})
    if not isinstance(annotations, dict) or any(is_stand_in(value) for value in annotations.values()):
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"@dataclass on {cls_vt.describe()}: annotations not known "
                           "while tracing")
    before = dict(shell.__dict__)
    try:
        dataclasses.dataclass(shell, **options)
    except Exception as exc:  # the class statement raises the same in eager
        return raised(exc)
    generated = []
    for name, value in shell.__dict__.items():
        if name in ("__dataclass_fields__", "__dataclass_params__") or before.get(name, _ABSENT) is value:
            continue
        out = _value(state, value, shell, cls_vt)
        if type(out) is not tuple:
            return out
        state, vt = out
        state = store_raw(state, cls_vt, name, vt)
        generated.append((name, vt))
    redo = functools.partial(dataclasses.dataclass, **options)
    record = heap.current(state, cls_vt)
    return heap.update_object(state, attrs.evolve(record, decorations=record.decorations + ((redo, tuple(generated)),))), \
        cls_vt


_ABSENT = object()


def _value(state, value, shell, cls_vt):
    """The VT of a real value dataclasses put on the class (or in one of its functions)."""
    if value is shell:
        return state, cls_vt
    if type(value) is types.FunctionType:
        return _function(state, value.__wrapped__ if is_generated_repr(value) else value, shell, cls_vt)
    out = registry.from_python(state, value)
    if out is None:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"@dataclass on {cls_vt.describe()}: a "
                           f"{type(value).__name__} it generates is not traced yet")
    return out


def _function(state, fn, shell, cls_vt):
    """A function dataclasses generated, as a function of the trace over the same code."""
    values = []
    for value in (*(fn.__defaults__ or ()), *(fn.__kwdefaults__ or {}).values()):
        out = _value(state, value, shell, cls_vt)
        if type(out) is not tuple:
            return out
        state, vt = out
        values.append(vt)
    count = len(fn.__defaults__ or ())
    cells = []
    for cell in fn.__closure__ or ():
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell
            state, handle = heap.allocate(state, lambda oid: CellVariable(oid, None))
        else:
            out = _value(state, contents, shell, cls_vt)
            if type(out) is not tuple:
                return out
            state, vt = out
            state, handle = heap.allocate(state, lambda oid: CellVariable(oid, vt))
        cells.append(handle)
    globals_ = fn.__globals__
    globals_source = None
    if globals_ is not state.env.globals:
        module = globals_.get("__name__")
        if getattr(sys.modules.get(module), "__dict__", None) is not globals_:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"@dataclass on {cls_vt.describe()}: its functions' "
                               "module is not known")
        globals_source = AttrSource(ImportedModuleSource(module), "__dict__")
    parts = FunctionParts(fn.__code__, globals_, globals_source, tuple(values[:count]),
                          tuple(zip(fn.__kwdefaults__ or {}, values[count:])), tuple(cells))
    return make_function(state, parts, ())


@attrs.frozen(slots=True)
class LocalFieldVariable(FrozenObjectVariable):
    """A `dataclasses.Field` of a dataclass the trace made: read like any frozen object; it cannot
    leave the function (the class made again after the graph has fields of its own)."""

    def rebuild(self, emitter):
        return unsupported(BreakKind.UNSUPPORTED_VALUE, "a field of a dataclass defined inside the traced function "
                           "cannot leave it yet")


def _fields(state, args, kwargs):
    """`dataclasses.fields(x)` of a dataclass the trace made (or one of its objects)."""
    if len(args) != 1 or kwargs:
        return None
    vt = args[0]
    cls_vt = vt if isinstance(vt, LocalClassVariable) else None
    if cls_vt is None and vt.dunder_dispatch:
        cls_vt = class_record(state, heap.current(state, vt).cls)
    if not isinstance(cls_vt, LocalClassVariable):
        if vt.dunder_dispatch:
            out = _fields_of_made_object(state, heap.current(state, vt))
            if out is not None:
                return out
        source = AttrSource(ImportedModuleSource("dataclasses"), "fields")
        return UserFunctionVariable(dataclasses.fields, source).call(state, args, kwargs)
    try:
        fields = dataclasses.fields(cls_vt.cls)
    except TypeError as exc:
        return raised(exc)
    return state, TupleVariable(tuple(LocalFieldVariable(field) for field in fields))


def _fields_of_made_object(state, record):
    """`dataclasses.fields(obj)` for an object the trace made of a real dataclass (a `ModelOutput`
    under construction calls it on every attribute write), answered from the real class instead of
    running `fields` on the object: (state, tuple VT), or None to run it.

    It gives what running it would: the object has no attributes of its own that `getattr` could
    find first (it was made in the trace and its class has no Python `__getattribute__`), the
    class's `__dataclass_fields__` and its `Field`s are the real ones, untouched by the program (no
    effect names them), and the guards are those running it adds: the keys of the fields dict, the
    identity of each `Field` and of its `_field_type`, and of `dataclasses._FIELD`.

    A dataclass's objects ask it again and again (once per field written), so the answer is
    remembered for the trace (`Env.dataclass_fields`) with every guard it added (through the guard
    trail, vt/guard_trail.py, so a hit in a rolled-back state misses none).  It is given again for
    the same fields dict at the same source while the fields dict and each `Field` have the very
    heap records they had when it was made (or still none): the program has not touched them since,
    and when it was made no effect named them."""
    cls = record.cls
    if record.value is not None or written(record.attributes, _FIELDS_NAME) is not MISSING \
            or python_hook(state, cls, "__getattribute__") is not None:
        return None
    owner, found = lookup(state, cls, _FIELDS_NAME)
    if type(found) is not dict:
        return None  # a dict the program wrote, or not a dataclass
    dict_source = attribute_source(state, cls, class_source_of(record), owner, _FIELDS_NAME)
    if dict_source is None:
        return None
    memo = state.env.dataclass_fields
    hit = memo.get(cls)
    if hit is not None and hit[0] is found and hit[1] == dict_source and _same_records(state, found, hit[2]):
        return state.add_guards(hit[3].guards()), hit[4]
    if not all(type(field) is dataclasses.Field for field in found.values()):
        return None
    out, guards = with_own_guards(state, lambda recording: _answer_fields(recording, found, dict_source))
    if out is not None:
        memo[cls] = (found, dict_source, _records(out[0], found), guards, out[1])
    return out


def _records(state, found) -> tuple:
    """The heap record of the fields dict and of each `Field` (None for one the trace has not reached)."""
    known, records = state.known_objects, state.heap
    return tuple(None if (oid := known.get(id(obj))) is None else records.get(oid) for obj in (found, *found.values()))


def _same_records(state, found, remembered) -> bool:
    now = _records(state, found)
    return len(now) == len(remembered) and all(a is b for a, b in zip(now, remembered))


def _answer_fields(state, found, dict_source):
    touched = {getattr(effect, "oid", None) for effect in state.effects}
    for obj in (found, *found.values()):
        oid = state.known_objects.get(id(obj))
        if oid is not None and oid in touched:
            return None
    state = state.add_guard(KeysMatch(dict_source, dict, tuple(found)))
    state = state.add_guard(IdMatch(_FIELD_SOURCE, dataclasses._FIELD, "dataclasses._FIELD"))
    items = []
    for name, field in found.items():
        field_source = ItemSource(dict_source, name)
        state = state.add_guard(IdMatch(field_source, field, f"the Field {name!r}"))
        state = state.add_guard(IdMatch(AttrSource(field_source, "_field_type"), field._field_type))
        if field._field_type is dataclasses._FIELD:
            out = registry.wrap_value(state, field, field_source)
            if type(out) is not tuple:
                return None
            state, field_vt = out
            items.append(field_vt)
    return state, TupleVariable(tuple(items))


_FIELDS_NAME = "__dataclass_fields__"
_FIELD_SOURCE = ItemSource(AttrSource(ImportedModuleSource("dataclasses"), "__dict__"), "_FIELD")


registry.register_builtin_rules({dataclasses.dataclass: _dataclass, dataclasses.fields: _fields})
