"""Counting which constructs the generated programs contained, and how often each broke the graph.

A `Coverage` is fed one program and its snaptrace outcome at a time; `table()`
prints, per construct, how many programs had it, the share of all programs, and
the share of those whose capture ended in a graph break (the construct is not
necessarily the cause: a program has several constructs).
"""
from __future__ import annotations

import collections

from property_tests.gen_stmts import CONSTRUCTS

MIN_SHARE = 0.05


class Coverage:
    def __init__(self):
        self.programs = 0
        self.with_construct = collections.Counter()
        self.broke = collections.Counter()
        self.break_reasons = collections.Counter()

    def add(self, tags, breaks=()):
        self.programs += 1
        for tag in tags:
            self.with_construct[tag] += 1
            if breaks:
                self.broke[tag] += 1
        for reason in breaks:
            self.break_reasons[reason.split(" (inside")[0][:90]] += 1

    def merge(self, other: "Coverage"):
        self.programs += other.programs
        self.with_construct.update(other.with_construct)
        self.broke.update(other.broke)
        self.break_reasons.update(other.break_reasons)

    def missing(self, share: float = MIN_SHARE) -> list:
        """Constructs that appeared in fewer than `share` of the programs."""
        return [c for c in CONSTRUCTS if self.with_construct[c] < share * max(self.programs, 1)]

    def table(self, top_reasons: int = 10) -> str:
        lines = [f"construct coverage over {self.programs} programs "
                 f"(break rate = share of those programs whose capture broke the graph)",
                 f"{'construct':<18} {'programs':>8} {'share':>7} {'break rate':>10}"]
        for construct in CONSTRUCTS:
            n = self.with_construct[construct]
            share = n / self.programs if self.programs else 0.0
            rate = f"{self.broke[construct] / n:.0%}" if n else "-"
            flag = "   < 5%" if share < MIN_SHARE else ""
            lines.append(f"{construct:<18} {n:>8} {share:>7.1%} {rate:>10}{flag}")
        if self.break_reasons:
            lines.append(f"most common graph breaks (of {sum(self.break_reasons.values())}):")
            lines += [f"  {count:>5}  {reason}" for reason, count in self.break_reasons.most_common(top_reasons)]
        return "\n".join(lines)


SESSION = Coverage()
"""The pytest run's coverage, printed by conftest at the end of the session (module-level by design:
it is a report accumulated over one test session, not tracer state)."""
