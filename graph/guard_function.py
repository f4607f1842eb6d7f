"""The guard function: every guard of a capture joined into one generated Python function.

A cache hit then costs one call and a chain of cheap comparisons.  The guard
records themselves (core/guards.py) know how to render their own expression;
this module only assembles them, reading each input the guards share once: a
model's guards walk the same attribute chains hundreds of times
(`self.model.layers[0].self_attn.q_proj.weight` and its neighbours), so a
source read more than once is stored in a local just before the first guard
that reads it, and later guards use the local.  That keeps the generated
function small (compiling it was a tenth of a model's capture) and a cache hit
fast.
"""
from __future__ import annotations

import re

import attrs

from core.guards import _Namespace


def compile_guards(guards, arg_names: tuple, fn, builtins: dict, name: str):
    """Build one function `check(*arg_names) -> bool` that tests every guard in order."""
    name = re.sub(r"\W", "_", name)
    ns = _SharedReads(arg_names)
    groups = ns.share(guards) if guards else [((), ["True"])]
    params = ", ".join(arg_names)
    lines = [f"def __guard_{name}({params}):", "    try:"]
    for assignments, conditions in groups:
        lines += [f"        {local} = {text}" for local, text in assignments]
        lines += [f"        if not ({' and '.join(conditions)}):", "            return False"]
    # A guard that cannot even be evaluated (a deleted global, a missing attribute) has failed.
    lines += ["        return True", "    except Exception:", "        return False"]
    src = "\n".join(lines) + "\n"
    scope = dict(ns.values)
    scope[ns.g], scope[ns.b], scope[ns.f] = fn.__globals__, builtins, fn
    exec(compile(src, f"<snaptrace guards for {name}>", "exec"), scope)
    check = scope[f"__guard_{name}"]
    check.source = src
    return check


@attrs.frozen(slots=True)
class _Local:
    """Stands in for a source already stored in a local of the guard function."""

    name: str

    def expr(self, g: str = "G", b: str = "B", f: str = "F") -> str:
        return self.name


class _SharedReads(_Namespace):
    """A namespace that renders guards twice: first plainly, counting how often each source (and
    each source it is read through) is evaluated, then with the sources read more than once
    stored in locals.

    Storing a source before the guard that first reads it is exact because every guard
    expression evaluates the sources it renders whenever it holds (they are `and` chains that
    start from the source): if reading the source raises, that guard would have failed too."""

    def __init__(self, taken=()):
        super().__init__(taken)
        self._plain = {}  # source -> its full expression
        self._clause_sources = None  # sources rendered by the clause being counted
        self._counts = {}  # source -> times evaluated by all guards
        self._locals = None  # source -> local name, once stored (second pass)
        self._shared = frozenset()
        self._pending = []  # (local, expression) to store before the clause being rendered

    def src(self, source) -> str:
        if self._locals is None:
            text = self._plain.get(source)
            if text is None:
                text = self._plain[source] = source.expr(self.g, self.b, self.f)
            if self._clause_sources is not None:
                self._clause_sources.append(source)
            return text
        return self._shared_src(source)

    def _shared_src(self, source) -> str:
        local = self._locals.get(source)
        if local is not None:
            return local
        base = getattr(source, "base", None)
        if base is not None and attrs.has(type(source)):
            text = attrs.evolve(source, base=_Local(self._shared_src(base))).expr(self.g, self.b, self.f)
        else:
            text = source.expr(self.g, self.b, self.f)
        if source in self._shared:
            local = self._locals[source] = f"__snaptrace_s{len(self._locals)}"
            self._pending.append((local, text))
            return local
        return text

    def share(self, guards) -> list:
        """[(assignments, conditions)]: locals to store, then guard expressions that must all hold."""
        for guard in guards:
            self._clause_sources = []
            clause = guard.expr(self)
            for source in self._clause_sources:
                for step in _chain(source):  # the source and those it is read through
                    text = self._plain.get(step) or step.expr(self.g, self.b, self.f)
                    self._counts[step] = self._counts.get(step, 0) + max(1, clause.count(text))
        self._clause_sources = None
        direct = set(self._plain)  # sources guards render themselves (not only read through)
        children = {}
        for source in self._counts:
            base = getattr(source, "base", None)
            if base is not None:
                children.setdefault(base, set()).add(source)
        # A source read only on the way to one other is not worth a local of its own.
        self._shared = frozenset(
            source for source, count in self._counts.items()
            if count > 1 and (source in direct or len(children.get(source, ())) > 1)
            and not source.expr(self.g, self.b, self.f).isidentifier())
        self._locals = {}
        groups = []
        for guard in guards:
            clause = f"({guard.expr(self)})"
            if self._pending or not groups:
                groups.append((tuple(self._pending), [clause]))
                self._pending = []
            else:
                groups[-1][1].append(clause)
        return groups


def _chain(source):
    while source is not None:
        yield source
        source = getattr(source, "base", None)
