"""Autocast and inference mode as graph nodes, with the fake tensors following them.

`with torch.autocast(...)` (or an autocast object, or `@torch.autocast(...)`)
records `torch.amp._enter_autocast(device, dtype, enabled, cache)` where the block
starts and `torch.amp._exit_autocast(<that node>)` where it ends, the nodes
Dynamo emits: run eagerly they switch autocast exactly where eager does, and AOT
autograd traces the ops between them under autocast.  `torch.inference_mode()`
does the same with `torch.autograd.grad_mode._enter_inference_mode` /
`_exit_inference_mode`.

While the block is open the mode is on `State.modes`, so every fake op runs
under it too (vt/data/tensor.py) and sees eager's dtypes, `requires_grad` and
inference flags.  Blocks nest (innermost last), and the managers are read from
the real objects torch builds, so defaults (autocast's dtype per device, cache)
are torch's own.  A block a graph break cuts is not rebuilt across the break:
the capture then runs the function eagerly.
"""
from __future__ import annotations

import types

import attrs
import torch

from core.graph_log import NodeRef
from core.guards import IdMatch
from core.outcomes import BreakKind, unsupported
from core.state import State
from vt import registry
from vt.data.constant import ConstantVariable
from vt.protocol import VariableTracker


@attrs.frozen(slots=True)
class AutocastMode:
    """An entered autocast block: its settings and the node that entered it."""

    settings: tuple  # (device_type, dtype, enabled, cache_enabled)
    node: int

    def context(self):
        return torch.autocast(*self.settings)


@attrs.frozen(slots=True)
class InferenceMode:
    """An entered inference-mode block."""

    mode: bool
    node: int

    def context(self):
        return torch.inference_mode(self.mode)


ENTER = {AutocastMode: torch.amp._enter_autocast, InferenceMode: torch.autograd.grad_mode._enter_inference_mode}
EXIT = {AutocastMode: torch.amp._exit_autocast, InferenceMode: torch.autograd.grad_mode._exit_inference_mode}


def autocast_settings(manager) -> tuple:
    """The settings of a real `torch.autocast` object, as `_enter_autocast` takes them."""
    return manager.device, manager.fast_dtype, manager._enabled, manager._cache_enabled


@attrs.frozen(slots=True)
class ModeManagerVariable(VariableTracker):
    """A `torch.autocast(...)` or `torch.inference_mode(...)` manager, not yet entered."""

    kind: type  # AutocastMode or InferenceMode
    settings: tuple  # AutocastMode's settings, or (mode,)
    source: object = attrs.field(default=None, eq=False)

    always_true = True

    def describe(self) -> str:
        return "torch.autocast(...)" if self.kind is AutocastMode else "torch.inference_mode(...)"

    def getattr(self, state, name):
        if name in ("__enter__", "__exit__"):
            return state, ModeMethodVariable(self, name)
        return super().getattr(state, name)

    def call(self, state, args, kwargs):  # `torch.autocast(...)(fn)`: a decorator made while tracing
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{self.describe()} used as a decorator inside the traced "
                           "function", "decorate the function where it is defined")


def enter_mode(state, manager: ModeManagerVariable):
    """The state after entering the manager's mode: an impure node, and the mode on `State.modes`."""
    state, index = state.add_node("call_function", ENTER[manager.kind], tuple(manager.settings), (), None,
                                  impure=True)
    mode = manager.kind(*manager.settings, index) if manager.kind is InferenceMode else \
        AutocastMode(tuple(manager.settings), index)
    return attrs.evolve(state, modes=state.modes + (mode,))


def exit_mode(state, kind):
    """The state after leaving the innermost mode (of `kind`), or Unsupported if it is not open."""
    if not state.modes or type(state.modes[-1]) is not kind:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, "a mode's __exit__ without its __enter__ is not traced")
    mode = state.modes[-1]
    state, _ = state.add_node("call_function", EXIT[kind], (NodeRef(mode.node),), (), None, impure=True)
    return attrs.evolve(state, modes=state.modes[:-1])


@attrs.frozen(slots=True)
class ModeMethodVariable(VariableTracker):
    """`__enter__` / `__exit__` of a mode manager."""

    manager: ModeManagerVariable
    name: str

    always_true = True

    def call(self, state, args, kwargs):
        if self.name == "__enter__":
            return enter_mode(state, self.manager), self.manager
        out = exit_mode(state, self.manager.kind)
        return (out, ConstantVariable(False)) if isinstance(out, State) else out


@attrs.frozen(slots=True)
class ModeFactoryVariable(VariableTracker):
    """`inference_mode(...).clone`, which torch's decorator calls for a fresh manager around each call."""

    mode: bool

    always_true = True

    def call(self, state, args, kwargs):
        if args or kwargs:
            return unsupported(BreakKind.UNSUPPORTED_CALL, "inference_mode.clone with arguments")
        return state, ModeManagerVariable(InferenceMode, (self.mode,))


def _make_autocast(state, args, kwargs):
    values = [arg.constant_value() for arg in args]
    keywords = {key: value.constant_value() for key, value in kwargs.items()}
    if any(not _is_known(value) for value in [*values, *keywords.values()]):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "torch.autocast with arguments not known while tracing")
    try:
        manager = torch.autocast(*values, **keywords)
    except Exception as exc:  # eager raises it too
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"torch.autocast raised {type(exc).__name__}: {exc}")
    return state, ModeManagerVariable(AutocastMode, autocast_settings(manager))


def _make_inference_mode(state, args, kwargs):
    values = [*args, *kwargs.values()]
    if len(values) > 1 or (kwargs and set(kwargs) != {"mode"}):
        return None
    mode = values[0].constant_value() if values else True
    if type(mode) is not bool:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "torch.inference_mode takes one bool known while tracing")
    return state, ModeManagerVariable(InferenceMode, (mode,))


def _is_known(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, torch.dtype))


registry.add_builtin_rule(torch.autocast, _make_autocast)
registry.add_builtin_rule(torch.inference_mode, _make_inference_mode)


@registry.wrap_rule("mode_manager", only=(torch.autocast, torch.inference_mode, types.MethodType))
def _mode_manager(state, value, source, guard):
    """Autocast and inference-mode objects made outside (a global manager, `@torch.autocast(...)`'s
    instance in its wrapper's closure), and inference_mode's `clone` that its decorator calls."""
    if type(value) is torch.autocast:
        state = state.add_guard(IdMatch(source, value, "autocast object")) if guard else state
        return state, ModeManagerVariable(AutocastMode, autocast_settings(value), source)
    if type(value) is torch.inference_mode:
        state = state.add_guard(IdMatch(source, value, "inference_mode object")) if guard else state
        return state, ModeManagerVariable(InferenceMode, (value.mode,), source)
    if isinstance(value, types.MethodType) and value.__name__ == "clone" and type(value.__self__) is torch.inference_mode:
        state = state.add_guard(IdMatch(source, value, "inference_mode.clone")) if guard else state
        return state, ModeFactoryVariable(value.__self__.mode)
    return None



def _innermost(state, kind):
    for mode in reversed(state.modes):
        if type(mode) is kind:
            return mode
    return None


@registry.builtin_rule(torch.is_inference_mode_enabled)
def _is_inference_mode_enabled(state, args, kwargs):
    """Answered inside an inference-mode block the trace entered (outside one it reads global state)."""
    mode = _innermost(state, InferenceMode)
    if mode is None or args or kwargs:
        return None
    return state, ConstantVariable(mode.mode)
