"""One capture: trace a function on concrete arguments and build its entry.

This is where the final interpreters meet: the graph log becomes an FX graph
(`graph.fx_build`) compiled by the backend, the guards become one check
function (`graph.guard_function`), and the return value becomes bytecode
(`graph.rebuild`, `graph.codegen`).  A capture that stops at a graph break
yields an entry that runs the function eagerly under the guards gathered so
far, which keeps every call correct.
"""
from __future__ import annotations

import builtins
import contextlib
import gc
import logging
import os
import weakref

import attrs
import torch
from pyrsistent import pvector

from core.assembler import Instr
from effects import heap
from effects.records import for_report
from graph.backends import compile_with
from core.signatures import Signature, binder
from graph.codegen import eager_entry, graph_entry
from graph.fx_build import build_graph
from core.dynamic import DYNAMIC_INT, DynamicPolicy
from core.guards import ConstantMatch, GlobalStateMatch, TensorMatch
from core.identity_guards import distinct_groups
from graph.shape_guards import settle, shape_guards
from graph.guard_function import compile_guards
from graph.rebuild import graph_outputs, rebuild
from graph.resume_code import box_taking
from graph.resume import (ITERATOR_SLOT, NULL_SLOT, UNBOUND_SLOT, VALUE_SLOT, Layout, ResumeBuilder, extra_cells,
                          origin)
from core.errors import BackendError, FullGraphError
from core.state import Env, Frame, initial_state
from core.code import code_info_of, decode
from tracer.continuations import compile_callee
from tracer.step import INTERPRETER, run
from graph.raise_entry import raising_capture
from core.stops import GraphBreak, Raised, Returned
from vt.data.fake_mode import trace_fake_mode
from vt.data.iterators import EnumerateIteratorVariable, ZipIteratorVariable
from vt.iteration import IteratorVariable, ListIteratorVariable, SequenceIteratorVariable
from vt.data.constant import RangeIteratorVariable
from vt.data.symbolic import SymbolicRangeIteratorVariable
from vt.callables.lazy import LazyVariable
from core.outcomes import BreakKind
from vt.protocol import NULL, VariableTracker
from vt.data.constant import ConstantVariable
from vt.callables.functions import existing_cells
from vt.data.lists import TupleVariable
from vt.data.tensor_checks import rerun_plan
from core.sources import FunctionSource, ItemSource, LocalSource

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
    resumes: tuple = ()  # Traced functions a break continues in: resume functions, a callee that broke
    effects: tuple = ()  # effect records (effects/records.py) the entry replays after the graph
    observed: dict = attrs.field(factory=dict)  # source -> shape (None: symbolic) or int: for automatic dynamic


def bind_arguments(fn, args: tuple, kwargs: dict) -> tuple:
    """The parameter values CPython would bind, or the TypeError it would raise."""
    if hasattr(fn, "__snaptrace_origin__") and not kwargs and len(args) == fn.__code__.co_argcount:
        return tuple(args)  # a resume function: positional parameters only, passed by a step function
    return binder(fn)(*args, **kwargs)


def start_state(fn, args: tuple, kwargs: dict, dynamic: DynamicPolicy | None = None, rebuilt=None):
    """The State before the first instruction of fn(*args, **kwargs); TypeError for a bad call.

    `dynamic` says which sizes and ints become symbols (core/dynamic.py); by default none.
    `rebuilt`: the WeakSet of functions entries made anew (see graph/rebuild.py)."""
    bound = bind_arguments(fn, args, kwargs)
    env = Env(fn, fn.__globals__, vars(builtins), trace_fake_mode(), interpreter=INTERPRETER,
              rebuilt=weakref.WeakSet() if rebuilt is None else rebuilt, dynamic=dynamic or DynamicPolicy())
    known = getattr(fn, "__snaptrace_decoded__", None)  # a resume function comes decoded
    if known is not None:
        env.decoded[(fn.__code__, id(fn.__globals__))] = code_info_of(fn.__code__, known, fn.__globals__)
    info = env.code_info(fn.__code__, fn.__globals__, None)
    values = [None] * len(info.localsplus)
    fresh = hasattr(fn, "__snaptrace_origin__")  # a resume function: its arguments are rebuilt per call
    for position, value in enumerate(bound):
        values[position] = LazyVariable(LocalSource(info.localsplus[position], fresh), value)
    state = initial_state(info, values, env).add_guard(GlobalStateMatch.now())
    state, cells = existing_cells(state, fn, FunctionSource())
    if cells:  # free variables occupy the last slots of the frame
        values[len(values) - len(cells):] = cells
        state = state.with_frame(Frame(info, 0, (), pvector(values), ()))
    return state


@contextlib.contextmanager
def _fake_tensor_logs_muted():
    """Torch logs a full traceback when a meta kernel raises; while tracing that is an expected
    outcome (the call becomes a break and runs eagerly), so the logger is muted for the capture."""
    logger = logging.getLogger("torch._subclasses.fake_tensor")
    was_muted = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was_muted


def capture(fn, args: tuple, kwargs: dict, backend, number: int, resume_cache: dict | None = None,
            continuation=None, dynamic: DynamicPolicy | None = None, fullgraph: bool = False,
            rebuilt=None) -> Capture:
    """Trace `fn(*args, **kwargs)` and return a Capture; BackendError if the backend fails.

    `resume_cache` holds the ResumeBuilder of fn's breaks (shared with its resume functions);
    `continuation(f, resume_cache=None)` makes the compiled function (a `Traced`) a break continues in:
    a resume function, or a callee that broke inside.  `dynamic` says what becomes symbolic.  With
    `fullgraph`, a capture that would break raises FullGraphError instead (nothing has run yet).
    `rebuilt` is the WeakSet of functions the entries make anew, shared with them."""
    with _collector_paused():
        state = start_state(fn, args, kwargs, dynamic, rebuilt)
        made = _capture(fn, state, backend, number, resume_cache, continuation)
    if fullgraph and made.graph_breaks:
        raise FullGraphError.of(fn, made.graph_breaks[0])
    why = getattr(made.entry, "__snaptrace_check__", None)
    if why is not None:  # for the recapture log: which guard fails for a call that misses
        made.entry.__snaptrace_why__ = lambda *args, **kwargs: why.why(*bind_arguments(fn, args, kwargs))
    return made


@contextlib.contextmanager
def _collector_paused():
    """The cyclic garbage collector off while a capture runs.  A capture allocates hundreds of
    thousands of short-lived records (every step makes a State and a Frame), almost all freed by
    reference counting, yet each few hundred allocations start a collection that walks the young
    objects, and compiling the guard function's source (tens of thousands of syntax nodes) with a
    model's objects alive took twice as long as alone.  The cycles a capture leaves are collected
    at the next collection after it (and `gc.collect()` still works inside)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _capture(fn, state, backend, number: int, resume_cache, continuation) -> Capture:
    try:
        with _fake_tensor_logs_muted():
            final, stop = run(state)
        if type(stop) is Returned:
            return _graph_capture(fn, final, stop.value, backend, number)
        if type(stop) is Raised:  # the function raises: graph and effects, then the same exception
            return raising_capture(fn, final, stop.exception,
                                   lambda fn, state, value: _graph_capture(fn, state, value, backend, number))
        if stop.kind is BreakKind.TRACE_BUDGET:  # no resume function: it would trace as long again
            return _eager_capture(fn, final, stop, number)
        resumed = _resume_capture(fn, final, stop, backend, number, {} if resume_cache is None else resume_cache,
                                  continuation)
        return resumed if resumed is not None else _eager_capture(fn, final, stop, number)
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
    guards = distinct_groups(settle(state.env, state.guard_list())) + shape_guards(state.env)
    check = compile_guards(guards, _argnames(fn), fn, vars(builtins), f"{fn.__name__}_{number}")
    return guards, check


def _argnames(fn) -> tuple:
    return Signature.of(fn.__code__).argnames


def _observed(state, guards) -> dict:
    """What this capture saw at each input source that automatic dynamic watches: the shape of each
    tensor input (None where it was symbolic) and the value of each int input (DYNAMIC_INT when
    symbolic)."""
    seen = {}
    for guard in guards:
        kind = type(guard)
        if kind is TensorMatch:
            seen[guard.source] = guard.shape
        elif kind is ConstantMatch and type(guard.value) is int:
            seen[guard.source] = guard.value
        elif kind is ConstantMatch and type(guard.value) is torch.Size:  # its items, one by one
            seen.update((ItemSource(guard.source, position), item) for position, item in enumerate(guard.value))
    for value, source in state.env.symbolic_inputs:
        if type(value) is torch.SymInt:
            seen[source] = DYNAMIC_INT
    return seen


def _eager_capture(fn, state, stop: GraphBreak, number: int) -> Capture:
    guards, check = _guard_function(fn, state, number)
    return Capture(eager_entry(fn, check), (), guards, (stop,), check.source, observed=_observed(state, guards))


def _graph_capture(fn, state, value, backend, number: int) -> Capture:
    result = _compile_graph(fn, state, value, backend, number)
    if type(result) is not tuple:
        filename, _ = state.location()
        stop = GraphBreak(result.kind, result.reason, filename, state.frame.instruction.lineno, result.hint,
                          "RETURN_VALUE")
        return _eager_capture(fn, state, stop, number)
    compiled, graphs, sources, (prologue, code) = result
    guards, check = _guard_function(fn, state, number)
    entry = graph_entry(fn, check, compiled, sources, prologue, code, rerun=rerun_plan(state.graph))
    return Capture(entry, graphs, guards, (), check.source, (), for_report(state.effects), _observed(state, guards))


def _compile_graph(fn, state, value, backend, number: int, spread: bool = False):
    """The graph computing what `value` and the effects need, compiled, and the bytecode that
    replays the effects and pushes `value` (each of its items, with `spread`):
    (compiled, graphs, input sources, (prologue, code)), or the Unsupported that prevents
    rebuilding `value`."""
    outputs = graph_outputs(state, value)
    positions = {node: position for position, node in enumerate(outputs)}
    result = rebuild(state, value, positions, spread)
    if type(result) is not tuple:
        return result
    built = build_graph(state.graph, state.placeholders, outputs, _argnames(fn), f"{fn.__name__}_graph_{number}")
    if built is None:
        return None, (), (), result
    # A symbolic input's example is its SymInt (as Dynamo passes it), so the backend sees the symbol.
    examples = [_example(state.graph[index]) for index in built.input_nodes]
    compiled = compile_with(backend, f"graph {number} of {fn.__qualname__}", built.module, examples,
                            state.env.fake_mode if state.env.symbolic_inputs else None)
    return compiled, (built.module,), built.input_sources, result


def _example(node):
    return node.example if type(node.example) is torch.SymInt else node.value


def _resume_capture(fn, state, stop: GraphBreak, backend, number: int, cache: dict, continuation):
    """Compile the graph up to the break and continue from the snapshot: the entry runs the graph,
    replays the effects, rebuilds the value stack and the live locals, runs the instruction that
    broke for real and calls a resume function for the rest.  None when that is not possible
    (the caller then runs the whole function eagerly)."""
    frame = state.frame
    user_fn, shift = origin(fn)
    if state.parents or frame.code.code is not fn.__code__:
        return None
    if frame.ip < shift:  # inside a resume prologue: a value passed in could not be modelled
        return None
    callees = ()
    compiled_callee = compile_callee(state, frame, stop, continuation)
    if compiled_callee is not None:
        state, callee = compiled_callee
        frame, callees = state.frame, (callee,)
    slots = [_slot(state, vt) for vt in frame.stack]
    user_code = user_fn.__code__
    by_name = dict(zip(frame.code.localsplus, frame.locals))
    local_slots = [_local_slot(state, by_name.get(name)) for name in user_code.co_varnames]
    cells = [by_name.get(name) for name in extra_cells(user_code)]
    if any(cell is None for cell in cells):
        return None
    handled = frame.handled
    live = list(frame.stack) + [by_name.get(name) for name in user_code.co_varnames]
    iterators = [oid for vt in live if vt is not None for oid in _iterator_oids(state, vt)]
    if len(set(iterators)) != len(iterators):  # one iterator in two places would become two
        return None
    layout = Layout(tuple(kind for kind, _ in slots), tuple(kind for kind, _ in local_slots), len(cells),
                    handled is not None)
    values = [vt for _, parts in local_slots + slots for vt in parts] + cells
    if handled is not None:
        values.append(handled)
    builder = cache.get(ResumeBuilder)
    if builder is None:
        builder = cache[ResumeBuilder] = ResumeBuilder(
            user_fn, decode(user_fn.__code__, user_fn.__globals__),
            lambda resume: continuation(resume, cache))
    used = {}
    step = builder.step_function(frame.ip - shift, layout, frame.kw_names, used)
    if step is None:
        return None
    result = _compile_graph(fn, state, TupleVariable(tuple(values)), backend, number, spread=True)
    if type(result) is not tuple:
        return None
    compiled, graphs, sources, (prologue, pushed) = result
    guards, check = _guard_function(fn, state, number)
    # The step function takes its arguments in a list it empties (graph/resume_code.py: box_taking).
    body = [Instr("PUSH_NULL"), Instr("LOAD_CONST", box_taking(step)), *pushed, Instr("BUILD_LIST", len(values))]
    entry = graph_entry(fn, check, compiled, sources, prologue, body, continues=1, rerun=rerun_plan(state.graph))
    continued = callees + tuple(used.values())
    return Capture(entry, graphs, guards, (stop,), check.source, continued, for_report(state.effects),
                   _observed(state, guards))


def _local_slot(state, vt) -> tuple:
    """How one of the user's locals crosses the break: unbound ones travel as None (the prologue
    deletes them), the others as stack slots do."""
    if vt is None:
        return UNBOUND_SLOT, [ConstantVariable(None)]
    return _slot(state, vt)


def _slot(state, vt) -> tuple:
    """How one stack slot or local crosses the break: (kind, the VTs that travel for it)."""
    if vt is NULL:
        return NULL_SLOT, []
    if isinstance(vt, IteratorVariable):
        recipe = _iterator_recipe(state, vt)
        if recipe is not None:
            return ITERATOR_SLOT, [recipe]
    return VALUE_SLOT, [vt]


def _iterator_recipe(state, vt):
    """A tuple VT describing a new iterator equivalent to `vt` (see `rebuild_iterator`), or None."""
    current = heap.current(state, vt)
    kind = type(current)
    if kind is RangeIteratorVariable or kind is SymbolicRangeIteratorVariable:
        parts = ("advance", ConstantVariable(current.values), current.index)
    elif kind is SequenceIteratorVariable:
        parts = ("advance", TupleVariable(current.items), current.index)
    elif kind is ListIteratorVariable and not current.done:
        parts = ("advance", state.heap[current.list_oid], current.index)
    elif kind is EnumerateIteratorVariable:
        parts = ("enumerate", _iterator_recipe(state, current.iterator), current.count)
    elif kind is ZipIteratorVariable:
        inner = tuple(_iterator_recipe(state, iterator) for iterator in current.iterators)
        parts = ("zip", None if None in inner else TupleVariable(inner), current.strict)
    else:
        return None
    if None in parts:
        return None
    return TupleVariable(tuple(p if isinstance(p, VariableTracker) else ConstantVariable(p) for p in parts))


def _iterator_oids(state, vt) -> list:
    """Heap ids of `vt` if it is an iterator, and of the iterators it draws from."""
    if not isinstance(vt, IteratorVariable):
        return []
    current = heap.current(state, vt)
    inner = getattr(current, "iterators", ()) or ((current.iterator,) if hasattr(current, "iterator") else ())
    return [vt.oid] + [oid for iterator in inner for oid in _iterator_oids(state, iterator)]
