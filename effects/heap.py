"""Operations on the heap and the globals of a `State`: the only way the traced program changes things.

Mutable objects (lists, dicts, sets, cells, iterators, objects of the user's
classes) are addressed by id.  A VT on the stack or in a local is a handle
carrying that `oid`; `current` reads the object's latest contents from
`State.heap`.  Two names bound to one list hold two copies of one handle, so a
change through one is seen through the other.  Every function here returns a
new State; nothing is mutated.

Objects that existed before the call get exactly one heap entry each
(`existing_object`), whose VT carries its source.  A change the program makes to
one of those is logged (`mutate`, `write_attribute`) so that the entry function
can replay it on the real object; a change to an object the trace created needs
no log, since that object is rebuilt from its final contents.

Globals the program writes live in `State.globals` (name -> the last
`GlobalStore` or `GlobalDelete`), so later reads in the same trace see them, and
every write is logged for replay.
"""
from __future__ import annotations

from core.outcomes import BreakKind, unsupported
from effects.records import AttributeDelete, AttributeStore, GlobalDelete, GlobalStore, ObjectMutation, origin_of


def current(state, vt):
    """The latest contents of a mutable object, given any VT that refers to it."""
    return state.heap[vt.oid]


def allocate(state, vt_factory) -> tuple:
    """Give a new mutable object an id; vt_factory(oid) builds its VT.  Returns (state, vt)."""
    oid = state.next_oid
    vt = vt_factory(oid)
    return state.replace(heap=state.heap.set(oid, vt), next_oid=oid + 1), vt


def update_object(state, vt):
    """Store new contents for an object without it counting as a change by the program
    (iterator positions, inputs realized on first use, generator frames)."""
    return state.replace(**object_updated(state, vt))


def object_updated(state, vt) -> dict:
    """The State fields `update_object` changes, for a caller that changes the frame too."""
    return {"heap": state.heap.set(vt.oid, vt), "changed": (vt.oid, vt.source is not None, state.changed)}


def unchanged_since(state, earlier, about_real_objects: bool = False, limit: int = 256) -> bool:
    """Whether every object that existed at the `earlier` state (an ancestor of `state`) still has
    the contents it had then: the only objects changed since are objects the trace allocated since
    (a real object reached since for the first time enters the heap as it is, which is what a read
    at `earlier` saw of it; a change to any real object counts).  False when `earlier` is not on
    `state`'s history (another branch) or more than `limit` changes back.

    When the program had written no real object and no global up to `earlier` and has not since
    (no effect logged), no object the trace made is reachable from a real object or a global, so
    for a question about real objects only (`about_real_objects`) changes to objects the trace made
    do not count, however old."""
    target, oldest_new = earlier.changed, earlier.next_oid
    made_unreachable = about_real_objects and not earlier.effects and state.effects is earlier.effects
    changes = state.changed
    for _ in range(limit):
        if changes is target:
            return True
        if changes is None or changes[1] or (changes[0] < oldest_new and not made_unreachable):
            return False
        changes = changes[2]
    return False


def _logged(state, record_type, *fields):
    filename, lineno = state.location()
    return state.effects.append(record_type(*fields, filename, lineno))


def mutate(state, vt, what: str):
    """The program changed an object's contents to `vt`; if the object existed before the call,
    the change is logged so the entry function can replay it on the real object."""
    heap, changed = state.heap.set(vt.oid, vt), (vt.oid, vt.source is not None, state.changed)
    if vt.source is None:
        return state.replace(heap=heap, changed=changed)
    return state.replace(heap=heap, changed=changed,
                         effects=_logged(state, ObjectMutation, vt.oid, what, origin_of(vt)))


def write_attribute(state, record, name: str, value, deleted: bool):
    """The program wrote (or deleted) attribute `name` of the object `record`, whose heap entry
    already holds the write: logged when the object existed before the call."""
    state = update_object(state, record)
    if record.source is None:
        return state
    origin = origin_of(record)
    if deleted:
        return state.replace(effects=_logged(state, AttributeDelete, record.oid, name, origin))
    return state.replace(effects=_logged(state, AttributeStore, record.oid, name, value, origin))


def existing_object(state, value, make):
    """Heap handle for a real object that existed before the call, made once per object:
    `make(state, oid)` returns (state, vt) or a stop the first time the object is seen."""
    known = state.known_objects.get(id(value))
    if known is not None:
        if known not in state.heap:  # reached again while it is being made: it holds itself
            return unsupported(BreakKind.UNSUPPORTED_VALUE, f"a {type(value).__name__} that contains itself "
                               "is not modelled as an input")
        return state, state.heap[known]
    oid = state.next_oid
    state = state.replace(next_oid=oid + 1, known_objects=state.known_objects.set(id(value), oid))
    out = make(state, oid)
    if type(out) is not tuple:
        return out
    state, vt = out
    return state.replace(heap=state.heap.set(oid, vt)), vt  # its first contents: not a change (`unchanged_since`)


def written_global(state, name: str):
    """The last write of the traced program to global `name` (GlobalStore or GlobalDelete), or None."""
    return state.globals.get(name)


def store_global(state, name: str, value):
    """`global name; name = value`: later reads see `value`; the write is replayed after the graph."""
    filename, lineno = state.location()
    record = GlobalStore(name, value, filename, lineno)
    return state.replace(globals=state.globals.set(name, record), effects=state.effects.append(record))


def delete_global(state, name: str):
    """`global name; del name`: later reads raise NameError; replayed after the graph."""
    filename, lineno = state.location()
    record = GlobalDelete(name, filename, lineno)
    return state.replace(globals=state.globals.set(name, record), effects=state.effects.append(record))
