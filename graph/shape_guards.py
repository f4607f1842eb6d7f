"""The shape guards of a capture: what torch's ShapeEnv learned about the symbols, as guard records.

When a capture made sizes or ints symbolic (core/dynamic.py), the trace relied on facts about them:
the comparisons that steered control flow, the equalities broadcasting needed, the ranges the
symbols were created with (sizes start at 2, since 0 and 1 are specialised).  The ShapeEnv kept
them; `produce_guards` turns them into Python expressions over the inputs, which become
`ShapeGuard` records (core/guards.py) read as `x.size(0) >= 2` and checked by the guard function
like any other guard.

It runs after the backend compiled the graph, as Dynamo does: a backend may add guards too.
"""
from __future__ import annotations

import torch

from core.dynamic import TorchSource, our_source
from core.guards import ShapeGuard, TensorMatch


def settle(env, guards: tuple) -> tuple:
    """The capture's guards once the trace is over: tensor guards of symbolic inputs check as
    constants the sizes the trace specialised (TensorMatch.settled)."""
    if not env.symbolic_inputs:
        return guards
    fakes = {source: value for value, source in env.symbolic_inputs if isinstance(value, torch.Tensor)}
    return tuple(guard.settled(fakes[guard.source]) if type(guard) is TensorMatch and guard.symbolic
                 and guard.source in fakes else guard for guard in guards)


def shape_guards(env) -> tuple:
    """The ShapeGuards for the symbols created in the trace `env` ran (none without symbols)."""
    if not env.symbolic_inputs:
        return ()
    inputs = {}
    for value, source in env.symbolic_inputs:  # an input wrapped again after a rollback: once
        inputs.setdefault(source, value)
    found = []  # sources, in the order the expressions name them

    def name(torch_source) -> str:
        source = our_source(torch_source)
        if source is None:
            raise ValueError(f"a shape guard reads {torch_source.name}, which is not an input")
        if source not in found:
            found.append(source)
        return f"__snaptrace_sym{found.index(source)}"

    shape_env = env.fake_mode.shape_env
    texts = shape_env.produce_guards_verbose(list(inputs.values()), [TorchSource(s) for s in inputs],
                                             source_ref=name, langs=("python",))[0].exprs
    guards = []
    for text in texts:
        used = tuple(position for position in range(len(found)) if f"__snaptrace_sym{position}" in text)
        renumbered = text
        for new, old in sorted(enumerate(used), key=lambda pair: -pair[1]):  # sym10 before sym1
            renumbered = renumbered.replace(f"__snaptrace_sym{old}", f"__snaptrace_sym_{new}")
        renumbered = renumbered.replace("__snaptrace_sym_", "__snaptrace_sym")
        guards.append(ShapeGuard(renumbered, tuple(found[position] for position in used)))
    return tuple(guards)
