"""The guard function: every guard of a capture joined into one generated Python function.

A cache hit then costs one call and a chain of cheap comparisons.  The guard
records themselves (core/guards.py) know how to render their own expression;
this module only assembles them.
"""
from __future__ import annotations

import re

from core.guards import _Namespace
from core.sources import local_name


def compile_guards(guards, arg_names: tuple, fn, builtins: dict, name: str):
    """Build one function `check(*arg_names) -> bool` that tests every guard in order."""
    name = re.sub(r"\W", "_", name)
    ns = _Namespace(arg_names)
    clauses = [f"({g.expr(ns)})" for g in guards] or ["True"]
    params = ", ".join(local_name(arg) for arg in arg_names)
    body = "\n            and ".join(clauses)
    # A guard that cannot even be evaluated (a deleted global, a missing attribute) has failed.
    src = (f"def __guard_{name}({params}):\n    try:\n        return (\n            {body}\n        )\n"
           f"    except Exception:\n        return False\n")
    scope = dict(ns.values)
    scope[ns.g], scope[ns.b], scope[ns.f] = fn.__globals__, builtins, fn
    exec(compile(src, f"<snaptrace guards for {name}>", "exec"), scope)
    check = scope[f"__guard_{name}"]
    check.source = src
    return check
