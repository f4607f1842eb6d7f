"""The tracer's whole state at one instruction, as one immutable value.

`State` and `Frame` are frozen records over pyrsistent containers.  Handlers
never change them; they build the next one with the small constructors below
(`advance`, `jump`, ...), which create exactly one new `Frame` and one new
`State` per step.  Keeping an old `State` is therefore a complete snapshot:
speculation and rollback are just "use the old value again".
"""
from __future__ import annotations

from typing import NamedTuple

import attrs
from pyrsistent import pvector
from torch.fx.experimental.symbolic_shapes import ShapeEnv

from core.code import CodeInfo, Instruction, decode
from core.dynamic import DynamicPolicy
from core.graph_log import GraphNode
from core.pmaps import EMPTY as EMPTY_MAP


_new = object.__new__
_set = object.__setattr__


class Frame(NamedTuple):
    """One Python frame being traced: where it is, its value stack and its locals.

    A named tuple, not an attrs record like the rest: the step loop makes one per instruction, and
    a tuple is made in one C call (`_frame`), about three times faster than filling an object's
    `__dict__`; it is just as immutable, reads its fields as fast, and compares field by field.
    Change one with `frame._replace(...)`."""

    code: CodeInfo
    ip: int
    stack: tuple  # of VTs; a tuple, not a PVector: a stack is short, and slicing and adding tuples is
    # about twice as fast (`advance`)
    locals: object  # PVector of VTs, indexed like co_varnames; None means unbound
    kw_names: tuple = ()
    handled: object = None  # the exception an `except` block of this frame is handling (None: the caller's)
    namespace: object = None  # a class body's namespace (a dict VT), read by the *_NAME opcodes; None in functions

    @property
    def instruction(self) -> Instruction:
        return self.code.instructions[self.ip]


_make_tuple = tuple.__new__


def _frame(code, ip, stack, locals, kw_names, handled, namespace) -> Frame:
    """`Frame(...)` with every field given, in one call (the step loop's hot path)."""
    return _make_tuple(Frame, (code, ip, stack, locals, kw_names, handled, namespace))


@attrs.frozen(slots=True)
class Interpreter:
    """How values re-enter the step loop, installed by the driver (tracer/step.py): inlining a call
    or running a generator body is `run(state)` on a state whose top frame is the callee's, giving
    (last state, stop); throwing into a suspended frame is `unwind(state, exception)`."""

    run: object
    unwind: object


@attrs.frozen(slots=True)
class Env:
    """Per-trace facts that never change during the trace; not part of equality."""

    fn: object
    globals: dict
    builtins: dict
    fake_mode: object
    decoded: dict = attrs.field(factory=dict)  # per-trace memo: (code, globals id) -> CodeInfo
    propagation: dict = attrs.field(factory=dict)  # per-trace memo: op key -> output metadata
    wrapped: dict = attrs.field(factory=dict)  # per-trace memo: (source, guard) -> a wrap (vt/registry.py)
    wrap_rules: dict = attrs.field(factory=dict)  # per-trace memo: class -> the wrap rules to ask (vt/registry.py)
    # per-trace memo: (oid, name) -> a read through a Python __getattribute__ (vt/objects/object_attributes.py)
    attribute_reads: dict = attrs.field(factory=dict)
    # per-trace memo: dataclass -> `dataclasses.fields` of its objects (vt/objects/local_dataclasses.py)
    dataclass_fields: dict = attrs.field(factory=dict)
    interpreter: Interpreter = None  # the step loop, for values that run frames of their own
    rebuilt: object = None  # WeakSet of the functions entries of this function made anew (graph/rebuild.py)
    steps: list = attrs.field(factory=lambda: [0])  # instructions traced so far (tracer/step.py's budget)
    dynamic: DynamicPolicy = attrs.field(factory=DynamicPolicy)  # which sizes and ints become symbols
    # Per-trace record of the inputs wrapped with symbols, (fake tensor or SymInt, source), in order:
    # the shape guards are produced from it at the end (graph/shape_guards.py).  Inputs wrapped in a
    # speculation that was rolled back stay: they are real inputs, and guards on them still hold.
    symbolic_inputs: list = attrs.field(factory=list)

    def shape_env(self):
        """torch's ShapeEnv of this trace, attached to the fake mode when the first symbol is made, so
        a trace without symbols never pays for one (fake ops cost more with a ShapeEnv).  Data-dependent
        ops (x.item(), x.nonzero()) stay graph breaks: it makes no unbacked symbols."""
        mode = self.fake_mode
        if mode.shape_env is None:
            mode.shape_env = ShapeEnv(allow_scalar_outputs=False, allow_dynamic_output_shape_ops=False)
            mode.static_shapes = False
        return mode.shape_env

    def code_info(self, code, globals: dict, globals_source) -> CodeInfo:
        key = (code, id(globals))
        info = self.decoded.get(key)
        if info is None:
            info = self.decoded[key] = decode(code, globals, globals_source)
        return info


@attrs.frozen(slots=False)
class State:
    """Everything the tracer knows at one instruction.

    Not slotted, on purpose: every step makes a new State, and a State whose fields live in a
    `__dict__` is copied with one dict copy (`with_frame`, `replace`) instead of a field-by-field
    `__init__` (about a third of the cost, measured in docs/architecture.md, "Cost per instruction").
    """

    frame: Frame
    parents: object  # PVector of caller Frames (inlined calls)
    heap: object  # PMap oid -> VT: current contents of mutable objects (effects/heap.py)
    graph: object  # PVector of GraphNode
    guards: object  # PMap guard key -> (insertion number, Guard)
    effects: object  # PVector of effect records
    next_oid: int
    placeholders: object  # PVector of graph-log indices of input placeholders
    known_objects: object  # PMap id(real object) -> oid, for inputs reached twice (aliasing)
    env: Env = attrs.field(eq=False, repr=False)
    grad_enabled: bool = True  # torch's grad mode at this point of the traced program
    globals: object = attrs.field(default=EMPTY_MAP)  # PersistentMap name -> the last GlobalStore / GlobalDelete of it
    modes: tuple = ()  # modes entered besides grad mode (autocast, inference mode), innermost last:
    # records whose `context()` is a real context manager that fake ops run under
    guard_order: object = attrs.field(factory=pvector)  # PVector of the guards in the order they were added
    # The graph holds an op that may raise on values (vt/data/tensor_checks.py) at a point where a
    # handler of a traced frame (`except`, `finally`, `with`) would catch it: a later write into an
    # input would leave a raise there impossible to give up for an eager rerun.
    caught_risk: bool = False
    # The heap entries replaced after their allocation, newest first, as (oid, whether it is a real
    # object, older history) triples (None: none yet): effects/heap.py `unchanged_since` reads it to
    # tell whether objects are as they were at an earlier state, for a per-trace memo
    # (vt/objects/object_attributes.py).
    changed: object = attrs.field(default=None, eq=False)
    # While a wrap or a hook is being remembered (vt/guard_trail.py): every guard asked
    # for since it began, also those the state already had, newest first, as (tuple of guards, older)
    # links ending in (); None when nothing is being remembered.
    guard_trail: object = attrs.field(default=None, eq=False)

    # -- moving the top frame ---------------------------------------------------------
    def with_frame(self, frame: Frame) -> "State":
        fields = self.__dict__.copy()
        fields["frame"] = frame
        new = _new(State)
        _set(new, "__dict__", fields)
        return new

    def replace(self, **changes) -> "State":
        """`attrs.evolve(self, **changes)` without the per-field `__init__`: for the hot paths."""
        fields = self.__dict__.copy()
        fields.update(changes)
        if len(fields) != len(self.__dict__):  # a name that is not a field
            raise TypeError(f"State has no field(s) {sorted(set(changes) - set(self.__dict__))}")
        new = _new(State)
        _set(new, "__dict__", fields)
        return new

    def advance(self, pop: int = 0, push: tuple = ()) -> "State":
        """Pop `pop` values, push `push`, go to the next instruction.  The step loop's hottest path,
        so the stack change, `_frame` and `with_frame` are written out here."""
        code, ip, stack, locals_, _, handled, namespace = self.frame
        if pop:
            stack = stack[:len(stack) - pop]
        if push:
            stack = stack + push
        frame = _make_tuple(Frame, (code, ip + 1, stack, locals_, (), handled, namespace))
        fields = self.__dict__.copy()
        fields["frame"] = frame
        new = _new(State)
        _set(new, "__dict__", fields)
        return new

    def advance_changing(self, push: tuple, changes: dict) -> "State":
        """`advance(push=push)` and `replace(**changes)` in one new State (FOR_ITER: the iterator's
        new position in the heap, and its item pushed)."""
        code, ip, stack, locals_, _, handled, namespace = self.frame
        fields = self.__dict__.copy()
        fields.update(changes)
        fields["frame"] = _make_tuple(Frame, (code, ip + 1, stack + push, locals_, (), handled, namespace))
        new = _new(State)
        _set(new, "__dict__", fields)
        return new

    def jump(self, target: int, pop: int = 0, push: tuple = ()) -> "State":
        """Pop and push as `advance`, then continue at instruction `target` (KW_NAMES survive).
        Written out as `advance` is: loops jump on every iteration, and PRECALL is a jump too."""
        code, _, stack, locals_, kw_names, handled, namespace = self.frame
        if pop:
            stack = stack[:len(stack) - pop]
        if push:
            stack = stack + push
        frame = _make_tuple(Frame, (code, target, stack, locals_, kw_names, handled, namespace))
        fields = self.__dict__.copy()
        fields["frame"] = frame
        new = _new(State)
        _set(new, "__dict__", fields)
        return new

    def store_local(self, index: int, value, pop: int = 1) -> "State":
        code, ip, stack, locals_, _, handled, namespace = self.frame
        if pop:
            stack = stack[:len(stack) - pop]
        fields = self.__dict__.copy()
        fields["frame"] = _make_tuple(Frame, (code, ip + 1, stack, locals_.set(index, value), (), handled, namespace))
        new = _new(State)
        _set(new, "__dict__", fields)
        return new

    def next_with(self, stack=None, locals=None) -> "State":
        """Go to the next instruction with a new stack and/or new locals."""
        f = self.frame
        return self.with_frame(_frame(f.code, f.ip + 1, f.stack if stack is None else stack,
                                      f.locals if locals is None else locals, (), f.handled, f.namespace))

    def with_kw_names(self, names: tuple) -> "State":
        f = self.frame
        return self.with_frame(_frame(f.code, f.ip + 1, f.stack, f.locals, names, f.handled, f.namespace))

    def peek(self, depth: int = 1):
        return self.frame.stack[-depth]

    # -- graph and guards -------------------------------------------------------------
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
            return self.replace(graph=self.graph.append(node), placeholders=self.placeholders.append(index)), index
        return self.replace(graph=self.graph.append(node)), index

    def add_guard(self, guard) -> "State":
        key = guard.key()
        trail = self.guard_trail
        if key in self.guards:
            return self if trail is None else self.replace(guard_trail=((guard,), trail))
        if trail is None:
            return self.replace(guards=self.guards.set(key, (len(self.guards), guard)),
                                guard_order=self.guard_order.append(guard))
        return self.replace(guards=self.guards.set(key, (len(self.guards), guard)),
                            guard_order=self.guard_order.append(guard), guard_trail=((guard,), trail))

    def add_guards(self, guards) -> "State":
        """`add_guard` for each of `guards` (a remembered wrap or read giving its guards again), in
        order, making one new State: the same one when the state has them all and nothing is
        being remembered."""
        if not guards:
            return self
        table, order = self.guards, self.guard_order
        for guard in guards:
            key = guard.key()
            if key not in table:
                table = table.set(key, (len(table), guard))
                order = order.append(guard)
        trail = self.guard_trail
        if trail is not None:
            return self.replace(guards=table, guard_order=order, guard_trail=(tuple(guards), trail))
        if table is self.guards:
            return self
        return self.replace(guards=table, guard_order=order)

    def guard_list(self) -> tuple:
        """The guards in the order the trace added them (cheap global checks first)."""
        return tuple(self.guard_order)


def initial_state(code: CodeInfo, local_values: list, env: Env) -> State:
    frame = Frame(code, 0, (), pvector(local_values), ())
    import torch

    return State(frame, pvector(), EMPTY_MAP, pvector(), EMPTY_MAP, pvector(), 0, pvector(), EMPTY_MAP, env,
                 torch.is_grad_enabled())
