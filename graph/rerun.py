"""Running a graph that may raise on values the guards do not check, transactionally.

An entry replays the trace's effects only after its graph has run, and the graph
is computed as one piece; so when an op inside it raises at run time (an index out
of range, an integer division by zero), the changes eager makes before that op,
and the `except` / `finally` blocks around it, would be lost.  Such a graph
changes nothing the caller can see while it runs, as long as it writes into no
input (vt/data/tensor_checks.py `rerun_plan` checks that at capture time), except
the random generators, whose states are put back.  So the entry calls it through
`transactional`: on an exception it gets the `RERUN` sentinel and calls the
function eagerly instead, which does exactly what eager does, once.
"""
from __future__ import annotations

import torch

from vt.data.tensor_checks import RERUN_RESTORING_RNG

RERUN = type("Rerun", (), {"__repr__": lambda self: "<snaptrace RERUN>"})()


def _generator_states() -> tuple:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    return torch.get_rng_state(), cuda


def _restore(states: tuple) -> None:
    cpu, cuda = states
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state_all(cuda)


def transactional(compiled, plan: str):
    """`compiled`, returning RERUN instead of raising an Exception (after restoring the random
    generators when `plan` says the graph draws from them)."""
    restoring = plan == RERUN_RESTORING_RNG

    def run(*inputs):
        states = _generator_states() if restoring else None
        try:
            return compiled(*inputs)
        except Exception:  # noqa: BLE001 - the eager rerun raises what eager raises
            if states is not None:
                _restore(states)
            return RERUN
    run.__wrapped__ = compiled
    return run
