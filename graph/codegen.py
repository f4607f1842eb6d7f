"""Bytecode for the functions that stand in for the user's function.

Every generated function has the user's own signature (argument names,
defaults, *args/**kwargs), so CPython binds the arguments and raises its usual
TypeError for a bad call.  An *entry* checks the guards, then either runs the
compiled graph and rebuilds the return value in its eager structure, or (for a
capture that stopped at a break) calls the original function.  A failed guard
returns the `MISS` sentinel so the dispatcher tries the next entry.
"""
from __future__ import annotations

import builtins
import types

import attrs
from bytecode import Instr, Label
from core.signatures import Signature, assemble
from graph.backends import DeferredForward

MISS = type("Miss", (), {"__repr__": lambda self: "<snaptrace MISS>"})()

_OUT = "__snaptrace_out"


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


def _shared_namespace(fn, guard) -> dict:
    return {"__snaptrace_guard": guard, "__snaptrace_MISS": MISS, "__snaptrace_G": fn.__globals__,
            "__snaptrace_B": vars(builtins), "__snaptrace_fn": fn}


def eager_entry(fn, guard) -> types.FunctionType:
    """An entry that checks `guard` and then calls `fn` itself with the same arguments."""
    signature = Signature.of(fn.__code__)
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
    body = _guard_prologue(signature) + [
        Instr("LOAD_GLOBAL", (True, "__snaptrace_fn")), *args,
        Instr("CALL_FUNCTION_EX", int(has_kwargs)), Instr("RETURN_VALUE"),
    ]
    entry = assemble(signature, body, _shared_namespace(fn, guard), fn)
    entry.__snaptrace_check__ = guard
    return entry


def graph_entry(fn, guard, compiled, input_sources: tuple, prologue: list, result: list) -> types.FunctionType:
    """An entry that checks `guard`, runs `prologue`, calls `compiled` on the inputs and returns `result`.

    `result` is bytecode that replays effects and builds the return value; it
    reads graph outputs from the local `__snaptrace_out` (see `load_output`).
    """
    signature = Signature.of(fn.__code__)
    body = _guard_prologue(signature) + prologue
    if compiled is not None:
        stores, loads = shared_loads(input_sources)
        body += stores + _call("__snaptrace_graph", loads, len(input_sources)) + [Instr("STORE_FAST", _OUT)]
    body += result + [Instr("RETURN_VALUE")]
    entry = assemble(signature, body, dict(_shared_namespace(fn, guard), __snaptrace_graph=compiled), fn)
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
