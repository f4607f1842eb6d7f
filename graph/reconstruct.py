"""Rebuilding a traced value in its eager structure, as bytecode for the entry function.

Tensors computed by the graph are read from the graph's output tuple; input
tensors returned as they are load their source (so the caller gets its own
object back); constants are loaded as constants; tuples, lists and dicts are
rebuilt around their items.  A list or dict that appears twice is built once
and loaded again, so aliasing in the return value matches eager.
"""
from __future__ import annotations

from bytecode import Instr

from graph.codegen import load_output
from vt.outcome import BreakKind, unsupported

_OBJECT_FAMILIES = {"module": "module", "torch_function": "fn", "builtin": "fn", "class": "cls"}


def graph_outputs(state, value) -> tuple:
    """Graph-log indices of the computed tensors inside `value`, first-seen order, no repeats."""
    found = {}

    def walk(vt):
        family = vt.family
        if family == "tensor":
            if state.graph[vt.node].op != "placeholder":
                found.setdefault(vt.node, None)
        elif family in ("tuple", "list"):
            for item in vt.unpack(state, None):
                walk(item)
        elif family == "dict":
            for _, item in state.current(vt).entries:
                walk(item)

    walk(value)
    return tuple(found)


def rebuild(state, value, positions: dict):
    """Instructions that push `value`, or Unsupported; `positions` maps a graph-log index to its output."""
    temps = set()
    instructions = []

    def emit_all(items):
        for item in items:
            failed = emit(item)
            if failed is not None:
                return failed
        return None

    def emit(vt):
        family = vt.family
        if family == "tensor":
            node = state.graph[vt.node]
            instructions.extend(node.target.emit() if node.op == "placeholder" else load_output(positions[vt.node]))
        elif family == "constant":
            instructions.append(Instr("LOAD_CONST", vt.constant_value()))
        elif family == "tuple":
            maker = None if vt.python_type is None else getattr(vt.python_type, "_make", vt.python_type)
            if maker is not None:
                instructions.extend([Instr("PUSH_NULL"), Instr("LOAD_CONST", maker)])
            failed = emit_all(vt.items)
            if failed is not None:
                return failed
            instructions.append(Instr("BUILD_TUPLE", len(vt.items)))
            if maker is not None:
                instructions.extend([Instr("PRECALL", 1), Instr("CALL", 1)])
        elif family in ("list", "dict"):
            return emit_mutable(vt)
        elif family in _OBJECT_FAMILIES:
            instructions.append(Instr("LOAD_CONST", getattr(vt, _OBJECT_FAMILIES[family])))
        else:
            return unsupported(BreakKind.UNSUPPORTED_VALUE,
                               f"returning a {vt.describe()} from a traced function is not supported yet")
        return None

    def emit_mutable(vt):
        temp = f"__snaptrace_obj{vt.oid}"
        if temp in temps:
            instructions.append(Instr("LOAD_FAST", temp))
            return None
        temps.add(temp)
        current = state.current(vt)
        if vt.family == "list":
            failed = emit_all(current.items)
            instructions.append(Instr("BUILD_LIST", len(current.items)))
        else:
            failed = emit_all(item for _, item in current.entries)
            keys = tuple(key for key, _ in current.entries)
            instructions.extend([Instr("LOAD_CONST", keys), Instr("BUILD_CONST_KEY_MAP", len(keys))])
        instructions.extend([Instr("COPY", 1), Instr("STORE_FAST", temp)])
        return failed

    failed = emit(value)
    return failed if failed is not None else instructions
