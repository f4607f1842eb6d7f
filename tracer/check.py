"""Reference mode: run a function eagerly, through snaptrace and through Dynamo, and compare.

    report = tracer.check(fn, (x, [1, 2]), against=("eager", "dynamo"))
    print(report)          # a table: one row per observed fact, one column per mode
    report.ok              # no mode disagrees with eager on results, exceptions, inputs or globals
    report.differences     # the disagreements, as Difference records

Eager is always the reference.  Every mode runs on its own fresh copy of the
inputs, and the module globals the function can see are put back between runs,
so each mode starts from the same world.  What is compared with eager: the
return value (types, values, aliasing of returned inputs), the exception
raised (type and message), the state of every input afterwards and of every
data global (ints, strings, lists, dicts, tensors, ...) afterwards.  Graph
counts and graph breaks are reported per mode; they are facts, not errors.
"""
from __future__ import annotations

import math
import os
import traceback

import attrs
import torch
from tracer.api import Traced

MODES = ("eager", "snaptrace", "dynamo")
DATA_TYPES = (int, float, bool, str, bytes, type(None), list, dict, set, tuple, torch.Tensor)
_OWN_PACKAGES = tuple(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), package) + os.sep
                      for package in ("tracer", "vt", "graph", "effects"))


@attrs.frozen
class Outcome:
    """What one mode did: its result or exception, and the inputs and globals afterwards."""

    mode: str
    value: object = None
    exception: tuple | None = None  # (type name, message)
    inputs_after: tuple = ()
    globals_after: dict = attrs.field(factory=dict)
    graphs: int | None = None
    breaks: tuple = ()  # readable break reasons
    crash: str | None = None  # a traceback when the mode itself failed (not the user's code)


@attrs.frozen
class Difference:
    """One way `mode` disagrees with eager: `what` (result, exception, input 0, global G) and details."""

    mode: str
    what: str
    detail: str

    def __str__(self):
        return f"{self.mode}: {self.what}: {self.detail}"


@attrs.frozen
class CheckReport:
    """The outcomes of every mode and their differences from eager; `str()` is a table."""

    outcomes: dict
    differences: tuple

    @property
    def ok(self) -> bool:
        return not self.differences and not any(o.crash for o in self.outcomes.values())

    @property
    def crashes(self) -> dict:
        return {mode: o.crash for mode, o in self.outcomes.items() if o.crash}

    def __str__(self):
        return format_table(self)


# -- copying and restoring ---------------------------------------------------------------------
def fresh_copy(value, memo=None):
    """A deep copy of an input structure; tensors are cloned and aliasing inside it is kept."""
    memo = {} if memo is None else memo
    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, torch.Tensor):
        out = value.detach().clone()
        out.requires_grad_(value.requires_grad)
    elif type(value) is list:
        out = memo[id(value)] = []
        out.extend(fresh_copy(item, memo) for item in value)
    elif type(value) is dict:
        out = memo[id(value)] = {}
        out.update((key, fresh_copy(item, memo)) for key, item in value.items())
    elif type(value) is set:
        out = set(value)
    elif type(value) is tuple:
        out = tuple(fresh_copy(item, memo) for item in value)
    else:
        out = _deepcopy_or_same(value, memo)
    memo[id(value)] = out
    return out


def _deepcopy_or_same(value, memo):
    import copy

    try:
        return copy.deepcopy(value)
    except Exception:  # an object that cannot be copied is compared as it is
        return value


def data_globals(fn) -> dict:
    """The module globals of `fn` that hold data (numbers, strings, containers, tensors)."""
    return {name: value for name, value in fn.__globals__.items()
            if not name.startswith("__") and isinstance(value, DATA_TYPES)}


class GlobalsSnapshot:
    """The data globals of a module, restorable in place so object identities survive between modes."""

    def __init__(self, namespace: dict, names):
        self.namespace = namespace
        self.saved = {name: (namespace[name], fresh_copy(namespace[name])) for name in names if name in namespace}

    def restore(self):
        for name, (original, contents) in self.saved.items():
            _reset(original, contents)
            self.namespace[name] = original

    def current(self) -> dict:
        return {name: self.namespace.get(name, "<deleted>") for name in self.saved}


def _reset(obj, contents):
    if isinstance(obj, torch.Tensor):
        with torch.no_grad():
            if obj.shape == contents.shape and obj.dtype == contents.dtype:
                obj.copy_(contents)
    elif type(obj) is list:
        obj[:] = fresh_copy(contents)
    elif type(obj) in (dict, set):
        obj.clear()
        obj.update(fresh_copy(contents))


# -- running one mode ----------------------------------------------------------------------------
def _is_internal(exc: BaseException) -> bool:
    """True when the innermost Python frame of the traceback is snaptrace's own code, other than
    the entry that raises the user's own modelled exception (graph/raise_entry.py)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames or not frames[-1].filename.startswith(_OWN_PACKAGES):
        return False
    return not (frames[-1].filename.endswith(os.path.join("graph", "raise_entry.py"))
                and frames[-1].name == "raising_entry")


def _run(mode: str, call, inputs: tuple, snapshot: GlobalsSnapshot, observe=lambda: (None, ())) -> Outcome:
    value, exception, crash = None, None, None
    try:
        value = call(*inputs)
    except Exception as exc:  # the user's exception is data to compare
        exception = (type(exc).__name__, str(exc))
        if mode != "eager" and _is_internal(exc):
            crash = "".join(traceback.format_exception(exc))
    graphs, breaks = observe()
    # one joint copy, so that a returned input or global keeps pointing at the copied input or global,
    # and restoring the globals for the next mode cannot change what this mode saw
    value, inputs, after = fresh_copy((value, inputs, snapshot.current()))
    return Outcome(mode, value, exception, inputs, after, graphs, tuple(breaks), crash)


def run_eager(fn, inputs, snapshot):
    return _run("eager", fn, fresh_copy(tuple(inputs)), snapshot)


def run_snaptrace(fn, inputs, snapshot, traced=None):
    traced = traced if traced is not None else Traced(fn, "eager")
    outcome = _run("snaptrace", traced, fresh_copy(tuple(inputs)), snapshot,
                   lambda: (len(traced.graphs), [f"[{b.kind.value}] {b.reason}" for b in traced.graph_breaks]))
    internal = [b for b in outcome.breaks if "internal tracer error" in b]
    if internal and outcome.crash is None:
        outcome = attrs.evolve(outcome, crash="\n".join(internal))
    return outcome


def run_dynamo(fn, inputs, snapshot):
    import torch._dynamo
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    graphs = []

    def counting_backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    compiled = torch.compile(fn, backend=counting_backend)

    def observe():
        reasons = {**counters["graph_break"], **counters["unimplemented"]}  # the counter's name varies by version
        return len(graphs), [f"{reason.splitlines()[0]} (x{count})" for reason, count in reasons.items()]

    outcome = _run("dynamo", compiled, fresh_copy(tuple(inputs)), snapshot, observe)
    torch._dynamo.reset()
    return outcome


RUNNERS = {"eager": run_eager, "snaptrace": run_snaptrace, "dynamo": run_dynamo}


# -- comparing -----------------------------------------------------------------------------------
def compare_values(expected, actual, path: str, ids: dict) -> list:
    """Differences between two values: types, contents, tensor metadata and values, aliasing."""
    if type(expected) is not type(actual):
        if isinstance(expected, BaseException) or type(expected).__name__ != type(actual).__name__:
            return [f"{path}: type {type(actual).__name__} != {type(expected).__name__}"]
    if isinstance(expected, (torch.Tensor, list, dict, set)) or hasattr(expected, "__dict__"):
        seen = ids.setdefault(id(expected), id(actual))
        back = ids.setdefault(("actual", id(actual)), id(expected))
        if seen != id(actual) or back != id(expected):
            return [f"{path}: aliasing differs from eager"]
    if isinstance(expected, torch.Tensor):
        return _compare_tensors(expected, actual, path)
    if isinstance(expected, (list, tuple)):
        if len(expected) != len(actual):
            return [f"{path}: length {len(actual)} != {len(expected)} ({_short(actual)} vs {_short(expected)})"]
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in compare_values(e, a, f"{path}[{i}]", ids)]
    if isinstance(expected, dict):
        if list(expected) != list(actual):
            return [f"{path}: keys {list(actual)!r} != {list(expected)!r}"]
        return [d for key in expected for d in compare_values(expected[key], actual[key], f"{path}[{key!r}]", ids)]
    if isinstance(expected, float):
        same = (math.isnan(expected) and math.isnan(actual)) or (
            expected == actual and math.copysign(1, expected) == math.copysign(1, actual))
        return [] if same else [f"{path}: {actual!r} != {expected!r}"]
    if isinstance(expected, (int, str, bool, bytes, type(None), set, frozenset, torch.dtype, torch.Size)):
        return [] if expected == actual else [f"{path}: {actual!r} != {expected!r}"]
    if hasattr(expected, "__dict__") and not callable(expected):
        return compare_values(vars(expected), vars(actual), f"{path}.__dict__", ids)
    return [] if expected == actual else [f"{path}: {actual!r} != {expected!r}"]


def _compare_tensors(expected, actual, path) -> list:
    for field in ("shape", "dtype", "device", "requires_grad"):
        if getattr(expected, field) != getattr(actual, field):
            return [f"{path}: {field} {getattr(actual, field)} != {getattr(expected, field)}"]
    try:
        torch.testing.assert_close(actual.detach(), expected.detach(), equal_nan=True, rtol=1e-5, atol=1e-6)
    except AssertionError as exc:
        return [f"{path}: values differ: {str(exc).splitlines()[0]} ({_short(actual)} vs {_short(expected)})"]
    return []


def _short(value, limit: int = 80) -> str:
    return _clip(repr(value), limit)


def _clip(text: str, limit: int) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def compare(expected: Outcome, actual: Outcome) -> list:
    """The Differences of `actual` from the eager outcome `expected`."""
    found = []
    if expected.exception != actual.exception:
        found.append(Difference(actual.mode, "exception", f"{_fmt_exc(actual.exception)} != {_fmt_exc(expected.exception)}"))
    ids = {}
    for i, (e, a) in enumerate(zip(expected.inputs_after, actual.inputs_after)):  # pair input objects first
        _pair(e, a, ids)
    if expected.exception is None and actual.exception is None:
        found += [Difference(actual.mode, "result", d) for d in compare_values(expected.value, actual.value, "result", ids)]
    for i, (e, a) in enumerate(zip(expected.inputs_after, actual.inputs_after)):
        found += [Difference(actual.mode, f"input {i}", d) for d in compare_values(e, a, f"input {i}", dict(ids))]
    for name in expected.globals_after:
        found += [Difference(actual.mode, f"global {name}", d)
                  for d in compare_values(expected.globals_after[name], actual.globals_after.get(name), name, {})]
    return found


def _pair(expected, actual, ids):
    if isinstance(expected, (torch.Tensor, list, dict, set)):
        ids[id(expected)] = id(actual)
        ids[("actual", id(actual))] = id(expected)
    if isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        for e, a in zip(expected, actual):
            _pair(e, a, ids)
    elif isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected:
            if key in actual:
                _pair(expected[key], actual[key], ids)


def _fmt_exc(exc) -> str:
    return "no exception" if exc is None else f"{exc[0]}({exc[1]!r})"


# -- the entry point -------------------------------------------------------------------------------
def check(fn, example_inputs=(), against=("eager", "dynamo"), *, globals_to_compare=None) -> CheckReport:
    """Run `fn(*example_inputs)` eagerly, through snaptrace and (if asked) Dynamo, and compare.

    `against` names the references: "eager" (always run, as the baseline) and
    "dynamo" (`torch.compile(backend="eager")`, itself compared with eager).
    `globals_to_compare` defaults to every data global of fn's module.
    """
    if isinstance(against, str):
        against = (against,)
    unknown = set(against) - {"eager", "dynamo"}
    if unknown:
        raise ValueError(f"check(against=...) takes 'eager' and 'dynamo', not {sorted(unknown)}")
    if not isinstance(example_inputs, (tuple, list)):
        raise TypeError(f"example_inputs must be a tuple of positional arguments, not {type(example_inputs).__name__}")
    names = data_globals(fn) if globals_to_compare is None else globals_to_compare
    snapshot = GlobalsSnapshot(fn.__globals__, names)
    pristine = fresh_copy(tuple(example_inputs))
    outcomes = {}
    try:
        for mode in ("eager", "snaptrace") + tuple(m for m in against if m == "dynamo"):
            outcomes[mode] = RUNNERS[mode](fn, pristine, snapshot)
            snapshot.restore()
    finally:
        snapshot.restore()
    reference = outcomes["eager"]
    differences = tuple(d for mode, outcome in outcomes.items() if mode != "eager" for d in compare(reference, outcome))
    return CheckReport(outcomes, differences)


def format_table(report: CheckReport) -> str:
    """The report as a text table (one column per mode) followed by the list of differences."""
    modes = list(report.outcomes)
    rows = [("result", lambda o: "-" if o.exception else _short(o.value, 40)),
            ("exception", lambda o: _clip(_fmt_exc(o.exception), 40)),
            ("graphs", lambda o: "-" if o.graphs is None else str(o.graphs)),
            ("graph breaks", lambda o: str(len(o.breaks))),
            ("crashed", lambda o: "yes" if o.crash else "no")]
    wrong = {d.mode for d in report.differences}
    cells = [["", *modes]] + [[label, *(fn(report.outcomes[m]) for m in modes)] for label, fn in rows]
    cells.append(["agrees with eager", *("(reference)" if m == "eager" else ("NO" if m in wrong else "yes")
                                         for m in modes)])
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    for mode in modes:
        for reason in report.outcomes[mode].breaks:
            lines.append(f"{mode} break: {reason.splitlines()[0]}")
    if report.differences:
        lines.append("differences from eager:")
        lines += [f"  {d}" for d in report.differences]
    for mode, crash in report.crashes.items():
        lines.append(f"{mode} crashed:\n{crash}")
    if report.ok:
        lines.append("no differences from eager")
    return "\n".join(lines)


__all__ = ["check", "CheckReport", "Outcome", "Difference", "fresh_copy", "compare_values", "GlobalsSnapshot"]
