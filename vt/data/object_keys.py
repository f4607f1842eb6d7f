"""Objects as dict keys and set elements: real stand-in keys that hash as the objects do.

Dicts and sets of the trace keep their keys as real hashable values, so that a real `dict` /
`set` answers every question with CPython's own rules (vt/data/dicts.py, vt/data/sets.py).  An
object that is not a constant (an object of your class, an `nn.Module`, a class made in the trace,
an iterator) is stored as an `ObjectKey`: a small real object carrying the VT of the object, the
hash the object has, and whether its equality runs Python code.

* Hash: objects hashed by identity (object's `__hash__`) have their real hash when the capture
  pins them by identity (`exact`), otherwise a stand-in derived from their heap id: dict lookups
  are right either way, but the order a *set* iterates in depends on the real hash, so iterating
  such a set breaks.  A class's Python `__hash__` is inlined and must give an int known while
  tracing (vt/objects/user_objects.py, the VT protocol's `hash_key`).
* Equality: an `ObjectKey` equals only a key of the same object, so the real dict and set only
  ever compare keys by identity.  When a Python `__eq__` is involved (`python_eq`), the key is
  first *resolved* against the keys the container holds (`resolve_key`): as CPython's lookup
  does, every key with the same hash is compared, by identity first, then with the stored key's
  `==` (inlined); an equal one replaces the new key, so the real operation finds it.
"""
from __future__ import annotations

import operator

from core.outcomes import BreakKind, unsupported
from vt import registry
from vt.data.constant import ConstantVariable, is_constant_value
from vt.data.operators import binary_operation
from vt.protocol import NOT_CONSTANT


class ObjectKey:
    """A dict key / set element standing for the object `vt` (see the module docstring)."""

    __slots__ = ("identity", "hash_value", "vt", "exact", "python_eq")

    def __init__(self, identity, hash_value: int, vt, exact: bool, python_eq: bool):
        self.identity = identity
        self.hash_value = hash_value
        self.vt = vt
        self.exact = exact
        self.python_eq = python_eq

    def __hash__(self):
        return self.hash_value

    def __eq__(self, other):
        if type(other) is ObjectKey:
            return other.identity == self.identity
        return NotImplemented

    def __repr__(self) -> str:
        return f"<{self.vt.describe()}>"


def identity_key(vt):
    """The key of a value hashed and compared by identity in C (a module object, an iterator, a
    function or class made by the trace), or None.  Objects of Python classes are asked through
    the VT protocol's `hash_key` instead: their class may define `__hash__` / `__eq__` in Python."""
    pinned = vt.pinned_object()
    identity = vt.identity() if pinned is NOT_CONSTANT else ("fixed", id(pinned))
    kind = vt.runtime_type()
    if identity is None or vt.dunder_dispatch or not isinstance(kind, type) \
            or kind.__hash__ is not object.__hash__ or kind.__eq__ is not object.__eq__:
        return None
    if pinned is not NOT_CONSTANT:
        return ObjectKey(identity, hash(pinned), vt, True, False)
    return ObjectKey(identity, hash(identity), vt, False, False)


def key_vt(key):
    """The VT of a dict key or set element (a real hashable value: a constant, an enum member, a
    class, an `ObjectKey`).  Hashable values are immutable, so converting one allocates nothing."""
    if is_constant_value(key):
        return ConstantVariable(key)
    out = registry.from_python(None, key)
    return ConstantVariable(key) if out is None else out[1]


def key_value(key):
    """The VT a real key stands for, when it is an `ObjectKey`; else None."""
    return key.vt if type(key) is ObjectKey else None


def is_object_key(key) -> bool:
    return type(key) is ObjectKey


def needs_python_eq(keys) -> bool:
    # Dicts are looked up on every config read: most hold no ObjectKey at all, which the set of the
    # keys' types tells without a Python-level step per key.
    if ObjectKey not in set(map(type, keys)):
        return False
    return any(type(key) is ObjectKey and key.python_eq for key in keys)


def unordered(keys) -> bool:
    """Whether a set of these keys iterates in an order the trace cannot know (an object hashed by
    its address, which differs from run to run)."""
    if ObjectKey not in set(map(type, keys)):
        return False
    return any(type(key) is ObjectKey and not key.exact for key in keys)


def resolve_key(state, key, keys, vt_of):
    """The key the container holds for `key`: an existing key equal to it when Python `__eq__`
    decides, else `key` itself; (state, key) or the stop of an `__eq__` that cannot be traced.
    `vt_of(real_key)` gives the VT of a key (constants become ConstantVariables)."""
    if not (needs_python_eq((key,)) or needs_python_eq(keys)):
        return state, key  # C equality only: the real dict and set decide
    wanted = hash(key)
    for existing in keys:
        if existing is key or (type(existing) is ObjectKey and existing == key):
            return state, existing
        if hash(existing) != wanted or not needs_python_eq((existing, key)):
            continue
        out = binary_operation(state, operator.eq, vt_of(existing), vt_of(key), "==")
        if type(out) is not tuple:
            return out
        state, result = out
        out = result.bool_value(state)
        if type(out) is not tuple:
            return out
        state, same = out
        if same:
            return state, existing
    return state, key


def refuse_python_eq(keys, what: str):
    """None, or the limit for an operation that would compare the keys of two containers with each
    other, which the real operation does by identity only."""
    if needs_python_eq(keys):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{what} with keys whose class defines __eq__ in "
                           "Python is not modelled", "look keys up one at a time (`k in d`, `d[k]`)")
    return None


@registry.from_python_rule(ObjectKey)
def _object_key_value(state, key):
    return state, key.vt

