"""Classes the traced function defines: `class C(B): ...` statements and `type(name, bases, ns)`.

CPython makes a class in `__build_class__(body, name, *bases)`: it finds the metaclass, makes a
namespace dict, runs the body function with that dict as its locals, then calls
`metaclass(name, bases, namespace)` and fills the body's `__class__` cell with the class (what
`super()` reads).  The trace does the same with VTs: the body runs as an inlined frame whose
*_NAME opcodes use a dict of the heap (tracer/ops/class_body.py), so the methods are functions of
the trace (closure cells, defaults and all), and so are the other class attributes.

Then a *shell* is made: a real class, made by the real metaclass from the real bases and a
stand-in of each namespace entry (the constant itself, a function that raises if ever called, a
`staticmethod` / `classmethod` / `property` of such a function, or a plain marker object).  Every
question the real class answers by itself is then CPython's own answer: its MRO, `isinstance` and
`issubclass`, the `__hash__ = None` that `type()` adds next to an `__eq__`, the member
descriptors of `__slots__`.  The shell's heap record (`LocalClassVariable`) holds the namespace
as VTs, and attribute lookup on classes and objects reads heap records before real class dicts
(vt/objects/object_attributes.py:lookup), so a stand-in is never called: methods are inlined
from their VTs, through the descriptor protocol of vt/protocol.py.

Eager makes a new class on every call.  The shell is made per trace and never named by a guard
(it has no source); objects that existed before the call are never instances of it, as they are
never instances of a class made after them, so `isinstance` and `type(x) is C` answer as eager
does.  The class, its objects and its methods cannot leave the trace: returning or storing one
breaks at RETURN_VALUE with a reason (`rebuild`), and the function runs eagerly.
"""
from __future__ import annotations

import abc
import builtins
import functools
import types

import attrs
import torch

from core.outcomes import BreakKind, raise_error, raised, unsupported
from core.sources import AttrSource, ImportedModuleSource
from effects import heap
from vt.callables.descriptors import PropertyVariable
from vt import registry
from vt.callables.functions import CellVariable, UserFunctionVariable, UserMethodVariable, inline_call
from vt.callables.nested_functions import NestedUserFunctionVariable
from vt.data.constant import ConstantVariable
from vt.data.dicts import DictVariable, new_dict_from_entries
from vt.objects.attributes import store_raw
from vt.objects.object_attributes import attribute_source, is_vt, lookup
from vt.objects.user_classes import UserDefinedClassVariable
from vt.protocol import MISSING, NOT_CONSTANT, VariableTracker, real_value
from vt.registry import wrap_value

_METACLASSES = (type, abc.ABCMeta)
"""Metaclasses whose class creation runs no Python code: the shell is made with the real one."""


def is_stand_in(value) -> bool:
    """Whether a value of a shell's namespace stands for one only the trace holds."""
    return type(value) is _StandIn


class _StandIn:
    """The shell's entry for a class attribute that only the trace holds (a tensor, a list, an
    object): no `__get__`, so CPython's attribute rules treat it as plain data, as the real one."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<traced class attribute {self.name}>"


def _stand_in_function(qualname: str):
    def stand_in(*args, **kwargs):
        raise RuntimeError(f"snaptrace: {qualname} of a class made while tracing was called outside the trace")

    stand_in.__name__ = qualname.rpartition(".")[2]
    stand_in.__qualname__ = qualname
    return stand_in


def _stand_in(state, qualname: str, key: str, vt):
    """The shell's entry for one namespace entry (see the module docstring)."""
    constant = vt.constant_value()
    if constant is not NOT_CONSTANT:
        return constant
    kind = vt.runtime_type()
    name = f"{qualname}.{key}"
    if key == "__annotations__" and isinstance(vt, DictVariable):  # annotations are classes: real ones
        entries = heap.current(state, vt).entries
        return {field: _stand_in(state, qualname, f"{key}[{field!r}]", value) for field, value in entries}
    if kind is staticmethod:
        return staticmethod(_stand_in_function(name))
    if kind is classmethod:
        return classmethod(_stand_in_function(name))
    if kind is property:
        return property(*(None if part is None else _stand_in_function(name) for part in (vt.fget, vt.fset, vt.fdel)))
    if kind is not None and kind.__name__ == "function":
        return _stand_in_function(name)
    fixed = real_value(state, vt)
    if fixed is not NOT_CONSTANT and not isinstance(fixed, (dict, list, set)):
        return fixed
    return _StandIn(name)


@attrs.frozen(slots=True)
class LocalClassVariable(UserDefinedClassVariable):
    """A class the traced function made: the shell (`cls`) and its namespace as VTs (`attributes`,
    then the class attributes the program writes), with what making it again needs: the base
    classes' VTs and the `__class__` cell of its methods."""

    bases: tuple = attrs.field(default=(), eq=False)
    classcell: object = attrs.field(default=None, eq=False)
    decorations: tuple = attrs.field(default=(), eq=False)  # (decorator to run again, ((name, VT it added), ...))

    made_by_trace = True

    def pinned_object(self):
        return NOT_CONSTANT  # a new class on every call: no id(), no identity key

    def describe(self) -> str:
        return f"class {self.cls.__qualname__} (defined in the traced function)"

    def references(self, state):
        return (*super().references(state), *self.bases, *(() if self.classcell is None else (self.classcell,)))

    def setattr(self, state, name, value):
        if name in ("__name__", "__qualname__", "__bases__", "__dict__", "__class__", "__mro__"):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"writing {name} of {self.describe()} is not "
                               "traced yet")
        return super().setattr(state, name, value)

    def rebuild(self, emitter):
        """Made again after the graph runs, from its final class attributes: a new class per call,
        as eager makes one."""
        current = heap.current(emitter.state, self)
        added = {(name, id(vt)) for _, generated in current.decorations for name, vt in generated}
        attributes = tuple((name, vt) for name, vt in current.attributes if (name, id(vt)) not in added)
        if not any(key == "__qualname__" for key, _ in attributes):
            attributes = (("__qualname__", ConstantVariable(self.cls.__qualname__)),) + attributes
        return emitter.made_class(self, type(self.cls), self.cls.__name__, self.bases, attributes, self.classcell,
                                  tuple(decorator for decorator, _ in current.decorations))

    def getattr(self, state, name):
        if name in ("__name__", "__qualname__"):
            return state, ConstantVariable(getattr(self.cls, name))
        owner, found = lookup(state, self.cls, name)
        if is_vt(found):
            return found.descriptor_get(state, None, self)
        if found is MISSING:
            if hasattr(type(self.cls), name):
                return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{self.describe()}.{name} is not modelled")
            return raise_error(AttributeError, f"type object {self.cls.__name__!r} has no attribute {name!r}")
        source = attribute_source(state, self.cls, None, owner, name)
        if source is None:  # set by type() itself: __doc__, __hash__ = None, descriptors of __dict__ and slots
            if found is None or isinstance(found, (str, int)):
                return state, ConstantVariable(found)
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{self.describe()}.{name} is not modelled")
        if isinstance(found, classmethod) and type(found.__func__) is types.FunctionType:
            return state, UserMethodVariable(found.__func__, self, AttrSource(source, "__func__"))
        if isinstance(found, classmethod):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"the classmethod {name!r} of {self.describe()} "
                               "is written in C, which is not traced yet")
        return wrap_value(state, getattr(self.cls, name), source)


def _base_classes(state, bases):
    """The real classes of the base VTs: a tuple, or the stop that names a base not modelled."""
    real = []
    for vt in bases:
        cls = vt.as_class() if hasattr(vt, "as_class") else None
        if cls is object:
            real.append(cls)
            continue
        if not isinstance(vt, UserDefinedClassVariable):
            what = vt.describe() if cls is None else f"{cls.__module__}.{cls.__qualname__}"
            hint = "define the class at module level"
            if cls is not None and issubclass(cls, torch.nn.Module):
                return unsupported(BreakKind.UNSUPPORTED_CALL, "nn.Module subclasses defined inside the traced "
                                   "function are not traced yet", hint)
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"a class defined inside the traced function with the "
                               f"base {what} is not traced yet (bases: object and your own classes)", hint)
        real.append(cls)
    return tuple(real)


def _metaclass(bases: tuple):
    """The most derived metaclass of the bases (a class in `bases` may stand for a metaclass given
    by keyword); conflicts are refused earlier, in `_limits`."""
    winner = type
    for base in bases:
        kind = base if base in _METACLASSES else type(base)
        if issubclass(kind, winner):
            winner = kind
    return winner


def _limits(state, name: str, bases: tuple, namespace: dict):
    """Why this class cannot be made inside the trace (the stop), or None."""
    meta = _metaclass(bases)
    if meta not in _METACLASSES:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"class {name}: the metaclass {meta.__qualname__} is not "
                           "traced yet")
    for base in bases:
        if not _plain_init_subclass(state, base):
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"class {name}: {base.__qualname__}.__init_subclass__ "
                               "is not traced yet")
    for key, vt in namespace.items():
        if vt.dunder_dispatch and lookup(state, vt.cls, "__set_name__")[1] is not MISSING:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"class {name}: the attribute {key!r} has __set_name__, "
                               "which is not traced yet")
        if key == "__slots__" and vt.constant_value() is NOT_CONSTANT:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"class {name}: __slots__ must be known while tracing")
    return None


def _plain_init_subclass(state, base) -> bool:
    found = lookup(state, base, "__init_subclass__")[1]
    return found is object.__dict__["__init_subclass__"]


def make_class(state, name: str, bases, namespace_entries, classcell=None, metaclass=None):
    """The class `metaclass(name, bases, namespace)` makes, from VTs: (state, LocalClassVariable),
    or the stop that prevents it.  `classcell` is the body's `__class__` cell, filled with it."""
    real_bases = _base_classes(state, bases)
    if type(real_bases) is not tuple:
        return real_bases
    namespace = dict(namespace_entries)
    namespace.pop("__classcell__", None)
    limit = _limits(state, name, real_bases, namespace)
    if limit is not None:
        return limit
    qualname = namespace["__qualname__"].constant_value() if "__qualname__" in namespace else name
    if not isinstance(qualname, str):
        return raise_error(TypeError, f"type __qualname__ must be a str, not {type(qualname).__name__}")
    named = {key: _named(vt, key) for key, vt in namespace.items() if key != "__qualname__"}
    shell_namespace = {key: _stand_in(state, qualname, key, vt) for key, vt in named.items()}
    shell_namespace["__qualname__"] = qualname
    if "__module__" not in shell_namespace:  # type() takes it from the calling frame's globals
        module = state.frame.code.globals.get("__name__")
        shell_namespace["__module__"] = module
        named["__module__"] = ConstantVariable(module)
    try:
        shell = _metaclass((metaclass, *real_bases) if metaclass else real_bases)(name, real_bases, shell_namespace)
    except Exception as exc:  # the traced program raises the same (an MRO conflict, a layout conflict)
        return raised(exc)
    attributes = tuple(named.items())
    if not isinstance(classcell, CellVariable):
        classcell = None
    state, cls_vt = heap.existing_object(state, shell, lambda state, oid: (
        state, LocalClassVariable(oid, shell, None, attributes, tuple(bases), classcell)))
    if classcell is not None:
        state = heap.update_object(state, heap.current(state, classcell).with_contents(cls_vt))
    return state, cls_vt


def _named(vt, key: str):
    """A property learns the name it is bound to (CPython's `__set_name__`)."""
    if isinstance(vt, PropertyVariable) and vt.name is None:
        return attrs.evolve(vt, name=key)
    return vt


@attrs.frozen(slots=True)
class BuildClassVariable(VariableTracker):
    """`builtins.__build_class__`, which a class statement calls with its body function."""

    always_true = True

    def fixed_object(self):
        return builtins.__build_class__

    def describe(self) -> str:
        return "__build_class__"

    def call(self, state, args, kwargs):
        if len(args) < 2:
            return raise_error(TypeError, "__build_class__: not enough arguments")
        body, name = args[0], args[1].constant_value()
        if not isinstance(body, NestedUserFunctionVariable) or type(name) is not str:
            return unsupported(BreakKind.UNSUPPORTED_CALL, "__build_class__ called by hand is not traced")
        metaclass = kwargs.get("metaclass")
        if set(kwargs) - {"metaclass"} or (metaclass is not None and metaclass.fixed_object() not in _METACLASSES):
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"class {name}: class keywords "
                               f"({', '.join(kwargs)}) are not traced yet", "define the class at module level")
        real_bases = _base_classes(state, args[2:])
        if type(real_bases) is not tuple:
            return real_bases
        if metaclass is not None and not issubclass(_metaclass(real_bases), metaclass.fixed_object()):
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"class {name}: metaclass={metaclass.describe()} with "
                               "these bases is not traced yet")
        state, namespace = new_dict_from_entries(state, ())
        out = inline_call(state, body.parts, [], {}, namespace=namespace)
        if type(out) is not tuple:
            return out
        state, cell = out
        entries = heap.current(state, namespace).entries
        return make_class(state, name, tuple(args[2:]), entries, None if cell.constant_value() is None else cell,
                          None if metaclass is None else metaclass.fixed_object())


BUILD_CLASS = BuildClassVariable()


def _functools_name(fn) -> str:
    return next(name for name, value in vars(functools).items() if value is fn)


def _total_ordering(state, args, kwargs):
    """`functools.total_ordering` on a class the trace made: functools' own helpers (`_gt_from_lt`,
    ...) stored on it as functools does, so they are inlined and the class made again after the
    graph holds them too.  (functools also renames its helpers, `_gt_from_lt.__name__ = "__gt__"`,
    once and for all: not replayed.)  Any other argument: functools' Python code, inlined."""
    function = functools.total_ordering
    source = AttrSource(ImportedModuleSource("functools"), "total_ordering")
    if kwargs or len(args) != 1 or not isinstance(args[0], LocalClassVariable):
        return UserFunctionVariable(function, source).call(state, args, kwargs)
    cls_vt = args[0]
    roots = {op for op in functools._convert
             if lookup(state, cls_vt.cls, op)[1] not in (MISSING, object.__dict__.get(op))}
    if not roots:
        return raise_error(ValueError, "must define at least one ordering operation: < > <= >=")
    for name, helper in functools._convert[max(roots)]:
        if name in roots:
            continue
        out = wrap_value(state, helper, AttrSource(ImportedModuleSource("functools"), _functools_name(helper)))
        if type(out) is not tuple:
            return out
        state = store_raw(out[0], cls_vt, name, out[1])
        setattr(cls_vt.cls, name, helper)  # the shell answers as the real class would
    return state, cls_vt


registry.register_builtin_rules({functools.total_ordering: _total_ordering})


def make_class_from_type(state, args):
    """`type(name, bases, namespace)`: the class made from a dict of the trace; None when the
    arguments are not plain (a name, a tuple of classes, a dict with string keys)."""
    name_vt, bases_vt, namespace = args
    name = name_vt.constant_value()
    bases = bases_vt.unpack(state, None)
    if type(name) is not str or bases is None or not isinstance(namespace, DictVariable):
        return None
    entries = heap.current(state, namespace).entries
    if not all(type(key) is str for key, _ in entries):
        return None
    return make_class(state, name, tuple(bases), entries)
