"""Moving plain Python data between VTs and real values, for folding pure calls.

A pure builtin or method applied to data fully known while tracing (numbers,
strings, and tuples, lists, dicts and sets of them) is computed for real: the
arguments are turned into fresh Python objects (`to_python`), the call runs,
and its result comes back as VTs (`from_python`), new lists, dicts and sets
becoming new heap objects.
"""
from __future__ import annotations

import enum

from effects import heap
from vt.protocol import NOT_CONSTANT
from vt.constant import ConstantVariable, is_constant_value


def _all_from_python(state, values):
    """(state, [vt, ...]) for real values, or None if one of them is not plain data."""
    vts = []
    for value in values:
        out = from_python(state, value)
        if out is None:
            return None
        state, vt = out
        vts.append(vt)
    return state, vts


def from_python(state, value):
    """VT for a real value produced by a folded call: (state, vt), or None if it is not plain data."""
    if is_constant_value(value):
        return state, ConstantVariable(value)
    if isinstance(value, enum.Enum):  # Flag.A | Flag.B, IntEnum(...) lookups: members are singletons
        from vt.records import EnumVariable

        return state, EnumVariable(value)
    kind = type(value)
    if kind in (tuple, list, dict):
        out = _all_from_python(state, value.values() if kind is dict else value)
        if out is None:
            return None
        state, items = out
        if kind is tuple:
            from vt.lists import TupleVariable

            return state, TupleVariable(tuple(items))
        if kind is list:
            from vt.lists import new_list

            return new_list(state, tuple(items))
        from vt.dicts import new_dict_from_entries

        return new_dict_from_entries(state, tuple(zip(value.keys(), items)))
    if kind is set:
        if not all(is_constant_value(item) for item in value):
            return None
        from vt.sets import new_set

        return new_set(state, tuple(value))
    return None
