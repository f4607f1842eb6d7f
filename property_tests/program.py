"""A generated program: module source, the function's inputs, and how to load and print it.

A `Program` is plain data, so hypothesis prints a failing one (shrunk) as
readable source with its inputs, and `reproducer()` turns it into a
standalone script.  Every `load()` executes the source into a new module, so
each run starts from the initial module globals.
"""
from __future__ import annotations

import itertools
import linecache
import types

import attrs
import torch

PRELUDE = '''\
import collections.abc
import functools
import weakref

import torch

G_N = {g_n!r}
G_L = {g_l!r}
G_D = {g_d!r}
G_LOG = []


class Box:
    """A small class: a method that reads an attribute and one that writes it."""

    def __init__(self, v):
        self.v = v

    def get(self):
        return self.v

    def bump(self, k):
        self.v = self.v + k
        return self.v


class Ctx:
    """A context manager that logs entry and exit to G_LOG and may swallow the exception."""

    def __init__(self, tag, swallow=False):
        self.tag = tag
        self.swallow = swallow

    def __enter__(self):
        G_LOG.append(('enter', self.tag))
        return self.tag

    def __exit__(self, kind, value, tb):
        G_LOG.append(('exit', self.tag, None if kind is None else kind.__name__))
        return self.swallow


class Vec:
    """Dunders: +, reflected +, ==, len (and so truth), iteration, repr; unhashable (it defines __eq__)."""

    def __init__(self, *items):
        self.items = list(items)

    def __add__(self, other):
        if isinstance(other, Vec):
            return Vec(*self.items, *other.items)
        return NotImplemented

    def __radd__(self, other):
        return Vec(other, *self.items)

    def __eq__(self, other):
        return isinstance(other, Vec) and self.items == other.items

    def __len__(self):
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __repr__(self):
        return 'Vec(' + ', '.join(str(item) for item in self.items) + ')'


class Odd:
    """Dunders set to None (blocking the operation) or giving the wrong type."""

    __bool__ = None
    __iadd__ = None

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __str__(self):
        return self.n

    def __hash__(self):
        return 'h'


class Reg(dict):
    """A dict subclass with a method."""

    def total(self):
        return sum(self.values())


class Bag(list):
    """A list subclass with a method."""

    def first(self):
        return self[0] if self else -1


class Lookup(collections.abc.Mapping):
    """A read-only mapping over a dict: dict(), update() and ** read it through keys() and []."""

    def __init__(self, data):
        self._data = dict(data)

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)


class Node:
    """Weakly referenceable; two of them may point at each other (a cycle only gc frees)."""

    def __init__(self, v):
        self.v = v
        self.other = None


class Tracked:
    """Logs its finalization to G_LOG, so the time it is freed is part of what is compared."""

    def __init__(self, tag):
        self.tag = tag

    def __del__(self):
        G_LOG.append(('del', self.tag))

'''

_counter = itertools.count()
FUNCTION = "fn"
DATA_GLOBALS = ("G_N", "G_L", "G_D", "G_LOG")


def literal(value) -> str:
    """Python source that rebuilds an input value exactly (tensors included)."""
    if isinstance(value, torch.Tensor):
        return f"torch.tensor({value.tolist()!r}, dtype={value.dtype})"
    if isinstance(value, tuple):
        inner = ", ".join(literal(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {literal(item)}" for key, item in value.items()) + "}"
    if isinstance(value, float) and value != value:
        return "float('nan')"
    if value in (float("inf"), float("-inf")):
        return f"float({str(value)!r})"
    return repr(value)


@attrs.frozen(eq=False)
class Program:
    """Source of a module defining `fn`, plus inputs: the example, same-kind and other-kind variants,
    and same-kind variants of other sizes (tensors with every dimension grown, ints moved)."""

    source: str
    inputs: tuple
    same_kind_inputs: tuple
    other_kind_inputs: tuple
    tags: frozenset
    other_size_inputs: tuple = ()  # a tuple of input tuples

    def load(self) -> types.FunctionType:
        """Execute the source into a fresh module and return its `fn`."""
        filename = f"<fuzz-program-{next(_counter)}>"
        lines = self.source.splitlines(keepends=True)
        linecache.cache[filename] = (len(self.source), None, lines, filename)  # readable break messages
        module = types.ModuleType("fuzz_program")
        module.__file__ = filename
        exec(compile(self.source, filename, "exec"), module.__dict__)
        return module.__dict__[FUNCTION]

    def inputs_source(self, which: str = "inputs") -> str:
        return literal(getattr(self, which))

    def reproducer(self, problem: str = "", against: tuple = ("eager",)) -> str:
        """A standalone script: the program, its inputs, and a tracer.check call."""
        comment = "".join(f"# {line}\n" for line in problem.splitlines())
        return (f"# snaptrace fuzz reproducer; constructs: {', '.join(sorted(self.tags))}\n{comment}"
                f"{self.source}\n\nINPUTS = {self.inputs_source()}\n\n"
                "if __name__ == '__main__':\n"
                "    import tracer\n\n"
                f"    report = tracer.check(fn, INPUTS, against={tuple(against)!r})\n"
                "    print(report)\n"
                "    raise SystemExit(0 if report.ok else 1)\n")

    def __repr__(self):
        return (f"Program(constructs={sorted(self.tags)})\n{self.source}\n"
                f"inputs = {self.inputs_source()}\n"
                f"same_kind_inputs = {self.inputs_source('same_kind_inputs')}\n"
                f"other_kind_inputs = {self.inputs_source('other_kind_inputs')}\n"
                f"other_size_inputs = {self.inputs_source('other_size_inputs')}\n")
