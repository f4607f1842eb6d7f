"""Effect records: what the traced program did to the world outside its own new objects.

Each record is appended to `State.effects` at the instruction that caused it and
names where the object came from (`origin`): an object that existed before the
call, reached through a source, or one the trace created (whose changes need no
replay: it is rebuilt whole from its final contents).  The generated entry
function replays the records after the graph runs (`effects/replay.py`); the
`explain` report lists them with their lines.
"""
from __future__ import annotations

import attrs


@attrs.frozen(slots=True)
class Existing:
    """The object existed before the call; generated code reaches it through `source`."""

    source: object


@attrs.frozen(slots=True)
class Created:
    """The trace made the object; it leaves the trace by being rebuilt, not by replay."""


CREATED = Created()


def origin_of(vt):
    """Where the object behind a heap VT came from: Existing(source) or CREATED."""
    source = vt.source
    return CREATED if source is None else Existing(source)


@attrs.frozen(slots=True)
class ObjectMutation:
    """The program changed the contents of the object `oid` by `what` (`list.append`, `dict[]=`, ...)."""

    oid: int
    what: str
    origin: object
    filename: str = attrs.field(eq=False, default="")
    lineno: int = attrs.field(eq=False, default=0)

    def describe(self) -> str:
        return f"{self.origin.source.expr()} changed by {self.what}"


@attrs.frozen(slots=True)
class AttributeStore:
    """`obj.name = value` on an object (or class) `oid` that existed before the call."""

    oid: int
    name: str
    value: object
    origin: object
    filename: str = attrs.field(eq=False, default="")
    lineno: int = attrs.field(eq=False, default=0)

    def describe(self) -> str:
        return f"{self.origin.source.expr()}.{self.name} = {self.value.describe()}"


@attrs.frozen(slots=True)
class AttributeDelete:
    """`del obj.name` on an object (or class) `oid` that existed before the call."""

    oid: int
    name: str
    origin: object
    filename: str = attrs.field(eq=False, default="")
    lineno: int = attrs.field(eq=False, default=0)

    def describe(self) -> str:
        return f"del {self.origin.source.expr()}.{self.name}"


@attrs.frozen(slots=True)
class GlobalStore:
    """`global name; name = value` (value is the VT stored)."""

    name: str
    value: object
    filename: str = attrs.field(eq=False, default="")
    lineno: int = attrs.field(eq=False, default=0)

    def describe(self) -> str:
        return f"global {self.name} = {self.value.describe()}"


@attrs.frozen(slots=True)
class GlobalDelete:
    """`global name; del name`."""

    name: str
    filename: str = attrs.field(eq=False, default="")
    lineno: int = attrs.field(eq=False, default=0)

    def describe(self) -> str:
        return f"del global {self.name}"


@attrs.frozen(slots=True)
class Described:
    """What a stored value was, kept as its description only: the records a capture keeps for
    reports must not keep the program's objects alive."""

    text: str

    def describe(self) -> str:
        return self.text


def for_report(records) -> tuple:
    """The records with every stored value replaced by its description (`Capture.effects`)."""
    return tuple(attrs.evolve(record, value=Described(record.value.describe())) if hasattr(record, "value")
                 else record for record in records)


OBJECT_CHANGES = (ObjectMutation, AttributeStore, AttributeDelete)
GLOBAL_CHANGES = (GlobalStore, GlobalDelete)
