"""Building and unpacking tuples, lists, dicts, sets and slices.

The *_APPEND/_ADD/_UPDATE/_EXTEND/_MERGE opcodes change a container that sits
deeper in the stack (3.11 ceval: after popping the operand(s), the container
is `PEEK(oparg)`), so in terms of the stack before the pop it is
`state.peek(oparg + popped)`.  They go through the same rules as the methods
(`list.extend`, `set.update`, `dict.update`), and so through `state.mutate`.
"""
from __future__ import annotations

from effects import heap
from tracer.registry import handles
from vt.folding import call_builtin
from vt.data.iterators import items_of
from vt.data.equality import container_keys
from vt.data.dict_methods import mapping_entries, merge_limit
from vt.data.dicts import new_dict
from vt.data.lists import made_tuple, new_list
from vt.data.symbolic import build_slice as slice_value
from core.outcomes import raise_error, is_stop
from vt.data.set_methods import set_argument
from vt.data.sets import change_set, new_set
from tracer.ops.unpack_errors import function_text, not_a_mapping_after_stars, not_iterable_after_star


def _top(state, count):
    stack = state.frame.stack
    return tuple(stack[len(stack) - count:]) if count else ()


@handles("BUILD_TUPLE")
def build_tuple(state, ins):
    state, made = made_tuple(state, _top(state, ins.arg))
    return state.advance(pop=ins.arg, push=(made,))


@handles("BUILD_LIST")
def build_list(state, ins):
    state2, value = new_list(state, _top(state, ins.arg))
    return state2.advance(pop=ins.arg, push=(value,))


@handles("LIST_EXTEND")
def list_extend(state, ins):
    """`[*a, *b]`: extend the list with any iterable (CPython's _PyList_Extend)."""
    target = state.peek(ins.arg + 1)
    out = items_of(state, state.peek())
    if type(out) is not tuple:
        return not_iterable_after_star(out, state.peek())
    state, items = out
    current = heap.current(state, target)
    return heap.mutate(state, current.with_items(current.items + items), "list.extend").advance(pop=1)


@handles("LIST_APPEND")
def list_append(state, ins):
    """`[*a, x]` and list comprehensions: v = pop(); stack[-oparg].append(v)."""
    current = heap.current(state, state.peek(ins.arg + 1))
    return heap.mutate(state, current.with_items(current.items + (state.peek(),)), "list.append").advance(pop=1)


@handles("LIST_TO_TUPLE")
def list_to_tuple(state, ins):
    state, made = made_tuple(state, state.peek().unpack(state, None))
    return state.advance(pop=1, push=(made,))


@handles("UNPACK_SEQUENCE")
def unpack_sequence(state, ins):
    """`a, b = value` for any iterable VT: sequences answer from their items, iterators are drained."""
    value = state.peek()
    items = value.unpack(state, ins.arg)
    if items is None:
        out = items_of(state, value)
        if type(out) is not tuple:
            return out
        state, known = out
        if len(known) != ins.arg:
            problem = "too many values" if len(known) > ins.arg else "not enough values"
            return raise_error(ValueError, f"{problem} to unpack "
                               f"(expected {ins.arg}, got {len(known)})")
        items = known
    return state.advance(pop=1, push=tuple(reversed(items)))


@handles("BUILD_SLICE")
def build_slice(state, ins):
    made = slice_value(tuple(_top(state, ins.arg)))
    if is_stop(made):
        return made
    return state.advance(pop=ins.arg, push=(made,))


@handles("BUILD_MAP")
def build_map(state, ins):
    flat = _top(state, 2 * ins.arg)
    out = new_dict(state, flat[0::2], flat[1::2])
    if type(out) is not tuple:
        return out
    state2, value = out
    return state2.advance(pop=2 * ins.arg, push=(value,))


@handles("BUILD_CONST_KEY_MAP")
def build_const_key_map(state, ins):
    keys = state.peek().unpack(state, ins.arg)
    out = new_dict(state, keys, _top(state, ins.arg + 1)[:-1])
    if type(out) is not tuple:
        return out
    state2, value = out
    return state2.advance(pop=ins.arg + 1, push=(value,))


@handles("MAP_ADD")
def map_add(state, ins):
    """Dict comprehensions: value = pop(); key = pop(); stack[-oparg][key] = value."""
    target = state.peek(ins.arg + 2)
    value = state.peek()
    out = target.key(state, state.peek(2))
    if type(out) is not tuple:
        return out
    state, key = out
    current = heap.current(state, target)
    entries = dict(current.entries)
    entries[key] = value
    return heap.mutate(state, current.with_entries(entries.items()), "dict.__setitem__").advance(pop=2)


def _merge_into_dict(state, ins, allow_repeats: bool):
    """stack[-oparg].update(pop()) for DICT_UPDATE (repeats overwrite) and DICT_MERGE (they are errors)."""
    out = mapping_entries(state, state.peek())
    if type(out) is not tuple:  # in a call (DICT_MERGE) the message names the function, as ceval's does
        return out if allow_repeats else not_a_mapping_after_stars(out, state.peek(),
                                                                   function_text(state, state.peek(ins.arg + 3)))
    state, pairs = out
    current = heap.current(state, state.peek(ins.arg + 1))
    entries = dict(current.entries)
    limit = merge_limit(entries, [key for key, _ in pairs])
    if limit is not None:
        return limit
    for key, value in pairs:
        if key in entries and not allow_repeats:
            return raise_error(TypeError, f"{function_text(state, state.peek(ins.arg + 3))} got multiple values "
                               f"for keyword argument {key!r}")
        entries[key] = value
    return heap.mutate(state, current.with_entries(entries.items()), "dict.update").advance(pop=1)


@handles("DICT_UPDATE")
def dict_update(state, ins):
    """`{**m}`: the operand must be a mapping (PyDict_Update); later keys win."""
    return _merge_into_dict(state, ins, allow_repeats=True)


@handles("DICT_MERGE")
def dict_merge(state, ins):
    """`f(**a, **b)`: like DICT_UPDATE, but a key given twice is the call's TypeError."""
    return _merge_into_dict(state, ins, allow_repeats=False)


@handles("BUILD_SET")
def build_set(state, ins):
    """`{a, b}`: a new set, the elements added in order; elements must be hashable constants."""
    out = container_keys(state, _top(state, ins.arg), "set element")
    if type(out) is not tuple:
        return out
    state, keys = out
    out = new_set(state, keys)
    if type(out) is not tuple:
        return out
    state2, value = out
    return state2.advance(pop=ins.arg, push=(value,))


@handles("SET_ADD")
def set_add(state, ins):
    """Set comprehensions and `{*a, x}`: v = pop(); stack[-oparg].add(v)."""
    target = state.peek(ins.arg + 1)
    out = target.key(state, state.peek())
    if type(out) is not tuple:
        return out
    state, key = out
    out = change_set(state, target, "add", (key,), "set.add")
    if type(out) is not tuple:
        return out
    return out[0].advance(pop=1)


@handles("SET_UPDATE")
def set_update(state, ins):
    """`{*a, *b}` and `{1, 2, 3}` (a frozenset constant): stack[-oparg].update(pop())."""
    target = state.peek(ins.arg + 1)
    out = set_argument(state, state.peek(), target.oid)
    if type(out) is not tuple:  # (ceval keeps set.update's own message here)
        return out
    state, argument = out
    out = change_set(state, target, "update", (argument,), "set.update")
    if type(out) is not tuple:
        return out
    return out[0].advance(pop=1)


@handles("GET_LEN")
def get_len(state, ins):
    """Push len(TOS), keeping TOS (used by `match` on sequences and mappings)."""
    out = call_builtin(state, len, [state.peek()], {})
    if type(out) is not tuple:
        return out
    state, length = out
    return state.advance(push=(length,))
