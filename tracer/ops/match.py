"""`match` statements: MATCH_MAPPING, MATCH_SEQUENCE, MATCH_KEYS and MATCH_CLASS.

The patterns compile to these four tests (plus GET_LEN and ordinary comparisons, unpacking and
jumps), each of which asks the subject a question the tracer can answer from what it knows: the
subject's type (CPython reads the type's mapping and sequence flags), a dict's keys, an
`isinstance` and attribute reads.
"""
from __future__ import annotations

from core.outcomes import BreakKind, Thrown, raise_error, unsupported
from effects import heap
from tracer.registry import handles
from vt.data.constant import ConstantVariable
from vt.data.dicts import DictVariable
from vt.data.lists import TupleVariable
from vt.folding import call_builtin

_MAPPING_FLAG = 1 << 6  # Py_TPFLAGS_MAPPING
_SEQUENCE_FLAG = 1 << 5  # Py_TPFLAGS_SEQUENCE
# Classes whose single positional subpattern matches the subject itself (`case int(n):`).
_SELF_MATCHING = (bool, bytearray, bytes, dict, float, frozenset, int, list, set, str, tuple)


def _type_flag(state, flag: int, what: str):
    kind = state.peek().runtime_type()
    if kind is None:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"matching {state.peek().describe()} as a {what}: its type is not known while tracing")
    return state.advance(push=(ConstantVariable(bool(kind.__flags__ & flag)),))


@handles("MATCH_MAPPING")
def match_mapping(state, ins):
    return _type_flag(state, _MAPPING_FLAG, "mapping")


@handles("MATCH_SEQUENCE")
def match_sequence(state, ins):
    return _type_flag(state, _SEQUENCE_FLAG, "sequence")


@handles("MATCH_KEYS")
def match_keys(state, ins):
    """Subject and key tuple stay; push the tuple of values, or None when a key is missing."""
    subject, keys = state.peek(2), state.peek(1)
    if not isinstance(subject, DictVariable):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"a mapping pattern on {subject.describe()} (not a dict) is not traced yet")
    entries = dict(heap.current(state, subject).entries)
    values, seen = [], []
    for key_vt in keys.unpack(state, None) or ():
        out = subject.key(state, key_vt)  # `subject.get(key)`: an object key's Python __eq__ may match
        if type(out) is not tuple:
            return out
        state, key = out
        if any(key is other or key == other for other in seen):
            return raise_error(ValueError, f"mapping pattern checks duplicate key ({key_vt.as_python(state)!r})")
        seen.append(key)
        if key not in entries:
            return state.advance(push=(ConstantVariable(None),))
        values.append(entries[key])
    return state.advance(push=(TupleVariable(tuple(values)),))


@handles("MATCH_CLASS")
def match_class(state, ins):
    """Pop subject, class and keyword names; push the tuple of matched attributes, or None."""
    subject, cls_vt, names_vt = state.peek(3), state.peek(2), state.peek(1)
    out = call_builtin(state, isinstance, [subject, cls_vt], {})
    if type(out) is not tuple:
        return out
    state, matched = out
    if matched.constant_value() is not True:
        return state.advance(pop=3, push=(ConstantVariable(None),))
    cls = cls_vt.fixed_object()
    names = list(names_vt.constant_value() or ())
    positional = []
    if ins.arg:
        match_args = getattr(cls, "__match_args__", None)
        cls_name = getattr(cls, "__name__", "?")
        if match_args is None and isinstance(cls, type) and issubclass(cls, _SELF_MATCHING):
            if ins.arg > 1:
                return raise_error(TypeError, f"{cls_name}() accepts 1 positional sub-pattern ({ins.arg} given)")
            positional = [subject]
        elif match_args is not None and type(match_args) is not tuple:
            return raise_error(TypeError, f"{cls_name}.__match_args__ must be a tuple (got "
                                          f"{type(match_args).__name__})")
        elif match_args is None or len(match_args) < ins.arg:
            count = 0 if match_args is None else len(match_args)
            return raise_error(TypeError, f"{cls_name}() accepts {count} positional sub-pattern"
                                          f"{'' if count == 1 else 's'} ({ins.arg} given)")
        else:
            for name in match_args[:ins.arg]:
                if type(name) is not str:
                    return raise_error(TypeError, f"__match_args__ elements must be strings (got "
                                                  f"{type(name).__name__})")
            names = list(match_args[:ins.arg]) + names
    values = list(positional)
    for position, name in enumerate(names):
        if name in names[:position]:  # ceval's `seen` set: each attribute once
            return raise_error(TypeError, f"{getattr(cls, '__name__', '?')}() got multiple sub-patterns for "
                                          f"attribute {name!r}")
        got = subject.getattr(state, name)
        if type(got) is Thrown and got.cls is AttributeError:  # a missing attribute: no match
            return state.advance(pop=3, push=(ConstantVariable(None),))
        if type(got) is not tuple:
            return got
        state, value = got
        values.append(value)
    return state.advance(pop=3, push=(TupleVariable(tuple(values)),))
