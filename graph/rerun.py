"""Running a graph that may raise on values the guards do not check, transactionally.

An entry replays the trace's effects only after its graph has run, and the graph
is computed as one piece; so when an op inside it raises at run time (an index out
of range, an integer division by zero), the changes eager makes before that op,
and the `except` / `finally` blocks around it, would be lost.  Such a graph
changes nothing the caller can see while it runs, as long as it writes into no
input (vt/data/tensor_checks.py `rerun_plan` checks that at capture time), except
the random generators and torch's global modes (a `with torch.no_grad()` or
`torch.autocast` block inside the graph that the raise left switched), whose
states are put back.  So the entry calls it through `transactional`: on an
exception it gets the `RERUN` sentinel and calls the function eagerly instead,
which does exactly what eager does, once.
"""
from __future__ import annotations

import torch

from vt.data.tensor_checks import RERUN_RESTORING_MODES, RERUN_RESTORING_RNG, RERUN_RESTORING_RNG_AND_MODES

RERUN = type("Rerun", (), {"__repr__": lambda self: "<snaptrace RERUN>"})()
_AUTOCAST_DEVICES = ("cpu", "cuda")


def _generator_states() -> tuple:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    return torch.get_rng_state(), cuda


def _restore(states: tuple) -> None:
    cpu, cuda = states
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state_all(cuda)


def _modes() -> tuple:
    """Grad mode and autocast's settings (per device, its cache and nesting depth); inference mode
    needs nothing: the graph's guard object puts it back when the raise drops it."""
    nesting = torch.autocast_increment_nesting() - 1
    torch.autocast_decrement_nesting()
    autocast = tuple((torch.is_autocast_enabled(device), torch.get_autocast_dtype(device))
                     for device in _AUTOCAST_DEVICES)
    return torch.is_grad_enabled(), autocast, torch.is_autocast_cache_enabled(), nesting


def _restore_modes(modes: tuple) -> None:
    grad, autocast, cache, nesting = modes
    torch._C._set_grad_enabled(grad)
    for device, (enabled, dtype) in zip(_AUTOCAST_DEVICES, autocast):
        torch.set_autocast_enabled(device, enabled)
        torch.set_autocast_dtype(device, dtype)
    torch.set_autocast_cache_enabled(cache)
    depth = torch.autocast_increment_nesting() - 1
    torch.autocast_decrement_nesting()
    for _ in range(depth - nesting):  # the autocast blocks the graph entered and did not leave
        if torch.autocast_decrement_nesting() == 0:
            torch.clear_autocast_cache()


def transactional(compiled, plan: str):
    """`compiled`, returning RERUN instead of raising an Exception (after restoring the random
    generators and the global modes when `plan` says the graph draws from or switches them)."""
    restoring = plan in (RERUN_RESTORING_RNG, RERUN_RESTORING_RNG_AND_MODES)
    switching = plan in (RERUN_RESTORING_MODES, RERUN_RESTORING_RNG_AND_MODES)

    def run(*inputs):
        states = _generator_states() if restoring else None
        modes = _modes() if switching else None
        try:
            return compiled(*inputs)
        except Exception:  # noqa: BLE001 - the eager rerun raises what eager raises
            if states is not None:
                _restore(states)
            if modes is not None:
                _restore_modes(modes)
            return RERUN
    run.__wrapped__ = compiled
    return run
