"""Bytecode for the functions that stand in for the user's function.

Every generated function has the user's own signature (argument names,
defaults, *args/**kwargs), so CPython binds the arguments and raises its usual
TypeError for a bad call.  An *entry* checks the guards, then either runs the
compiled graph and rebuilds the return value in its eager structure, or (for a
capture that stopped at a break) calls the original function.  A failed guard
returns the `MISS` sentinel so the dispatcher tries the next entry.

Entries of resume functions take their arguments in a *box* instead: a list
the entry unpacks into its parameters and empties once the guards pass.  The
step function that calls a resume function then holds no reference to the
values it passes on, and an entry that continues in a step function clears its
own locals first, so what the rest of the function drops is freed when eager
frees it (a weak reference dies, `__del__` runs, `gc.collect()` finds it).
"""
from __future__ import annotations

import builtins
import types

import attrs

from core.assembler import Instr, Label
from core.signatures import Signature, assemble
from graph.backends import DeferredForward
from graph.rerun import RERUN, transactional
from graph.resume_code import box_taking
from vt.data.tensor_checks import NO_RERUN, RERUNS

MISS = type("Miss", (), {"__repr__": lambda self: "<snaptrace MISS>"})()

_OUT = "__snaptrace_out"
BOX = "__snaptrace_box"


def _call(name: str, args: list, argc: int) -> list:
    return [Instr("LOAD_GLOBAL", (True, name)), *args, Instr("PRECALL", argc), Instr("CALL", argc)]


def _guard_prologue(signature: Signature) -> list:
    passed = Label()
    return [
        *_call("__snaptrace_guard", [Instr("LOAD_FAST", n) for n in signature.argnames], len(signature.argnames)),
        Instr("POP_JUMP_FORWARD_IF_TRUE", passed),
        Instr("LOAD_GLOBAL", (False, "__snaptrace_MISS")), Instr("RETURN_VALUE"),
        passed,
    ]


def _unbox(signature: Signature) -> list:
    """Unpack the box into the parameters (the box keeps them until the guards pass)."""
    names = signature.argnames
    return [Instr("LOAD_FAST", BOX), Instr("UNPACK_SEQUENCE", len(names))] + [Instr("STORE_FAST", n) for n in names]


def _empty_box() -> list:
    return [Instr("LOAD_FAST", BOX), Instr("LOAD_METHOD", "clear"), Instr("PRECALL", 0), Instr("CALL", 0),
            Instr("POP_TOP")]


def _boxed(signature: Signature) -> Signature:
    """The signature of a boxed entry: one parameter, the box."""
    return Signature(1, 0, 0, (BOX,), None, None, signature.name, signature.qualname, signature.filename,
                     signature.firstlineno)


def _shared_namespace(fn, guard) -> dict:
    return {"__snaptrace_guard": guard, "__snaptrace_MISS": MISS, "__snaptrace_G": fn.__globals__,
            "__snaptrace_B": vars(builtins), "__snaptrace_fn": fn}


def is_boxed(fn) -> bool:
    """Whether the entries of `fn` take a box: resume functions, called only by step functions."""
    return hasattr(fn, "__snaptrace_origin__")


def _assemble(fn, body: list, namespace: dict) -> types.FunctionType:
    signature = Signature.of(fn.__code__)
    if is_boxed(fn):
        return assemble(_boxed(signature), _unbox(signature) + body, namespace, types.SimpleNamespace(
            __defaults__=None, __kwdefaults__=None, __globals__=fn.__globals__))
    return assemble(signature, body, namespace, fn)


def _call_fn_boxed(signature: Signature) -> list:
    """fn(box) for a boxed entry, `box` a new list of the parameters that `fn` (the resume function,
    taking a box: graph/resume_code.py's box_taking) empties: this frame keeps none of the values
    once its parameters are cleared, however CPython makes the call."""
    names = signature.argnames
    return ([Instr("PUSH_NULL"), Instr("LOAD_GLOBAL", (False, "__snaptrace_fn_boxed"))]
            + [Instr("LOAD_FAST", n) for n in names] + release(names)
            + [Instr("BUILD_LIST", len(names)), Instr("PRECALL", 1), Instr("CALL", 1), Instr("RETURN_VALUE")])


def eager_entry(fn, guard) -> types.FunctionType:
    """An entry that checks `guard` and then calls `fn` itself with the same arguments."""
    signature = Signature.of(fn.__code__)
    if is_boxed(fn):
        body = _guard_prologue(signature) + _empty_box() + _call_fn_boxed(signature)
        entry = _assemble(fn, body, dict(_shared_namespace(fn, guard), __snaptrace_fn_boxed=box_taking(fn)))
        entry.__snaptrace_check__ = guard
        return entry
    entry = assemble(signature, _guard_prologue(signature) + _call_fn(signature), _shared_namespace(fn, guard), fn)
    entry.__snaptrace_check__ = guard
    return entry


def _call_fn(signature: Signature) -> list:
    """return fn(*the parameters), passed as they were bound."""
    args = [Instr("LOAD_FAST", name) for name in signature.positional]
    args.append(Instr("BUILD_LIST", len(signature.positional)))
    if signature.varargs:
        args += [Instr("LOAD_FAST", signature.varargs), Instr("LIST_EXTEND", 1)]
    args.append(Instr("LIST_TO_TUPLE"))
    keywords = signature.keyword_only
    has_kwargs = bool(keywords or signature.varkw)
    if has_kwargs:
        args += [Instr("LOAD_FAST", name) for name in keywords]
        args += [Instr("LOAD_CONST", tuple(keywords)), Instr("BUILD_CONST_KEY_MAP", len(keywords))]
        if signature.varkw:
            args += [Instr("LOAD_FAST", signature.varkw), Instr("DICT_MERGE", 1)]
    return [Instr("LOAD_GLOBAL", (True, "__snaptrace_fn")), *args,
            Instr("CALL_FUNCTION_EX", int(has_kwargs)), Instr("RETURN_VALUE")]


def _rerun_if_raised(fn, signature: Signature) -> list:
    """After the graph call: if it raised (graph/rerun.py), return what `fn` returns run eagerly."""
    ran = Label()
    call = _call_fn_boxed(signature) if is_boxed(fn) else _call_fn(signature)
    return [Instr("LOAD_FAST", _OUT), Instr("LOAD_GLOBAL", (False, "__snaptrace_RERUN")), Instr("IS_OP", 0),
            Instr("POP_JUMP_FORWARD_IF_FALSE", ran), *call, ran]


def box_caller(fn) -> types.FunctionType:
    """A function taking a box that calls `fn` (a resume function) with its contents and empties it
    first: how a resume function runs eagerly when no capture fits."""
    signature = Signature.of(fn.__code__)
    return _assemble(fn, _empty_box() + _call_fn_boxed(signature), {"__snaptrace_fn_boxed": box_taking(fn)})


def release(names) -> list:
    """Instructions that drop this frame's references held in the locals `names` (None is stored:
    no error for one never bound)."""
    return [instr for name in names for instr in (Instr("LOAD_CONST", None), Instr("STORE_FAST", name))]


def graph_entry(fn, guard, compiled, input_sources: tuple, prologue: list, result: list,
                continues: int | None = None, rerun: str = NO_RERUN) -> types.FunctionType:
    """An entry that checks `guard`, runs `prologue`, calls `compiled` on the inputs and returns `result`.

    `result` is bytecode that replays effects and builds the return value; it
    reads graph outputs from the local `__snaptrace_out` (see `load_output`).  With `continues`
    set, `result` pushes a callable (after a NULL) and that many arguments instead: the entry
    clears its locals and returns what the call returns, so it keeps nothing alive meanwhile.
    `rerun` (vt/data/tensor_checks.py `rerun_plan`) says whether the graph may raise on values and
    can then be given up for an eager run of `fn` (graph/rerun.py).
    """
    signature = Signature.of(fn.__code__)
    body = _guard_prologue(signature) + (_empty_box() if is_boxed(fn) else []) + prologue
    namespace = _shared_namespace(fn, guard)
    if compiled is not None:
        stores, loads = shared_loads(input_sources)
        body += stores + _call("__snaptrace_graph", loads, len(input_sources)) + [Instr("STORE_FAST", _OUT)]
        if rerun in RERUNS:
            compiled = transactional(compiled.resolve() if type(compiled) is DeferredForward else compiled, rerun)
            namespace.update(__snaptrace_RERUN=RERUN, __snaptrace_fn_boxed=box_taking(fn) if is_boxed(fn) else None)
            body += _rerun_if_raised(fn, signature)
    body += result
    if continues is not None:
        names = sorted({instr.arg for instr in body if getattr(instr, "name", None) in ("STORE_FAST", "LOAD_FAST")}
                       | set(signature.argnames))
        body += release(names) + [Instr("PRECALL", continues), Instr("CALL", continues)]
    body += [Instr("RETURN_VALUE")]
    entry = _assemble(fn, body, dict(namespace, __snaptrace_graph=compiled))
    if type(compiled) is DeferredForward:
        entry.__globals__["__snaptrace_graph"] = _first_call(entry.__globals__, compiled)
    entry.__snaptrace_check__ = guard  # its guard function, which can say why a call misses (`why`)
    return entry


def _first_call(namespace: dict, deferred: DeferredForward):
    """The graph of an entry whose GraphModule's code is not generated yet: the first call generates
    it and puts the generated `forward` in the entry's globals, where later calls find it directly."""
    def first_call(*args):
        forward = namespace["__snaptrace_graph"] = deferred.resolve()
        return forward(*args)
    return first_call


@attrs.frozen(slots=True)
class _Stored:
    """A source already read into a local of the entry."""

    name: str

    def emit(self) -> list:
        return [Instr("LOAD_FAST", self.name)]


def shared_loads(sources: tuple) -> tuple:
    """(stores, loads): bytecode that reads each object several graph inputs are reached through
    into a local once (a model's parameters share `self.model.layers[i]...`), then the loads of the
    inputs through those locals; a call then walks each attribute chain once."""
    children = {}
    for source in sources:
        children.setdefault(source, set())
        base = getattr(source, "base", None)
        while base is not None and attrs.has(type(source)):  # note it under each base, up to a known one
            known = base in children
            children.setdefault(base, set()).add(source)
            if known:
                break
            source, base = base, getattr(base, "base", None)
    shared = {source for source, below in children.items()
              if len(below) > 1 and getattr(source, "base", None) is not None}
    stores, spelled = [], {}

    def spell(source):
        if source in spelled:
            return spelled[source]
        base = getattr(source, "base", None)
        out = source if base is None or not attrs.has(type(source)) else attrs.evolve(source, base=spell(base))
        if source in shared:
            name = f"__snaptrace_in{len(stores)}"
            stores.append((out, name))
            out = _Stored(name)
        spelled[source] = out
        return out

    loads = [instr for source in sources for instr in spell(source).emit()]
    return [instr for out, name in stores for instr in (*out.emit(), Instr("STORE_FAST", name))], loads


def load_output(position: int) -> list:
    return [Instr("LOAD_FAST", _OUT), Instr("LOAD_CONST", position), Instr("BINARY_SUBSCR")]
