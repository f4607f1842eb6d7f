"""Outputs of functional ATen ops remembered by the trace's fake mode, so a repeat costs no dispatch.

torch's FakeTensorMode already caches ops, process-wide, but a hit still costs 60 to 150 us: it
describes every argument field by field to build its key and rebuilds the output through
several layers of Python.  Model code repeats the same op on the same metadata in every layer
(the layer norms, the projections, the residual adds), in grad mode too, where the op-level memo
of vt/data/propagation.py cannot help (an output there must carry the `grad_fn` autograd gives it
above the mode).  Here, below autograd, the mode remembers what the first run gave: the output's
sizes, strides, dtype and device, under a key of the op, the arguments' metadata and constants,
and the global settings torch's own key holds.  A repeat gets a new fake tensor over fresh meta
storage, made directly, which is what torch's cache gives on a hit too; the autograd layer above
then attaches `grad_fn` and `requires_grad` as for any output.

What is remembered is narrower than what torch caches:
  * the op: a built-in ATen or prims overload whose schema neither writes nor aliases anything,
    that is no view, with no data-dependent or dynamic output shape;
  * the arguments: fake tensors of this mode (dense, strided, no constant value), numbers,
    strings, dtypes, devices, layouts, memory formats, None, and lists or tuples of those; the
    mode has no ShapeEnv (no symbolic sizes);
  * the output: one fake tensor, or a tuple or list of them, each over storage of its own that is
    exactly its span (offset 0), shared with no argument and no other output, not a view, not
    conjugated or negated, outside inference mode.
Anything else, and every first run, goes torch's way, so errors keep torch's wording.

The memo is part of the compile cache (docs/architecture.md): like decoded code, what an op gives
on given metadata is a fact about the op alone, true in every trace of the process, as torch's
own cache assumes; so the memo is kept for the process, in `_REMEMBERED`, not per trace.  Its
entries are metadata only (no tensor, no mode), it holds at most `LIMIT` of them and starts over
when full, and `forget_all()` empties it.
"""
from __future__ import annotations

import torch
from torch._subclasses.fake_tensor import FakeTensor

from vt.data.fake_build import fresh_fake, storage_is_its_span

CONSTANT_ARGUMENT_TYPES = frozenset({int, float, bool, str, type(None), torch.dtype, torch.device, torch.layout,
                                     torch.memory_format})
"""Arguments a memo key holds by type and value (here, and in vt/data/propagation.py's)."""
_REFUSED_TAGS = (torch.Tag.data_dependent_output, torch.Tag.dynamic_output_shape, torch.Tag.inplace_view)


LIMIT = 20_000
_REMEMBERED: dict = {}
"""Op keys to output records (`entry_of`), and ops to whether they may be remembered at all."""


def forget_all() -> None:
    """Empty the memo (tests use it to see a first run)."""
    _REMEMBERED.clear()


def lookup(key):
    return _REMEMBERED.get(key)


def store(key, entry) -> None:
    if len(_REMEMBERED) >= LIMIT:
        _REMEMBERED.clear()
    _REMEMBERED[key] = entry


def op_key(mode, func, args, kwargs):
    """The key a run of `func` on these arguments is remembered under, or None when it is not."""
    allowed = _REMEMBERED.get(func)
    if allowed is None:
        allowed = _may_remember(mode, func)
        store(func, allowed)
    if not allowed or mode.shape_env is not None or torch.is_inference_mode_enabled():
        return None
    parts = [func, torch.is_grad_enabled(), torch.get_default_dtype(), torch._C._get_default_device()]
    for value in args:
        part = _argument_key(mode, value)
        if part is None:
            return None
        parts.append(part)
    if kwargs:
        for name, value in kwargs.items():
            part = _argument_key(mode, value)
            if part is None:
                return None
            parts.append((name, part))
    return tuple(parts)


def _may_remember(mode, func) -> bool:
    if not isinstance(func, torch._ops.OpOverload) or func.namespace not in ("aten", "prims") or func.is_view:
        return False
    schema = func._schema
    if any(a.alias_info is not None for a in schema.arguments) or any(r.alias_info is not None for r in schema.returns):
        return False
    if any(tag in func.tags for tag in _REFUSED_TAGS) or func in mode.lift_fns:
        return False
    return func is not torch.ops.aten._unsafe_view.default


def _argument_key(mode, value):
    kind = type(value)
    if kind is FakeTensor:
        if value.fake_mode is not mode or value.constant is not None or value.layout is not torch.strided \
                or value.is_conj() or value.is_neg():
            return None
        return (value.dtype, value.fake_device, tuple(value.shape), value.stride(), value.storage_offset(),
                value.requires_grad)
    if kind in CONSTANT_ARGUMENT_TYPES:
        return (kind, value)
    if kind is list or kind is tuple:
        items = tuple(_argument_key(mode, item) for item in value)
        return None if None in items else (kind, items)
    return None


def remembered(mode, entry):
    """New fake outputs made from a remembered entry."""
    container, records = entry
    outs = [fresh_fake(mode, shape, stride, dtype, device) for shape, stride, dtype, device in records]
    return outs[0] if container is None else container(outs)


def entry_of(mode, out, args, kwargs):
    """The record to remember for `out` (see the module), or None when a fresh tensor would differ."""
    kind = type(out)
    if kind is FakeTensor:
        outs, container = (out,), None
    elif (kind is tuple or kind is list) and out and all(type(item) is FakeTensor for item in out):
        outs, container = tuple(out), kind
    else:
        return None
    storages = set()
    records = []
    for item in outs:
        record = _plain_record(mode, item)
        if record is None:
            return None
        storages.add(item.untyped_storage()._cdata)
        records.append(record)
    if len(storages) != len(outs) or _shares_storage(storages, args) or _shares_storage(storages, kwargs.values()):
        return None
    return container, tuple(records)


def _plain_record(mode, out):
    if out.fake_mode is not mode or out.constant is not None or out.requires_grad or out._is_view() \
            or out.storage_offset() != 0 or out.layout is not torch.strided or out.is_inference() \
            or out.is_conj() or out.is_neg():
        return None
    shape, stride = tuple(out.shape), out.stride()
    if not all(type(size) is int for size in (*shape, *stride)):
        return None
    if not storage_is_its_span(out, shape, stride):
        return None
    return shape, stride, out.dtype, out.fake_device


def _shares_storage(storages: set, values) -> bool:
    for value in values:
        if isinstance(value, torch.Tensor):
            if value.untyped_storage()._cdata in storages:
                return True
        elif type(value) in (list, tuple) and _shares_storage(storages, value):
            return True
    return False
