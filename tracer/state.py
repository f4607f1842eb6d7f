"""The tracer's whole state at one instruction, as one immutable value.

`State` and `Frame` are frozen records over pyrsistent containers.  Handlers
never change them; they build the next one with the small constructors below
(`advance`, `jump`, ...), which create exactly one new `Frame` and one new
`State` per step.  Keeping an old `State` is therefore a complete snapshot:
speculation and rollback are just "use the old value again".
"""
from __future__ import annotations

import dis
import types

import attrs
from pyrsistent import pmap, pvector

from effects.records import ObjectMutation
from graph.log import GraphNode


@attrs.frozen(slots=True)
class Instruction:
    """One decoded 3.11 instruction; jump targets are instruction indices, not offsets."""

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
    """Decode `code` into instructions whose jumps name instruction indices."""
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
    return code_info_of(code, tuple(out), globals, globals_source)


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


def decode_prefixed(code: types.CodeType, body: tuple, prologue: list, added: int) -> tuple:
    """The decoded instructions of `code`, made of `prologue` ((opname, arg) pairs, see
    graph.resume_code) followed by an already decoded `body` whose local slots moved up by `added`:
    what `decode` would give, without disassembling the whole function again."""
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
        arg = ins.arg + added if ins.opname in _SLOT_OPNAMES else ins.arg
        target = ins.target + shift if ins.target >= 0 else -1
        argval = ins.argval + offset if ins.target >= 0 else ins.argval
        out.append(Instruction(ins.opname, ins.opcode, arg, argval, ins.index + shift, ins.offset + offset,
                               ins.lineno, target))
    if jump_to is not None:
        jump = out[jump_to]
        target = next(i for i in range(shift, len(out)) if out[i].offset == jump.offset + 2 + 2 * jump.arg)
        out[jump_to] = attrs.evolve(jump, argval=out[target].offset, target=target)
    return tuple(out)


@attrs.frozen(slots=True)
class Frame:
    """One Python frame being traced: where it is, its value stack and its locals."""

    code: CodeInfo
    ip: int
    stack: object  # PVector of VTs
    locals: object  # PVector of VTs, indexed like co_varnames; None means unbound
    kw_names: tuple = ()
    handled: object = None  # the exception an `except` block of this frame is handling (None: the caller's)

    @property
    def instruction(self) -> Instruction:
        return self.code.instructions[self.ip]


@attrs.frozen(slots=True)
class Env:
    """Per-trace facts that never change during the trace; not part of equality."""

    fn: object
    globals: dict
    builtins: dict
    fake_mode: object
    decoded: dict = attrs.field(factory=dict)  # per-trace memo: (code, globals id) -> CodeInfo

    def code_info(self, code, globals: dict, globals_source) -> CodeInfo:
        key = (code, id(globals))
        info = self.decoded.get(key)
        if info is None:
            info = self.decoded[key] = decode(code, globals, globals_source)
        return info


@attrs.frozen(slots=True)
class State:
    """Everything the tracer knows at one instruction."""

    frame: Frame
    parents: object  # PVector of caller Frames (inlined calls)
    heap: object  # PMap oid -> VT: current contents of mutable objects
    graph: object  # PVector of GraphNode
    guards: object  # PMap guard key -> (insertion number, Guard)
    effects: object  # PVector of effect records
    next_oid: int
    placeholders: object  # PVector of graph-log indices of input placeholders
    known_objects: object  # PMap id(real object) -> oid, for inputs reached twice (aliasing)
    env: Env = attrs.field(eq=False, repr=False)
    grad_enabled: bool = True  # torch's grad mode at this point of the traced program

    # -- moving the top frame ---------------------------------------------------------
    def with_frame(self, frame: Frame) -> "State":
        return State(frame, self.parents, self.heap, self.graph, self.guards,
                     self.effects, self.next_oid, self.placeholders, self.known_objects, self.env, self.grad_enabled)

    def advance(self, pop: int = 0, push: tuple = ()) -> "State":
        """Pop `pop` values, push `push`, go to the next instruction."""
        f = self.frame
        return self.with_frame(Frame(f.code, f.ip + 1, _moved(f.stack, pop, push), f.locals, (), f.handled))

    def jump(self, target: int, pop: int = 0, push: tuple = ()) -> "State":
        """Pop and push as `advance`, then continue at instruction `target` (KW_NAMES survive)."""
        f = self.frame
        return self.with_frame(Frame(f.code, target, _moved(f.stack, pop, push), f.locals, f.kw_names, f.handled))

    def store_local(self, index: int, value, pop: int = 1) -> "State":
        f = self.frame
        stack = f.stack[:len(f.stack) - pop] if pop else f.stack
        return self.with_frame(Frame(f.code, f.ip + 1, stack, f.locals.set(index, value), (), f.handled))

    def next_with(self, stack=None, locals=None) -> "State":
        """Go to the next instruction with a new stack and/or new locals."""
        f = self.frame
        return self.with_frame(Frame(f.code, f.ip + 1, f.stack if stack is None else stack,
                                     f.locals if locals is None else locals, (), f.handled))

    def with_kw_names(self, names: tuple) -> "State":
        f = self.frame
        return self.with_frame(Frame(f.code, f.ip + 1, f.stack, f.locals, names, f.handled))

    def peek(self, depth: int = 1):
        return self.frame.stack[-depth]

    # -- graph, guards, heap -------------------------------------------------------------
    def location(self) -> tuple:
        f = self.frame
        return f.code.filename, f.code.instructions[f.ip].lineno

    def add_node(self, op: str, target, args: tuple, kwargs: tuple, example, value=None,
                 impure: bool = False) -> tuple:
        """Append a node to the graph log; returns (state, node index)."""
        filename, lineno = self.location()
        node = GraphNode(op, target, args, kwargs, filename, lineno, example, value, impure)
        index = len(self.graph)
        if op == "placeholder":
            return attrs.evolve(self, graph=self.graph.append(node),
                                placeholders=self.placeholders.append(index)), index
        return attrs.evolve(self, graph=self.graph.append(node)), index

    def add_guard(self, guard) -> "State":
        key = guard.key()
        if key in self.guards:
            return self
        return attrs.evolve(self, guards=self.guards.set(key, (len(self.guards), guard)))

    def guard_list(self) -> tuple:
        """The guards in the order the trace added them (cheap global checks first)."""
        return tuple(guard for _, guard in sorted(self.guards.values(), key=lambda entry: entry[0]))

    def allocate(self, vt_factory) -> tuple:
        """Give a new mutable object an id; vt_factory(oid) builds its VT."""
        oid = self.next_oid
        vt = vt_factory(oid)
        return attrs.evolve(self, heap=self.heap.set(oid, vt), next_oid=oid + 1), vt

    def update_object(self, vt) -> "State":
        """Store new contents for an object without it counting as a change by the program
        (iterator positions, inputs realized on first use)."""
        return attrs.evolve(self, heap=self.heap.set(vt.oid, vt))

    def mutate(self, vt, what: str) -> "State":
        """The program changed an object to `vt`; if the object existed before the call,
        the change is logged so the entry function can replay it on the real object."""
        heap = self.heap.set(vt.oid, vt)
        if getattr(vt, "source", None) is None:
            return attrs.evolve(self, heap=heap)
        filename, lineno = self.location()
        record = ObjectMutation(vt.oid, what, filename, lineno)
        return attrs.evolve(self, heap=heap, effects=self.effects.append(record))

    def log_effect(self, make_record) -> "State":
        """Append an effect record built by make_record(filename, lineno)."""
        filename, lineno = self.location()
        return attrs.evolve(self, effects=self.effects.append(make_record(filename, lineno)))

    def existing_object(self, value, make):
        """Heap handle for a real object that existed before the call, made once per object:
        `make(state, oid)` returns (state, vt) or Unsupported the first time the object is seen."""
        known = self.known_objects.get(id(value))
        if known is not None:
            return self, self.heap[known]
        oid = self.next_oid
        state = attrs.evolve(self, next_oid=oid + 1, known_objects=self.known_objects.set(id(value), oid))
        out = make(state, oid)
        if type(out) is not tuple:
            return out
        state, vt = out
        return state.update_object(vt), vt

    def current(self, vt):
        """The latest contents of a mutable object, given any VT that refers to it."""
        return self.heap[vt.oid]


def _moved(stack, pop: int, push: tuple):
    if pop:
        stack = stack[:len(stack) - pop]
    return stack.extend(push) if push else stack


def initial_state(code: CodeInfo, local_values: list, env: Env) -> State:
    frame = Frame(code, 0, pvector(), pvector(local_values), ())
    import torch

    return State(frame, pvector(), pmap(), pvector(), pmap(), pvector(), 0, pvector(), pmap(), env,
                 torch.is_grad_enabled())
