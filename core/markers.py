"""Functions user code calls that mean something to the tracer."""


def graph_break() -> None:
    """Does nothing when run eagerly; when traced, forces a graph break here."""
    return None
