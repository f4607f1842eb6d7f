"""dataclasses helpers that would run C or identity-based code if inlined, as rules.

The generated `__init__` and `__eq__` of a dataclass are plain Python and are
inlined like any method; `dataclasses.replace` and `dataclasses.fields` are
inlined too.  Three are modelled here instead:

* `dataclasses.asdict` / `astuple` deep-copy their leaves (`copy.deepcopy`, which
  keys a memo on `id()`): rebuilt from VTs, with tensor leaves cloned in the graph;
* the generated `__repr__` is wrapped in a recursion guard keyed on `id(self)` and
  the thread: computed field by field with `repr` of each value.
"""
from __future__ import annotations

import dataclasses

import torch

from effects import heap
from vt.data.constant import ConstantVariable
from core.outcomes import BreakKind, unsupported
from vt import registry
from vt.data.dicts import DictVariable, key_vt, new_dict
from vt.folding import call_builtin
from vt.data.lists import ListVariable, TupleVariable, new_list
from vt.data.tensor import TensorVariable, record_op


def _is_dataclass_object(vt) -> bool:
    return vt.dunder_dispatch and dataclasses.is_dataclass(vt.cls)


def _field_values(state, vt):
    """[(field name, VT)] for the object's dataclass fields, read like `obj.name`."""
    out = []
    for f in dataclasses.fields(vt.cls):
        got = vt.getattr(state, f.name)
        if type(got) is not tuple:
            return got
        state, value = got
        out.append((f, value))
    return state, out


def _copy_tree(state, vt, as_dict: bool):
    """The value asdict/astuple puts in place of `vt` (dataclass objects, lists, tuples, dicts recursed)."""
    if _is_dataclass_object(vt):
        out = _field_values(state, vt)
        if type(out) is not tuple:
            return out
        state, pairs = out
        keys, values = [], []
        for f, value in pairs:
            got = _copy_tree(state, value, as_dict)
            if type(got) is not tuple:
                return got
            state, copied = got
            keys.append(ConstantVariable(f.name))
            values.append(copied)
        if as_dict:
            return new_dict(state, tuple(keys), tuple(values))
        return state, TupleVariable(tuple(values))
    if isinstance(vt, TensorVariable):
        return record_op(state, "call_method", "clone", (vt,), {}, "copy.deepcopy of a tensor")
    if isinstance(vt, ConstantVariable):
        return state, vt
    if isinstance(vt, (ListVariable, TupleVariable)):
        items = vt.unpack(state, None)
        copied = []
        for item in items:
            got = _copy_tree(state, item, as_dict)
            if type(got) is not tuple:
                return got
            state, value = got
            copied.append(value)
        if isinstance(vt, ListVariable):
            return new_list(state, tuple(copied))
        if vt.python_type is not None:
            return unsupported(BreakKind.UNSUPPORTED_CALL, "asdict() of a named tuple field is not traced yet")
        return state, TupleVariable(tuple(copied))
    if isinstance(vt, DictVariable):
        entries = heap.current(state, vt).entries
        values = []
        for _, item in entries:
            got = _copy_tree(state, item, as_dict)
            if type(got) is not tuple:
                return got
            state, value = got
            values.append(value)
        return new_dict(state, tuple(key_vt(key) for key, _ in entries), tuple(values))
    return unsupported(BreakKind.UNSUPPORTED_CALL, f"asdict() deep-copies {vt.describe()}, which is not traced")


def _as_container(as_dict: bool):
    def rule(state, args, kwargs):
        if len(args) != 1 or kwargs:
            return unsupported(BreakKind.UNSUPPORTED_CALL, "asdict()/astuple() with a factory is not traced yet")
        if not _is_dataclass_object(args[0]):
            return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: asdict() should be called on dataclass "
                               "instances")
        return _copy_tree(state, args[0], as_dict)
    return rule


def is_generated_repr(fn) -> bool:
    wrapped = getattr(fn, "__wrapped__", None)
    return wrapped is not None and wrapped.__code__.co_qualname.startswith("__create_fn__")


@registry.dunder_model(is_generated_repr)
def dataclass_repr(state, vt):
    """`Cls(a=1, b=...)` as the generated __repr__ writes it (fields with repr=True)."""
    parts = []
    for f in dataclasses.fields(vt.cls):
        if not f.repr:
            continue
        got = vt.getattr(state, f.name)
        if type(got) is not tuple:
            return got
        state, value = got
        got = call_builtin(state, repr, [value], {})
        if type(got) is not tuple:
            return got
        state, text = got
        if type(text.constant_value()) is not str:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"repr of field {f.name!r} is not known while tracing")
        parts.append(f"{f.name}={text.constant_value()}")
    return state, ConstantVariable(f"{vt.cls.__qualname__}({', '.join(parts)})")


DATACLASS_RULES = {dataclasses.asdict: _as_container(True), dataclasses.astuple: _as_container(False)}
registry.register_builtin_rules(DATACLASS_RULES)

_ = torch  # tensors are cloned through vt.tensor.record_op
