"""Functions user code calls that mean something to the tracer."""


def graph_break() -> None:
    """Does nothing when run eagerly; when traced, forces a graph break here."""
    return None


def _dims(tensor, dim) -> list:
    dims = list(dim) if isinstance(dim, (list, tuple)) else [dim]
    rank = tensor.dim()
    for d in dims:
        if type(d) is not int or not -rank <= d < rank:
            raise IndexError(f"dimension {d!r} out of range for a tensor of {rank} dimension(s)")
    return [d % rank for d in dims]


def mark_dynamic(tensor, dim) -> None:
    """Make dimension `dim` (an int or a list of them) of `tensor` symbolic from the first capture
    that sees this tensor as an input, instead of after a second size was seen.  It sets the
    attribute `torch._dynamo.mark_dynamic` sets, so either marks the tensor for both tracers.
    Sizes 0 and 1 stay constants; `compile(..., dynamic=False)` ignores the mark."""
    marked = getattr(tensor, "_dynamo_dynamic_indices", None)
    tensor._dynamo_dynamic_indices = set(marked or ()) | set(_dims(tensor, dim))


def mark_static(tensor, dim) -> None:
    """Keep dimension `dim` (an int or a list of them) of `tensor` a constant, even when it changes
    between calls (each size then gets a capture of its own) or under `dynamic=True`.  The same
    attribute as `torch._dynamo.mark_static`."""
    marked = getattr(tensor, "_dynamo_static_indices", None)
    tensor._dynamo_static_indices = set(marked or ()) | set(_dims(tensor, dim))
