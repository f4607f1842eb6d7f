"""Output metadata of tensor ops remembered within a trace, so a repeated op needs no fake dispatch.

Running an op on fake tensors costs a trip through torch's dispatcher (hundreds of microseconds,
even when torch's own fake-tensor cache hits), and model code repeats the same ops with the same
metadata in every layer.  What a functional op returns depends only on what the fake run sees: the
op, the metadata of its tensor arguments, its constant arguments, and the modes it runs under.  So
the first run of an op is remembered under that key, and a later op with the same key gets a new
fake tensor with the remembered metadata, made directly.

Only results that such a fresh tensor reproduces exactly are remembered: one plain fake tensor,
over storage of its own (not an argument, no view of one, nothing written in place), not requiring
grad (a result that does carries a `grad_fn` a fresh tensor would lack), made outside autocast
and inference mode, from arguments whose sizes are all known (no symbolic sizes) and that carry
no constant values; or an op that gave back one of its arguments itself, remembered by position.
Anything else runs on fake tensors as before.
"""
from __future__ import annotations

import torch
from torch._subclasses.fake_tensor import FakeTensor

from vt.data.fake_build import fresh_fake, storage_is_its_span
from vt.data.fake_memo import CONSTANT_ARGUMENT_TYPES

def op_key(state, op: str, target, fake_args, fake_kwargs):
    """The key a fake run of this op is remembered under, or None when it is not remembered."""
    if state.modes:
        return None
    grad = state.grad_enabled
    parts = [op, target, grad]
    for value in fake_args:
        if grad and type(value) is FakeTensor and value.requires_grad:
            return None  # its result requires grad too, or is not worth the key: not remembered (below)
        part = _argument_key(value)
        if part is None:
            return None
        parts.append(part)
    for name, value in fake_kwargs.items():
        part = _argument_key(value)
        if part is None:
            return None
        parts.append((name, part))
    key = tuple(parts)
    try:
        hash(key)
    except TypeError:  # an unhashable target
        return None
    return key


def _argument_key(value):
    if type(value) is FakeTensor:
        if value.constant is not None or value.layout is not torch.strided or value.is_inference():
            return None
        shape, stride, offset = value.shape, value.stride(), value.storage_offset()
        if not all(type(size) is int for size in (*shape, *stride, offset)):
            return None
        return (value.dtype, value.device, tuple(shape), stride, offset, value.requires_grad, value.is_conj(),
                value.is_neg())
    if type(value) in CONSTANT_ARGUMENT_TYPES:
        return (type(value), value)
    if type(value) in (tuple, list):
        items = tuple(_argument_key(item) for item in value)
        return None if None in items else (type(value), items)
    return None


def remembered(state, key, fake_args):
    """A new fake tensor for an op whose key was remembered (or the argument it gave back), or None."""
    meta = state.env.propagation.get(key)
    if meta is None:
        return None
    if type(meta) is int:  # the op gave back its argument itself (`x.to(x.dtype)`, `x.contiguous()`)
        return fake_args[meta]
    shape, stride, dtype, device = meta
    return fresh_fake(state.env.fake_mode, shape, stride, dtype, device)


def remember(state, key, out, fake_args, fake_kwargs) -> None:
    """Note the metadata of `out` under `key` when a fresh tensor reproduces it (see the module), or,
    when `out` is a positional argument itself, its position: a functional op that gives back its
    input (`to` a dtype it has, `contiguous` on a contiguous tensor) decides so from metadata."""
    for position, value in enumerate(fake_args):
        if value is out and type(out) is FakeTensor:
            state.env.propagation[key] = position
            return
    if type(out) is not FakeTensor or out.requires_grad or out.storage_offset() != 0 \
            or out.constant is not None or out.is_inference() or out.is_conj() or out.is_neg() \
            or out.layout is not torch.strided:
        return
    shape, stride = tuple(out.shape), out.stride()
    if not all(type(size) is int for size in (*shape, *stride)):
        return
    if not storage_is_its_span(out, shape, stride):  # a fresh tensor's storage is just its span
        return
    # A view is remembered only when its base is a temporary of the op's own decomposition (`linear`
    # on a 3-d input views the 2-d `addmm` it made): nothing else can reach that base, and eager's
    # kernels mostly make no view there at all.  A view of an argument shares its storage: refused.
    storage = out.untyped_storage()._cdata
    for value in (*fake_args, *fake_kwargs.values()):
        if isinstance(value, torch.Tensor) and (value is out or value.untyped_storage()._cdata == storage):
            return
    state.env.propagation[key] = (shape, stride, out.dtype, out.device)


def plain_input_fake(mode, value):
    """The fake tensor of a plain input tensor (a parameter, a buffer, an argument), made directly, or
    None when `mode.from_tensor` must make it.  torch's converter describes the tensor field by
    field first (a tenth of a millisecond or more per parameter); a dense leaf tensor over storage
    of its own, with no gradient, view base or flags, is fully told by its shape, strides, dtype,
    device and requires_grad; a view of one that needs no gradient, by its base's fake and its own
    sizes, strides and offset.  The converter's memo learns it, so the same tensor reached again
    (tied weights, or a view of it converted by torch) finds this fake."""
    if type(value) is not torch.Tensor and type(value) is not torch.nn.Parameter:
        return None
    if value.layout is not torch.strided or value.device.type not in ("cpu", "cuda") or value.grad_fn is not None \
            or value.grad is not None or value.is_inference() or value.is_conj() or value.is_neg() \
            or value.is_quantized or value.is_nested:
        return None
    converter = mode.fake_tensor_converter
    known = converter._get_memo(value)
    if known is not None:
        return known
    if value._is_view():
        return _plain_view_fake(mode, value)
    if value.storage_offset() != 0:
        return None
    shape, stride = tuple(value.shape), value.stride()
    if not storage_is_its_span(value, shape, stride):  # more storage than the tensor shows
        return None
    fake = fresh_fake(mode, shape, stride, value.dtype, value.device)
    if value.requires_grad:
        fake.requires_grad_(True)
    if type(value) is torch.nn.Parameter:
        fake._is_param = True  # as torch's converter marks the fakes of parameters
    converter.set_tensor_memo(value, fake)
    return fake


def _plain_view_fake(mode, view):
    """The fake of a view of a plain tensor that needs no gradient (a buffer such as
    `torch.arange(n).expand(1, -1)`, a causal mask made with `.view`): the base's fake, made
    directly, viewed with the view's sizes, strides and offset, so the two share storage and
    version counter as the real pair does.  One fake `as_strided` instead of torch's converter
    describing both tensors field by field."""
    base = view._base
    if view.requires_grad or base is None or base._is_view() or type(base) is not torch.Tensor:
        return None
    base_fake = plain_input_fake(mode, base)
    if base_fake is None:
        return None
    with mode:
        fake = base_fake.as_strided(tuple(view.shape), view.stride(), view.storage_offset())
    mode.fake_tensor_converter.set_tensor_memo(view, fake)
    return fake
