"""Remembering what a wrap or a hook needed: the guards it asked for, through the State's guard trail.

Per-trace memos (a wrap of a real object, vt/registry.py; a read through a Python
`__getattribute__`, vt/objects/object_attributes.py) give the same answer again without running the
rules, and must add every guard the first run needed, also the guards the state already had then:
a later state (one a speculation rolled back to) may lack them.  `core.state.State.add_guard`
records each guard asked for in `State.guard_trail` while such a run is being remembered.
"""
from __future__ import annotations

import attrs

from core.outcomes import Thrown


def with_own_guards(state, run):
    """(outcome of `run(state)`, `OwnGuards` of every guard it asked for): also the guards the state
    already had, so a per-trace memo re-adding them in another state (say one a speculation rolled
    back to) misses none.  `run` records them in the state's guard trail; a remembering run inside
    another passes its guards on to the outer trail."""
    outer = state.guard_trail
    out = run(state.replace(guard_trail=()))
    if type(out) is tuple:
        after = out[0]
    elif type(out) is Thrown and out.state is not None:
        after = out.state
    else:
        return out, NO_GUARDS
    guards = OwnGuards(after.guard_trail)
    after = after.replace(guard_trail=None if outer is None else ((guards,), outer))
    if type(out) is tuple:
        return (after, *out[1:]), guards
    return attrs.evolve(out, state=after), NO_GUARDS


class OwnGuards:
    """The guards one remembering run asked for, as its trail holds them, flattened (`guards()`)
    only when first needed: most wraps are never asked again, and a run inside another would
    otherwise flatten the same guards once per level."""

    __slots__ = ("_trail", "_flat")

    def __init__(self, trail, flat=None):
        self._trail, self._flat = trail, flat

    def guards(self) -> tuple:
        """The guards, oldest first, each once."""
        if self._flat is None:
            self._flat, self._trail = trail_guards(self._trail), None
        return self._flat


NO_GUARDS = OwnGuards((), ())


def trail_guards(trail) -> tuple:
    """The guards of a guard trail (core/state.py), oldest first, each once; a chunk of a run
    remembered inside gives its own (`OwnGuards`)."""
    chunks = []
    while trail:
        chunks.append(trail[0])
        trail = trail[1]
    first = {}  # key -> the first guard asked for under it; a dict keeps that order
    for chunk in reversed(chunks):
        for guard in chunk:
            if type(guard) is OwnGuards:
                for inner in guard.guards():
                    first.setdefault(inner.key(), inner)
            else:
                first.setdefault(guard.key(), guard)  # one hash of the key per guard
    return tuple(first.values())


def only_guards_added(before, after) -> bool:
    """Whether `after` differs from `before` by guards alone (nothing allocated, written, logged or
    put in the graph, the same frame)."""
    return (after.heap is before.heap and after.known_objects is before.known_objects and after.graph is before.graph
            and after.effects is before.effects and after.frame is before.frame and after.next_oid == before.next_oid
            and after.globals is before.globals and after.placeholders is before.placeholders)
