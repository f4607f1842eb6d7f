"""The public API: trace, compile, explain.

`Traced` is the compiled function: a list of entries (one per capture), each
guarding itself.  A call tries them in order and captures again when none
matches, up to `RECAPTURE_LIMIT` captures, after which the function runs
eagerly.  This per-function entry list is the compile cache.
"""
from __future__ import annotations

import functools
import inspect
import reprlib
import types
import warnings
import weakref

import torch

from pyrsistent import pmap

from core.dynamic import DynamicPolicy, remember
from graph.backends import resolve_backend
from graph.codegen import MISS, box_caller, is_boxed
from tracer.capture import capture
from core.errors import NotTraceableError, RecaptureLimitWarning
import tracer.logs as logs
from tracer.report import Explanation

RECAPTURE_LIMIT = 8
NESTED_RESUME_LIMIT = 16  # nested calls of one resume function before it runs eagerly (Traced.call_box)


def _name_of(obj) -> str:
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    return f"{type(obj).__name__} {name}" if name else f"{type(obj).__name__} {reprlib.repr(obj)}"


def _calling(target) -> types.FunctionType:
    """A plain function that calls `target` (a module or a bound method), so it can be traced:
    the target is then a free variable of that function, read and guarded like any other."""

    def call(*args, **kwargs):
        return target(*args, **kwargs)

    name = type(target).__name__ if isinstance(target, torch.nn.Module) else target.__qualname__
    call.__name__ = call.__qualname__ = name
    return call


def _check_traceable(fn) -> types.FunctionType:
    """The plain Python function behind `fn`, or a NotTraceableError that says what is wrong."""
    if isinstance(fn, Traced):
        fn = fn.fn
    if isinstance(fn, torch.nn.Module) or (isinstance(fn, types.MethodType)
                                            and type(fn.__func__) is types.FunctionType):
        fn = _calling(fn)
    if not callable(fn):
        raise NotTraceableError(f"snaptrace traces Python functions; got {_name_of(fn)}, which is not callable "
                                f"(see docs/errors.md#nottraceableerror)")
    if not isinstance(fn, types.FunctionType):
        kind = "builtin function" if isinstance(fn, types.BuiltinFunctionType) else type(fn).__name__
        raise NotTraceableError(f"snaptrace traces Python functions defined with `def` or `lambda`; "
                                f"got {_name_of(fn)} ({kind}) (see docs/errors.md#nottraceableerror)")
    if inspect.isgeneratorfunction(fn):
        raise NotTraceableError(f"{fn.__qualname__} is a generator function; snaptrace traces functions "
                                "that return a value; call it inside a traced function instead "
                                "(see docs/errors.md#nottraceableerror)")
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise NotTraceableError(f"{fn.__qualname__} is an async function; snaptrace cannot trace coroutines "
                                "(see docs/errors.md#nottraceableerror)")
    return fn


class Traced:
    """A function with its captures; calling it runs the matching capture or captures anew.

    `dynamic` and `fullgraph` have torch.compile's meanings: `dynamic=None` makes a size or an int
    symbolic once a second capture sees it change (automatic dynamic), True makes every size and int
    input symbolic from the first capture, False never makes a symbol; `fullgraph=True` raises
    FullGraphError at a graph break instead of splitting the function."""

    def __init__(self, fn, backend="eager", resume_cache: dict | None = None, rebuilt=None, *, dynamic=None,
                 fullgraph: bool = False):
        self.fn = _check_traceable(fn)
        self.resume_cache = {} if resume_cache is None else resume_cache  # shared with resume functions
        self.rebuilt = weakref.WeakSet() if rebuilt is None else rebuilt  # functions entries make anew
        resolve_backend(backend)  # a bad backend fails here, before any call
        if dynamic not in (None, True, False):
            raise TypeError(f"dynamic must be None, True or False, not {dynamic!r}")
        self.backend = backend
        self.dynamic = dynamic
        self.fullgraph = bool(fullgraph)
        self.captures = []
        self._entries = []
        self._warned = False
        self._boxed = is_boxed(self.fn)
        self._eager = box_caller(self.fn) if self._boxed else None
        self._nested = 0  # calls of this resume function in progress (call_box)
        self._seen = pmap()  # what earlier captures saw at each input source (automatic dynamic)
        functools.update_wrapper(self, self.fn)

    def __call__(self, *args, **kwargs):
        if self._boxed:
            return self.call_box(list(args))
        for entry in self._entries:
            out = entry(*args, **kwargs)
            if out is not MISS:
                return out
        return self._capture_and_run(args, kwargs)

    def call_box(self, box: list):
        """Call a resume function with its arguments in `box`, a list the entry that runs empties
        (codegen.py): how step functions call it, holding no reference to what they pass on.

        A loop that breaks on every iteration continues in the same resume function from inside
        the step function of the previous iteration, so each iteration nests a few frames deeper.
        Past NESTED_RESUME_LIMIT nested calls of one resume function, it runs eagerly instead (its
        code is the user's: the loop then goes on natively, without nesting), so such a loop
        never reaches the recursion limit before eager would."""
        if self._nested >= NESTED_RESUME_LIMIT:
            return self._eager(box)
        self._nested += 1
        try:
            for entry in self._entries:
                out = entry(box)
                if out is not MISS:
                    return out
            if len(self.captures) >= RECAPTURE_LIMIT:
                self._warn_limit(tuple(box), {})
                return self._eager(box)
            if self.captures and logs.enabled(logs.recaptures):
                self._log_recapture(tuple(box), {})
            self.add_capture(tuple(box), {})
            out = self._entries[-1](box)
            return self._eager(box) if out is MISS else out
        finally:
            self._nested -= 1

    def _warn_limit(self, args, kwargs, stacklevel: int = 4):
        if not self._warned:
            self._warned = True
            code = self.fn.__code__
            warnings.warn(f"{self.fn.__qualname__} hit the recapture limit ({RECAPTURE_LIMIT}): it was captured "
                          f"{RECAPTURE_LIMIT} times (guards keep failing); it now runs eagerly for inputs that "
                          f"match no capture\n   function: {self.fn.__qualname__!r} ({code.co_filename}:"
                          f"{code.co_firstlineno})\n   last reason: {self._miss_reason(-1, args, kwargs)}\n"
                          "To log all recapture reasons, use SNAPTRACE_LOGS=recaptures.",
                          RecaptureLimitWarning, stacklevel=stacklevel)

    def _capture_and_run(self, args, kwargs):
        if len(self.captures) >= RECAPTURE_LIMIT:
            self._warn_limit(args, kwargs)
            return self.fn(*args, **kwargs)
        if self.captures and logs.enabled(logs.recaptures):
            self._log_recapture(args, kwargs)
        self.add_capture(args, kwargs)
        out = self._entries[-1](*args, **kwargs)
        if out is MISS:  # guards derived from these very arguments must hold; stay correct regardless
            return self.fn(*args, **kwargs)
        return out

    def add_capture(self, args: tuple, kwargs: dict | None = None):
        """Trace the function on these arguments and add the capture to the cache."""
        new = capture(self.fn, tuple(args), dict(kwargs or {}), self.backend, len(self.captures), self.resume_cache,
                      lambda fn, cache=None: Traced(fn, self.backend, cache, self.rebuilt, dynamic=self.dynamic),
                      DynamicPolicy(self.dynamic, self._seen), self.fullgraph, self.rebuilt)
        self._seen = remember(self._seen, new.observed)
        self.captures.append(new)
        self._entries.append(new.entry)
        self._log_capture(new)
        return new

    # -- logs ------------------------------------------------------------------------------------
    def _miss_reason(self, position: int, args, kwargs) -> str:
        """Why capture `position` does not serve these arguments: its first failing guard."""
        entry = self.captures[position]
        why = getattr(entry.entry, "__snaptrace_why__", None)
        try:
            reason = why(*args, **kwargs) if why is not None else None
        except TypeError as exc:  # the arguments do not even bind
            reason = str(exc)
        return f"{len(self.captures) + position if position < 0 else position}/{self.fn.__qualname__}: " + \
            (reason or "no guard fails (the entry returned a miss)")

    def _log_recapture(self, args, kwargs) -> None:
        code = self.fn.__code__
        lines = [f"Recapturing {self.fn.__qualname__} ({code.co_filename}:{code.co_firstlineno}), capture "
                 f"{len(self.captures)}; triggered by the following guard failure(s):"]
        lines += [f"    - {self._miss_reason(position, args, kwargs)}" for position in range(len(self.captures))]
        logs.recaptures.info("\n".join(lines))

    def _log_capture(self, new) -> None:
        number, name = len(self.captures) - 1, self.fn.__qualname__
        if logs.enabled(logs.graphs):
            for position, gm in enumerate(new.graphs):
                logs.graphs.info(f"graph {position} of capture {number} of {name}:\n{gm.code.strip()}")
        if logs.enabled(logs.guards):
            logs.guards.info(f"guards of capture {number} of {name}:\n" + "\n".join(f"  {g}" for g in new.guards))
        if logs.enabled(logs.breaks):
            for graph_break in new.graph_breaks:
                logs.breaks.info(f"graph break in capture {number} of {name}: {graph_break}")

    @property
    def resumes(self) -> list:
        """Every resume function this function's breaks continue in, directly or through other
        resume functions (each a Traced), in the order they were first reached."""
        found, pending = {}, [self]
        while pending:
            for c in pending.pop(0).captures:
                for resume in c.resumes:
                    if id(resume) not in found and resume is not self:
                        found[id(resume)] = resume
                        pending.append(resume)
        return list(found.values())

    def _all_captures(self) -> list:
        return self.captures + [c for r in self.resumes for c in r.captures]

    @property
    def graphs(self) -> list:
        """Graphs of every capture of the function, then those of its resume functions."""
        return [gm for c in self._all_captures() for gm in c.graphs]

    @property
    def graph_breaks(self) -> list:
        return [b for c in self._all_captures() for b in c.graph_breaks]

    @property
    def side_effects(self) -> list:
        """The changes to objects that existed before the call and to globals, that the entries replay
        after their graphs (effect records with `describe()`, `filename` and `lineno`)."""
        return [e for c in self._all_captures() for e in c.effects]

    @property
    def guards(self) -> list:
        return [g for c in self.captures for g in c.guards]

    def __repr__(self):
        return (f"<snaptrace {self.fn.__qualname__}: {len(self.captures)} capture(s), "
                f"{len(self.graphs)} graph(s), {len(self.graph_breaks)} break(s)>")


def trace(fn, example_inputs=(), *, backend="eager", dynamic=None, fullgraph: bool = False) -> Traced:
    """Capture `fn(*example_inputs)` now; the result is callable and recaptures on guard failures.
    `dynamic` and `fullgraph` are those of `compile`."""
    traced = Traced(fn, backend, dynamic=dynamic, fullgraph=fullgraph)
    if not isinstance(example_inputs, (tuple, list)):
        raise TypeError(f"example_inputs must be a tuple of positional arguments, "
                        f"not {type(example_inputs).__name__}")
    traced.add_capture(tuple(example_inputs))
    return traced


def compile(fn=None, *, backend="eager", dynamic=None, fullgraph: bool = False):
    """Decorator form: `@compile`, `@compile(backend="inductor")` or `compile(fn, backend=...)`.

    Nothing is traced until the first call; each new kind of input is captured on its first call.
    As in torch.compile, `dynamic=None` makes sizes and ints that change between captures symbolic
    (automatic dynamic), `dynamic=True` makes them symbolic from the first capture, `dynamic=False`
    never; `fullgraph=True` raises FullGraphError where the function would break into pieces
    (docs/dynamic_shapes.md).
    """
    if fn is None:
        return lambda f: Traced(f, backend, dynamic=dynamic, fullgraph=fullgraph)
    return Traced(fn, backend, dynamic=dynamic, fullgraph=fullgraph)


def explain(fn, *args, **kwargs):
    """Run `fn(*args, **kwargs)` once through snaptrace and describe the graphs, guards and breaks.

    It runs the function (like `torch._dynamo.explain`) because after a break the rest of the
    function is captured only when it is reached; the report then covers every graph and break of
    that run, resume functions included.  The result of the call is `report.result`."""
    traced = Traced(fn, "eager")
    traced.add_capture(args, kwargs)
    result = traced(*args, **kwargs)
    return Explanation(traced, result)
