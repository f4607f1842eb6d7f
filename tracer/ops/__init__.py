"""Opcode handlers, one module per family; importing this package registers them all."""
from tracer.ops import binary, build, calls, control, functions, imports, loads_stores, stack, strings, subscr, unpack  # noqa: F401
from tracer.ops import class_body, exceptions, generators, match, with_blocks  # noqa: F401
