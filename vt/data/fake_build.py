"""A fake tensor made over a meta tensor, as `FakeTensor(mode, elem, device)` makes it, for less.

The trace makes a new fake tensor for every op output, view and input (about 75 for a nanoGPT
block).  torch's `FakeTensor.__new__` is Python that checks and normalizes its arguments, sets
five memo descriptors that each set three attributes, and runs `__init__`: about 10 us, a tenth of
a block's capture.  Where the arguments are already what torch would settle on (a device taken
from another fake tensor, or the CPU), the result is the subclass made over `elem` with the same
dispatch keys and the same instance fields, which are the mode, the device and Nones.
tests/test_fake_memo.py checks it against torch's constructor field by field, so a torch that
adds a field fails there first.
"""
from __future__ import annotations

import torch
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorConfig

_make_subclass = torch.Tensor._make_subclass


_UNSET_FIELDS = tuple((name, None) for name in (
    "constant", "pytype", "dispatch_keys", "real_tensor",
    *(f"_{memo}{suffix}" for memo in ("nonzero_memo", "item_memo", "unique_memo", "unique_consecutive_memo",
                                      "nested_int_memo") for suffix in ("", "_vc", "_epoch"))))
"""The instance fields torch's constructor leaves None on a fake tensor with no constant: its
constant, Python type, dispatch keys and real tensor, and the value, version and epoch of each of
its five memos (`nonzero`, `item`, ...)."""


def fake_over(mode, elem: torch.Tensor, device: torch.device) -> FakeTensor:
    """`FakeTensor(mode, elem, device)` where `device` is normalized (a fake tensor's `fake_device`,
    or any CPU device); falls back to torch's constructor for everything else."""
    if FakeTensorConfig.debug or (device.type != "cpu" and device.index is None):
        return FakeTensor(mode, elem, device)
    fake = _make_subclass(FakeTensor, elem, elem.requires_grad, dispatch_device=True,
                          device_for_backend_keys=device)
    if mode._allow_unsafe_data_ptr_access:
        torch._C._set_warn_deprecated_on_mutable_data_ptr(fake)
    else:
        torch._C._set_throw_on_mutable_data_ptr(fake)
    fields = fake.__dict__
    fields["_fake_device"] = device
    fields["fake_mode"] = mode
    fields.update(_UNSET_FIELDS)
    return fake


def fresh_fake(mode, shape: tuple, stride: tuple, dtype, device) -> FakeTensor:
    """A fake tensor over new meta storage of exactly its span, with these sizes, strides, dtype and
    (normalized) device: what the memos of output metadata give back (vt/data/propagation.py,
    vt/data/fake_memo.py) and a plain input's fake."""
    return fake_over(mode, torch.empty_strided(shape, stride, dtype=dtype, device="meta"), device)


def storage_is_its_span(tensor, shape: tuple, stride: tuple) -> bool:
    """Whether the tensor (at offset 0) covers its whole storage: the bytes from its first element to
    its last, no more, as a tensor made by `fresh_fake` (`empty_strided(shape, stride)`) has."""
    span = 0 if 0 in shape else 1 + sum((size - 1) * step for size, step in zip(shape, stride))
    return tensor.untyped_storage().nbytes() == span * tensor.element_size()
