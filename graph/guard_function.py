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

When every capture misses, `check.why(*args)` says which guard failed and on
which input, for the recapture log: a second function, generated only when first
asked, that tests the guards one by one.
"""
from __future__ import annotations

import math
import re
import reprlib

import attrs
import torch

from core.guards import _Namespace
from core.sources import local_name


_SHAPE_GUARD_NAMES = {"torch": torch, "math": math}
"""Modules the texts of shape guards name (torch's printer writes `torch.sym_float(x)`, `math.floor`)."""


def compile_guards(guards, arg_names: tuple, fn, builtins: dict, name: str):
    """Build one function `check(*arg_names) -> bool` that tests every guard in order."""
    name = re.sub(r"\W", "_", name)
    ns = _SharedReads(arg_names)
    groups = ns.share(guards) if guards else [((), ["True"])]
    params = ", ".join(local_name(arg) for arg in arg_names)
    lines = [f"def __guard_{name}({params}):", "    try:"]
    for assignments, conditions in groups:
        lines += [f"        {local} = {text}" for local, text in assignments]
        lines += [f"        if not ({' and '.join(conditions)}):", "            return False"]
    # A guard that cannot even be evaluated (a deleted global, a missing attribute) has failed.
    lines += ["        return True", "    except Exception:", "        return False"]
    src = "\n".join(lines) + "\n"
    scope = dict(_SHAPE_GUARD_NAMES, **ns.values)
    scope[ns.g], scope[ns.b], scope[ns.f] = fn.__globals__, builtins, fn
    exec(compile(src, f"<snaptrace guards for {name}>", "exec"), scope)
    check = scope[f"__guard_{name}"]
    check.source = src
    check.why = _Explainer(tuple(guards), arg_names, fn, builtins, name)
    return check


class _Explainer:
    """`why(*args)`: a description of the first guard that fails for these arguments (None if all
    hold): the guard, and what the inputs it reads are now.  Slow path only: its function is
    generated on the first call, with each guard in its own test."""

    def __init__(self, guards, arg_names, fn, builtins, name):
        self._guards, self._names, self._name = guards, tuple(arg_names), name
        self._fn, self._builtins = fn, builtins
        self._first_failing = None
        self._ns = self._scope = None

    def _compile(self):
        ns = _Namespace(self._names)
        lines = [f"def __why_{self._name}({', '.join(local_name(arg) for arg in self._names)}):"]
        for position, guard in enumerate(self._guards):
            lines += ["    try:", f"        if not ({guard.expr(ns)}):", f"            return {position}",
                      "    except Exception:", f"        return {position}"]
        lines.append("    return None")
        scope = dict(_SHAPE_GUARD_NAMES, **ns.values)
        scope[ns.g], scope[ns.b], scope[ns.f] = self._fn.__globals__, self._builtins, self._fn
        exec(compile("\n".join(lines) + "\n", f"<snaptrace guard explanation for {self._name}>", "exec"), scope)
        self._ns, self._scope = ns, scope
        return scope[f"__why_{self._name}"]

    def __call__(self, *args):
        if self._first_failing is None:
            self._first_failing = self._compile()
        position = self._first_failing(*args)
        if position is None:
            return None
        guard = self._guards[position]
        mismatch = getattr(guard, "mismatch", None)
        if mismatch is not None:  # a tensor: say what differs, as Dynamo's recompile log does
            value = self._value(guard.source, args)
            if isinstance(value, Exception):
                return f"{guard.source.expr()} is not there ({type(value).__name__})"
            return f"tensor {guard.source.expr()!r} {mismatch(value) or str(guard)}"
        sources = getattr(guard, "sources", None) or ((guard.source,) if hasattr(guard, "source") else ())
        actual = [f"{source.expr()} is {self._actual(source, args)}" for source in sources]
        return f"{guard}" + (f" ({'; '.join(actual)})" if actual else "")

    def _value(self, source, args):
        scope = dict(self._scope, **dict(zip(self._names, args)))
        try:
            return eval(source.expr(self._ns.g, self._ns.b, self._ns.f), scope)
        except Exception as exc:
            return exc

    def _actual(self, source, args) -> str:
        value = self._value(source, args)
        if isinstance(value, Exception):
            return f"not there ({type(value).__name__})"
        if isinstance(value, torch.Tensor):
            return (f"{type(value).__name__}(dtype={value.dtype}, device={value.device}, shape={tuple(value.shape)}, "
                    f"stride={tuple(value.stride())}, requires_grad={value.requires_grad})")
        return reprlib.repr(value)


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
        self._plain = {}  # source -> its full expression, for the sources guards render
        self._texts = {}  # source -> its full expression, for every source met
        self._made = []  # the names of the locals made so far
        self._clause_sources = None  # sources rendered by the clause being counted
        self._spelled = None  # source -> its spelling through the locals (second pass)
        self._shared = frozenset()
        self._pending = []  # (local, expression) to store before the clause being rendered

    def src(self, source) -> str:
        if self._spelled is None:
            text = self._plain.get(source)
            if text is None:
                text = self._plain[source] = self._text(source)
            if self._clause_sources is not None:
                self._clause_sources.append(source)
            return text
        return self._shared_src(source)

    def _text(self, source) -> str:
        text = self._texts.get(source)
        if text is None:
            text = self._texts[source] = source.expr(self.g, self.b, self.f)
        return text

    def _shared_src(self, source) -> str:
        local = self._spelled.get(source)  # a stored source, or one spelled through stored ones
        if local is not None:
            return local
        base = getattr(source, "base", None)
        if base is not None and attrs.has(type(source)):
            text = attrs.evolve(source, base=_Local(self._shared_src(base))).expr(self.g, self.b, self.f)
        else:
            text = self._text(source)
        if source in self._shared:
            local = f"__snaptrace_s{len(self._made)}"
            self._made.append(local)
            self._pending.append((local, text))
            text = local
        self._spelled[source] = text  # its bases are stored by now, so the spelling stays valid
        return text

    def share(self, guards) -> list:
        """[(assignments, conditions)]: locals to store, then guard expressions that must all hold."""
        renders = {}  # source a guard renders -> how many times its expression appears in guards
        children = {}  # source -> the distinct sources read through it
        for guard in guards:
            self._clause_sources = []
            clause = guard.expr(self)
            for source in self._clause_sources:
                renders[source] = renders.get(source, 0) + max(1, clause.count(self._plain[source]))
                children.setdefault(source, set())
                base = getattr(source, "base", None)
                while base is not None:  # note it under each base, up to one already known
                    known = base in children
                    children.setdefault(base, set()).add(source)
                    if known:
                        break
                    source, base = base, getattr(base, "base", None)
        self._clause_sources = None
        # A source is stored when it is evaluated more than once: rendered twice, or rendered and read
        # through, or read through on the way to two others (one way through is not worth a local).
        self._shared = frozenset(
            source for source, below in children.items()
            if (renders.get(source, 0) > 1 or (source in renders and below) or len(below) > 1)
            and not self._text(source).isidentifier())
        self._spelled = {}
        groups = []
        for guard in guards:
            clause = f"({guard.expr(self)})"
            if self._pending or not groups:
                groups.append((tuple(self._pending), [clause]))
                self._pending = []
            else:
                groups[-1][1].append(clause)
        return groups
