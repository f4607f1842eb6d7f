"""Resume code objects, made by prefixing the user's own bytecode with a short prologue.

3.11's jumps are relative, so the original instructions stay valid when moved
down by the prologue's length; only the exception table (absolute offsets)
and the location table (which must cover the new bytes) change, and free
variable indices move by the number of parameters added after the locals.
Patching bytes this way costs a fraction of re-assembling the whole function,
which matters because every graph break makes one resume function.

A resume function's parameters are the values the prologue reads (stack
slots, live locals, helpers), named as identifiers so guards can name them;
they take the first slots, so every local and free-variable index in the body
moves up by their number.
"""
from __future__ import annotations

import dis
import types

_CACHES = dis._inline_cache_entries
_SLOT_OPS = {dis.opmap[name] for name in ("LOAD_FAST", "STORE_FAST", "DELETE_FAST", "LOAD_DEREF", "STORE_DEREF",
                                           "DELETE_DEREF", "LOAD_CLOSURE", "LOAD_CLASSDEREF", "MAKE_CELL")}
_NO_LOCATION = 15  # location-table entry kind for "no source position"


def encode(instructions: list) -> bytes:
    """Assemble (opname, arg) pairs, with EXTENDED_ARG prefixes and zeroed inline caches."""
    out = bytearray()
    for opname, arg in instructions:
        opcode = dis.opmap[opname]
        for shift in (24, 16, 8):
            if arg >> shift:
                out += bytes((dis.EXTENDED_ARG, (arg >> shift) & 0xFF))
        out += bytes((opcode, arg & 0xFF)) + b"\x00\x00" * _CACHES[opcode]
    return bytes(out)


def instruction_count(instructions: list) -> int:
    """How many instructions `dis` lists for `encode(instructions)` (EXTENDED_ARG included)."""
    return sum(1 + sum(1 for shift in (24, 16, 8) if arg >> shift) for _, arg in instructions)


def _varint(value: int, first: bool) -> bytes:
    chunks = [value & 0x3F]
    value >>= 6
    while value:
        chunks.append(value & 0x3F)
        value >>= 6
    chunks.reverse()
    out = bytearray(chunk | 0x40 for chunk in chunks)
    out[-1] &= 0x3F
    if first:
        out[0] |= 0x80
    return bytes(out)


def shifted_exception_table(code: types.CodeType, by: int) -> bytes:
    """The exception table of `code` with every offset moved `by` bytes."""
    out = bytearray()
    for entry in dis._parse_exception_table(code):
        start, end, target = (entry.start + by) // 2, (entry.end + by) // 2, (entry.target + by) // 2
        out += _varint(start, True) + _varint(end - start, False) + _varint(target, False)
        out += _varint((entry.depth << 1) | int(entry.lasti), False)
    return bytes(out)


def prefixed_location_table(code: types.CodeType, units: int) -> bytes:
    """`code`'s location table preceded by "no position" entries for `units` code units."""
    out = bytearray()
    while units:
        length = min(units, 8)
        out.append(0x80 | (_NO_LOCATION << 3) | (length - 1))
        units -= length
    return bytes(out) + code.co_linetable


def patched_body(code: types.CodeType, added: int) -> bytes | None:
    """`code`'s bytes with local and free-variable indices moved up by `added`, or None if one no
    longer fits in its instruction (it would need an EXTENDED_ARG it does not have)."""
    body = bytearray(code.co_code)
    extended = False
    for at in range(0, len(body), 2):
        opcode = body[at]
        if opcode in _SLOT_OPS and added:
            if extended or body[at + 1] + added > 0xFF:
                return None
            body[at + 1] += added
        extended = opcode == dis.EXTENDED_ARG
    return bytes(body)


def resume_code(code: types.CodeType, prologue: list, extra_names: list, name: str,
                extra_stack: int) -> types.CodeType | None:
    """A code object running `prologue` (which ends by jumping into the body) then `code`'s body,
    taking `extra_names` as its positional parameters, ahead of `code`'s own locals."""
    body = patched_body(code, len(extra_names))
    if body is None:
        return None
    head = encode(prologue)
    flags = code.co_flags & ~(0x04 | 0x08 | 0x20 | 0x80 | 0x100 | 0x200)  # varargs, varkw, generator kinds
    varnames = tuple(extra_names) + code.co_varnames
    return code.replace(
        co_code=head + body, co_varnames=varnames, co_argcount=len(extra_names), co_posonlyargcount=0,
        co_kwonlyargcount=0, co_nlocals=len(varnames), co_flags=flags,
        co_stacksize=code.co_stacksize + extra_stack + 3,
        co_exceptiontable=shifted_exception_table(code, len(head)),
        co_linetable=prefixed_location_table(code, len(head) // 2),
        co_name=name, co_qualname=f"{code.co_qualname.rsplit('.', 1)[0]}.{name}" if "." in code.co_qualname
        else name)
