"""Bytecode for continuing a function after a graph break.

A capture that stops at an instruction it cannot model ends in a *step
function*: it receives the rebuilt value stack and live locals, executes that
one instruction for real, and passes the result to a *resume function* for the
successor the instruction took (a conditional jump or FOR_ITER has two).  A
resume function is a copy of the user's code object whose prologue restores
the value stack and the locals and jumps to the successor, so everything after
the break runs from the original bytecode: its loops, its exception table
(a break inside `try` keeps the handlers), its line numbers.  Resume functions
are wrapped in `Traced`, so each is captured on its first call and cached.

The step function runs in the user's globals (the instruction may read or
write them).  NULL stack slots (3.11 pushes one below a callable) cannot be
passed as arguments; they are known when the break is traced, so generated
code pushes them again where they belong.
"""
from __future__ import annotations

import dis
import types

import attrs
from bytecode import Bytecode, CompilerFlags, Compare, Instr, Label, TryBegin, TryEnd

from graph.resume_code import instruction_count, resume_code
from core.code import decode_prefixed, localsplus_names
from vt.data.symbolic import advanced_iterator

_BINARY_ADD = 0  # BINARY_OP's argument for `+`

# How many stack items an instruction reads (and pops), and how many it leaves on each successor.
_FIXED = {
    "BINARY_OP": (2, 1), "COMPARE_OP": (2, 1), "IS_OP": (2, 1), "CONTAINS_OP": (2, 1),
    "BINARY_SUBSCR": (2, 1), "UNARY_NEGATIVE": (1, 1), "UNARY_POSITIVE": (1, 1), "UNARY_NOT": (1, 1),
    "UNARY_INVERT": (1, 1), "GET_ITER": (1, 1), "LOAD_ATTR": (1, 1), "STORE_ATTR": (2, 0),
    "DELETE_ATTR": (1, 0), "STORE_SUBSCR": (3, 0), "DELETE_SUBSCR": (2, 0), "STORE_GLOBAL": (1, 0),
    "IMPORT_NAME": (2, 1), "IMPORT_FROM": (1, 2), "GET_LEN": (1, 2), "PRINT_EXPR": (1, 0),
    "BINARY_SLICE": (3, 1), "POP_TOP": (1, 0), "LOAD_GLOBAL": (0, 1), "LOAD_BUILD_CLASS": (0, 1),
}
_NAMED = {"LOAD_ATTR", "STORE_ATTR", "DELETE_ATTR", "STORE_GLOBAL", "IMPORT_NAME", "IMPORT_FROM"}
_CONDITIONAL = {
    "POP_JUMP_FORWARD_IF_TRUE": "POP_JUMP_FORWARD_IF_TRUE",
    "POP_JUMP_BACKWARD_IF_TRUE": "POP_JUMP_FORWARD_IF_TRUE",
    "POP_JUMP_FORWARD_IF_FALSE": "POP_JUMP_FORWARD_IF_FALSE",
    "POP_JUMP_BACKWARD_IF_FALSE": "POP_JUMP_FORWARD_IF_FALSE",
    "POP_JUMP_FORWARD_IF_NONE": "POP_JUMP_FORWARD_IF_NONE",
    "POP_JUMP_BACKWARD_IF_NONE": "POP_JUMP_FORWARD_IF_NONE",
    "POP_JUMP_FORWARD_IF_NOT_NONE": "POP_JUMP_FORWARD_IF_NOT_NONE",
    "POP_JUMP_BACKWARD_IF_NOT_NONE": "POP_JUMP_FORWARD_IF_NOT_NONE",
}


NULL_SLOT, VALUE_SLOT, ITERATOR_SLOT = "null", "value", "iterator"
"""How a stack slot or a local travels to a resume function: not at all (a NULL, pushed again by
the prologue), as itself, or as an iterator's recipe, rebuilt by the prologue with
`rebuild_iterator` so the resumed trace sees an iterator it models and can follow the loop."""


_REBUILD = "__rebuild_iterator"
"""The parameter through which a resume function receives `rebuild_iterator`: as an argument it has
a source, so the trace of the prologue can inline it and guard it like any function passed in."""


def rebuild_iterator(recipe: tuple):
    """The iterator a recipe describes: ("advance", iterable, taken) is iter(iterable) after
    `taken` items; ("enumerate", recipe, count) and ("zip", recipes, strict) wrap others.

    Plain Python on plain data, so the resumed trace inlines it like user code."""
    kind = recipe[0]
    if kind == "enumerate":
        return enumerate(rebuild_iterator(recipe[1]), recipe[2])
    if kind == "zip":
        return zip(*[rebuild_iterator(inner) for inner in recipe[1]], strict=recipe[2])
    return advanced_iterator(recipe[1], recipe[2])  # modelled: a symbolic position in a range stays symbolic


@attrs.frozen
class Successor:
    """Where execution continues after the instruction: an instruction index and the kinds of the
    stack items the instruction left on top."""

    index: int
    pushed: tuple


@attrs.frozen
class StepShape:
    """What one instruction does to the stack: items it pops, and each way it can continue."""

    popped: int
    fallthrough: Successor | None
    jump: Successor | None


def step_shape(instruction) -> StepShape | None:
    """The stack shape of `instruction`, or None when it cannot be run on its own."""
    name, arg, after = instruction.opname, instruction.arg, instruction.index + 1

    def plain(count):
        return Successor(after, (VALUE_SLOT,) * count)

    if name in _FIXED:
        popped, pushed = _FIXED[name]
        if name == "LOAD_GLOBAL" and arg & 1:
            return StepShape(0, Successor(after, (NULL_SLOT, VALUE_SLOT)), None)
        return StepShape(popped, plain(pushed), None)
    if name == "LOAD_METHOD":  # run as LOAD_ATTR with a NULL below: the same call afterwards
        return StepShape(1, Successor(after, (NULL_SLOT, VALUE_SLOT)), None)
    if name == "CALL":
        return StepShape(arg + 2, plain(1), None)
    if name == "CALL_FUNCTION_EX":
        return StepShape(3 + (arg & 1), plain(1), None)
    if name == "UNPACK_SEQUENCE":
        return StepShape(1, plain(arg), None)
    if name == "UNPACK_EX":
        return StepShape(1, plain((arg & 0xFF) + (arg >> 8) + 1), None)
    if name == "FORMAT_VALUE":
        return StepShape(2 if arg & 0x04 else 1, plain(1), None)
    if name == "BUILD_STRING":
        return StepShape(arg, plain(1), None)
    if name in ("LIST_EXTEND", "SET_UPDATE", "DICT_UPDATE", "DICT_MERGE", "LIST_APPEND", "SET_ADD"):
        return StepShape(arg + 1, plain(arg), None)
    if name in _CONDITIONAL:
        return StepShape(1, plain(0), Successor(instruction.target, ()))
    if name in ("JUMP_IF_TRUE_OR_POP", "JUMP_IF_FALSE_OR_POP"):
        return StepShape(1, plain(0), Successor(instruction.target, (VALUE_SLOT,)))
    if name == "FOR_ITER":
        return StepShape(1, plain(2), Successor(instruction.target, ()))
    if name == "RAISE_VARARGS":
        return StepShape(arg, None, None)
    return None


def origin(fn) -> tuple:
    """(the user's function, how many instructions the prologue adds): a resume function's code is
    the user's, after its prologue; a user function is its own origin."""
    return getattr(fn, "__snaptrace_origin__", (fn, 0))


def _load_slot(kind: str, param: str, index: dict) -> list:
    """(opname, arg) pairs pushing one slot in a resume prologue; `index` maps names to slots."""
    if kind == NULL_SLOT:
        return [("PUSH_NULL", 0)]
    if kind == ITERATOR_SLOT:
        return [("PUSH_NULL", 0), ("LOAD_FAST", index[_REBUILD]), ("LOAD_FAST", index[param]),
                ("PRECALL", 1), ("CALL", 1)]
    return [("LOAD_FAST", index[param])]


LOCAL_PREFIX = "__local_"


def local_parameter(position: int, name: str) -> str:
    """The parameter a live local travels in: named after it when its name is an identifier (graph
    placeholders and guards then read `x`, see LocalSource), numbered otherwise (`@py_assert1`)."""
    return f"{LOCAL_PREFIX}{name}" if name.isidentifier() else f"__local{position}"


def parameters(prefix: str, kind: str) -> list:
    """The parameter names one slot travels in."""
    if kind == NULL_SLOT:
        return []
    return [prefix]


def push(kind: str, names: list) -> list:
    """Instructions pushing one slot from its parameters, in a step function."""
    if kind == NULL_SLOT:
        return [Instr("PUSH_NULL")]
    if kind == ITERATOR_SLOT:
        return [Instr("PUSH_NULL"), Instr("LOAD_CONST", rebuild_iterator), Instr("LOAD_FAST", names[0]),
                Instr("PRECALL", 1), Instr("CALL", 1)]
    return [Instr("LOAD_FAST", names[0])]


@attrs.frozen
class Layout:
    """The kinds of the value stack's slots and of the live locals at a break."""

    stack: tuple  # kind per stack slot, bottom first
    locals: tuple  # (name, kind) per bound local

    def stack_parameters(self) -> list:
        return [parameters(f"__stack{k}", kind) for k, kind in enumerate(self.stack)]

    def local_parameters(self) -> list:
        return [parameters(local_parameter(k, name), kind) for k, (name, kind) in enumerate(self.locals)]

    @property
    def rebuilds_iterators(self) -> bool:
        return ITERATOR_SLOT in self.stack or any(kind == ITERATOR_SLOT for _, kind in self.locals)


def _flat(groups) -> list:
    return [name for group in groups for name in group]


def _call_resume(resume, below: list, local_params: list, pushed: int, rebuilds: bool) -> list:
    """Collect the `pushed` top items into a tuple and return resume(*below, *pushed, *locals)."""
    extra = [Instr("LOAD_CONST", rebuild_iterator)] if rebuilds else []
    return [
        Instr("BUILD_TUPLE", pushed), Instr("PUSH_NULL"), Instr("SWAP", 2),
        Instr("LOAD_CONST", resume), Instr("SWAP", 2),
        *[Instr("LOAD_FAST", name) for name in below], Instr("BUILD_TUPLE", len(below)), Instr("SWAP", 2),
        Instr("BINARY_OP", _BINARY_ADD),
        *[Instr("LOAD_FAST", name) for name in local_params], *extra,
        Instr("BUILD_TUPLE", len(local_params) + len(extra)),
        Instr("BINARY_OP", _BINARY_ADD),
        Instr("CALL_FUNCTION_EX", 0), Instr("RETURN_VALUE"),
    ]


def _finish(code: list, argnames: list, like: types.CodeType, name: str) -> Bytecode:
    out = Bytecode(code)
    out.argnames = list(argnames)
    out.argcount = len(argnames)
    out.posonlyargcount = out.kwonlyargcount = 0
    out.flags = CompilerFlags.OPTIMIZED | CompilerFlags.NEWLOCALS
    out.name, out.qualname = f"{like.co_name}_{name}", f"{like.co_qualname}_{name}"
    out.filename, out.first_lineno = like.co_filename, like.co_firstlineno
    return out


class _NoResume(Exception):
    """A successor of the step function has no resume function (see `resume_code`)."""


class ResumeBuilder:
    """Builds the step function of one break, and the resume functions it continues in.

    `fn` is the user's function (never a resume function: a break inside one is placed back in
    the user's code, see `origin`).  `wrap` turns a plain resume function into what the step
    function calls (a `Traced`).  One builder serves all the captures of one user function and of
    its resume functions: the code is analysed once, and a break inside a loop continues in the
    same resume function on every iteration instead of a new one each time."""

    def __init__(self, fn, info, wrap):
        self.fn = fn
        self.info = info  # the user's code decoded (core.code.CodeInfo): instructions, exception table
        self.instructions = info.instructions
        self.wrap = wrap
        self.resumes = {}  # (target, layout) -> wrapped resume function

    def resume(self, target: int, layout: Layout, used: dict):
        """The resume function for `target` and `layout`, recorded in `used`; None if none can be made."""
        key = (target, layout)
        if key not in self.resumes:
            plain = self._resume_function(target, layout)
            self.resumes[key] = None if plain is None else self.wrap(plain)
        if self.resumes[key] is not None:
            used[key] = self.resumes[key]
        return self.resumes[key]

    def _resume_function(self, target: int, layout: Layout):
        """The user's code behind a prologue that restores `layout` and jumps to `target`, or None."""
        code = self.fn.__code__
        params = _flat(layout.stack_parameters()) + _flat(layout.local_parameters())
        if layout.rebuilds_iterators:
            params.append(_REBUILD)
        index = {name: position for position, name in enumerate(params)}
        index.update((name, len(params) + position) for position, name in enumerate(localsplus_names(code)))
        prologue = [("COPY_FREE_VARS", len(code.co_freevars))] if code.co_freevars else []
        prologue.append(("RESUME", 0))
        for k, (name, kind) in enumerate(layout.locals):
            prologue += _load_slot(kind, local_parameter(k, name), index) + [("STORE_FAST", index[name])]
        for k, kind in enumerate(layout.stack):
            prologue += _load_slot(kind, f"__stack{k}", index)
        prologue.append(("JUMP_FORWARD", self.instructions[target].offset // 2))
        name = f"{code.co_name}_resume_at_{self.instructions[target].offset}"
        assembled = resume_code(code, prologue, params, name, len(layout.stack))
        if assembled is None:
            return None
        resumed = types.FunctionType(assembled, self.fn.__globals__, name, None, self.fn.__closure__)
        resumed.__snaptrace_origin__ = (self.fn, instruction_count(prologue))
        resumed.__snaptrace_decoded__ = decode_prefixed(assembled, self.instructions, prologue, len(params))
        return resumed

    def step_function(self, index: int, layout: Layout, kw_names: tuple, used: dict):
        """The function that runs instruction `index` for real and continues in a resume function.

        Its parameters are those of the stack slots, then those of the live locals, as `layout`
        says; the resume functions it calls are recorded in `used`.  None when the instruction
        cannot run on its own."""
        instruction = self.instructions[index]
        shape = step_shape(instruction)
        if shape is None or shape.popped > len(layout.stack):
            return None
        split = len(layout.stack) - shape.popped
        entry = self.info.handler_at(index)
        if entry is not None and entry.depth > split:
            return None
        stack_params = layout.stack_parameters()
        local_params = _flat(layout.local_parameters())
        below_kinds = layout.stack[:split]
        jump_label, handler_label = Label(), Label()
        code = [Instr("RESUME", 0)]
        if entry is not None:  # opened before the inputs are pushed: the handler sees an empty stack
            try_begin = TryBegin(handler_label, entry.lasti)
            code.append(try_begin)
        for position in range(split, len(layout.stack)):
            code += push(layout.stack[position], stack_params[position])
        code += self._the_instruction(instruction, jump_label, kw_names)
        if entry is not None:
            code.append(TryEnd(try_begin))

        def go_on(successor: Successor, kept: int) -> list:
            target = Layout(below_kinds[:kept] + successor.pushed, layout.locals)
            resume = self.resume(successor.index, target, used)
            if resume is None:
                raise _NoResume
            pushed = sum(kind != NULL_SLOT for kind in successor.pushed)
            return _call_resume(resume, _flat(stack_params[:kept]), local_params, pushed, target.rebuilds_iterators)

        try:
            if shape.fallthrough is None:  # RAISE_VARARGS: nothing follows
                code += [Instr("LOAD_CONST", None), Instr("RETURN_VALUE")]
            else:
                code += go_on(shape.fallthrough, split)
            if shape.jump is not None:
                code += [jump_label] + go_on(shape.jump, split)
            if entry is not None:  # continue in the user's handler: stack cut to its depth, [lasti,] exception
                pushed = (VALUE_SLOT, VALUE_SLOT) if entry.lasti else (VALUE_SLOT,)
                code += [handler_label] + go_on(Successor(entry.target, pushed), entry.depth)
        except _NoResume:
            return None
        out = _finish(code, _flat(stack_params) + local_params, self.fn.__code__, f"step_at_{instruction.offset}")
        step = types.FunctionType(out.to_code(), self.fn.__globals__, out.name)
        step.__qualname__ = out.qualname
        return step

    def _the_instruction(self, instruction, jump_label, kw_names: tuple) -> list:
        """The user's own instruction, as the step function runs it (rebuilt from its decoded form:
        `step_shape` admits only instructions whose argument is a name, a count or an operator).

        Instructions that leave a NULL below their result (LOAD_METHOD, LOAD_GLOBAL with the NULL
        bit) push only the result here; the resume function's prologue puts the NULL back."""
        name, lineno = instruction.opname, instruction.lineno
        if name == "LOAD_METHOD":
            return [Instr("LOAD_ATTR", instruction.argval, lineno=lineno)]
        if name == "LOAD_GLOBAL":
            return [Instr("LOAD_GLOBAL", (False, instruction.argval), lineno=lineno)]
        if name == "CALL":
            prefix = [Instr("KW_NAMES", kw_names)] if kw_names else []
            return prefix + [Instr("PRECALL", instruction.arg, lineno=lineno),
                             Instr("CALL", instruction.arg, lineno=lineno)]
        if name in _CONDITIONAL:
            return [Instr(_CONDITIONAL[name], jump_label, lineno=lineno)]
        if instruction.target >= 0:
            return [Instr(name, jump_label, lineno=lineno)]
        if instruction.opcode < dis.HAVE_ARGUMENT:
            return [Instr(name, lineno=lineno)]
        if name == "COMPARE_OP":
            return [Instr(name, Compare(instruction.arg), lineno=lineno)]
        if name in _NAMED:
            return [Instr(name, instruction.argval, lineno=lineno)]
        return [Instr(name, instruction.arg, lineno=lineno)]
