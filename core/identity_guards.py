"""Identity guards: which inputs are one object and which are different objects.

The trace models inputs reached twice as one object (one placeholder, one heap handle) and
inputs reached separately as distinct ones, and it answers `is` between them; a later call must
alias its inputs the same way for a capture to be reused.  These guards say so (the guard
protocol is core/guards.py's: `key`, `expr` over a `_Namespace`, `str`).
"""
from __future__ import annotations

import attrs


@attrs.frozen(slots=True)
class SameObject:
    """Two inputs are one object (the trace used one placeholder for both)."""

    conjunction = True

    source: object
    other: object

    def key(self):
        return ("same", self.source)

    def expr(self, ns: _Namespace) -> str:
        return f"{ns.src(self.source)} is {ns.src(self.other)}"

    def __str__(self):
        return f"{self.source.expr()} is {self.other.expr()} (the same object)"


@attrs.frozen(slots=True)
class DistinctObjects:
    """Two inputs are different objects (the trace answered an `is` with False)."""

    conjunction = True

    source: object
    other: object

    def key(self):
        return ("distinct", self.source, self.other)

    def expr(self, ns: _Namespace) -> str:
        return f"{ns.src(self.source)} is not {ns.src(self.other)}"

    def __str__(self):
        return f"{self.source.expr()} is not {self.other.expr()}"


@attrs.frozen(slots=True)
class DistinctInput:
    """The container at `source` is none of the other containers of its `kind` (the VT class that
    models it) the trace reached: the heap models them as distinct objects, so a later call passing
    one object for two of them must recapture.  Not rendered alone: once the trace is over,
    `distinct_groups` joins every DistinctInput of a kind into one `AllDistinct`, so that N
    containers cost one check reading each once, not N*(N-1)/2 `is not` guards."""

    source: object
    kind: str
    object_id: int = attrs.field(eq=False)  # id() of the object now: sources naming one object are one group

    def key(self):
        return ("distinct input", self.kind, self.source)

    def expr(self, ns: _Namespace) -> str:
        raise TypeError("a DistinctInput is checked in its kind's AllDistinct (core.identity_guards.distinct_groups)")

    def __str__(self):
        return f"{self.source.expr()} is no other {self.kind} input"


@attrs.frozen(slots=True)
class AllDistinct:
    """The containers at `sources` are as many different objects as the trace saw (`groups[i]` is
    the group of `sources[i]`: sources naming one object are one group); the join of a kind's
    DistinctInputs."""

    kind: str
    sources: tuple
    groups: tuple

    def key(self):
        return ("all distinct", self.kind, self.sources)

    def expr(self, ns: _Namespace) -> str:
        first = {}
        for source, group in zip(self.sources, self.groups):
            first.setdefault(group, source)
        text = f"len({{{', '.join(f'id({ns.src(source)})' for source in first.values())}}}) == {len(first)}"
        same = [f"{ns.src(source)} is {ns.src(first[group])}" for source, group in zip(self.sources, self.groups)
                if first[group] is not source]
        return " and ".join([text, *same])

    def __str__(self):
        return f"{len(set(self.groups))} different {self.kind} objects: " + ", ".join(s.expr() for s in self.sources)


def distinct_groups(guards: tuple) -> tuple:
    """`guards` with the DistinctInputs of each kind joined into one AllDistinct, placed where the
    last of them was (after every guard that makes their sources readable)."""
    members = {}
    for guard in guards:
        if type(guard) is DistinctInput:
            members.setdefault(guard.kind, []).append(guard)
    if not members:
        return guards
    last = {id(group[-1]): kind for kind, group in members.items()}
    out = []
    for guard in guards:
        if type(guard) is not DistinctInput:
            out.append(guard)
        elif id(guard) in last:
            group = members[last[id(guard)]]
            if len(group) > 1:
                out.append(AllDistinct(guard.kind, tuple(g.source for g in group), tuple(g.object_id for g in group)))
    return tuple(out)
