"""core/assembler.py: generated code assembled without the `bytecode` package, checked against it.

Every test builds a body, assembles it with `assemble_code` and with `bytecode` (tests/assembler_check.py)
and requires the same code object (or, where `bytecode` keeps equal constants apart, the same
instructions), then runs the function.  `SNAPTRACE_CHECK_ASSEMBLER=1 pytest` checks every entry and
binder the whole suite generates the same way.
"""
from __future__ import annotations

import dis
import types

import pytest
import torch

import assembler_check
import core.signatures
from core.assembler import Instr, Label, assemble_code
from tracer import compile, trace


def _signature(argnames=(), **changes) -> dict:
    out = dict(argcount=len(argnames), posonlyargcount=0, kwonlyargcount=0, argnames=tuple(argnames),
               varargs=False, varkw=False, name="made", qualname="made", filename="<test>", firstlineno=7)
    out.update(changes)
    return out


def _both(body: list, **signature) -> types.FunctionType:
    """The function `body` makes, after checking that `bytecode` assembles the same code."""
    code = assembler_check.checked_assemble_code([Instr("RESUME", 0), *body], **signature)
    return types.FunctionType(code, {"__builtins__": __builtins__, "g": 5})


def test_straight_line_code_matches_and_runs():
    fn = _both([Instr("LOAD_FAST", "a"), Instr("LOAD_FAST", "b"), Instr("BINARY_OP", 0), Instr("STORE_FAST", "c"),
                Instr("LOAD_GLOBAL", (True, "len")), Instr("LOAD_CONST", "xyz"), Instr("PRECALL", 1), Instr("CALL", 1),
                Instr("LOAD_FAST", "c"), Instr("LOAD_GLOBAL", (False, "g")), Instr("BUILD_TUPLE", 3),
                Instr("RETURN_VALUE")], **_signature(("a", "b")))
    assert fn(1, 2) == (3, 3, 5)
    assert fn.__code__.co_varnames == ("a", "b", "c") and fn.__code__.co_stacksize == 3  # NULL, len, "xyz"


def test_forward_jump_needing_extended_arg():
    """A jump over 300 instructions takes an EXTENDED_ARG, which moves the code after it."""
    skip = Label()
    body = [Instr("LOAD_FAST", "a"), Instr("POP_JUMP_FORWARD_IF_TRUE", skip)]
    body += [Instr("NOP")] * 300 + [Instr("LOAD_CONST", "no"), Instr("RETURN_VALUE"), skip,
                                    Instr("LOAD_CONST", "yes"), Instr("RETURN_VALUE")]
    fn = _both(body, **_signature(("a",)))
    assert dis.EXTENDED_ARG in fn.__code__.co_code[::2]
    assert fn(1) == "yes" and fn(0) == "no"


def test_backward_jump_needing_extended_arg():
    """A loop whose body is long: `n` times 1 added to a total, the jump back over 300 NOPs."""
    top, done = Label(), Label()
    body = [Instr("LOAD_CONST", 0), Instr("STORE_FAST", "total"), top,
            Instr("LOAD_FAST", "n"), Instr("POP_JUMP_FORWARD_IF_FALSE", done), *[Instr("NOP")] * 300,
            Instr("LOAD_FAST", "total"), Instr("LOAD_CONST", 1), Instr("BINARY_OP", 13), Instr("STORE_FAST", "total"),
            Instr("LOAD_FAST", "n"), Instr("LOAD_CONST", 1), Instr("BINARY_OP", 23), Instr("STORE_FAST", "n"),
            Instr("JUMP_BACKWARD", top), done, Instr("LOAD_FAST", "total"), Instr("RETURN_VALUE")]
    fn = _both(body, **_signature(("n",)))
    assert fn(4) == 4 and fn(0) == 0


def test_more_than_256_constants_and_names():
    body = [Instr("LOAD_CONST", f"c{i}") for i in range(300)] + [Instr("BUILD_LIST", 300)]
    body += [Instr("LOAD_GLOBAL", (False, f"g{i}")) for i in range(300)] + [Instr("POP_TOP")] * 300
    body += [Instr("RETURN_VALUE")]
    code = assembler_check.checked_assemble_code([Instr("RESUME", 0), *body], **_signature())
    fn = types.FunctionType(code, {f"g{i}": i for i in range(300)})
    assert fn() == [f"c{i}" for i in range(300)]
    assert code.co_stacksize == 301


def test_stack_size_is_the_deepest_path():
    """One branch pushes three values, the other one: the deeper one counts."""
    other, join = Label(), Label()
    body = [Instr("LOAD_FAST", "a"), Instr("POP_JUMP_FORWARD_IF_FALSE", other),
            Instr("LOAD_CONST", 1), Instr("LOAD_CONST", 2), Instr("LOAD_CONST", 3), Instr("BUILD_TUPLE", 3),
            Instr("JUMP_FORWARD", join), other, Instr("LOAD_CONST", None), join, Instr("RETURN_VALUE")]
    fn = _both(body, **_signature(("a",)))
    assert fn.__code__.co_stacksize == 3
    assert fn(True) == (1, 2, 3) and fn(False) is None


def test_constants_are_shared_by_type_and_value_and_mutable_ones_by_identity():
    """Not compared with `bytecode`, which shares two equal lists (its key is their marshal form)."""
    first, second = [], []
    values = [1, 1.0, True, 0.0, -0.0, "s", "s", (1, 2), (1, 2), (1.0, 2), first, second, first]
    code = assemble_code([Instr("RESUME", 0), *[Instr("LOAD_CONST", value) for value in values],
                          Instr("BUILD_TUPLE", len(values)), Instr("RETURN_VALUE")], **_signature())
    out = types.FunctionType(code, {})()
    assert [(type(a), a) for a in out[:10]] == [(type(b), b) for b in values[:10]]
    assert str(out[4]) == "-0.0"
    assert out[10] is first and out[11] is second and out[12] is first
    assert len(code.co_consts) == 10


def test_signature_binds_like_the_original():
    def original(a, /, b, *rest, c, d=4, **more):
        pass

    signature = core.signatures.Signature.of(original.__code__)
    made = core.signatures.assemble(signature, [Instr("LOAD_FAST", name) for name in signature.argnames]
                                    + [Instr("BUILD_TUPLE", len(signature.argnames)), Instr("RETURN_VALUE")],
                                    {}, original)
    assert made(1, 2, 3, c=5, e=6) == (1, 2, 5, 4, (3,), {"e": 6})
    for args, kwargs in [((), {}), ((1,), {"b": 2}), ((1, 2), {"b": 3, "c": 4}), ((), {"a": 1, "b": 2, "c": 3})]:
        with pytest.raises(TypeError) as ours:
            made(*args, **kwargs)
        with pytest.raises(TypeError) as eager:
            original(*args, **kwargs)
        assert str(ours.value) == str(eager.value)
    flags = made.__code__.co_flags
    assert flags == original.__code__.co_flags & 0xF


def test_location_table_gives_every_instruction_the_first_line():
    fn = _both([Instr("NOP")] * 20 + [Instr("LOAD_CONST", None), Instr("RETURN_VALUE")], **_signature())
    assert {position[0] for position in fn.__code__.co_positions()} == {7}


def test_bad_bodies_are_refused():
    with pytest.raises(KeyError):
        Instr("NOT_AN_OPCODE")
    with pytest.raises(ValueError, match="Label"):
        assemble_code([Instr("JUMP_FORWARD", 3)], **_signature())
    back = Label()
    with pytest.raises(ValueError, match="wrong way"):
        assemble_code([Instr("NOP"), Instr("JUMP_FORWARD", back), back, Instr("JUMP_FORWARD", back)], **_signature())


def test_entries_and_binders_of_captures_match(monkeypatch):
    """The code of real entries (guards, a graph, a rebuilt return value with effects, a rerun
    jump) and of the argument binders, assembled both ways."""
    checked = []

    def checking(items, **signature):
        checked.append(signature["name"])
        return assembler_check.checked_assemble_code(items, **signature)

    monkeypatch.setattr(core.signatures, "assemble_code", checking)

    def fn(x, ys, *rest, scale=2, **options):
        ys.append(x.sum())
        return {"out": x * scale, "n": len(ys), "rest": rest, "opt": options}, [x, x]

    compiled = compile(fn)
    for _ in range(2):
        ys = [1]
        out = compiled(torch.ones(3), ys, 3, flag=True)
        assert out[0]["n"] == 2 and len(ys) == 2 and out[0]["rest"] == (3,) and out[0]["opt"] == {"flag": True}

    def breaks(x):
        y = x + 1
        print("", end="")
        return y * 2

    res = trace(breaks, (torch.ones(2),))
    assert torch.equal(res(torch.ones(2)), torch.full((2,), 4.0))
    assert "fn" in checked and "breaks" in checked and len(checked) >= 4
