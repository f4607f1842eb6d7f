"""What a capture makes symbolic: the dynamic-shape policy, and how our sources meet torch's.

Sizes and Python ints are constants by default, as in `torch.compile`.  A capture makes a size or
an int *symbolic* (a symbol of torch's `ShapeEnv`, flowing as `SymInt`s through fake tensors) when

* the user asked for every size (`compile(..., dynamic=True)`),
* the user marked a dimension (`tracer.mark_dynamic(t, dim)`, or `torch._dynamo.mark_dynamic`,
  which set the same attribute), or
* an earlier capture of the same function saw another value at the same source: *automatic
  dynamic*.  `DynamicPolicy.seen` is that memory, kept by the `Traced` object and handed to
  each capture.

`dynamic=False` never makes a symbol, and `mark_static` keeps a dimension constant.  Sizes 0 and 1
stay constants even then (torch's ShapeEnv specialises them); Python ints do not.
"""
from __future__ import annotations

import dataclasses
import functools

import attrs
import torch
from pyrsistent import pmap
from torch._guards import GuardSource, Source as _TorchSource

from core.sources import AttrSource, GlobalSource, ItemSource, TensorPropertySource

DYNAMIC_INT = "dynamic"
"""What `DynamicPolicy.seen` remembers for an int source that was already symbolic."""

STATIC, DUCK, OWN = "static", "duck", "own"
"""How a dimension is wrapped: a constant; a symbol shared with equal sizes seen before (torch's
duck sizing, used for `dynamic=True`); a symbol of its own (automatic dynamic, `mark_dynamic`), as
Dynamo chooses them."""


@attrs.frozen(slots=True)
class DynamicPolicy:
    """What the capture makes symbolic.

    `mode` is `compile(dynamic=...)`: None (automatic), True (every size and int of the inputs) or
    False (nothing).  `seen` maps a source to what earlier captures saw there: a tensor's shape
    with None for the dimensions already symbolic, or an int (DYNAMIC_INT once symbolic)."""

    mode: object = None
    seen: object = attrs.field(factory=pmap)

    def tensor_dims(self, source, value: torch.Tensor):
        """How each dimension of the tensor input `value` at `source` is wrapped (STATIC, DUCK or
        MARKED), or None when every dimension stays a constant (the fast path)."""
        if self.mode is False or value.dim() == 0:
            return None
        marked = getattr(value, "_dynamo_dynamic_indices", None)
        if not marked and isinstance(value, torch.nn.Parameter):
            return None  # parameters keep their shapes, as in torch.compile
        earlier = self.seen.get(source) if self.seen else None
        every = self.mode is True and _is_input_path(source)
        if not marked and earlier is None and not every:
            return None
        static = getattr(value, "_dynamo_static_indices", None) or ()
        shape = value.shape
        changed = type(earlier) is tuple and len(earlier) == len(shape)
        dims = []
        for dim, size in enumerate(shape):
            if dim in static:
                dims.append(STATIC)
            elif (marked and dim in marked) or (changed and earlier[dim] != size):  # None differs too
                dims.append(OWN)
            elif every:
                dims.append(DUCK)
            else:
                dims.append(STATIC)
        return None if all(kind is STATIC for kind in dims) else tuple(dims)

    def int_is_dynamic(self, source, value: int) -> bool:
        """Whether the int input `value` at `source` becomes a symbol."""
        if self.mode is False:
            return False
        if self.mode is True and _is_input_path(source):
            return True
        earlier = self.seen.get(source) if self.seen else None
        return earlier is DYNAMIC_INT or (type(earlier) is int and earlier != value)


    def size_is_dynamic(self, source, value) -> bool:
        """Whether the torch.Size input `value` at `source` (a shape kept in a local across a graph
        break, say) is wrapped item by item, so that its items can be symbolic."""
        if self.mode is False:
            return False
        if self.mode is True and _is_input_path(source):
            return True
        if not self.seen:
            return False
        return any(self.int_is_dynamic(ItemSource(source, position), item) for position, item in enumerate(value))


def _is_input_path(source) -> bool:
    """An argument or an item inside one, not an attribute (module parameters and settings stay
    constants under `dynamic=True`, as in torch.compile) nor a global."""
    while True:
        if isinstance(source, (AttrSource, GlobalSource)):
            return False
        base = getattr(source, "base", None)
        if base is None:
            return True
        source = base


def remember(seen, observed) -> object:
    """`seen` after a capture observed `observed` ({source: shape or int}): a dimension that
    differs becomes None, an int that differs DYNAMIC_INT."""
    for source, value in observed.items():
        earlier = seen.get(source)
        if earlier is None:
            seen = seen.set(source, value)
        elif type(value) is tuple and type(earlier) is tuple and len(value) == len(earlier):
            seen = seen.set(source, tuple(a if a == b else None for a, b in zip(earlier, value)))
        elif type(value) is tuple or type(earlier) is tuple:
            seen = seen.set(source, value)  # another rank: start again from this shape
        elif value != earlier:
            seen = seen.set(source, DYNAMIC_INT)
    return seen


@dataclasses.dataclass(frozen=True)
class TorchSource(_TorchSource):
    """One of our sources (core/sources.py) in the form torch's ShapeEnv records symbols under."""

    inner: object

    @property
    def _name_template(self) -> str:
        return self.inner.expr()

    @functools.cached_property
    def guard_source(self) -> GuardSource:
        return GuardSource.LOCAL


def our_source(torch_source):
    """The source (core/sources.py) of a source torch's ShapeEnv reports: ours, or a size, stride or
    storage offset of ours."""
    if isinstance(torch_source, TorchSource):
        return torch_source.inner
    prop = getattr(torch_source, "prop", None)
    base = getattr(torch_source, "base", None)
    if prop is None or base is None:
        return None
    inner = our_source(base)
    if inner is None:
        return None
    name = prop.name.lower()  # TensorProperty.SIZE / STRIDE / STORAGE_OFFSET
    return TensorPropertySource(inner, name, None if name == "storage_offset" else torch_source.idx)
