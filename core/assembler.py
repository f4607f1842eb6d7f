"""A CPython 3.11 assembler for the straight-line code snaptrace generates (entries, binders).

Generated code is a list of `Instr(name, arg)` and `Label()` items, the arguments symbolic:
a local's name, a global's or attribute's name (`LOAD_GLOBAL` takes `(push_null, name)`), the
constant itself, the `Label` a jump goes to.  `assemble_code` turns such a list into a code
object: it numbers constants, names and locals in the order they first appear (arguments first),
resolves jumps (relative, in code units; an argument over 255 takes EXTENDED_ARG prefixes, which
move what follows, so offsets are recomputed until they settle), zero-fills the inline caches,
takes the stack size as the deepest point over every path (`dis.stack_effect`, with and without
the jump) and gives every instruction the first line in a column-less location table.

It is the `bytecode` package's `Bytecode.to_code()` for this subset, producing the same code
object (tests/test_assembler.py compares the two), without that package's control-flow graph and
concrete-bytecode passes: those made about a third of capturing `x + 1`.  What it does not need it
does not support: exception tables, cell and free variables, source positions.
"""
from __future__ import annotations

import dis
import types
import typing

_HAVE_ARGUMENT = dis.HAVE_ARGUMENT
_EXTENDED_ARG = dis.EXTENDED_ARG
_CACHES = dis._inline_cache_entries
_CACHE_BYTES = [bytes(2 * count) for count in _CACHES]
_CONST_OPS = frozenset(dis.hasconst)
_NAME_OPS = frozenset(dis.hasname)
_LOCAL_OPS = frozenset(dis.haslocal)
_JUMP_OPS = frozenset(dis.hasjrel)
_BACKWARD = frozenset(op for name, op in dis.opmap.items() if "BACKWARD" in name)
_LOAD_GLOBAL = dis.opmap["LOAD_GLOBAL"]
_NO_FALLTHROUGH = frozenset(dis.opmap[name] for name in (
    "RETURN_VALUE", "RAISE_VARARGS", "RERAISE", "JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT"))
_CO_OPTIMIZED, _CO_NEWLOCALS, _CO_VARARGS, _CO_VARKEYWORDS = 0x01, 0x02, 0x04, 0x08
_LINE_ENTRY_FULL = b"\xef\x00"  # 8 code units, "no columns" kind, line delta 0


class _Fields(typing.NamedTuple):
    name: str
    arg: object
    opcode: int


class Instr(_Fields):
    """One instruction of generated code: an opcode name and its symbolic argument (see the module
    docstring); an unknown name raises at once.  A named tuple (immutable, built in C): a capture
    makes hundreds."""

    __slots__ = ()

    def __new__(cls, name: str, arg=None):
        return tuple.__new__(cls, (name, arg, dis.opmap[name]))

    def __repr__(self) -> str:
        return f"Instr({self.name!r}, {self.arg!r})"


class Label:
    """A position in generated code, the argument of the jumps that go there."""

    __slots__ = ()


def _const_key(value):
    """Constants are shared when this key is equal: by type and value for the immutable kinds
    (so `1`, `1.0` and `True` stay apart, and `0.0` and `-0.0`), by identity otherwise (a mutable
    constant must stay itself)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is bytes or value is None or value is Ellipsis:
        return kind, value
    if kind is float or kind is complex:
        return kind, repr(value)
    if kind is tuple:
        return kind, tuple(_const_key(item) for item in value)
    return kind, id(value)


def _numbered(table: list, index_of: dict, key, value) -> int:
    """The position of `value` in `table` (found by `key`), appended the first time it is met: how
    constants, names and locals are numbered, in the order of first use."""
    index = index_of.get(key)
    if index is None:
        index = index_of[key] = len(table)
        table.append(value)
    return index


def assemble_code(items: list, *, argcount: int, posonlyargcount: int, kwonlyargcount: int, argnames: tuple,
                  varargs: bool, varkw: bool, name: str, qualname: str, filename: str,
                  firstlineno: int) -> types.CodeType:
    """The code object of a function whose body is `items` (`Instr` and `Label`), taking `argnames`
    (positional, keyword-only, then *args and **kwargs when `varargs` / `varkw`)."""
    consts, const_index = [], {}
    names, name_index = [], {}
    varnames = list(argnames)
    local_index = {local: position for position, local in enumerate(varnames)}
    ops = []  # (opcode, numeric argument or a Label)
    label_at = {}  # Label -> index in `ops` of the instruction that follows it
    for item in items:
        if type(item) is Label:
            label_at[item] = len(ops)
            continue
        _, arg, opcode = item
        if opcode < _HAVE_ARGUMENT:
            arg = 0
        elif opcode in _CONST_OPS:
            arg = _numbered(consts, const_index, _const_key(arg), arg)
        elif opcode in _NAME_OPS:
            if opcode == _LOAD_GLOBAL:
                push_null, arg = arg
            index = _numbered(names, name_index, arg, arg)
            arg = (index << 1) | bool(push_null) if opcode == _LOAD_GLOBAL else index
        elif opcode in _LOCAL_OPS:
            arg = _numbered(varnames, local_index, arg, arg)
        elif opcode in _JUMP_OPS:
            if type(arg) is not Label:
                raise ValueError(f"{item.name} needs a Label, not {arg!r}")
        elif type(arg) is not int:
            arg = int(arg)  # an IntEnum such as bytecode's Compare, or a missing argument (None -> error)
        ops.append((opcode, arg))
    code = _encode(ops, label_at)
    flags = _CO_OPTIMIZED | _CO_NEWLOCALS | (_CO_VARARGS if varargs else 0) | (_CO_VARKEYWORDS if varkw else 0)
    units = len(code) // 2
    linetable = _LINE_ENTRY_FULL * (units >> 3) + (bytes((0xE8 | ((units & 7) - 1), 0)) if units & 7 else b"")
    return types.CodeType(argcount, posonlyargcount, kwonlyargcount, len(varnames), _stacksize(ops, label_at),
                          flags, code, tuple(consts), tuple(names), tuple(varnames), filename, name, qualname,
                          firstlineno, linetable, b"", (), ())


def _size(opcode: int, arg: int) -> int:
    """Code units of one instruction: EXTENDED_ARG prefixes, itself, its inline caches."""
    extended = 0 if arg < 0x100 else 1 if arg < 0x10000 else 2 if arg < 0x1000000 else 3
    return 1 + extended + _CACHES[opcode]


def _jump_args(ops: list, label_at: dict, jumps: list) -> dict:
    """The argument of each jump (by position in `ops`): its distance in code units.  A longer
    argument takes an EXTENDED_ARG, which moves what follows; distances only grow, so the
    recomputation settles."""
    args = {position: 0 for position in jumps}
    while True:
        starts, at = [], 0
        for position, (opcode, arg) in enumerate(ops):
            starts.append(at)
            if type(arg) is Label:
                arg = args[position]
            at += (1 + _CACHES[opcode]) if arg < 0x100 else _size(opcode, arg)
        starts.append(at)
        changed = False
        for position in jumps:
            opcode, label = ops[position]
            target, after = starts[label_at[label]], starts[position + 1]
            distance = after - target if opcode in _BACKWARD else target - after
            if distance < 0:
                raise ValueError(f"{dis.opname[opcode]} jumps the wrong way")
            if distance != args[position]:
                args[position], changed = distance, True
        if not changed:
            return args


def _encode(ops: list, label_at: dict) -> bytes:
    jumps = [position for position, (_, arg) in enumerate(ops) if type(arg) is Label]
    args = _jump_args(ops, label_at, jumps) if jumps else {}
    out = bytearray()
    caches = _CACHE_BYTES
    for position, (opcode, arg) in enumerate(ops):
        if type(arg) is Label:
            arg = args[position]
        if arg > 0xFF:
            for shift in (24, 16, 8):
                if arg >> shift:
                    out += bytes((_EXTENDED_ARG, (arg >> shift) & 0xFF))
        out.append(opcode)
        out.append(arg & 0xFF)
        out += caches[opcode]
    return bytes(out)


def _stacksize(ops: list, label_at: dict) -> int:
    """The deepest the value stack gets on any path from the first instruction."""
    effect = dis.stack_effect
    deepest, seen, todo = 0, {}, [(0, 0)]
    count = len(ops)
    while todo:
        position, depth = todo.pop()
        while position < count and seen.get(position, -1) < depth:
            seen[position] = depth
            opcode, arg = ops[position]
            if type(arg) is Label:
                jumped = depth + effect(opcode, 0, jump=True)
                if jumped > deepest:
                    deepest = jumped
                todo.append((label_at[arg], jumped))
                depth += effect(opcode, 0, jump=False)
            else:
                depth += effect(opcode, arg) if opcode >= _HAVE_ARGUMENT else effect(opcode)
            if depth > deepest:
                deepest = depth
            elif depth < 0:
                raise ValueError(f"{dis.opname[opcode]} pops from an empty stack")
            if opcode in _NO_FALLTHROUGH:
                break
            position += 1
    return deepest
