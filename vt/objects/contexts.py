"""Context managers the tracer models: torch's grad-mode switches and `contextlib.contextmanager`.

A `with` block calls `__enter__` and later `__exit__` (tracer/ops/with_blocks.py);
managers written in Python are simply inlined.  The records here stand for
managers whose methods are not Python code the tracer could run:

* grad mode (`torch.no_grad()`, `torch.enable_grad()`, `torch.set_grad_enabled(b)`):
  switching becomes a `torch._C._set_grad_enabled` node in the graph, so the
  compiled graph switches exactly where eager does, and `State.grad_enabled`
  follows along so fake tensors get eager's `requires_grad`.  The grad mode at
  capture time is guarded (GlobalStateMatch).
* `@contextlib.contextmanager` functions: the manager is the generator;
  `__enter__` runs it to its first yield, `__exit__` resumes it or throws the
  block's exception into it, honouring suppression as contextlib does.
"""
from __future__ import annotations

import contextlib

import attrs
import torch

from core.guards import ConstantMatch
from core.sources import AttrSource
from core.stops import Exhausted
from effects import heap
from vt import registry
from vt.data.dicts import DictVariable
from vt.callables.exceptions import ExceptionVariable, exception_value
from vt.callables.generators import resume
from vt.iteration import IteratorVariable
from vt.protocol import VariableTracker
from vt.data.constant import ConstantVariable
from core.outcomes import BreakKind, Thrown, raise_error, unsupported

GRAD_MODE_CLASSES = {torch.no_grad: False, torch.enable_grad: True, torch.set_grad_enabled: None}


def set_grad_mode(state, enabled: bool):
    """The state after the traced program switches grad mode: a graph node, and fake tensors follow."""
    if enabled == state.grad_enabled:
        return state
    state, _ = state.add_node("call_function", torch._C._set_grad_enabled, (enabled,), (), None, impure=True)
    return attrs.evolve(state, grad_enabled=enabled)


def make_grad_mode(state, cls, args, kwargs):
    """`torch.no_grad()`, `torch.enable_grad()` or `torch.set_grad_enabled(mode)` (which switches at once)."""
    if cls is not torch.set_grad_enabled:
        if args or kwargs:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"torch.{cls.__name__} with arguments is not traced")
        return state, GradModeVariable(GRAD_MODE_CLASSES[cls], None)
    values = list(args) + [kwargs[key] for key in ("mode",) if key in kwargs]
    if len(values) != 1 or len(kwargs) > 1 or not isinstance(values[0], ConstantVariable) \
            or type(values[0].constant_value()) is not bool:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "torch.set_grad_enabled takes one bool known while tracing")
    enabled = values[0].constant_value()
    before = state.grad_enabled
    return set_grad_mode(state, enabled), GradModeVariable(enabled, before)


@attrs.frozen(slots=True)
class GradModeVariable(VariableTracker):
    """A grad-mode context manager; `restore` is set when it switched on construction (set_grad_enabled)."""

    enabled: bool
    restore: object  # bool, or None for no_grad/enable_grad (they remember the mode at __enter__)

    always_true = True

    def describe(self) -> str:
        if self.restore is not None:
            return f"torch.set_grad_enabled({self.enabled})"
        return "torch.enable_grad()" if self.enabled else "torch.no_grad()"

    def getattr(self, state, name):
        if name == "__enter__":
            return state, GradModeMethod(self, "enter", state.grad_enabled)
        if name == "__exit__":
            restore = state.grad_enabled if self.restore is None else self.restore
            return state, GradModeMethod(self, "exit", restore)
        return super().getattr(state, name)


@attrs.frozen
class GradModeExit:
    """A real `__exit__` that sets grad mode back to `mode`: how a grad-mode `with` block crosses
    a graph break.  The graph before the break leaves the block's grad mode on, so the step and
    resume functions run inside the block as eager does; the resumed code calls this when the
    block ends, and its trace models it again as a GradModeMethod (see `wrap_grad_mode_exit`)."""

    mode: bool

    def __call__(self, exc_type=None, exc_value=None, traceback=None):
        torch._C._set_grad_enabled(self.mode)


def wrap_grad_mode_exit(state, value: GradModeExit, source, guard: bool):
    if guard:
        state = state.add_guard(ConstantMatch.of(AttrSource(source, "mode"), value.mode))
    manager = GradModeVariable(not value.mode, None)
    return state, GradModeMethod(manager, "exit", value.mode)


@attrs.frozen(slots=True)
class GradModeMethod(VariableTracker):
    """`__enter__` / `__exit__` of a grad-mode manager; `mode` is the mode __exit__ goes back to."""

    manager: GradModeVariable
    which: str
    mode: bool

    always_true = True

    def rebuild(self, emitter):
        """An `__exit__` crossing a graph break is remade as a GradModeExit (wrapped again on the other side)."""
        if self.which != "exit":
            return super().rebuild(emitter)
        emitter.call_maker(GradModeExit, (self.mode,))
        return None

    def call(self, state, args, kwargs):
        if self.which == "enter":
            if self.manager.restore is None:
                state = set_grad_mode(state, self.manager.enabled)
            return state, ConstantVariable(None)
        return set_grad_mode(state, self.mode), ConstantVariable(None)


@attrs.frozen(slots=True)
class GradModeFactoryVariable(VariableTracker):
    """`ctx.clone` of a grad-mode manager used as a decorator (`@torch.no_grad()`): torch's wrapper
    calls it for a fresh manager around each call of the decorated function, which is inlined."""

    cls: type
    mode: object  # set_grad_enabled's mode, None for the others

    always_true = True

    def describe(self) -> str:
        return f"torch.{self.cls.__name__}.clone"

    def call(self, state, args, kwargs):
        if args or kwargs:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"{self.describe()} with arguments")
        fresh = [] if self.mode is None else [ConstantVariable(self.mode)]
        return make_grad_mode(state, self.cls, fresh, {})


# -- contextlib.contextmanager ------------------------------------------------------------------

def make_generator_context(state, args, kwargs):
    """`_GeneratorContextManager(func, args, kwds)`, as contextmanager's helper builds it."""
    if kwargs or len(args) != 3:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "contextlib._GeneratorContextManager built by hand")
    func, positional, keywords = args
    items = positional.unpack(state, None)
    if items is None or not isinstance(keywords, DictVariable):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "contextmanager arguments are not modelled")
    out = func.call(state, list(items), dict(heap.current(state, keywords).entries))
    if type(out) is not tuple:
        return out
    state, generator = out
    if not isinstance(generator, IteratorVariable) or not hasattr(generator, "started"):
        return raise_error(TypeError, "the contextmanager function did not return a generator")
    return state, GeneratorContextVariable(generator)


@attrs.frozen(slots=True)
class GeneratorContextVariable(VariableTracker):
    """A `@contextmanager` manager: the generator it drives."""

    generator: object

    always_true = True

    def describe(self) -> str:
        return f"contextmanager over {self.generator.describe()}"

    def getattr(self, state, name):
        if name in ("__enter__", "__exit__"):
            return state, GeneratorContextMethod(self.generator, name)
        return super().getattr(state, name)


@attrs.frozen(slots=True)
class GeneratorContextMethod(VariableTracker):
    """`__enter__` / `__exit__` of a `@contextmanager` manager, with contextlib's rules."""

    generator: object
    name: str

    always_true = True

    def call(self, state, args, kwargs):
        if self.name == "__enter__":
            out = resume(state, self.generator, "next")
            if type(out) is Exhausted:
                return raise_error(RuntimeError, "generator didn't yield")
            return out
        if len(args) != 3 or kwargs:
            return unsupported(BreakKind.UNSUPPORTED_CALL, "__exit__ takes the exception type, value and traceback")
        typ, exc = args[0], args[1]
        if typ.constant_value() is None:
            out = resume(state, self.generator, "next")
            if type(out) is Exhausted:
                return out.state, ConstantVariable(False)
            if type(out) is tuple:
                return raise_error(RuntimeError, "generator didn't stop")
            return out
        if exc.constant_value() is None:  # `value = typ()`: an exception to recognise when it comes back
            out = exception_value(state, typ, "exceptions must derive from BaseException")
            if type(out) is not tuple:
                return out
            state, exc = out
        if not isinstance(exc, ExceptionVariable):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, "__exit__ called with a non-exception value")
        out = resume(state, self.generator, "throw", exc)
        if type(out) is Exhausted:  # the generator caught it and finished: the exception is suppressed
            return out.state, ConstantVariable(True)
        if type(out) is tuple:
            return raise_error(RuntimeError, "generator didn't stop after throw()")
        if type(out) is not Thrown or out.exception is None:
            return out
        where = out.state or state
        raised = heap.current(where, out.exception)
        if raised.oid == exc.oid:
            return where, ConstantVariable(False)  # the same exception: `with` re-raises it
        if issubclass(raised.cls, RuntimeError) and issubclass(heap.current(where, exc).cls, StopIteration) \
                and raised.cause is not None and raised.cause.oid == exc.oid:
            return where, ConstantVariable(False)  # PEP 479 wrapped the StopIteration the body raised
        return out


@attrs.frozen(slots=True)
class TracebackVariable(VariableTracker):
    """The traceback `__exit__` receives: not modelled beyond being a true, non-None object."""

    always_true = True

    def describe(self) -> str:
        return "traceback"


for _cls in GRAD_MODE_CLASSES:
    registry.add_builtin_rule(_cls, lambda state, args, kwargs, cls=_cls: make_grad_mode(state, cls, args, kwargs))
registry.add_builtin_rule(contextlib._GeneratorContextManager, make_generator_context)
