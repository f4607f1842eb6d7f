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
