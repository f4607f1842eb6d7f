"""The replay: the final heap and effects log turned into code that runs after the graph.

The order is the program's: every object that existed before the call and was
changed gets its final contents, in the order of its first change, then the
globals are written in the order the program wrote them.  What "final
contents" means is the object's own business (`replay_changes` of its VT: a
list is refilled in place, an object of a Python class gets its attributes
back, a cell its contents); the bytecode is written by the emitter that
graph/rebuild.py passes in.
"""
from __future__ import annotations

from effects.records import GLOBAL_CHANGES, OBJECT_CHANGES, GlobalStore


def mutated_objects(state) -> tuple:
    """Heap ids of pre-existing objects the program changed, in order of first change."""
    seen = {}
    for effect in state.effects:
        if type(effect) in OBJECT_CHANGES:
            seen.setdefault(effect.oid, None)
    return tuple(seen)


def changed_values(state) -> list:
    """The values the replay writes back: final records of changed objects, then stored globals."""
    values = [state.heap[oid] for oid in mutated_objects(state)]
    values += [effect.value for effect in state.effects if type(effect) is GlobalStore]
    return values


def replay(state, emitter):
    """Emit the replay of every effect: None, or the Unsupported that prevents it."""
    for oid in mutated_objects(state):
        failed = state.heap[oid].replay_changes(emitter)
        if failed is not None:
            return failed
    for effect in state.effects:
        if type(effect) in GLOBAL_CHANGES:
            failed = emitter.store_global(effect.name, effect.value) if type(effect) is GlobalStore \
                else emitter.delete_global(effect.name)
            if failed is not None:
                return failed
    return None
