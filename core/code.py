"""Decoded code: a code object read once into instructions whose jumps name instruction indices.

`decode` turns a 3.11 code object into `Instruction` records (inline caches
skipped, jump targets rewritten from byte offsets to instruction indices) and
its exception table into `HandlerEntry` rows, so a jump is `ip = target` and
an unwind is one table lookup.  `decode_prefixed` gives the same records for
a resume function without disassembling the whole function again.

The compile cache.  What decoding produces depends on the code object alone (its bytes, constants,
names, line and exception tables, all immutable), so it is kept per code object across captures in
`_DECODED` (`compiled`), with the code of the argument binder (core/signatures.py): the
module-level mutable cache of the project, on purpose.  Two other parts: the code of generated
source (guard functions, `compiled_source`) and the fake mode's memo of functional ATen ops
(vt/data/fake_memo.py).  It is keyed by the
identity of the code object and holds it weakly, so an entry goes away with its code object (a
fresh function compiled from the same text is a new code object, decoded anew); the globals a
code runs in are not part of it (`CodeInfo` adds them per trace).  `decode_uncached` bypasses it.
"""
from __future__ import annotations

import dis
import types
import typing
import weakref

import attrs


class Instruction(typing.NamedTuple):
    """One decoded 3.11 instruction; jump targets are instruction indices, not offsets.  A named
    tuple rather than an attrs record: a capture decodes thousands, and a tuple is built in C."""

    opname: str
    opcode: int
    arg: object
    argval: object
    index: int
    offset: int
    lineno: int
    target: int


@attrs.frozen(slots=True, eq=False)
class CodeInfo:
    """A code object decoded once per trace, with the globals it runs in; compared by identity.

    `localsplus` names every slot of a 3.11 frame: locals, then cells that are
    not arguments, then free variables.  `globals_source` is how generated code
    reaches the globals dict (None: the traced function's own module, `G`).
    """

    code: types.CodeType
    instructions: tuple
    localsplus: tuple
    globals: dict
    globals_source: object = None
    exception_table: tuple = ()  # HandlerEntry records, in the code's order
    # per-trace memo: instruction index -> the VT its LOAD_CONST pushes (one shared value, as CPython
    # pushes the one constant object each time; tracer/ops/loads_stores.py)
    constants: dict = attrs.field(factory=dict, repr=False)
    # per-trace memo: instruction index -> what its LOAD_GLOBAL read last, (object, VT, guards, whether
    # from the builtins), for a read the wrap memo (vt/registry.py) remembered (tracer/ops/loads_stores.py)
    global_reads: dict = attrs.field(factory=dict, repr=False)

    def handler_at(self, index: int):
        """The exception-table entry covering instruction `index`, or None (the frame is left)."""
        for entry in self.exception_table:
            if entry.start <= index < entry.end:
                return entry
        return None

    @property
    def filename(self) -> str:
        return self.code.co_filename

    @property
    def name(self) -> str:
        return self.code.co_qualname


@attrs.frozen(slots=True)
class HandlerEntry:
    """One row of 3.11's exception table, in instruction indices: an exception raised by an
    instruction in [start, end) pops the stack to `depth`, pushes the raising instruction's
    offset if `lasti`, pushes the exception and continues at `target`."""

    start: int
    end: int
    target: int
    depth: int
    lasti: bool


def _exception_table(code: types.CodeType, index_of: dict, count: int) -> tuple:
    entries = []
    for raw in dis._parse_exception_table(code):
        start = index_of.get(raw.start)
        end = index_of.get(raw.end, count)
        if start is None:
            continue
        entries.append(HandlerEntry(start, end, index_of[raw.target], raw.depth, raw.lasti))
    return tuple(entries)


def decode(code: types.CodeType, globals: dict, globals_source=None) -> CodeInfo:
    """Decode `code` into instructions whose jumps name instruction indices (through the compile
    cache: a code object is read once per process, see the module)."""
    instructions, localsplus, exception_table = compiled(code, "decoded", _decoded_parts)
    return CodeInfo(code, instructions, localsplus, globals, globals_source, exception_table)


def decode_uncached(code: types.CodeType, globals: dict, globals_source=None) -> CodeInfo:
    """`decode` without the compile cache."""
    instructions, localsplus, exception_table = _decoded_parts(code)
    return CodeInfo(code, instructions, localsplus, globals, globals_source, exception_table)


_DECODED: dict = {}
"""The compile cache: id(code) -> (weak reference to the code object, {what: made}).  An entry is
removed when its code object dies (`_forget`), before the id can be reused; `compiled` also checks
that the reference still names the same object."""


def compiled(code: types.CodeType, what: str, make):
    """`make(code)`, made once per code object and kept in the compile cache under `what` (the
    decoded instructions; the code of the code's argument binder, core/signatures.py).  `make` must
    depend on the code object alone and return something immutable."""
    entry = _DECODED.get(id(code))
    if entry is None or entry[0]() is not code:
        entry = _DECODED[id(code)] = (weakref.ref(code, _forget(id(code))), {})
    made = entry[1].get(what)
    if made is None:
        made = entry[1][what] = make(code)
    return made


_SOURCES: dict = {}
"""The compile cache's part for generated source: (source text, file name) -> code object."""
SOURCE_LIMIT = 256


def compiled_source(src: str, filename: str) -> types.CodeType:
    """`compile(src, filename, "exec")`, kept in the compile cache: the code depends on the text and
    the name alone.  Guard functions are generated text, and the same module class traced again (a
    fresh instance, each block of a model compiled on its own) gives the same text, whose
    compilation is a tenth of a small module's capture.  At most `SOURCE_LIMIT` texts are kept;
    the cache starts over when full."""
    key = (src, filename)
    code = _SOURCES.get(key)
    if code is None:
        if len(_SOURCES) >= SOURCE_LIMIT:
            _SOURCES.clear()
        code = _SOURCES[key] = compile(src, filename, "exec")
    return code


def _forget(key: int):
    def forget(_reference) -> None:
        entry = _DECODED.get(key)
        if entry is not None and entry[0] is _reference:
            del _DECODED[key]
    return forget


def _decoded_parts(code: types.CodeType) -> tuple:
    instructions = tuple(_instructions(code))
    index_of = {ins.offset: ins.index for ins in instructions}
    return instructions, localsplus_names(code), _exception_table(code, index_of, len(instructions))


_CACHES = dis._inline_cache_entries  # inline CACHE code units after each opcode (3.11)
_HAS_CONST = frozenset(dis.hasconst)
_HAS_NAME = frozenset(dis.hasname)
_HAS_LOCAL = frozenset(dis.haslocal) | frozenset(dis.hasfree)
_HAS_JREL = frozenset(dis.hasjrel)
_HAS_JABS = frozenset(dis.hasjabs)
_HAS_COMPARE = frozenset(dis.hascompare)
_BACKWARD = frozenset(dis.opmap[name] for name in dis.opmap if "JUMP_BACKWARD" in name)
_OPNAME = dis.opname
_LOAD_GLOBAL, _KW_NAMES, _FORMAT_VALUE = dis.opmap["LOAD_GLOBAL"], dis.opmap["KW_NAMES"], dis.opmap["FORMAT_VALUE"]
_EXTENDED_ARG, _HAVE_ARGUMENT = dis.EXTENDED_ARG, dis.HAVE_ARGUMENT
_CONVERSIONS = (None, str, repr, ascii)


def _argument_kinds() -> tuple:
    """For each opcode, how its argument becomes `argval` (one table lookup per instruction)."""
    kinds = []
    for op in range(256):
        if op < _HAVE_ARGUMENT:
            kinds.append(_NO_ARG)
        elif op == _EXTENDED_ARG:
            kinds.append(_EXTENDED)
        elif op in _HAS_CONST or op == _KW_NAMES:
            kinds.append(_CONST)
        elif op == _LOAD_GLOBAL:
            kinds.append(_GLOBAL)
        elif op in _HAS_NAME:
            kinds.append(_NAME)
        elif op in _HAS_JREL:
            kinds.append(_BACKWARD_JUMP if op in _BACKWARD else _FORWARD_JUMP)
        elif op in _HAS_JABS:
            kinds.append(_ABSOLUTE_JUMP)
        elif op in _HAS_LOCAL:
            kinds.append(_LOCAL)
        elif op in _HAS_COMPARE:
            kinds.append(_COMPARE)
        elif op == _FORMAT_VALUE:
            kinds.append(_FORMAT)
        else:
            kinds.append(_PLAIN)
    return tuple(kinds)


(_NO_ARG, _EXTENDED, _CONST, _GLOBAL, _NAME, _FORWARD_JUMP, _BACKWARD_JUMP, _ABSOLUTE_JUMP, _LOCAL, _COMPARE, _FORMAT,
 _PLAIN) = range(12)
_KINDS = _argument_kinds()
_STEP = tuple(2 + 2 * _CACHES[op] for op in range(256))  # code bytes from one instruction to the next


def _line_of_each_unit(code: types.CodeType) -> list:
    """The line number of every code unit (None where it has none), from `co_lines`' ranges."""
    lines = [None] * (len(code.co_code) >> 1)
    for start, end, line in code.co_lines():
        if line is not None:
            lines[start >> 1:end >> 1] = [line] * ((end - start) >> 1)
    return lines


def _instructions(code: types.CodeType) -> list:
    """The instructions of `code` with the argument values `dis.get_instructions` gives (so handlers
    read `argval` as documented by `dis`), decoded straight from the bytes: `dis` builds positions,
    labels and display strings per instruction, which made decoding a tenth of a model's capture.
    tests/test_code.py checks both agree on every function of the standard library and torch."""
    raw = code.co_code
    consts, names, varname = code.co_consts, code.co_names, code._varname_from_oparg
    lines = _line_of_each_unit(code)
    kinds, steps, opnames, make = _KINDS, _STEP, _OPNAME, tuple.__new__  # one C call per Instruction
    lineno = code.co_firstlineno
    out, jumps, index_of = [], [], {}
    extended = 0
    offset, end = 0, len(raw)
    while offset < end:
        op = raw[offset]
        line = lines[offset >> 1]
        if line is not None:
            lineno = line
        kind = kinds[op]
        if kind == _NO_ARG:
            arg = argval = None
            extended = 0
        else:
            arg = argval = raw[offset + 1] | extended
            extended = 0
            if kind == _EXTENDED:
                extended = arg << 8
            elif kind == _CONST:
                argval = consts[arg]
            elif kind == _NAME:
                argval = names[arg]
            elif kind == _GLOBAL:
                argval = names[arg >> 1]
            elif kind == _LOCAL:
                argval = varname(arg)
            elif kind == _FORWARD_JUMP:
                argval = offset + 2 + arg * 2
                jumps.append(len(out))
            elif kind == _BACKWARD_JUMP:
                argval = offset + 2 - arg * 2
                jumps.append(len(out))
            elif kind == _ABSOLUTE_JUMP:
                argval = arg * 2
                jumps.append(len(out))
            elif kind == _COMPARE:
                argval = dis.cmp_op[arg]
            elif kind == _FORMAT:
                argval = (_CONVERSIONS[arg & 0x3], bool(arg & 0x4))
        index_of[offset] = len(out)
        out.append(make(Instruction, (opnames[op], op, arg, argval, len(out), offset, lineno, -1)))
        offset += steps[op]
    for i in jumps:
        out[i] = out[i]._replace(target=index_of.get(out[i].argval, -1))
    return out


def decode_with_dis(code: types.CodeType) -> tuple:
    """The same instructions through `dis.get_instructions`: the reference `_instructions` is tested against."""
    raw = list(dis.get_instructions(code))
    index_of = {ins.offset: i for i, ins in enumerate(raw)}
    lineno = code.co_firstlineno
    out = []
    for i, ins in enumerate(raw):
        if ins.positions is not None and ins.positions.lineno is not None:
            lineno = ins.positions.lineno
        target = index_of.get(ins.argval, -1) if ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs else -1
        argval = code.co_consts[ins.arg] if ins.opname == "KW_NAMES" else ins.argval
        out.append(Instruction(ins.opname, ins.opcode, ins.arg, argval, i, ins.offset, lineno, target))
    return tuple(out)


def code_info_of(code: types.CodeType, instructions: tuple, globals: dict, globals_source=None) -> CodeInfo:
    """The CodeInfo of `code`, given its decoded instructions."""
    index_of = {ins.offset: ins.index for ins in instructions}
    return CodeInfo(code, instructions, localsplus_names(code), globals, globals_source,
                    _exception_table(code, index_of, len(instructions)))


_SLOT_OPNAMES = frozenset(("LOAD_FAST", "STORE_FAST", "DELETE_FAST", "LOAD_DEREF", "STORE_DEREF", "DELETE_DEREF",
                           "LOAD_CLOSURE", "LOAD_CLASSDEREF", "MAKE_CELL"))


def localsplus_names(code: types.CodeType) -> tuple:
    """The name of every slot of a 3.11 frame: locals, cells that are not arguments, free variables."""
    return code.co_varnames + tuple(n for n in code.co_cellvars if n not in code.co_varnames) + code.co_freevars


def decode_prefixed(code: types.CodeType, body: tuple, prologue: list, added: int, first: int = 0) -> tuple:
    """The decoded instructions of `code`, made of `prologue` ((opname, arg) pairs, see
    graph.resume_code) followed by an already decoded `body` whose slots from `first` on (cells and
    free variables) moved up by `added`: what `decode` would give, without disassembling the whole
    function again."""
    out = []
    offset = 0
    names = localsplus_names(code)
    jump_to = None
    for opname, arg in prologue:
        for shift in (24, 16, 8):
            if arg >> shift:
                out.append(Instruction("EXTENDED_ARG", dis.EXTENDED_ARG, (arg >> shift) & 0xFF,
                                       (arg >> shift) & 0xFF, len(out), offset, code.co_firstlineno, -1))
                offset += 2
        opcode = dis.opmap[opname]
        argval = names[arg] if opname in _SLOT_OPNAMES else arg
        if opcode < dis.HAVE_ARGUMENT:
            arg = argval = None
        if opname == "JUMP_FORWARD":
            jump_to = len(out)
        out.append(Instruction(opname, opcode, arg, argval, len(out), offset, code.co_firstlineno, -1))
        offset += 2 + 2 * dis._inline_cache_entries[opcode]
    shift = len(out)
    for ins in body:
        arg = ins.arg + added if ins.opname in _SLOT_OPNAMES and ins.arg >= first else ins.arg
        target = ins.target + shift if ins.target >= 0 else -1
        argval = ins.argval + offset if ins.target >= 0 else ins.argval
        out.append(Instruction(ins.opname, ins.opcode, arg, argval, ins.index + shift, ins.offset + offset,
                               ins.lineno, target))
    if jump_to is not None:
        jump = out[jump_to]
        target = next(i for i in range(shift, len(out)) if out[i].offset == jump.offset + 2 + 2 * jump.arg)
        out[jump_to] = jump._replace(argval=out[target].offset, target=target)
    return tuple(out)
