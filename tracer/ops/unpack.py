"""Starred unpacking: UNPACK_EX (`a, *rest, b = value`)."""
from __future__ import annotations

from tracer.registry import handles
from vt.data.iterators import items_of
from vt.data.lists import new_list
from core.outcomes import raise_error


@handles("UNPACK_EX")
def unpack_ex(state, ins):
    """Any iterable, read in full as CPython does; the starred target gets a new list.

    The argument packs the counts: low byte = names before the star, high byte = after it.
    Pushed so that the first name's value ends on top, ready for the STOREs that follow.
    """
    before, after = ins.arg & 0xFF, ins.arg >> 8
    out = items_of(state, state.peek())
    if type(out) is not tuple:
        return out
    state, items = out
    if len(items) < before + after:
        return raise_error(ValueError, f"not enough values to unpack "
                           f"(expected at least {before + after}, got {len(items)})")
    state, rest = new_list(state, items[before:len(items) - after])
    values = items[:before] + (rest,) + items[len(items) - after:]
    return state.advance(pop=1, push=tuple(reversed(values)))
