"""Code objects for step and resume functions, laid out like the user's own frame.

A step or resume function takes every local of the user's function as a
parameter, in the user's own slots (`co_varnames` first, unbound ones passed
a placeholder and deleted by the prologue), followed by hidden parameters for
the value stack, the cells and the exception being handled, which the prologue
deletes once it has used them.  Code that looks at the frame (`locals()`,
`eval`/`exec` without namespaces, zero-argument `super()`, `co_name`, the line
in a traceback) then sees the user's frame: the same names, the same first
argument, the same cells and free variables, the same name and lines.

A resume function is the user's code object with a hand-assembled prologue in
front.  3.11's jumps are relative, so the original instructions stay valid when
moved down by the prologue's length; only the exception table (absolute
offsets), the location table (which must cover the new bytes) and the indices
of cells and free variables (which come after the hidden parameters) change.
Patching bytes this way costs a fraction of re-assembling the whole function,
which matters because every graph break makes one resume function.

A step function is assembled whole (`Assembler`): its code runs one
instruction of the user's, copied with the user's names table and position, and
calls a resume function with what it left.
"""
from __future__ import annotations

import dis
import types

_CACHES = dis._inline_cache_entries
_SLOT_OPS = {dis.opmap[name] for name in ("LOAD_FAST", "STORE_FAST", "DELETE_FAST", "LOAD_DEREF", "STORE_DEREF",
                                           "DELETE_DEREF", "LOAD_CLOSURE", "LOAD_CLASSDEREF", "MAKE_CELL")}
_NO_LOCATION = 15  # location-table entry kind for "no source position"
_LONG_LOCATION = 14  # location-table entry kind: line delta, end line, column, end column
_GENERATOR_FLAGS = 0x04 | 0x08 | 0x20 | 0x80 | 0x100 | 0x200  # varargs, varkw, generator and coroutine kinds


def encode(instructions: list) -> bytes:
    """Assemble (opname, arg) pairs, with EXTENDED_ARG prefixes and zeroed inline caches."""
    out = bytearray()
    for opname, arg in instructions:
        out += _encode_one(opname, arg)
    return bytes(out)


def _encode_one(opname: str, arg: int) -> bytes:
    opcode = dis.opmap[opname]
    out = bytearray()
    for shift in (24, 16, 8):
        if arg >> shift:
            out += bytes((dis.EXTENDED_ARG, (arg >> shift) & 0xFF))
    return bytes(out + bytes((opcode, arg & 0xFF)) + b"\x00\x00" * _CACHES[opcode])


def instruction_count(instructions: list) -> int:
    """How many instructions `dis` lists for `encode(instructions)` (EXTENDED_ARG included)."""
    return sum(1 + sum(1 for shift in (24, 16, 8) if arg >> shift) for _, arg in instructions)


def _varint(value: int, first: bool) -> bytes:
    """A number of the exception table: 6-bit chunks, most significant first."""
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


def _exception_entry(start: int, end: int, target: int, depth: int, lasti: bool) -> bytes:
    """One exception-table row; positions in code units."""
    return (_varint(start, True) + _varint(end - start, False) + _varint(target, False)
            + _varint((depth << 1) | int(lasti), False))


def shifted_exception_table(code: types.CodeType, by: int) -> bytes:
    """The exception table of `code` with every offset moved `by` bytes."""
    out = bytearray()
    for entry in dis._parse_exception_table(code):
        out += _exception_entry((entry.start + by) // 2, (entry.end + by) // 2, (entry.target + by) // 2,
                                entry.depth, entry.lasti)
    return bytes(out)


def _location_varint(value: int) -> bytes:
    """A number of the location table: 6-bit chunks, least significant first."""
    out = bytearray()
    while value >= 64:
        out.append(64 | (value & 63))
        value >>= 6
    out.append(value)
    return bytes(out)


def _no_location(units: int) -> bytes:
    out = bytearray()
    while units:
        length = min(units, 8)
        out.append(0x80 | (_NO_LOCATION << 3) | (length - 1))
        units -= length
    return bytes(out)


def _signed(value: int) -> bytes:
    return _location_varint(((-value) << 1) | 1 if value < 0 else value << 1)


def _location(units: int, position, line_before: int) -> tuple:
    """Entries giving `units` code units the source `position` (lineno, end_lineno, col, end_col):
    (bytes, the line the table is at afterwards)."""
    lineno, end_lineno, col, end_col = position
    if lineno is None:
        return _no_location(units), line_before
    rest = (_location_varint(max((end_lineno or lineno) - lineno, 0))
            + _location_varint(0 if col is None else col + 1) + _location_varint(0 if end_col is None else end_col + 1))
    out, delta = bytearray(), lineno - line_before
    while units:
        length = min(units, 8)
        out += bytes((0x80 | (_LONG_LOCATION << 3) | (length - 1),)) + _signed(delta) + rest
        units, delta = units - length, 0
    return bytes(out), lineno


def prefixed_location_table(code: types.CodeType, units: int) -> bytes:
    """`code`'s location table preceded by "no position" entries for `units` code units."""
    return _no_location(units) + code.co_linetable


def patched_body(code: types.CodeType, added: int) -> bytes | None:
    """`code`'s bytes with the indices of cells and free variables (the slots after `co_varnames`)
    moved up by `added`, or None if one no longer fits in its instruction (it would need an
    EXTENDED_ARG it does not have)."""
    body = bytearray(code.co_code)
    first = len(code.co_varnames)
    extended = False
    for at in range(0, len(body), 2):
        opcode = body[at]
        if opcode in _SLOT_OPS and added and (extended or body[at + 1] >= first):
            if extended or body[at + 1] + added > 0xFF:
                return None
            body[at + 1] += added
        extended = opcode == dis.EXTENDED_ARG
    return bytes(body)


def frame_layout(code: types.CodeType, hidden: list) -> dict:
    """Slot index by name in a step or resume function of `code` taking `hidden` parameters after
    the user's locals: the user's locals, the hidden parameters, then cells and free variables."""
    names = list(code.co_varnames) + list(hidden)
    names += [name for name in code.co_cellvars if name not in code.co_varnames] + list(code.co_freevars)
    return {name: position for position, name in enumerate(names)}


def _like_user(code: types.CodeType, hidden: list, **changes) -> types.CodeType:
    """`code.replace` for a function taking every user local and `hidden` as positional parameters,
    with the user's name, qualified name and file."""
    varnames = code.co_varnames + tuple(hidden)
    return code.replace(co_varnames=varnames, co_argcount=len(varnames), co_posonlyargcount=0,
                        co_kwonlyargcount=0, co_nlocals=len(varnames), co_flags=code.co_flags & ~_GENERATOR_FLAGS,
                        **changes)


def resume_code(code: types.CodeType, prologue: list, hidden: list, extra_stack: int) -> types.CodeType | None:
    """A code object running `prologue` (which ends by jumping into the body) then `code`'s body,
    taking the user's locals and `hidden` as its positional parameters."""
    body = patched_body(code, len(hidden))
    if body is None:
        return None
    head = encode(prologue)
    return _like_user(code, hidden, co_code=head + body, co_stacksize=code.co_stacksize + extra_stack + 4,
                      co_exceptiontable=shifted_exception_table(code, len(head)),
                      co_linetable=prefixed_location_table(code, len(head) // 2))


class Label:
    """A position in code an `Assembler` is building."""


class Assembler:
    """A small assembler for step functions: (opname, arg) instructions, forward jumps to labels,
    protected ranges (exception-table rows) and source positions, encoded into a code object that
    shares the user's names table and local layout (`frame_layout`)."""

    def __init__(self, code: types.CodeType, hidden: list):
        self.code = code
        self.hidden = list(hidden)
        self.slot = frame_layout(code, hidden)
        self.consts = [None]
        self.items = []  # ("op", opname, arg, position) | ("jump", opname, label, position) | ("label", label)
        self.position = None
        self._tries = []

    def const(self, value) -> int:
        for index, known in enumerate(self.consts):
            if known is value:
                return index
        self.consts.append(value)
        return len(self.consts) - 1

    def op(self, opname: str, arg: int = 0) -> None:
        self.items.append(("op", opname, arg, self.position))

    def load_const(self, value) -> None:
        self.op("LOAD_CONST", self.const(value))

    def jump(self, opname: str, label: Label) -> None:
        """A forward relative jump to `label`."""
        self.items.append(("jump", opname, label, self.position))

    def label(self, label: Label) -> None:
        self.items.append(("label", label))

    def at(self, position) -> None:
        """The source position of the instructions that follow (None: no position)."""
        self.position = position

    def try_begin(self, handler: Label, depth: int, lasti: bool) -> Label:
        start = Label()
        self.label(start)
        self._tries.append([start, None, handler, depth, lasti])
        return start

    def try_end(self, start: Label) -> None:
        end = Label()
        self.label(end)
        next(row for row in self._tries if row[0] is start)[1] = end

    def _layout(self, args: dict) -> tuple:
        """Offsets (in code units) of labels and instructions, for jump arguments `args`."""
        offsets, at, sizes = {}, 0, []
        for position, item in enumerate(self.items):
            if item[0] == "label":
                offsets[item[1]] = at
                sizes.append(0)
                continue
            arg = item[2] if item[0] == "op" else args.get(position, 0)
            size = len(_encode_one(item[1], arg)) // 2
            sizes.append(size)
            at += size
        return offsets, sizes

    def _jump_args(self) -> dict:
        args = {}
        while True:
            offsets, sizes = self._layout(args)
            at, changed = 0, False
            for position, item in enumerate(self.items):
                at += sizes[position]
                if item[0] == "jump":
                    distance = offsets[item[2]] - at
                    if distance < 0:
                        raise ValueError("step functions jump forward only")
                    if args.get(position) != distance:
                        args[position], changed = distance, True
            if not changed:
                return args

    def assemble(self, stacksize: int) -> types.CodeType:
        args = self._jump_args()
        offsets, _ = self._layout(args)
        code, table, line = bytearray(), bytearray(), self.code.co_firstlineno
        for position, item in enumerate(self.items):
            if item[0] == "label":
                continue
            arg = item[2] if item[0] == "op" else args[position]
            encoded = _encode_one(item[1], arg)
            code += encoded
            if item[3] is None:
                table += _no_location(len(encoded) // 2)
            else:
                entry, line = _location(len(encoded) // 2, item[3], line)
                table += entry
        exceptions = bytearray()
        for start, end, handler, depth, lasti in self._tries:
            exceptions += _exception_entry(offsets[start], offsets[end], offsets[handler], depth, lasti)
        return _like_user(self.code, self.hidden, co_code=bytes(code), co_consts=tuple(self.consts),
                          co_stacksize=stacksize, co_exceptiontable=bytes(exceptions), co_linetable=bytes(table))


_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08


def box_taking(fn: types.FunctionType) -> types.FunctionType:
    """`fn` (a step or resume function) called as `f(box)`, `box` a list of its positional
    parameters that it unpacks into its slots and empties before anything else runs.

    A Python-to-Python call normally hands the arguments over to the callee, but when a frame
    evaluation hook is installed (PEP 523: torch's own after some errors, debuggers) CPython
    calls through a path that leaves them on the caller's stack until the callee returns, which
    would keep alive what the rest of the user's function drops.  A box the callee empties holds
    nothing meanwhile.  The box arrives in the first slot (so the locals keep the user's layout and
    zero-argument `super()` still finds a first argument), replaced by the first parameter at once."""
    code = fn.__code__
    count = code.co_argcount
    if count == 0:
        return fn
    names = code.co_names if "clear" in code.co_names else code.co_names + ("clear",)
    head = encode([("LOAD_FAST", 0), ("COPY", 1), ("UNPACK_SEQUENCE", count)]
                  + [("STORE_FAST", slot) for slot in range(count)]
                  + [("LOAD_METHOD", names.index("clear")), ("PRECALL", 0), ("CALL", 0), ("POP_TOP", 0)])
    boxed = code.replace(co_code=head + code.co_code, co_argcount=1, co_posonlyargcount=0, co_kwonlyargcount=0,
                         co_flags=code.co_flags & ~(_CO_VARARGS | _CO_VARKEYWORDS), co_names=names,
                         co_stacksize=max(code.co_stacksize, count + 2),
                         co_exceptiontable=shifted_exception_table(code, len(head)),
                         co_linetable=prefixed_location_table(code, len(head) // 2))
    made = types.FunctionType(boxed, fn.__globals__, fn.__name__, None, fn.__closure__)
    made.__qualname__ = fn.__qualname__
    return made
