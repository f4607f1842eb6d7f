"""The vocabulary every other layer speaks, as frozen records: decoded code, the tracer state,
outcomes and stops, sources, guard records, graph-log records.

Nothing here imports anything else of the project's; see docs/architecture.md for the layers.
"""
