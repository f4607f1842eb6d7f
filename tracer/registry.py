"""The opcode handler registry.

Handlers are plain module-level functions `(state, instruction) -> State |
Stop | Unsupported`, registered by opcode name.  Registration checks that the
name is a real 3.11 opcode and that nobody registers it twice; opcodes with no
handler are listed in `UNSUPPORTED` with the reason, and a test checks that the
two together cover `dis.opmap`.
"""
from __future__ import annotations

import dis

HANDLERS: dict = {}

UNSUPPORTED = {
    # Containers (the data-model issue).
    "PRINT_EXPR": "interactive-mode printing is not traced",
    "IMPORT_STAR": "star imports are not allowed in functions",
    # Exceptions and context managers (the graph-breaks issue).
    "CHECK_EG_MATCH": "except* handlers are not modelled",
    "PREP_RERAISE_STAR": "except* handlers are not modelled",
    "BEFORE_ASYNC_WITH": "async code is not traced",
    # Generators and async (the graph-breaks issue).
    "ASYNC_GEN_WRAP": "async generators are not traced",
    "GET_AWAITABLE": "async code is not traced",
    "GET_AITER": "async code is not traced",
    "GET_ANEXT": "async code is not traced",
    "END_ASYNC_FOR": "async code is not traced",
    # Never produced inside a function body that reaches the tracer.
    "CACHE": "inline cache entries are skipped by the decoder, never executed",
}


def handles(*opnames: str):
    """Register the decorated function as the handler of each named opcode."""

    def register(fn):
        for name in opnames:
            if name not in dis.opmap:
                raise ValueError(f"{name} is not a CPython 3.11 opcode")
            if name in HANDLERS:
                raise ValueError(f"{name} already has a handler: {HANDLERS[name].__qualname__}")
            if name in UNSUPPORTED:
                raise ValueError(f"{name} is listed as unsupported; remove it from UNSUPPORTED first")
            HANDLERS[name] = fn
        return fn

    return register
