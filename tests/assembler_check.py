"""The differential check of core/assembler.py: a code object assembled by `assemble_code` against
the one the `bytecode` package assembles from the same instructions.

tests/test_assembler.py uses it on hand-written bodies and on the entries and binders of real
captures; with SNAPTRACE_CHECK_ASSEMBLER=1 in the environment, tests/conftest.py routes every
code object the test suite generates through it.
"""
from __future__ import annotations

import dis

import bytecode

from core import assembler

_FIELDS = ("co_code", "co_names", "co_varnames", "co_nlocals", "co_stacksize", "co_flags", "co_argcount",
           "co_posonlyargcount", "co_kwonlyargcount", "co_name", "co_qualname", "co_filename", "co_firstlineno",
           "co_linetable", "co_exceptiontable", "co_cellvars", "co_freevars")


def by_bytecode(items: list, **signature):
    """What `bytecode`'s `Bytecode.to_code()` makes of `items` with this signature."""
    labels = {}
    body = []
    for item in items:
        if type(item) is assembler.Label:
            body.append(labels.setdefault(item, bytecode.Label()))
        elif item.opcode < dis.HAVE_ARGUMENT:
            body.append(bytecode.Instr(item.name))
        elif type(item.arg) is assembler.Label:
            body.append(bytecode.Instr(item.name, labels.setdefault(item.arg, bytecode.Label())))
        else:
            body.append(bytecode.Instr(item.name, item.arg))
    code = bytecode.Bytecode(body)
    code.argcount = signature["argcount"]
    code.posonlyargcount = signature["posonlyargcount"]
    code.kwonlyargcount = signature["kwonlyargcount"]
    code.argnames = list(signature["argnames"])
    flags = bytecode.CompilerFlags.OPTIMIZED | bytecode.CompilerFlags.NEWLOCALS
    if signature["varargs"]:
        flags |= bytecode.CompilerFlags.VARARGS
    if signature["varkw"]:
        flags |= bytecode.CompilerFlags.VARKEYWORDS
    code.flags = flags
    code.name = signature["name"]
    code.qualname = signature["qualname"]
    code.filename = signature["filename"]
    code.first_lineno = signature["firstlineno"]
    return code.to_code()


def differences(ours, theirs) -> list:
    """The fields in which two code objects differ.  Constants are compared one by one, by type and
    value; where `bytecode` keeps two equal constants apart (its key is the constant's `marshal`
    form, which changes with the object's reference count) and the bytes differ for that alone,
    the instruction streams are compared instead, constants by value and jumps by target."""
    out = [field for field in _FIELDS if getattr(ours, field) != getattr(theirs, field)]
    if len(ours.co_consts) != len(theirs.co_consts) or any(
            a is not b and not (type(a) is type(b) and a == b) for a, b in zip(ours.co_consts, theirs.co_consts)):
        out.append("co_consts")
    if "co_consts" in out and set(out) <= {"co_code", "co_consts", "co_linetable"} \
            and _stream(ours) == _stream(theirs) and len(ours.co_consts) < len(theirs.co_consts):
        return []
    return out


def _stream(code) -> list:
    instructions = [ins for ins in dis.get_instructions(code) if ins.opname != "EXTENDED_ARG"]
    index_of = {ins.offset: index for index, ins in enumerate(instructions)}
    out = []
    for ins in instructions:
        if ins.opcode in dis.hasconst:
            out.append((ins.opname, assembler._const_key(ins.argval)))
        elif ins.opcode in dis.hasjrel:
            out.append((ins.opname, index_of[ins.argval]))
        else:
            out.append((ins.opname, ins.arg))
    return out


def checked_assemble_code(items: list, **signature):
    """`assemble_code`, raising AssertionError where `bytecode` would have made something else."""
    ours = assembler.assemble_code(items, **signature)
    theirs = by_bytecode(items, **signature)
    different = differences(ours, theirs)
    assert not different, (different, ours.co_consts, theirs.co_consts, items)
    return ours
