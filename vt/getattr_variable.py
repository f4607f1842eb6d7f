"""GetAttrVariable: a method of a builtin base class read off an object, kept symbolic until called.

`super().__init__()` reaching `object.__init__`, `object.__setattr__(self, n, v)`
inside a frozen dataclass's `__init__`, `super().__setattr__(n, v)` inside a
user's own `__setattr__`, `dict.get` on a dict subclass: the tracer does not run
the C method, it keeps "attribute `name` of `receiver`, implemented by `fn`" and
models the call with a rule from BOUND_RULES (keyed by the C function).
"""
from __future__ import annotations

import attrs

from vt.protocol import VariableTracker
from vt.constant import ConstantVariable
from core.outcomes import BreakKind, unsupported
from vt import registry


@attrs.frozen(slots=True)
class GetAttrVariable(VariableTracker):
    """`receiver.name` where the class attribute is the C function `fn`, called later with a rule."""

    receiver: object
    name: str
    fn: object = attrs.field(eq=False)

    always_true = True

    def describe(self) -> str:
        return f"{getattr(self.fn, '__qualname__', self.name)} of {self.receiver.describe()}"

    def call(self, state, args, kwargs):
        rule = BOUND_RULES.get(self.fn)
        if rule is None:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"calling {self.describe()} is not traced yet")
        return rule(state, self.receiver, list(args), dict(kwargs))


def builtin_method(state, receiver, found, name: str):
    """(state, GetAttrVariable) when the C class attribute `found` has a rule, else None."""
    if _hashable(found) and found in BOUND_RULES:
        return state, GetAttrVariable(receiver, name, found)
    return None


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _attribute_name(vt):
    name = vt.constant_value()
    if type(name) is not str:
        return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: attribute name must be string")
    return name


def object_init(state, receiver, args, kwargs):
    """object.__init__(self): nothing to do; extra arguments raise as in CPython."""
    if args or kwargs:
        return unsupported(BreakKind.PYTHON_EXCEPTION,
                           "TypeError: object.__init__() takes exactly one argument (the instance to initialize)")
    return state, ConstantVariable(None)


def object_setattr(state, receiver, args, kwargs):
    """object.__setattr__(self, name, value): the plain write, past the class's own __setattr__."""
    from vt.object_attributes import plain_write

    if kwargs or len(args) != 2:
        return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: __setattr__ expected 2 arguments")
    return _plain(state, receiver, args[0], args[1], plain_write)


def object_delattr(state, receiver, args, kwargs):
    from vt.protocol import DELETED
    from vt.object_attributes import plain_write

    if kwargs or len(args) != 1:
        return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: __delattr__ expected 1 argument")
    return _plain(state, receiver, args[0], DELETED, plain_write)


def _plain(state, receiver, name_vt, value, write):
    if not receiver.dunder_dispatch:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"object.__setattr__ on {receiver.describe()} is not traced")
    name = _attribute_name(name_vt)
    if type(name) is not str:
        return name
    out = write(state, receiver, name, value)
    if type(out) is not type(state):
        return out
    return out, ConstantVariable(None)


def unbound(rule):
    """The same rule for the unbound form `object.__setattr__(obj, name, value)`: the receiver first."""
    def call(state, args, kwargs):
        if not args:
            return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: descriptor needs an argument")
        return rule(state, args[0], list(args[1:]), kwargs)
    return call


def object_getattribute(state, receiver, args, kwargs):
    """object.__getattribute__(self, name): the lookup past the class's own __getattribute__."""
    from vt.object_attributes import plain_read

    if kwargs or len(args) != 1 or not receiver.dunder_dispatch:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "object.__getattribute__ here is not traced")
    name = _attribute_name(args[0])
    if type(name) is not str:
        return name
    return plain_read(state, receiver, name)


BOUND_RULES = {
    object.__getattribute__: object_getattribute, object.__init__: object_init, object.__setattr__: object_setattr, object.__delattr__: object_delattr,
}

def _merge_dict_rules():
    from vt.dict_subclass import DICT_BOUND_RULES

    BOUND_RULES.update(DICT_BOUND_RULES)


_merge_dict_rules()

UNBOUND_RULES = {fn: unbound(rule) for fn, rule in BOUND_RULES.items()}
"""Rules for vt.builtin.BUILTIN_RULES: `object.__setattr__(obj, name, value)` called through the class."""
registry.register_builtin_rules(UNBOUND_RULES)
