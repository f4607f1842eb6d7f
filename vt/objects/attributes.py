"""The attribute list of a heap object: what the program wrote, in first-write order.

An object (or class) in the heap keeps the attributes the program wrote so far
as `((name, vt), ...)`; a deleted attribute is written as `DELETED`.  These are
the primitive reads and writes of that list; CPython's lookup order over it
(descriptors, `__getattr__`) is in vt/object_attributes.py.
"""
from __future__ import annotations

import attrs

from effects import heap
from vt.protocol import DELETED, MISSING


def written(attributes: tuple, name: str):
    """The value the program last wrote for `name` (or DELETED), MISSING when it never wrote it."""
    for key, value in attributes:
        if key == name:
            return value
    return MISSING


def with_written(attributes: tuple, name: str, value) -> tuple:
    """The list after `obj.name = value` (or a delete): a live name keeps its place, as in a dict;
    a name written after a delete moves to the end, as CPython's instance dict does."""
    for position, (key, old) in enumerate(attributes):
        if key == name:
            if old is DELETED and value is not DELETED:
                return attributes[:position] + attributes[position + 1:] + ((name, value),)
            return attributes[:position] + ((name, value),) + attributes[position + 1:]
    return attributes + ((name, value),)


# -- classes ------------------------------------------------------------------------------------


def store_raw(state, vt, name: str, value):
    """The heap record with `name` written (or deleted); logged when the object existed before."""
    record = heap.current(state, vt)
    record = attrs.evolve(record, attributes=with_written(record.attributes, name, value))
    return heap.write_attribute(state, record, name, value, deleted=value is DELETED)
