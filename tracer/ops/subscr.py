"""Item assignment and deletion: STORE_SUBSCR (`c[k] = v`) and DELETE_SUBSCR (`del c[k]`).

The container decides, through its own `store_item` / `delete_item` (lists:
int index or slice; dicts: constant key; tensors: their own rule), which
return the next State or Unsupported; the default on every VT reports the
operation as unsupported.
"""
from __future__ import annotations

from tracer.registry import handles
from core.outcomes import is_stop


@handles("STORE_SUBSCR")
def store_subscr(state, ins):
    """Stack: [..., value, container, key] -> [...]; container[key] = value."""
    key, container, value = state.peek(1), state.peek(2), state.peek(3)
    out = container.store_item(state, key, value)
    return out if is_stop(out) else out.advance(pop=3)


@handles("DELETE_SUBSCR")
def delete_subscr(state, ins):
    """Stack: [..., container, key] -> [...]; del container[key]."""
    key, container = state.peek(1), state.peek(2)
    out = container.delete_item(state, key)
    return out if is_stop(out) else out.advance(pop=2)
