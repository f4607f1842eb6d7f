"""The guard function: every guard of a capture joined into one generated Python function.

A cache hit then costs one call and a chain of cheap comparisons.  The guard
records themselves (core/guards.py) know how to render their own expression;
this module only assembles them.  When every capture misses, `check.why(*args)`
says which guard failed and on which input, for the recapture log: a second
function, generated only when first asked, that tests the guards one by one.
"""
from __future__ import annotations

import re
import reprlib

import torch

from core.guards import _Namespace


def compile_guards(guards, arg_names: tuple, fn, builtins: dict, name: str):
    """Build one function `check(*arg_names) -> bool` that tests every guard in order."""
    name = re.sub(r"\W", "_", name)
    ns = _Namespace(arg_names)
    clauses = [f"({g.expr(ns)})" for g in guards] or ["True"]
    params = ", ".join(arg_names)
    body = "\n            and ".join(clauses)
    # A guard that cannot even be evaluated (a deleted global, a missing attribute) has failed.
    src = (f"def __guard_{name}({params}):\n    try:\n        return (\n            {body}\n        )\n"
           f"    except Exception:\n        return False\n")
    scope = dict(ns.values)
    scope[ns.g], scope[ns.b], scope[ns.f] = fn.__globals__, builtins, fn
    exec(compile(src, f"<snaptrace guards for {name}>", "exec"), scope)
    check = scope[f"__guard_{name}"]
    check.source = src
    check.why = _Explainer(tuple(guards), clauses, params, scope, ns, name)
    return check


class _Explainer:
    """`why(*args)`: a description of the first guard that fails for these arguments (None if all
    hold): the guard, and what the inputs it reads are now."""

    def __init__(self, guards, clauses, params, scope, ns, name):
        self._guards, self._clauses, self._params = guards, clauses, params
        self._scope, self._ns, self._name = scope, ns, name
        self._first_failing = None

    def _compile(self):
        lines = [f"def __why_{self._name}({self._params}):"]
        for position, clause in enumerate(self._clauses):
            lines += ["    try:", f"        if not {clause}:", f"            return {position}",
                      "    except Exception:", f"        return {position}"]
        lines.append("    return None")
        scope = dict(self._scope)
        exec(compile("\n".join(lines) + "\n", f"<snaptrace guard explanation for {self._name}>", "exec"), scope)
        return scope[f"__why_{self._name}"]

    def __call__(self, *args):
        if self._first_failing is None:
            self._first_failing = self._compile()
        position = self._first_failing(*args)
        if position is None or not self._guards:
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
        names = self._params.split(", ") if self._params else []
        scope = dict(self._scope, **dict(zip(names, args)))
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
