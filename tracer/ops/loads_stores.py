"""Loads and stores: locals, constants, globals, attributes and methods."""
from __future__ import annotations

import types


from effects import heap
from effects.records import GlobalDelete, GlobalStore
from tracer.registry import handles
from vt.protocol import NULL
from vt.registry import remembered_wrap, wrap_value
from vt.callables.functions import UserFunctionVariable
from vt.data.constant import ConstantVariable, is_constant_value
from vt.callables.lazy import LazyVariable, realize_if_lazy
from vt.protocol import DELETED
from vt.callables.exceptions import with_attribute_context
from core.outcomes import name_error, BreakKind, unsupported, raise_error, is_stop
from vt.callables.functions import global_source
from core.sources import BuiltinSource


@handles("LOAD_FAST")
def load_fast(state, ins):
    value = state.frame.locals[ins.arg]
    if value is None:
        return raise_error(UnboundLocalError, f"cannot access local variable {ins.argval!r} where it is not associated with a value")
    if type(value) is not LazyVariable:
        return state.advance(push=(value,))
    out = realize_if_lazy(state, value)
    if type(out) is not tuple:
        return out
    state, value = out  # realized once: the local now holds the real VT
    frame = state.frame
    return state.next_with(stack=frame.stack + (value,), locals=frame.locals.set(ins.arg, value))


@handles("STORE_FAST")
def store_fast(state, ins):
    return state.store_local(ins.arg, state.peek())


@handles("DELETE_FAST")
def delete_fast(state, ins):
    if state.frame.locals[ins.arg] is None:
        return raise_error(UnboundLocalError, f"cannot access local variable {ins.argval!r} where it is not associated with a value")
    return state.store_local(ins.arg, None, pop=0)


@handles("LOAD_CONST")
def load_const(state, ins):
    known = state.frame.code.constants.get(ins.index)
    if known is not None:
        return state.advance(push=(known,))
    if type(ins.argval) is types.FunctionType:  # generated code (a resume prologue) calls helpers this way
        return state.advance(push=(UserFunctionVariable(ins.argval),))
    if not is_constant_value(ins.argval):
        return unsupported(BreakKind.UNSUPPORTED_VALUE,
                           f"constant of type {type(ins.argval).__name__} is not modelled")
    vt = state.frame.code.constants[ins.index] = ConstantVariable(ins.argval)
    return state.advance(push=(vt,))


def global_value(state, name: str):
    """The global `name` as the running frame sees it (the program's own writes first, then its
    module's globals, then the builtins): (state, vt), or NameError."""
    out = _global_read(state, name)
    return out[:2] if type(out) is tuple else out


def _global_read(state, name: str):
    """`global_value`, with where the value came from: (state, vt, origin), origin being (object,
    source, whether from the builtins) for a module global or builtin the program did not write,
    None for the program's own value; or NameError."""
    env = state.env
    info = state.frame.code
    written = heap.written_global(state, name) if info.globals_source is None else None
    if type(written) is GlobalDelete:  # deleted by the program: the builtin of that name, if any
        if name in env.builtins:  # (not guarded as unshadowed: the global exists when the call begins)
            out = wrap_value(state, env.builtins[name], BuiltinSource(name), guard=False)
            return (*out, None) if type(out) is tuple else out
        return name_error(name, f"name {name!r} is not defined")
    stored = None if written is None else written.value
    if stored is not None:
        return state, stored, None
    if name in info.globals:
        origin = (info.globals[name], global_source(info, name), False)
    elif name in env.builtins:
        origin = (env.builtins[name], BuiltinSource(name), True)
    else:
        return name_error(name, f"name {name!r} is not defined")
    out = wrap_value(state, origin[0], origin[1])
    return (*out, origin) if type(out) is tuple else out


_ABSENT = object()


@handles("LOAD_GLOBAL")
def load_global(state, ins):
    """The global's VT, pushed.  What an instruction read is remembered (CodeInfo.global_reads) when
    the wrap memo kept it: the next run of the instruction checks that the name still gives the same
    object (the program wrote no such global; the module's globals, or else the builtins, hold it)
    and adds the same guards, without building the source and asking the wrap memo again."""
    info, name = state.frame.code, ins.argval
    known = info.global_reads.get(ins.index)
    if known is not None and (info.globals_source is not None or heap.written_global(state, name) is None):
        value, vt, guards, builtin = known
        if builtin:
            current = _ABSENT if name in info.globals else state.env.builtins.get(name, _ABSENT)
        else:
            current = info.globals.get(name, _ABSENT)
        if current is value:
            return state.add_guards(guards).advance(push=(NULL, vt) if ins.arg & 1 else (vt,))
    out = _global_read(state, name)
    if type(out) is not tuple:
        return out
    state, vt, origin = out
    if origin is not None:  # a module global or builtin: remembered when the wrap memo kept it
        value, source, builtin = origin
        remembered = remembered_wrap(state.env, value, source)
        if remembered is not None:
            info.global_reads[ins.index] = (value, remembered[0], remembered[1], builtin)
    return state.advance(push=(NULL, vt) if ins.arg & 1 else (vt,))


def _global_write(state, ins, value):
    """`global name; name = value`, or `del name` when value is DELETED."""
    if state.frame.code.globals_source is not None:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"writing the global {ins.argval!r} of another module is not traced yet")
    name = ins.argval
    if value is not DELETED:
        return heap.store_global(state, name, value)
    written = heap.written_global(state, name)
    exists = name in state.frame.code.globals if written is None else type(written) is GlobalStore
    if not exists:
        return name_error(name, f"name {name!r} is not defined")
    return heap.delete_global(state, name)


@handles("STORE_GLOBAL")
def store_global(state, ins):
    out = _global_write(state, ins, state.peek())
    return out.advance(pop=1) if not is_stop(out) else out


@handles("DELETE_GLOBAL")
def delete_global(state, ins):
    out = _global_write(state, ins, DELETED)
    return out.advance() if not is_stop(out) else out


@handles("LOAD_ATTR")
def load_attr(state, ins):
    out = state.peek().getattr(state, ins.argval)
    if type(out) is not tuple:
        return with_attribute_context(state, out, state.peek(), ins.argval)
    state, value = out
    return state.advance(pop=1, push=(value,))


@handles("LOAD_METHOD")
def load_method(state, ins):
    """Pushes (method, self) when a method was found, else (NULL, attribute), as CPython does."""
    out = state.peek().load_method(state, ins.argval)
    if type(out) is not tuple:
        return with_attribute_context(state, out, state.peek(), ins.argval)
    state, (method, receiver) = out
    if receiver is NULL:
        return state.advance(pop=1, push=(NULL, method))
    return state.advance(pop=1, push=(method, receiver))


@handles("STORE_ATTR")
def store_attr(state, ins):
    """TOS.name = TOS1: the object's own hooks, or a write into its heap record."""
    obj, value = state.peek(1), state.peek(2)
    out = obj.setattr(state, ins.argval, value)
    return out if is_stop(out) else out.advance(pop=2)


@handles("DELETE_ATTR")
def delete_attr(state, ins):
    out = state.peek().setattr(state, ins.argval, DELETED)
    return out if is_stop(out) else out.advance(pop=1)
