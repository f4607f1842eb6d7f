"""Methods of lists, tuples, dicts and sets: one bound-method VT over per-type rule tables.

`lst.append` is not a new VT kind per method: it is a `ContainerMethodVariable`
naming the owner type and the method, and calling it looks the method up in
that type's table in the registry (filled by vt/list_methods.py, ...).  A table row
says how many arguments the method takes, so each rule only deals with
well-formed calls; a call Python would reject becomes the TypeError the eager
run will raise.  Rules are `rule(state, receiver, args, kwargs)` returning
`(state, vt)` or `Unsupported`, like every VT operation.

Also here: `int_argument`, an index argument as CPython reads it (`__index__`).
"""
from __future__ import annotations

import attrs

from vt import registry
from vt.protocol import NOT_CONSTANT, NULL, is_tensor
from vt.data.constant import BuiltinMethodVariable
from core.outcomes import BreakKind, raise_error, unsupported


@attrs.frozen(slots=True)
class ContainerMethodVariable(BuiltinMethodVariable):
    """`list.append` and friends; `receiver` is set when read as an attribute (`f = lst.append`),
    None in the LOAD_METHOD form, where CALL passes the receiver as the first argument."""

    owner: type  # list, tuple, dict or set
    name: str
    receiver: object = None
    bound_to_class: bool = False  # a classmethod read from the class (`dict.fromkeys`)

    def describe(self) -> str:
        return f"{self.owner.__name__}.{self.name}"

    def rebuild(self, emitter):
        """The unbound form is the class's own method (`list.append`): how it crosses a graph break;
        the resumed trace reads it back through `class_method`."""
        if self.receiver is not None and not self.bound_to_class:
            return super().rebuild(emitter)
        emitter.call_maker(getattr, (self.owner, self.name))
        return None

    def call(self, state, args, kwargs):
        args = list(args)
        if self.bound_to_class:
            args.insert(0, NULL)  # the class, which classmethod rules do not read
        elif self.receiver is not None:
            args.insert(0, self.receiver)
        row = registry.method_row(self.owner, self.name)
        bound = registry.bound_rule_for(getattr(self.owner, self.name, None))
        if args and bound is not None and not row.is_classmethod \
                and not isinstance(args[0], registry.receiver_class(self.owner)) and _subclass_of(args[0], self.owner):
            return bound(state, args[0], args[1:], kwargs)  # `dict.pop(od, k)`, `list.append(obj, x)` on a subclass
        if not args:
            return raise_error(TypeError, f"unbound method {self.owner.__name__}.{self.name}() needs an argument")
        if not row.is_classmethod and not isinstance(args[0], registry.receiver_class(self.owner)):
            kind = args[0].runtime_type()
            if _subclass_of(args[0], self.owner) or not isinstance(kind, type):  # an object of a subclass
                return unsupported(BreakKind.UNSUPPORTED_CALL, f"{self.describe()} on {args[0].describe()} is not "
                                   "traced yet")
            return raise_error(TypeError, f"descriptor '{self.name}' for '{self.owner.__name__}' objects doesn't "
                                          f"apply to a '{kind.__name__}' object")
        receiver, rest = args[0], args[1:]
        if not row.min_args <= len(rest) <= row.max_args:
            return raise_error(TypeError,
                               f"{self.describe()}() takes {_arity(row)} positional arguments "
                               f"({len(rest)} given)")
        unknown = [key for key in kwargs if key not in row.keywords]
        if unknown and "**" not in row.keywords:
            return raise_error(TypeError, f"{self.describe()}() got an unexpected keyword argument {unknown[0]!r}")
        return row.rule(state, receiver, rest, kwargs)


def _subclass_of(value, owner) -> bool:
    kind = value.runtime_type()
    return isinstance(kind, type) and issubclass(kind, owner)


def _arity(row) -> str:
    if row.min_args == row.max_args:
        return str(row.min_args)
    return f"{row.min_args} to {row.max_args}"


def container_attribute(state, receiver, owner: type, name: str):
    """`receiver.name` for a container: (state, bound method) or the AttributeError Python raises."""
    if has_method(owner, name):
        return state, ContainerMethodVariable(owner, name, receiver)
    return _missing(receiver, owner, name)


def container_load_method(state, receiver, owner: type, name: str):
    """LOAD_METHOD on a container: (state, (method, receiver)), as CPython pushes them."""
    if has_method(owner, name):
        return state, (ContainerMethodVariable(owner, name), receiver)
    out = _missing(receiver, owner, name)
    if type(out) is not tuple:
        return out
    return out[0], (NULL, out[1])


def class_method(python_type, name: str):
    """`list.append`, `dict.fromkeys`, ... read from the class: a VT, or None if not in the tables.

    The unbound form takes the receiver as its first argument, exactly like
    the LOAD_METHOD form; `dict.fromkeys` is bound to the class.
    """
    owner = next((kind for kind in getattr(python_type, "__mro__", ()) if registry.method_row(kind, name)), None)
    if owner is None:  # the first class along the MRO with a table row (OrderedDict.get is dict.get)
        return None
    if registry.method_row(owner, name).is_classmethod:
        return ContainerMethodVariable(owner, name, bound_to_class=True)
    return ContainerMethodVariable(owner, name)


def _missing(receiver, owner: type, name: str):
    if hasattr(owner, name):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"{owner.__name__}.{name} is not modelled", "call it outside the traced function")
    return raise_error(AttributeError, f"'{receiver.type_name()}' object "
                       f"has no attribute {name!r}")


# -- arguments ---------------------------------------------------------------------------------

def int_argument(value, what: str):
    """A Python int (via __index__) from a constant VT; check with `type(out) is int`."""
    if is_tensor(value):
        return unsupported(BreakKind.DATA_DEPENDENT, f"{what} from a tensor needs its value",
                           "use a Python int")
    constant = value.specialized()  # a symbolic int is specialised to its value
    if constant is NOT_CONSTANT:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{what} {value.describe()} is not modelled")
    if not hasattr(type(constant), "__index__"):
        return raise_error(TypeError, f"{what} must be an integer, not {type(constant).__name__}")
    return int(constant.__index__())


def has_method(owner: type, name: str) -> bool:
    return registry.method_row(owner, name) is not None
