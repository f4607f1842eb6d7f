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

import types

import attrs

from graph.resume_code import Assembler, Label, frame_layout, instruction_count, resume_code
from core.code import decode_prefixed, localsplus_names
from vt.data.symbolic import advanced_iterator

# How many stack items an instruction reads (and pops), and how many it leaves on each successor.
_FIXED = {
    "BINARY_OP": (2, 1), "COMPARE_OP": (2, 1), "IS_OP": (2, 1), "CONTAINS_OP": (2, 1),
    "BINARY_SUBSCR": (2, 1), "UNARY_NEGATIVE": (1, 1), "UNARY_POSITIVE": (1, 1), "UNARY_NOT": (1, 1),
    "UNARY_INVERT": (1, 1), "GET_ITER": (1, 1), "LOAD_ATTR": (1, 1), "STORE_ATTR": (2, 0),
    "DELETE_ATTR": (1, 0), "STORE_SUBSCR": (3, 0), "DELETE_SUBSCR": (2, 0), "STORE_GLOBAL": (1, 0),
    "IMPORT_NAME": (2, 1), "IMPORT_FROM": (1, 2), "GET_LEN": (1, 2), "PRINT_EXPR": (1, 0),
    "BINARY_SLICE": (3, 1), "POP_TOP": (1, 0), "LOAD_GLOBAL": (0, 1), "LOAD_BUILD_CLASS": (0, 1),
}
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


NULL_SLOT, VALUE_SLOT, ITERATOR_SLOT, UNBOUND_SLOT = "null", "value", "iterator", "unbound"
"""How a stack slot or a local travels to a step or resume function: not at all (a NULL, pushed again
by the prologue; an unbound local, passed None and deleted by the prologue), as itself, or as an
iterator's recipe, rebuilt by the prologue with `rebuild_iterator` so the resumed trace sees an
iterator it models and can follow the loop."""


_REBUILD = "__rebuild_iterator"
"""The parameter through which a resume function receives `rebuild_iterator`: as an argument it has
a source, so the trace of the prologue can inline it and guard it like any function passed in."""

_HANDLED = "__handled"
"""The parameter carrying the exception an `except` block is handling at the break: the prologue
makes it the handled exception again (PUSH_EXC_INFO), so `raise`, `sys.exc_info()` and the
`__context__` of new exceptions see it."""


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


def extra_cells(code: types.CodeType) -> list:
    """The cells of `code` that are not also arguments: they have slots of their own after the
    locals, and travel to step and resume functions as hidden parameters."""
    return [name for name in code.co_cellvars if name not in code.co_varnames]


@attrs.frozen
class Layout:
    """What travels across a break: the kinds of the value stack's slots, the kind of each of the
    user's locals (`co_varnames` order), how many cells of their own, and whether an `except`
    block is handling an exception."""

    stack: tuple  # kind per stack slot, bottom first
    locals: tuple  # kind per local of the user's code: UNBOUND_SLOT, VALUE_SLOT or ITERATOR_SLOT
    cells: int = 0
    handled: bool = False

    def stack_parameters(self) -> list:
        """The parameter each stack slot travels in (None for a NULL)."""
        return [None if kind == NULL_SLOT else f"__stack{k}" for k, kind in enumerate(self.stack)]

    @property
    def rebuilds_iterators(self) -> bool:
        return ITERATOR_SLOT in self.stack or ITERATOR_SLOT in self.locals

    def hidden(self, resume: bool) -> list:
        """The parameters after the user's locals: stack slots, cells, the handled exception and (for
        a resume function that rebuilds iterators) `rebuild_iterator`."""
        names = [name for name in self.stack_parameters() if name is not None]
        names += [f"__cell{k}" for k in range(self.cells)]
        if self.handled:
            names.append(_HANDLED)
        if resume and self.rebuilds_iterators:
            names.append(_REBUILD)
        return names


def _load_slot(kind: str, param: str, index: dict) -> list:
    """(opname, arg) pairs pushing one stack slot in a resume prologue; `index` maps names to slots."""
    if kind == NULL_SLOT:
        return [("PUSH_NULL", 0)]
    if kind == ITERATOR_SLOT:
        return [("PUSH_NULL", 0), ("LOAD_FAST", index[_REBUILD]), ("LOAD_FAST", index[param]),
                ("PRECALL", 1), ("CALL", 1)]
    return [("LOAD_FAST", index[param])]


def _nonnull(kinds) -> int:
    return sum(kind != NULL_SLOT for kind in kinds)


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
        self.positions = list(fn.__code__.co_positions())  # per code unit

    def _fits(self, hidden: list) -> bool:
        """Hidden parameter names must not be names of the user's code."""
        return not set(hidden) & set(localsplus_names(self.fn.__code__))

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
        hidden = layout.hidden(resume=True)
        if not self._fits(hidden):
            return None
        index = frame_layout(code, hidden)
        prologue = [("COPY_FREE_VARS", len(code.co_freevars))] if code.co_freevars else []
        prologue.append(("RESUME", 0))
        for slot, kind in enumerate(layout.locals):
            if kind == UNBOUND_SLOT:
                prologue.append(("DELETE_FAST", slot))
            elif code.co_varnames[slot] in code.co_cellvars:  # an argument that is a cell: read once, so
                prologue += [("LOAD_FAST", slot), ("STORE_FAST", slot)]  # the trace knows the real cell
            elif kind == ITERATOR_SLOT:
                prologue += [("PUSH_NULL", 0), ("LOAD_FAST", index[_REBUILD]), ("LOAD_FAST", slot),
                             ("PRECALL", 1), ("CALL", 1), ("STORE_FAST", slot)]
        for k, name in enumerate(extra_cells(code)):
            prologue += [("LOAD_FAST", index[f"__cell{k}"]), ("STORE_FAST", index[name])]
        if layout.handled:
            prologue += [("LOAD_FAST", index[_HANDLED]), ("PUSH_EXC_INFO", 0), ("POP_TOP", 0), ("POP_TOP", 0)]
        for kind, param in zip(layout.stack, layout.stack_parameters()):
            prologue += _load_slot(kind, param, index)
        prologue += [("DELETE_FAST", index[name]) for name in hidden]
        prologue.append(("JUMP_FORWARD", self.instructions[target].offset // 2))
        assembled = resume_code(code, prologue, hidden, len(layout.stack))
        if assembled is None:
            return None
        name = f"{code.co_name}_resume_at_{self.instructions[target].offset}"
        resumed = types.FunctionType(assembled, self.fn.__globals__, name, None, self.fn.__closure__)
        resumed.__qualname__ = f"{code.co_qualname}_resume_at_{self.instructions[target].offset}"
        resumed.__snaptrace_origin__ = (self.fn, instruction_count(prologue))
        resumed.__snaptrace_decoded__ = decode_prefixed(assembled, self.instructions, prologue, len(hidden),
                                                        len(code.co_varnames))
        return resumed

    def step_function(self, index: int, layout: Layout, kw_names: tuple, used: dict):
        """The function that runs instruction `index` for real and continues in a resume function.

        Its parameters are the user's locals, then those of the stack slots, cells and handled
        exception, as `layout` says; the resume functions it calls are recorded in `used`.  None
        when the instruction cannot run on its own."""
        instruction = self.instructions[index]
        shape = step_shape(instruction)
        if shape is None or shape.popped > len(layout.stack):
            return None
        split = len(layout.stack) - shape.popped
        entry = self.info.handler_at(index)
        if entry is not None and entry.depth > split:
            return None
        hidden = layout.hidden(resume=False)
        if not self._fits(hidden):
            return None
        code = self.fn.__code__
        asm = Assembler(code, hidden)
        slot, params = asm.slot, layout.stack_parameters()
        asm.at(self.positions[instruction.offset // 2])  # what runs here is the user's instruction, at its line
        self._restore_frame(asm, layout)
        base = 2 if layout.handled else 0
        if layout.handled:  # [previous exc_info, handled] stay at the bottom of the stack
            asm.op("LOAD_FAST", slot[_HANDLED])
            asm.op("PUSH_EXC_INFO")
        protected = entry.depth if entry is not None else split
        for position in range(protected):
            if layout.stack[position] != NULL_SLOT:  # below the inputs: passed on as they are (recipes too)
                asm.op("LOAD_FAST", slot[params[position]])
        handler, jump_label = Label(), Label()
        if entry is not None:  # the handler sees the stack cut to the entry's depth
            begin = asm.try_begin(handler, base + _nonnull(layout.stack[:entry.depth]), entry.lasti)
        for position in range(protected, len(layout.stack)):
            kind = layout.stack[position]
            if kind == NULL_SLOT:
                if position >= split:
                    asm.op("PUSH_NULL")
            elif kind == ITERATOR_SLOT and position >= split:
                asm.op("PUSH_NULL")
                asm.load_const(rebuild_iterator)
                asm.op("LOAD_FAST", slot[params[position]])
                asm.op("PRECALL", 1)
                asm.op("CALL", 1)
            else:
                asm.op("LOAD_FAST", slot[params[position]])
        for name in hidden:
            asm.op("DELETE_FAST", slot[name])
        self._the_instruction(asm, instruction, jump_label, kw_names)
        if entry is not None:
            asm.try_end(begin)
        below = layout.stack[:split]

        def go_on(successor: Successor, kept: int) -> None:
            target = Layout(below[:kept] + successor.pushed, layout.locals, layout.cells, layout.handled)
            resume = self.resume(successor.index, target, used)
            if resume is None:
                raise _NoResume
            self._call_resume(asm, resume, target, _nonnull(target.stack))

        try:
            if shape.fallthrough is None:  # RAISE_VARARGS: nothing follows
                asm.load_const(None)
                asm.op("RETURN_VALUE")
            else:
                go_on(shape.fallthrough, split)
            if shape.jump is not None:
                asm.label(jump_label)
                go_on(shape.jump, split)
            if entry is not None:  # continue in the user's handler: stack cut to its depth, [lasti,] exception
                asm.label(handler)
                go_on(Successor(entry.target, (VALUE_SLOT, VALUE_SLOT) if entry.lasti else (VALUE_SLOT,)),
                      entry.depth)
        except _NoResume:
            return None
        pushed = max(len(shape.fallthrough.pushed) if shape.fallthrough else 0,
                     len(shape.jump.pushed) if shape.jump else 0, 2)
        stacksize = base + len(layout.stack) + pushed + len(code.co_varnames) + layout.cells + 8
        step = types.FunctionType(asm.assemble(stacksize), self.fn.__globals__,
                                  f"{code.co_name}_step_at_{instruction.offset}", None, self.fn.__closure__)
        step.__qualname__ = f"{code.co_qualname}_step_at_{instruction.offset}"
        return step

    def _restore_frame(self, asm, layout: Layout) -> None:
        """The step function's locals become the user's: cells made and filled with the real cells
        (MAKE_CELL first, so that `locals()` reads through them), free variables copied, unbound
        locals deleted."""
        code, slot = self.fn.__code__, asm.slot
        extra = extra_cells(code)
        for name in code.co_cellvars:
            position = slot[name]
            if name in extra:
                asm.op("MAKE_CELL", position)
                asm.op("LOAD_FAST", slot[f"__cell{extra.index(name)}"])
                asm.op("STORE_FAST", position)
            elif layout.locals[position] != UNBOUND_SLOT:  # an argument that is a cell: passed the cell
                asm.op("MAKE_CELL", position)
                asm.op("LOAD_DEREF", position)
                asm.op("STORE_FAST", position)
        if code.co_freevars:
            asm.op("COPY_FREE_VARS", len(code.co_freevars))
        asm.op("RESUME", 0)
        for position, kind in enumerate(layout.locals):
            if kind == UNBOUND_SLOT:
                asm.op("DELETE_FAST", position)

    def _call_resume(self, asm, resume, target: Layout, items: int) -> None:
        """Collect the `items` stack values and the frame into a box (a list: locals, stack items,
        cells, [handled,] [rebuild_iterator]), clear this frame's locals and return
        resume.call_box(box): the resume function's entry empties the box, so nothing here keeps
        what the rest of the function may drop.  With a handled exception below them, the
        exception handled before the step function ran is handled again afterwards, as the user's
        own POP_EXCEPT would leave it."""
        code, slot = self.fn.__code__, asm.slot
        asm.op("BUILD_LIST", items)
        for position, kind in enumerate(target.locals):
            if kind == UNBOUND_SLOT:
                asm.load_const(None)
            elif code.co_varnames[position] in code.co_cellvars:
                asm.op("LOAD_CLOSURE", position)
            else:
                asm.op("LOAD_FAST", position)
        asm.op("BUILD_LIST", len(target.locals))
        asm.op("SWAP", 2)
        asm.op("LIST_EXTEND", 1)
        extra = extra_cells(code)
        for name in extra:
            asm.op("LOAD_CLOSURE", slot[name])
            asm.op("LIST_APPEND", 1)
        if target.handled:
            asm.op("COPY", 2)  # [previous, handled, box]
            asm.op("LIST_APPEND", 1)
        if target.rebuilds_iterators:
            asm.load_const(rebuild_iterator)
            asm.op("LIST_APPEND", 1)
        for name in list(code.co_varnames) + extra:  # the user's frame goes on in the resume function
            asm.load_const(None)
            asm.op("STORE_FAST", slot[name])
        asm.op("PUSH_NULL")
        asm.op("SWAP", 2)
        asm.load_const(resume.call_box)
        asm.op("SWAP", 2)
        if not target.handled:
            asm.op("PRECALL", 1)
            asm.op("CALL", 1)
            asm.op("RETURN_VALUE")
            return
        failed = Label()
        begin = asm.try_begin(failed, 2, False)
        asm.op("PRECALL", 1)
        asm.op("CALL", 1)
        asm.try_end(begin)
        asm.op("SWAP", 3)  # [result, handled, previous]
        asm.op("POP_EXCEPT")
        asm.op("POP_TOP")
        asm.op("RETURN_VALUE")
        asm.label(failed)  # [previous, handled, exception]
        asm.op("SWAP", 3)
        asm.op("POP_EXCEPT")
        asm.op("POP_TOP")
        asm.op("RERAISE", 0)

    def _the_instruction(self, asm, instruction, jump_label, kw_names: tuple) -> None:
        """The user's own instruction, as the step function runs it: its argument indexes the user's
        own names table, which the step function shares (`step_shape` admits only instructions whose
        argument is a name, a count or an operator).

        Instructions that leave a NULL below their result (LOAD_METHOD, LOAD_GLOBAL with the NULL
        bit) push only the result here; the resume function's prologue puts the NULL back."""
        name, arg = instruction.opname, instruction.arg or 0
        if name == "LOAD_METHOD":
            asm.op("LOAD_ATTR", arg)
        elif name == "LOAD_GLOBAL":
            asm.op("LOAD_GLOBAL", arg & ~1)
        elif name == "CALL":
            if kw_names:
                asm.op("KW_NAMES", asm.const(kw_names))
            asm.op("PRECALL", arg)
            asm.op("CALL", arg)
        elif name in _CONDITIONAL:
            asm.jump(_CONDITIONAL[name], jump_label)
        elif instruction.target >= 0:
            asm.jump(name, jump_label)
        else:
            asm.op(name, arg)
