"""Classes used as values: `isinstance(x, C)`, `C.attribute`, `C(...)` for classes with a rule.

Classes written in Python that the program may change or instantiate are
`UserDefinedClassVariable` (vt/user_classes.py); this is every other class the
tracer sees, fixed for the capture and guarded by identity.  Calling one runs
the rule registered for it (an exception class, `torch.no_grad`, ...).
"""
from __future__ import annotations

import builtins

import attrs
import torch

from core.outcomes import BreakKind, raise_error, unsupported
from core.sources import AttrSource
from vt import registry
from vt.callables.builtin import BuiltinVariable, compare_classes
from vt.data.constant import ConstantVariable, is_constant_value
from vt.folding import call_builtin, class_subscript
from vt.callables.functions import UserMethodVariable, class_attribute
from vt.protocol import VariableTracker
from vt.registry import wrap_value
from vt.data.tensor import TensorMethodVariable
from vt.callables.torch import torch_callable_limit


@attrs.frozen(slots=True)
class ClassVariable(VariableTracker):
    """A class used as a value, e.g. the second argument of isinstance."""

    always_true = True

    cls: type
    source: object = attrs.field(default=None, eq=False)


    def getitem(self, state, index):
        out = class_subscript(state, self.fixed_object(), index)
        return out if out is not None else super().getitem(state, index)

    def fixed_object(self):
        return self.cls

    def describe(self) -> str:
        return f"class {self.cls.__qualname__}"

    def as_class(self):
        return self.cls

    def getattr(self, state, name):
        """A class attribute: functions (static, class and plain), constants, Tensor methods."""
        if name in ("__name__", "__qualname__", "__module__"):  # type slots, not in any class __dict__
            return state, ConstantVariable(getattr(self.cls, name))
        found = class_attribute(self.cls, name)
        if found is None and not hasattr(self.cls, name):
            return raise_error(AttributeError, f"type object {self.cls.__name__!r} has no attribute {name!r}")
        if found is None:  # set by the metaclass: __name__, __qualname__, __mro__, ...

            value = getattr(self.cls, name)
            if is_constant_value(value):
                return state, ConstantVariable(value)
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"attribute {name!r} of {self.describe()} is not modelled")
        if self.cls is torch.Tensor and callable(found):
            return state, TensorMethodVariable(name)
        if self.source is None:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                               f"attribute {name!r} of {self.describe()} reached without a source")
        if isinstance(found, classmethod):
            return state, UserMethodVariable(found.__func__, self, AttrSource(AttrSource(self.source, name), "__func__"))
        return wrap_value(state, getattr(self.cls, name), AttrSource(self.source, name))

    def call(self, state, args, kwargs):
        """Calling the class: its registered rule (exception classes, torch's grad-mode switches,
        contextlib's manager), else a limit that names the class."""
        if registry.class_rule_for(self.cls) is not None or registry.builtin_rules(self.cls):
            return call_builtin(state, self.cls, args, kwargs, self.source)
        limit = torch_callable_limit(self.cls)
        if limit is not None:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"{limit}, so it is not traced yet")
        return unsupported(BreakKind.UNSUPPORTED_CALL,
                           f"creating instances of {self.describe()} is not traced yet")


for _pair in ((ClassVariable, ClassVariable), (ClassVariable, BuiltinVariable), (BuiltinVariable, ClassVariable)):
    registry.add_binary_rule(*_pair, compare_classes)


def class_vt(kind):
    """The VT for a class used as a value, reached without a source: builtin types as
    BuiltinVariable (so `type(n) == int` compares two of them), classes with a registered kind
    (enums, named tuples) as theirs, others as ClassVariable."""
    if getattr(builtins, kind.__name__, None) is kind:
        return BuiltinVariable(kind)
    for rule in registry.class_value_rules():
        vt = rule(kind)
        if vt is not None:
            return vt
    return ClassVariable(kind)


@registry.from_python_rule(type, subclasses=True)
def _class_from_python(state, value):
    """A class computed while tracing (`typing.get_args(int | None)`, a dict key) is a fixed value."""
    return state, class_vt(value)
