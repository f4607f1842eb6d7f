"""The properties every generated program must satisfy, as functions returning problems.

Each function takes a `Program` and returns a list of readable problems (empty
when the property holds), so the pytest properties and the `python -m tracer
fuzz` campaign share one definition:

1. `same_as_eager`      traced result == eager result: value, exception, inputs and globals after;
2. `deterministic`      capturing twice gives the same graphs, guards and breaks;
3. `cache_behaviour`    same-kind inputs hit the cache and stay correct; other kinds stay correct;
                        inputs of other sizes (and other ints) stay correct through automatic dynamic,
                        and a size already served hits the cache again; `dynamic_sizes` does the same
                        with every size and int symbolic from the first capture (`dynamic=True`);
4. `step_is_pure`       stepping a state leaves it (and the inputs) unchanged; stepping twice agrees;
6. `frees_like_eager`   what eager frees once the call is over is freed under snaptrace too.
Property 5 (rollback from any snapshot) is the state machine in test_rollback.py.
"""
from __future__ import annotations

import weakref

from tracer.api import Traced
from tracer.capture import start_state
from tracer.check import (GlobalsSnapshot, check, compare, compare_values, data_globals, fresh_copy, run_eager, run_snaptrace)
from tracer.step import step

MAX_STEPS = 400


def same_as_eager(program, against=("eager",)) -> tuple:
    """Property 1; returns (problems, the CheckReport)."""
    fn = program.load()
    report = check(fn, program.inputs, against=against)
    problems = [str(d) for d in report.differences if d.mode == "snaptrace"]
    problems += [f"snaptrace crashed: {crash}" for mode, crash in report.crashes.items() if mode == "snaptrace"]
    return problems, report


def deterministic(program) -> list:
    """Property 2: two captures of one function on equal inputs agree exactly."""
    fn = program.load()
    views = []
    for _ in range(2):
        traced = Traced(fn, "eager")
        traced.add_capture(fresh_copy(program.inputs))
        views.append(([gm.code for gm in traced.graphs], [str(g) for g in traced.guards],
                      [(b.kind, b.reason, b.lineno) for b in traced.graph_breaks]))
    (graphs_a, guards_a, breaks_a), (graphs_b, guards_b, breaks_b) = views
    problems = []
    if graphs_a != graphs_b:
        problems.append(f"graphs differ between two captures:\n{graphs_a}\n{graphs_b}")
    if guards_a != guards_b:
        problems.append(f"guards differ between two captures:\n{guards_a}\n{guards_b}")
    if breaks_a != breaks_b:
        problems.append(f"graph breaks differ between two captures:\n{breaks_a}\n{breaks_b}")
    return problems


def _call_and_compare(fn, traced, inputs, snapshot, label) -> list:
    expected = run_eager(fn, inputs, snapshot)
    snapshot.restore()
    actual = run_snaptrace(fn, inputs, snapshot, traced)
    snapshot.restore()
    problems = [f"{label}: {d}" for d in compare(expected, actual)]
    if actual.crash:
        problems.append(f"{label}: snaptrace crashed: {actual.crash}")
    return problems


def cache_behaviour(program) -> list:
    """Property 3: a second call with same-kind inputs reuses the capture; other kinds are still right."""
    fn = program.load()
    snapshot = GlobalsSnapshot(fn.__globals__, data_globals(fn))
    traced = Traced(fn, "eager")
    try:
        problems = _call_and_compare(fn, traced, program.inputs, snapshot, "first call")
        captures = len(traced.captures)
        problems += _call_and_compare(fn, traced, program.same_kind_inputs, snapshot, "same-kind call")
        if len(traced.captures) != captures:
            guards = "\n  ".join(str(g) for g in traced.captures[0].guards) if traced.captures else ""
            problems.append(f"same-kind inputs recaptured ({captures} -> {len(traced.captures)} captures); "
                            f"guards of the first capture:\n  {guards}")
        problems += _call_and_compare(fn, traced, program.other_kind_inputs, snapshot, "other-kind call")
        problems += _other_sizes(fn, traced, program, snapshot)
    finally:
        snapshot.restore()
    return problems


def _other_sizes(fn, traced, program, snapshot) -> list:
    """Calls with inputs of other sizes are correct, and each one, made again, reuses a capture."""
    problems = []
    for number, inputs in enumerate(program.other_size_inputs):
        label = f"other-size call {number}"
        problems += _call_and_compare(fn, traced, inputs, snapshot, label)
        captures = len(traced.captures)
        problems += _call_and_compare(fn, traced, inputs, snapshot, f"{label}, again")
        if len(traced.captures) != captures:
            problems.append(f"{label}: the same sizes again recaptured ({captures} -> {len(traced.captures)})")
    return problems


def dynamic_sizes(program) -> list:
    """Property 3 with `dynamic=True`: every size and int of the arguments symbolic from the first
    capture, then the same-kind and other-size inputs, all correct."""
    fn = program.load()
    snapshot = GlobalsSnapshot(fn.__globals__, data_globals(fn))
    traced = Traced(fn, "eager", dynamic=True)
    try:
        problems = _call_and_compare(fn, traced, program.inputs, snapshot, "dynamic=True: first call")
        problems += _call_and_compare(fn, traced, program.same_kind_inputs, snapshot, "dynamic=True: same-kind call")
        problems += [f"dynamic=True: {p}" for p in _other_sizes(fn, traced, program, snapshot)]
    finally:
        snapshot.restore()
    return problems


def step_is_pure(program) -> list:
    """Property 4 along the whole trace: `step` leaves its state (and the real inputs) as they were,
    and stepping the same state twice gives equal results."""
    fn = program.load()
    inputs = fresh_copy(program.inputs)
    pristine = fresh_copy(inputs)
    snapshot = GlobalsSnapshot(fn.__globals__, data_globals(fn))
    globals_before = fresh_copy(snapshot.current())
    try:
        state = start_state(fn, inputs, {})
    except TypeError:
        return []
    problems = []
    for _ in range(MAX_STEPS):
        before = repr(state)
        first, second = step(state), step(state)
        if repr(state) != before:
            problems.append(f"step changed its input state at {state.frame.instruction.opname}")
        if first != second:
            problems.append(f"stepping twice at {state.frame.instruction.opname} gave different results:\n"
                            f"{first}\n{second}")
        if problems:
            break
        state = first.value_or(None)
        if state is None:
            break

    problems += [f"stepping changed {d}" for d in compare_values(pristine, inputs, "inputs", {})]
    problems += [f"stepping changed {d}" for d in compare_values(globals_before, snapshot.current(), "globals", {})]
    snapshot.restore()
    return problems


MAX_DEPTH = 4


def _weak_leaves(path: tuple, value, out: dict, depth: int = 0) -> None:
    """Weak references to the objects inside `value` that support them (tensors, objects of the
    prelude's classes, functions), keyed by their path; containers are walked."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, (tuple, list)):
        for position, item in enumerate(value):
            _weak_leaves(path + (position,), item, out, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _weak_leaves(path + (repr(key),), item, out, depth + 1)
        return
    try:
        out[path] = weakref.ref(value)
    except TypeError:
        pass


def _freed_after_calls(call, inputs_list) -> list:
    """For each call: {path: freed?} of its inputs and its result, once the caller drops them (no
    gc: what reference counting frees at once)."""
    patterns = []
    for inputs in inputs_list:
        inputs = fresh_copy(inputs)
        try:
            result = call(*inputs)
        except Exception:  # the exception (and its traceback) is gone once this handler ends
            result = None
        refs = {}
        _weak_leaves(("input",), inputs, refs)
        _weak_leaves(("result",), result, refs)
        del inputs, result
        patterns.append({path: ref() is None for path, ref in refs.items()})
    return patterns


def frees_like_eager(program) -> list:
    """Property 6: every input and result object that eager frees once the call is over (reference
    counting, no gc) is freed under snaptrace too, on the capturing call and on a cached one:
    guards, entries and captures keep nothing of the program alive."""
    calls = [program.inputs, program.same_kind_inputs]
    eager_fn = program.load()
    expected = _freed_after_calls(eager_fn, calls)
    traced_fn = program.load()
    snapshot = GlobalsSnapshot(traced_fn.__globals__, data_globals(traced_fn))
    try:
        actual = _freed_after_calls(Traced(traced_fn, "eager"), calls)
    finally:
        snapshot.restore()
    problems = []
    for label, eager_freed, traced_freed in zip(("capturing call", "cached call"), expected, actual):
        kept = sorted(str(path) for path, freed in eager_freed.items() if freed and not traced_freed.get(path, True))
        if kept:
            problems.append(f"{label}: eager frees {', '.join(kept)} once the call is over; snaptrace keeps it alive")
    return problems


PROPERTIES = {"same_as_eager": lambda p: same_as_eager(p)[0], "deterministic": deterministic,
              "cache": cache_behaviour, "dynamic_sizes": dynamic_sizes, "step_is_pure": step_is_pure,
              "frees": frees_like_eager}
