"""The user's trace rules: `allow_in_graph`, `disable`, `assume_constant_result`.

Each marks one callable (and returns it, so each works as a decorator), as `torch.compiler`'s
functions of the same names do for Dynamo; `explain` prints the decision that applied at each
break at a call.  See vt/callables/trace_rules.py for the default decisions.
"""
from __future__ import annotations

from vt.callables.trace_rules import Rule, mark, rule_for


def allow_in_graph(fn):
    """Calls to `fn` become nodes of the graph, with their output found by running `fn` on fake
    tensors (so `fn` must be a function of its tensor arguments, without Python side effects)."""
    mark(fn, Rule.GRAPH)
    return fn


def disable(fn):
    """Calls to `fn` are never traced: each runs for real, at a graph break."""
    mark(fn, Rule.EAGER)
    return fn


def assume_constant_result(fn):
    """Calls to `fn` run while tracing, on arguments known while tracing, and their result is taken
    as a constant of the capture (no guard is added: the result must not change between calls)."""
    mark(fn, Rule.FOLD)
    return fn


def trace_rule(fn) -> str:
    """What calling `fn` means while tracing, in words."""
    rule, why = rule_for(fn)
    return f"{rule.value} ({why})"
