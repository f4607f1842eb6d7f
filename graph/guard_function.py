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

import collections
import math
import re
import reprlib

import torch

from core.code import compiled_source
from core.guards import _Namespace
from core.sources import local_name


_SHAPE_GUARD_NAMES = {"torch": torch, "math": math}
"""Modules the texts of shape guards name (torch's printer writes `torch.sym_float(x)`, `math.floor`)."""


def compile_guards(guards, arg_names: tuple, fn, builtins: dict, name: str):
    """Build one function `check(*arg_names) -> bool` that tests every guard in order."""
    name = re.sub(r"\W", "_", name)
    ns = _SharedReads(arg_names)
    clauses = ns.share(guards) if guards else ["True"]
    params = ", ".join(local_name(arg) for arg in arg_names)
    lines = [f"def __guard_{name}({params}):", "    try:"]
    for block in _blocks(clauses):
        lines += ["        if not (", "            " + "\n            and ".join(block), "        ):",
                  "            return False"]
    # A guard that cannot even be evaluated (a deleted global, a missing attribute) has failed.
    lines += ["        return True", "    except Exception:", "        return False"]
    src = "\n".join(lines) + "\n"
    scope = dict(_SHAPE_GUARD_NAMES, **ns.values)
    scope[ns.g], scope[ns.b], scope[ns.f] = fn.__globals__, builtins, fn
    exec(compiled_source(src, f"<snaptrace guards for {name}>"), scope)
    check = scope[f"__guard_{name}"]
    check.source = src
    check.why = _Explainer(tuple(guards), arg_names, fn, builtins, name)
    return check


_BLOCK_UNITS = 200
"""About how much bytecode (in 2-byte units) one `if not (...): return False` may hold."""


def _blocks(clauses) -> list:
    """The clauses in runs, each tested by one `if`.  Few statements keep the function cheap to
    compile (an `if` costs about as much to parse and compile as three guards), but a failing test
    jumps to its block's `return False`, and a jump of 256 units or more needs an extra
    instruction: a run ends before its estimated bytecode passes `_BLOCK_UNITS`."""
    blocks, block, units = [], [], 0
    for clause in clauses:
        # attribute reads, calls and subscripts take 5 to 7 units with their caches; the rest 1 or 2
        size = 6 * (clause.count(".") + clause.count("(") + clause.count("[")) + clause.count(" ")
        if block and units + size > _BLOCK_UNITS:
            blocks.append(block)
            block, units = [], 0
        block.append(clause)
        units += size
    blocks.append(block)
    return blocks


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


_READ = re.compile("\x00([0-9]+)\x00")
"""How `_SharedReads.src` marks a read in a guard's first rendering: the source's number."""


class _SharedReads(_Namespace):
    """A namespace that renders every guard once, with each read of a source marked by a token,
    then counts the reads from the tokens and spells them: a source read more than once (or read
    through on the way to others) is stored in a local by an assignment expression at its first
    read, `(__snaptrace_s3 := kwargs['x'])`, and later reads use the local.

    Storing at the first read is exact because the guards are joined by `and` and the expression of
    a guard kind marked `conjunction` evaluates its reads left to right, all of them whenever it
    holds (see core/guards.py): a later read runs only after the first did.  Another guard's text
    (a shape guard's, printed by torch) promises no order, so the sources it shares are stored in
    conjuncts of their own just before it.  Either way a read that raises makes the function
    return False, as the guard would have; and should a read ever come before the store, it would
    raise (an unbound local) and fail the guard, never pass it."""

    def __init__(self, taken=()):
        super().__init__(taken)
        # Every source met, read by a guard or read through, gets a number: those guards read first,
        # in the order first rendered, then their bases.  The work after rendering is on numbers.
        self._sources = []  # number -> source
        self._numbers = {}  # source -> number
        self._base = []  # number -> the number of its base, or -1
        self._shared = []  # number -> whether it is stored in a local
        self._spelled = []  # number -> its spelling from now on (its local, or over stored locals), once known
        self._made = 0  # locals made so far

    def src(self, source) -> str:
        number = self._numbers.get(source)
        if number is None:
            number = self._numbers[source] = len(self._sources)
            self._sources.append(source)
        return f"\x00{number}\x00"

    def share(self, guards) -> list:
        """The guards' expressions, in order, with reads spelled through the locals."""
        marked = [guard.expr(self) for guard in guards]
        sources, numbers = self._sources, self._numbers
        read = len(sources)
        reads = [0] * read  # number -> how many times guard expressions read it
        for number, count in collections.Counter(_READ.findall("".join(marked))).items():
            reads[int(number)] = count
        children = [0] * read  # number -> how many distinct sources are read through it
        bases = self._base
        for source in sources:  # grows with the bases met, each source visited once
            base = getattr(source, "base", None)
            if base is None:
                bases.append(-1)
                continue
            number = numbers.get(base)
            if number is None:
                number = numbers[base] = len(sources)
                sources.append(base)
                children.append(0)
            bases.append(number)
            children[number] += 1
        g, b, f = self.g, self.b, self.f
        # A source is stored when it is evaluated more than once: read twice, or read and read
        # through, or read through on the way to two others (one way through is not worth a local).
        self._shared = [
            (below > 1 or (number < read and (below or reads[number] > 1))) and not _is_name(source, g, b, f)
            for number, (source, below) in enumerate(zip(sources, children))]
        self._spelled = [None] * len(sources)
        clauses = []
        for guard, text in zip(guards, marked):
            if getattr(guard, "conjunction", False):
                clauses.append(self._spell_marked(text))
            else:
                clauses += self._stores_before(text)
                clauses.append(f"({self._spell_marked(text)})")
        return clauses

    def _spell_marked(self, marked: str) -> str:
        """A guard's expression with its marked reads spelled, in order."""
        parts = _READ.split(marked)  # text, number, text, number, ..., text
        spelled = self._spelled
        for position in range(1, len(parts), 2):
            number = int(parts[position])
            text = spelled[number]
            if text is None:
                # Parsing is most of compiling the function, and parentheses are dear to parse: an
                # assignment expression that is all of a call's argument (`type(...)`) needs none.
                bare = parts[position - 1].endswith("(") and parts[position + 1].startswith(")")
                text = self._spell(number, bare)
            parts[position] = text
        return "".join(parts)

    def _spell(self, number: int, bare: bool = False) -> str:
        """How to read source `number` here: its local, or its expression over the stored locals; a
        shared source not stored yet is stored by this read (`bare`: in parentheses already)."""
        text = self._spelled[number]
        if text is not None:
            return text
        made, source, base = self._made, self._sources[number], self._base[number]
        over = getattr(source, "expr_over", None) if base >= 0 else None
        if over is not None:
            text = over(self._spell(base), self.g, self.b, self.f)
        else:
            text = source.expr(self.g, self.b, self.f)
        if self._shared[number]:
            local = self._spelled[number] = f"__snaptrace_s{self._made}"
            self._made += 1
            return f"{local} := {text}" if bare else f"({local} := {text})"
        if self._made == made:  # spelled over locals stored before: the same from now on
            self._spelled[number] = text
        return text

    def _stores_before(self, marked: str) -> list:
        """Conjuncts (always true) that store the shared sources a shape guard reads through, before
        it: a source's nearest shared ancestor, itself included, not stored yet."""
        stores = []
        for number in _READ.findall(marked):
            number = int(number)
            while number >= 0 and not self._shared[number]:
                number = self._base[number]
            if number >= 0 and self._spelled[number] is None:
                stores.append(f"[{self._spell(number, bare=True)}]")
        return stores


def _is_name(source, g, b, f) -> bool:
    """Whether the source is spelled as a plain name (an argument, the function `F`): nothing to store."""
    return getattr(source, "base", None) is None and source.expr(g, b, f).isidentifier()
