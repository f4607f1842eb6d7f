"""One capture: trace a function on concrete arguments and build its entry.

This is where the final interpreters meet: the graph log becomes an FX graph
(`graph.fx_build`) compiled by the backend, the guards become one check
function (`graph.guards`), and the return value becomes bytecode
(`graph.reconstruct`, `graph.codegen`).  A capture that stops at a graph break
yields an entry that runs the function eagerly under the guards gathered so
far, which keeps every call correct.
"""
from __future__ import annotations

import builtins
import os

import attrs
from pyrsistent import pvector
from torch._subclasses.fake_tensor import FakeTensorMode

from graph.backends import compile_with
from graph.codegen import binder, eager_entry, graph_entry
from graph.fx_build import build_graph
from graph.guards import GlobalStateMatch, compile_guards
from graph.reconstruct import graph_outputs, rebuild
from tracer.errors import BackendError
from tracer.state import Env, Frame, initial_state
from tracer.step import run
from graph.raise_entry import raising_capture
from tracer.stops import GraphBreak, Raised, Returned
from vt.lazy import LazyVariable
from vt.outcome import BreakKind
from vt.functions import existing_cells
from vt.sources import FunctionSource, LocalSource

STRICT = os.environ.get("SNAPTRACE_STRICT", "") not in ("", "0")
"""Re-raise the tracer's own bugs instead of falling back to eager (the test suite sets this)."""


@attrs.frozen
class Capture:
    """The result of tracing one call: its entry function and everything a user may inspect."""

    entry: object
    graphs: tuple
    guards: tuple
    graph_breaks: tuple
    guard_source: str


def bind_arguments(fn, args: tuple, kwargs: dict) -> tuple:
    """The parameter values CPython would bind, or the TypeError it would raise."""
    return binder(fn)(*args, **kwargs)


def start_state(fn, args: tuple, kwargs: dict):
    """The State before the first instruction of fn(*args, **kwargs); TypeError for a bad call."""
    bound = bind_arguments(fn, args, kwargs)
    env = Env(fn, fn.__globals__, vars(builtins), FakeTensorMode())
    info = env.code_info(fn.__code__, fn.__globals__, None)
    values = [None] * len(info.localsplus)
    for position, value in enumerate(bound):
        values[position] = LazyVariable(LocalSource(info.localsplus[position]), value)
    state = initial_state(info, values, env).add_guard(GlobalStateMatch.now())
    state, cells = existing_cells(state, fn, FunctionSource())
    if cells:  # free variables occupy the last slots of the frame
        values[len(values) - len(cells):] = cells
        state = state.with_frame(Frame(info, 0, pvector(), pvector(values), ()))
    return state


def capture(fn, args: tuple, kwargs: dict, backend, number: int) -> Capture:
    """Trace `fn(*args, **kwargs)` and return a Capture; BackendError if the backend fails."""
    state = start_state(fn, args, kwargs)
    try:
        final, stop = run(state)
        if type(stop) is Returned:
            return _graph_capture(fn, final, stop.value, backend, number)
        if type(stop) is Raised:  # the function raises: graph and effects, then the same exception
            return raising_capture(fn, final, stop.exception,
                                   lambda fn, state, value: _graph_capture(fn, state, value, backend, number))
        return _eager_capture(fn, final, stop, number)
    except BackendError:
        raise
    except Exception as exc:
        if STRICT:
            raise
        problem = GraphBreak(BreakKind.UNSUPPORTED_OPERATION,
                             f"internal tracer error {type(exc).__name__}: {exc} (please report it)",
                             fn.__code__.co_filename, fn.__code__.co_firstlineno)
        return _eager_capture(fn, state, problem, number)


def _guard_function(fn, state, number: int):
    guards = state.guard_list()
    check = compile_guards(guards, _argnames(fn), fn, vars(builtins), f"{fn.__name__}_{number}")
    return guards, check


def _argnames(fn) -> tuple:
    from graph.codegen import Signature

    return Signature.of(fn.__code__).argnames


def _eager_capture(fn, state, stop: GraphBreak, number: int) -> Capture:
    guards, check = _guard_function(fn, state, number)
    return Capture(eager_entry(fn, check), (), guards, (stop,), check.source)


def _graph_capture(fn, state, value, backend, number: int) -> Capture:
    outputs = graph_outputs(state, value)
    built = build_graph(state.graph, state.placeholders, outputs, _argnames(fn), f"{fn.__name__}_graph_{number}")
    positions = {node: position for position, node in enumerate(outputs)}
    result = rebuild(state, value, positions)
    if type(result) is not tuple:
        filename, _ = state.location()
        stop = GraphBreak(result.kind, result.reason, filename, state.frame.instruction.lineno, result.hint,
                          "RETURN_VALUE")
        return _eager_capture(fn, state, stop, number)
    guards, check = _guard_function(fn, state, number)
    compiled, graphs, sources = None, (), ()
    if built is not None:
        examples = [state.graph[index].value for index in built.input_nodes]
        compiled = compile_with(backend, f"graph {number} of {fn.__qualname__}", built.module, examples)
        graphs, sources = (built.module,), built.input_sources
    entry = graph_entry(fn, check, compiled, sources, *result)
    return Capture(entry, graphs, guards, (), check.source)
