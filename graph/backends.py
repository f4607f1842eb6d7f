"""Backends: what turns a captured GraphModule into the callable that runs it.

Accepted exactly as torch.compile accepts them: "eager" (run the GraphModule's
own code), "inductor", the name of any backend registered with
torch._dynamo, or a callable `backend(gm, example_inputs) -> callable`.
"""
from __future__ import annotations

import contextlib

import torch
from torch._guards import TracingContext, tracing
from torch.fx._lazy_graph_module import _LazyGraphModule

from core.errors import BackendError


class DeferredForward:
    """What the "eager" backend returns: the GraphModule's `forward`, whose Python code is generated
    on first use rather than at capture (the module is a torch `_LazyGraphModule`, see
    vt/callables/subgraphs.py `graph_module`).  An entry calls `resolve()` on its first call and
    then calls the generated `forward` directly (graph/codegen.py), so warm calls pay nothing for
    the deferral; called as it is, it resolves every time."""

    __slots__ = ("module",)

    def __init__(self, module):
        self.module = module

    def resolve(self):
        _LazyGraphModule.force_recompile(self.module)
        return self.module.forward

    def __call__(self, *args):
        return self.resolve()(*args)


def _eager(gm, example_inputs):
    if isinstance(gm, _LazyGraphModule):
        return DeferredForward(gm)
    return gm.forward


def _inductor(gm, example_inputs):
    from torch._inductor.compile_fx import compile_fx
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    # Fake inputs from a mode with a shape environment, as Dynamo hands them over.  A graph with
    # symbolic inputs runs inside a tracing context holding the trace's own fake mode (compile_with):
    # its fake tensors, found again by the mode's memo, carry the symbols, so one kernel serves every
    # size.  Otherwise shapes stay static, but operators such as while_loop make sizes of their own
    # while AOT autograd traces them.
    context = torch._guards.TracingContext.try_get()
    if context is not None and context.fake_mode is not None:
        fakes = [context.fake_mode.from_tensor(x) if isinstance(x, torch.Tensor) else x for x in example_inputs]
    else:
        mode = FakeTensorMode(shape_env=ShapeEnv())
        fakes = [mode.from_tensor(x, static_shapes=True) if isinstance(x, torch.Tensor) else x for x in example_inputs]
    return compile_fx(gm, fakes)


def resolve_backend(backend):
    """The compiler function for `backend`; raises TypeError/ValueError for a bad name or type."""
    if callable(backend):
        return backend
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string or a callable(gm, example_inputs), not {type(backend).__name__}")
    if backend == "eager":
        return _eager
    if backend == "inductor":
        return _inductor
    from torch._dynamo.backends.registry import list_backends, lookup_backend

    try:
        return lookup_backend(backend)
    except Exception:
        raise ValueError(f"unknown backend {backend!r}; choose 'eager', 'inductor', one of "
                         f"{sorted(list_backends(exclude_tags=()))} or pass a callable") from None


def compile_with(backend, name: str, gm, example_inputs, fake_mode=None):
    """Run the backend; a failure is reported as BackendError naming the backend and the graph.

    `fake_mode` is the trace's FakeTensorMode when the graph has symbolic inputs: the backend runs
    inside a tracing context holding it, as under Dynamo, so that it finds the symbolic fake tensors
    of the real example inputs (and the ShapeEnv, which may record guards of its own) instead of
    specialising to the examples' sizes."""
    compiler = resolve_backend(backend)
    label = backend if isinstance(backend, str) else getattr(backend, "__name__", repr(backend))
    context = contextlib.nullcontext() if fake_mode is None else tracing(TracingContext(fake_mode))
    try:
        with context:
            compiled = compiler(gm, list(example_inputs))
    except Exception as exc:
        raise BackendError(f"backend {label!r} failed to compile {name}: {type(exc).__name__}: {exc} "
                           "(see docs/errors.md#backenderror)") from exc
    if not callable(compiled):
        raise BackendError(f"backend {label!r} returned a {type(compiled).__name__} for {name}, not a callable")
    return compiled
