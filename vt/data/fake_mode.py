"""The fake-tensor mode a trace runs its ops under: torch's, with a short path for plain views.

Model code views tensors all the time (`view`, `transpose`, slicing, `unsqueeze`, and the views
inside composite ops such as `linear`).  torch's FakeTensorMode handles each one like any other
op: it builds a cache key from every argument, looks the key up (and, the first time a view of
that shape is seen in a process, runs the full dispatch and remembers it), then rebuilds the
output from the cache entry; about 80 us per view even when the cache hits, several times that
when it misses.  A view needs none of it.  Its output is the input's storage seen with other
sizes and strides, which the op's own kernel computes on the input's meta storage in a few
microseconds; the autograd layer above the mode then marks the output as a view of the input
(`_base`, the shared version counter, `grad_fn` in grad mode) exactly as it does for torch's path.

The short path runs only where it provably gives what torch's path gives: one of the view ops
listed below, on a fake tensor of this mode with no constant value, no symbolic sizes anywhere
(no ShapeEnv yet), outside inference mode, with no keyword arguments.  Anything else, and any
error, goes the full way, so error messages stay torch's.  tests/test_fake_mode.py compares both
paths on every listed op over many shapes, strides and arguments.
"""
from __future__ import annotations

import types

import torch
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode, in_kernel_invocation_manager

_aten = torch.ops.aten

PLAIN_VIEWS = frozenset({
    _aten.view.default, _aten.transpose.int, _aten.t.default, _aten.permute.default,
    _aten.expand.default, _aten.unsqueeze.default, _aten.squeeze.dim, _aten.squeeze.dims, _aten.squeeze.default,
    _aten.slice.Tensor, _aten.select.int, _aten.alias.default, _aten.unfold.default, _aten.diagonal.default,
    _aten.narrow.default, _aten.as_strided.default, _aten.split.Tensor, _aten.split_with_sizes.default,
    _aten.unbind.int, _aten.chunk.default,
})
"""ATen view ops whose outputs are determined by the input's sizes, strides and offset and their
integer arguments (several outputs for split, unbind and chunk)."""


def trace_fake_mode() -> FakeTensorMode:
    """A new FakeTensorMode whose dispatch takes the short path for plain views (see the module).
    The short path is the instance's own `__torch_dispatch__`, not a subclass's: torch finds the
    fake-mode rules of higher-order operators (`cond`, `while_loop`, ...) by the mode's exact class."""
    mode = FakeTensorMode()
    mode.__torch_dispatch__ = types.MethodType(_dispatch, mode)
    return mode


def _dispatch(mode, func, types_, args=(), kwargs=None):
    if func in PLAIN_VIEWS and not kwargs and mode.shape_env is None:
        out = _plain_view(mode, func, args)
        if out is not None:
            return out
    return FakeTensorMode.__torch_dispatch__(mode, func, types_, args, kwargs or {})


def _plain_view(mode, func, args):
    base = args[0]
    if type(base) is not FakeTensor or base.fake_mode is not mode or base.constant is not None \
            or torch.is_inference_mode_enabled():
        return None
    for arg in args[1:]:
        if not _plain_argument(arg):
            return None
    device = base.fake_device
    try:
        with in_kernel_invocation_manager(mode):
            out = func(*args)
    except Exception:  # torch's path raises the error with its own wording
        return None
    if type(out) is torch.Tensor:
        return FakeTensor(mode, out, device)
    if type(out) in (tuple, list) and all(type(item) is torch.Tensor for item in out):
        return type(out)(FakeTensor(mode, item, device) for item in out)
    return None


def _plain_argument(value) -> bool:
    if type(value) in (int, bool) or value is None:
        return True
    return type(value) in (list, tuple) and all(type(item) is int for item in value)
