"""A call that stopped the trace inside its callee continues in the callee's own compiled function.

When the limit that stopped a capture was hit inside an inlined callee (a Python function, a
method, an nn.Module's forward, a forward hook), the caller breaks at its own CALL and the callee
is called there through a `Traced` of its own instead of running eagerly: the caller keeps its
graph before and after the call, the callee gets its own graphs and resume functions, and so on
at any depth, so only the instruction that could not be traced runs outside a graph.

The callee's stand-in is a `CompiledCallVariable` put in its stack slot; the entry rebuilds it as
the compiled function (bound to its receiver for a method) before the step function makes the
call.  A module call keeps `Module._call_impl`'s order: without hooks it is its `forward`, with
forward (pre-)hooks a small function that runs them around `forward` is compiled, and the hook
tables are guarded so that registering or removing a hook captures again.
"""
from __future__ import annotations

import types

import torch

from core.errors import NotTraceableError
from tracer.ops.calls import callee_position
from vt.builtins.frames import reads_frames
from vt.callables.functions import CompiledCallVariable, UserFunctionVariable, UserMethodVariable
from vt.nn.nn_modules import ModuleHooksMatch, NNModuleVariable, NoGlobalHooks, global_hooks_present


def compile_callee(state, frame, stop, continuation):
    """(state, frame) with the callee of the breaking call replaced by its compiled stand-in, and the
    compiled functions made; or None when the call runs as it is (the limit is not inside a callee
    the tracer can compile)."""
    if stop.needs_frame:  # it reads its caller's frame (sys._getframe(1)): it runs as it is, called from
        return None       # the step function, whose frame is the user's
    position = callee_position(frame) if stop.inside else None
    if position is None:
        return None
    made = _stand_in(state, frame.stack[position], continuation)
    if made is None:
        return None
    state, stand_in = made
    frame = frame.__class__(frame.code, frame.ip, _replaced(frame.stack, position, stand_in), frame.locals,
                            frame.kw_names, frame.handled, frame.namespace)
    return state.with_frame(frame), stand_in.compiled


def _compiled(continuation, fn):
    if reads_frames(fn.__code__):  # a callee that looks at frames runs as it is, in the user's frame
        return None
    try:
        return continuation(fn)
    except NotTraceableError:  # a generator or async function: calling it runs nothing yet
        return None


def _stand_in(state, callee, continuation):
    """(state, CompiledCallVariable) for the callees that can be compiled, else None."""
    kind = type(callee)
    if kind is UserFunctionVariable:
        compiled = _compiled(continuation, callee.fn)
        return None if compiled is None else (state, CompiledCallVariable(compiled))
    if kind is UserMethodVariable and type(callee.fn) is types.FunctionType and callee.receiver is not None:
        compiled = _compiled(continuation, callee.fn)
        return None if compiled is None else (state, CompiledCallVariable(compiled, callee.receiver))
    if kind is NNModuleVariable and callee.source is not None:
        return _module_stand_in(state, callee, continuation)
    return None


def _module_stand_in(state, module_vt, continuation):
    module = module_vt.module
    if global_hooks_present() or module._backward_hooks or module._backward_pre_hooks \
            or module._forward_pre_hooks_with_kwargs or module._forward_hooks_with_kwargs:
        return None
    if type(module).__call__ is not torch.nn.Module.__call__ or "forward" in module.__dict__:
        return None
    forward = type(module).forward
    if type(forward) is not types.FunctionType:
        return None
    pre_hooks, hooks = tuple(module._forward_pre_hooks.values()), tuple(module._forward_hooks.values())
    state = state.add_guard(NoGlobalHooks()).add_guard(
        ModuleHooksMatch(module_vt.source, tuple(module._forward_pre_hooks), tuple(module._forward_hooks)))
    if not pre_hooks and not hooks:
        compiled = _compiled(continuation, forward)
        return None if compiled is None else (state, CompiledCallVariable(compiled, module_vt))
    compiled = _compiled(continuation, _with_hooks(forward, pre_hooks, hooks))
    return None if compiled is None else (state, CompiledCallVariable(compiled, module_vt))


def _with_hooks(forward, pre_hooks: tuple, hooks: tuple):
    """A module call with its forward pre-hooks and hooks, in `_call_impl`'s order (the hooks are fixed
    for this capture: the module's hook tables are guarded)."""

    def call_with_hooks(module, *args, **kwargs):
        for hook in pre_hooks:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = forward(module, *args, **kwargs)
        for hook in hooks:
            result = hook(module, args, output)
            if result is not None:
                output = result
        return output

    call_with_hooks.__qualname__ = f"{forward.__qualname__} with hooks"
    return call_with_hooks


def _replaced(stack: tuple, position: int, value) -> tuple:
    """The stack with the value at `position` replaced."""
    position %= len(stack)
    return stack[:position] + (value,) + stack[position + 1:]
