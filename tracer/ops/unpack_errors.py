"""CPython's own messages for the TypeErrors of unpacking (`[*x]`, `{*x}`, `f(*x)`, `f(**m)`, `in`).

The operations underneath (iterating, reading a mapping) raise their generic message (`'Foo'
object is not iterable`); the opcode that asked rewrites it as ceval does, so the traced program
sees eager's exact text: `Value after * must be an iterable, not Foo`, `m.f() argument after **
must be a mapping, not int`.
"""
from __future__ import annotations

import attrs

from core.outcomes import Thrown


def _is_type_error(out, ending: str) -> bool:
    return (type(out) is Thrown and out.exception is None and out.cls is TypeError and len(out.args) == 1
            and isinstance(out.args[0], str) and out.args[0].endswith(ending))


def _with_message(out, message: str):
    return attrs.evolve(out, args=(message,))


def not_iterable_after_star(out, value, function=None):
    """`[*x]`, `(*x,)` (function None) or `f(*x)` on a value that cannot be iterated (`{*x}` keeps
    set.update's message, as ceval does)."""
    if not _is_type_error(out, "is not iterable"):
        return out
    where = "Value" if function is None else f"{function} argument"
    return _with_message(out, f"{where} after * must be an iterable, not {value.type_name()}")


def not_a_mapping_after_stars(out, value, function: str):
    """`f(**m)` on a value that is not a mapping."""
    if not _is_type_error(out, "is not a mapping"):
        return out
    return _with_message(out, f"{function} argument after ** must be a mapping, not {value.type_name()}")


def function_text(state, fn) -> str:
    """How CPython names a callable in a call's error (`_PyObject_FunctionStr`): `module.qualname()`,
    `qualname()` for builtins, else `TypeName object`."""
    names = []
    for attribute in ("__qualname__", "__module__"):
        out = fn.getattr(state, attribute)
        value = out[1].constant_value() if type(out) is tuple else None
        names.append(value if isinstance(value, str) else None)
    qualname, module = names
    if qualname is None:
        return f"{fn.type_name()} object"
    if module is None or module == "builtins":
        return f"{qualname}()"
    return f"{module}.{qualname}()"
