"""The fake-tensor mode a trace runs its ops under: torch's, with a short path for plain views.

Model code views tensors all the time (`view`, `transpose`, slicing, `unsqueeze`, `split`, and
the views inside composite ops such as `linear`).  torch's FakeTensorMode handles each like any
other op: it builds a cache key from every argument, looks it up (the first time an op and
metadata are seen in a process, it runs the full dispatch and remembers it), then rebuilds the
output from the cache entry: about 80 us per view even when the cache hits, several times that
when it misses.  A view needs none of it: its output is the input's storage seen with other
sizes and strides, which the op's own C++ kernel computes on the input's meta storage in a few
microseconds (the kernel torch's path runs too).  The autograd layer above the mode then does
what it does for torch's path: marks the output as a view of the input (`_base`, the shared
version counter) and, in grad mode, gives it its `grad_fn`.  `t.device` asked of a fake tensor
(torch's own code asks it a lot) is answered as torch's mode answers it, without its dispatch
wrappers.

The short path runs only where it provably gives what torch's path gives: a listed op, with no
keyword arguments, outside inference mode, before the trace has a ShapeEnv (no symbolic sizes),
on a fake tensor of this mode with no constant value, the other arguments ints, bools, None or
lists of ints.  Anything else, and any error, goes the full way, so errors keep torch's wording.
tests/test_fake_mode.py compares both paths on every listed op, in grad and no-grad mode, over
contiguous, transposed and channels-last inputs and failing calls.

Functional ops (`add`, `addmm`, `native_layer_norm`) are not taken this way: many of their meta
kernels are Python references, and running them each time cost more than torch's cache hit
(measured: the nanoGPT block's capture went from 21,509 Python calls to 28,397).  They go torch's
way the first time they meet given metadata, and are then remembered (vt/data/fake_memo.py).
"""
from __future__ import annotations

import types

import torch
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode

from vt.data import fake_memo
from vt.data.fake_build import fake_over

_aten = torch.ops.aten

PLAIN_VIEWS = frozenset({
    _aten.view.default, _aten.transpose.int, _aten.t.default, _aten.permute.default,
    _aten.expand.default, _aten.unsqueeze.default, _aten.squeeze.dim, _aten.squeeze.dims, _aten.squeeze.default,
    _aten.slice.Tensor, _aten.select.int, _aten.alias.default, _aten.unfold.default, _aten.diagonal.default,
    _aten.as_strided.default, _aten.split.Tensor, _aten.split_with_sizes.default, _aten.unbind.int,
    _aten.detach.default,
})
"""ATen view ops whose outputs are determined by the input's sizes, strides and offset and their
integer arguments (several outputs for split and unbind).  Only ops that reach the mode as
themselves: composite ones (`narrow`, `chunk`) arrive already decomposed into these."""

BY_KERNEL = PLAIN_VIEWS | {_aten._unsafe_view.default}
"""Ops taken by their kernel: the plain views, and `_unsafe_view`, which `reshape` and matmul's
decomposition end with.  It is no view by its schema (eager's result is no view either) but
shares its input's storage, which torch's cache cannot express, so torch's path runs its full
dispatch for it every time (about 200 us); its kernel on meta storage gives the same."""


def trace_fake_mode() -> FakeTensorMode:
    """A new FakeTensorMode whose dispatch takes the short path for plain views (see the module).
    The short path is the instance's own `__torch_dispatch__`, not a subclass's: torch finds the
    fake-mode rules of higher-order operators (`cond`, `while_loop`, ...) by the mode's exact class."""
    mode = FakeTensorMode()
    mode.__torch_dispatch__ = types.MethodType(_dispatch, mode)
    return mode


def _dispatch(mode, func, types_, args=(), kwargs=None):
    if func is _DEVICE and type(args[0]) is FakeTensor:  # `t.device` asked of a fake tensor, as torch answers it
        return args[0].fake_device
    if func in BY_KERNEL and not kwargs and mode.shape_env is None:
        out = _by_kernel(mode, func, args)
        if out is not None:
            return out
        return FakeTensorMode.__torch_dispatch__(mode, func, types_, args, kwargs or {})
    key = fake_memo.op_key(mode, func, args, kwargs)
    if key is None:
        return FakeTensorMode.__torch_dispatch__(mode, func, types_, args, kwargs or {})
    entry = fake_memo.lookup(key)
    if entry is not None:
        return fake_memo.remembered(mode, entry)
    out = FakeTensorMode.__torch_dispatch__(mode, func, types_, args, kwargs or {})
    entry = fake_memo.entry_of(mode, out, args, kwargs or {})
    if entry is not None:
        fake_memo.store(key, entry)
    return out


_DEVICE = torch.ops.prim.device.default


def _by_kernel(mode, func, args):
    """The op run by its kernel on the meta storage of its fake arguments, or None to go torch's way."""
    base = args[0]
    if type(base) is not FakeTensor or base.fake_mode is not mode or base.constant is not None \
            or torch.is_inference_mode_enabled():
        return None
    device = base.fake_device
    if not all(_plain_argument(arg) for arg in args[1:]):
        return None
    try:
        out = _in_kernel(mode, func._op, args)
    except Exception:  # torch's path raises the error with its own wording
        return None
    if type(out) is torch.Tensor:
        return fake_over(mode, out, device)
    if type(out) in (tuple, list) and all(type(item) is torch.Tensor for item in out):
        return type(out)(fake_over(mode, item, device) for item in out)
    return None


def _in_kernel(mode, kernel, args):
    """`kernel(*args)` as torch's `in_kernel_invocation_manager(mode)` runs it (fake arguments seen as
    the meta tensors they wrap, no dispatch to Python modes), without its generator-based context
    manager, which cost more than the view itself; tests/test_fake_mode.py holds both to the same
    results."""
    previous = mode.in_kernel_invocation
    with torch._C._DisableTorchDispatch(), torch._C._PreserveDispatchKeyGuard():
        mode.in_kernel_invocation = True
        torch._C._set_meta_in_tls_dispatch_include(True)
        try:
            return kernel(*args)
        finally:
            mode.in_kernel_invocation = previous


def _plain_argument(value) -> bool:
    if type(value) in (int, bool) or value is None:
        return True
    return type(value) in (list, tuple) and all(type(item) is int for item in value)
