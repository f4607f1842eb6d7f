"""Effect records: what the traced program did to the world outside its own new objects.

Each record is appended to `State.effects` at the instruction that caused it.
The generated entry function replays them after the graph runs: for a
mutated object it brings the real object to the final contents the heap holds
for it; for a global it stores (or deletes) the final value.
"""
from __future__ import annotations

import attrs


@attrs.frozen(slots=True)
class ObjectMutation:
    """An object that existed before the call (`oid` in the heap) was changed by `what`."""

    oid: int
    what: str
    filename: str = attrs.field(eq=False, default="")
    lineno: int = attrs.field(eq=False, default=0)


@attrs.frozen(slots=True)
class GlobalStore:
    """`global name; name = value` (value is the VT stored)."""

    name: str
    value: object
    filename: str = attrs.field(eq=False, default="")
    lineno: int = attrs.field(eq=False, default=0)


@attrs.frozen(slots=True)
class GlobalDelete:
    """`global name; del name`."""

    name: str
    filename: str = attrs.field(eq=False, default="")
    lineno: int = attrs.field(eq=False, default=0)


@attrs.frozen(slots=True)
class AttributeStore:
    """`obj.name = value` on an object (or class) that existed before the call (`oid` in the heap)."""

    oid: int
    name: str
    value: object
    filename: str = attrs.field(eq=False, default="")
    lineno: int = attrs.field(eq=False, default=0)


@attrs.frozen(slots=True)
class AttributeDelete:
    """`del obj.name` on an object (or class) that existed before the call."""

    oid: int
    name: str
    filename: str = attrs.field(eq=False, default="")
    lineno: int = attrs.field(eq=False, default=0)
