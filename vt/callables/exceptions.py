"""Exception objects the traced program makes, raises and catches.

An exception is a mutable object (raising it sets `__context__`, `raise ...
from` sets `__cause__`, a Python `__init__` may set attributes), so it lives
in the heap like a list: the VT on the stack is a handle with an `oid`, and
`heap.current(state, handle)` has its latest contents.  Classes are the real
classes (builtin or the user's own); instances are built while tracing
without running any real constructor, except for the few builtin classes
whose constructor computes attributes from constant arguments (`OSError`,
`StopIteration`, ...), which are checked by building the real object.
"""
from __future__ import annotations

import types

import attrs
from pyrsistent import pmap

from effects import heap
from vt import registry
from vt.callables.builtin import class_value
from vt.callables.classes import class_vt
from vt.data.dicts import DictVariable
from vt.callables.functions import UserMethodVariable
from vt.data.lists import ListVariable, TupleVariable
from vt.protocol import DELETED, NOT_CONSTANT, VariableTracker, is_attribute_error, is_python_class
from vt.data.constant import ConstantVariable, is_constant_value
from core.outcomes import BreakKind, Thrown, raise_error, raised, unsupported
from core.sources import AttrSource, ItemSource
from vt.registry import from_python, wrap_value
from vt.data.sets import SetVariable

# Builtin classes whose constructor does more than store `args`: their instances are built for
# real from constant arguments, so attributes (`errno`, `value`, `name`, ...) and errors are eager's.
_SPECIAL_BUILTINS = (StopIteration, SystemExit, ImportError, SyntaxError, OSError, UnicodeError, NameError,
                     AttributeError, BaseExceptionGroup)


def python_method(cls: type, name: str):
    """The Python function defining `name` for instances of `cls`, or None if a builtin class does."""
    for klass in cls.__mro__:
        if name in vars(klass):
            found = vars(klass)[name]
            return found if type(found) is types.FunctionType else None
    return None


def builtin_base(cls: type) -> type:
    """The first class along the MRO that is not written in Python."""
    for klass in cls.__mro__:
        if not is_python_class(klass):
            return klass
    return BaseException


@attrs.frozen(slots=True)
class ExceptionVariable(VariableTracker):
    """An exception instance: its class, `args`, chaining links and instance attributes."""

    oid: int
    cls: type
    args: tuple = attrs.field(default=(), eq=False)  # VTs
    cause: object = attrs.field(default=None, eq=False)  # ExceptionVariable handle or None
    context: object = attrs.field(default=None, eq=False)
    suppress_context: bool = attrs.field(default=False, eq=False)
    attributes: object = attrs.field(default=pmap(), eq=False)  # name -> VT, set by a Python __init__
    kwargs: tuple = attrs.field(default=(), eq=False)  # (name, VT) pairs given to a builtin constructor
    cls_source: object = attrs.field(default=None, eq=False)  # where the class was read from

    always_true = True
    source = None

    def runtime_type(self):
        return self.cls

    def as_python(self, state):
        return realize(state, self)

    def type_name(self) -> str:
        return self.cls.__name__

    def describe(self) -> str:
        return f"{self.cls.__name__} exception"

    def getattr(self, state, name):
        current = heap.current(state, self)
        if name == "args":
            return state, TupleVariable(current.args)
        if name in ("__cause__", "__context__"):
            link = current.cause if name == "__cause__" else current.context
            return state, ConstantVariable(None) if link is None else link
        if name == "__suppress_context__":
            return state, ConstantVariable(current.suppress_context)
        if name == "__class__":
            return state, class_vt(self.cls)
        if name in current.attributes:
            return state, current.attributes[name]
        if name == "__traceback__":
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, "tracebacks are not modelled")
        return _class_or_builtin_attribute(state, current, name)

    def with_args(self, args: tuple) -> "ExceptionVariable":
        return attrs.evolve(self, args=tuple(args))

    def with_attribute(self, name: str, value) -> "ExceptionVariable":
        return attrs.evolve(self, attributes=self.attributes.set(name, value))

    def setattr(self, state, name: str, value):
        if value is DELETED:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"deleting attribute {name!r} of an exception")
        return self.store_attr(state, name, value)

    def store_attr(self, state, name: str, value):
        """`exc.name = value` on an exception made while tracing: the next heap contents."""
        current = heap.current(state, self)
        if name in ("__cause__", "__context__") and value.constant_value() is not None \
                and not isinstance(value, ExceptionVariable):
            kind = value.runtime_type()
            if isinstance(kind, type) and not issubclass(kind, BaseException):
                return raise_error(TypeError, f"exception {name.strip('_')} must be None or derive from BaseException")
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{name} set to {value.describe()} is not modelled")
        if name == "__cause__":
            return heap.mutate(state, attrs.evolve(current, cause=_link(value), suppress_context=True), "set __cause__")
        if name == "__context__":
            return heap.mutate(state, attrs.evolve(current, context=_link(value)), "set __context__")
        if name == "__suppress_context__":
            truth = value.truth(state)
            if type(truth) is not bool:
                return unsupported(BreakKind.UNSUPPORTED_OPERATION, "__suppress_context__ set to a value not known")
            return heap.mutate(state, attrs.evolve(current, suppress_context=truth), "set __suppress_context__")
        if name == "__traceback__":
            if value.constant_value() is None:
                return unsupported(BreakKind.UNSUPPORTED_OPERATION, "tracebacks are not modelled")
            kind = value.runtime_type()
            if isinstance(kind, type) and kind is not types.TracebackType:
                return raise_error(TypeError, "__traceback__ must be a traceback or None")
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, "tracebacks are not modelled")
        if name == "args":
            items = value.unpack(state, None)
            if items is None:
                return unsupported(BreakKind.UNSUPPORTED_OPERATION, "exception args set to a non-sequence")
            return heap.mutate(state, current.with_args(tuple(items)), "set args")
        return heap.mutate(state, current.with_attribute(name, value), f"set attribute {name!r}")


def _link(value):
    return None if value.constant_value() is None else value


def _class_or_builtin_attribute(state, current, name: str):
    """A method or class attribute of the user's class, or an attribute of a builtin exception
    read from the real object built from constant arguments (`StopIteration(3).value`)."""
    cls = current.cls
    for klass in cls.__mro__:
        if klass is builtin_base(cls):
            break
        if name in vars(klass):
            found = vars(klass)[name]
            if current.cls_source is None:
                return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                                   f"attribute {name!r} of {cls.__name__} reached without a source")
            where = AttrSource(current.cls_source, name)
            if type(found) is types.FunctionType:
                return state, UserMethodVariable(found, current, where)
            if isinstance(found, property) and found.fget is not None:
                out = wrap_value(state, found.fget, AttrSource(where, "fget"))
                if type(out) is not tuple:
                    return out
                state, getter = out
                return getter.call(state, [current], {})
            if is_constant_value(found):
                return wrap_value(state, found, where)
            return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                               f"attribute {name!r} of {cls.__name__} is a {type(found).__name__}, not modelled")
    if not hasattr(cls, name):  # not on the class, not in the instance dict (`attributes`): missing
        return raise_error(AttributeError, f"{cls.__name__!r} object has no attribute {name!r}")
    real = realize(state, current)
    if real is NOT_CONSTANT:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"attribute {name!r} of a {cls.__name__} with non-constant arguments is not modelled")
    try:
        value = getattr(real, name)
    except AttributeError as exc:
        return raised(exc)
    if is_constant_value(value):
        return state, ConstantVariable(value)
    return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"attribute {name!r} of {cls.__name__} is not modelled")


def realize(state, exc):
    """A real exception equal to the modelled one (for str(), repr() and attribute reads), or
    NOT_CONSTANT when an argument is not plain data or the class formats itself in Python."""

    current = heap.current(state, exc)
    cls = current.cls
    if python_method(cls, "__str__") or python_method(cls, "__repr__"):
        return NOT_CONSTANT
    args = tuple(arg.as_python(state) for arg in current.args)
    kwargs = {key: value.as_python(state) for key, value in current.kwargs}
    attributes = {key: value.as_python(state) for key, value in current.attributes.items()}
    if any(v is NOT_CONSTANT for v in (*args, *kwargs.values(), *attributes.values())):
        return NOT_CONSTANT
    return build_real(cls, args, kwargs, attributes)


def build_real(cls, args: tuple, kwargs: dict, attributes: dict):
    """The real exception for a class, its args and attributes, without running Python code of the
    class (its `__init__` already ran while tracing, which is where the attributes came from)."""
    if python_method(cls, "__init__") is None:
        real = cls(*args, **kwargs)
    else:
        real = cls.__new__(cls, *args)
        real.args = args
    for key, value in attributes.items():
        setattr(real, key, value)
    return real


@registry.class_rule(BaseException)
def instantiate(state, cls: type, cls_source, args, kwargs):
    """`cls(*args, **kwargs)` for an exception class: (state, handle), Thrown or Unsupported."""
    if cls.__new__ is not BaseException.__new__ and python_method(cls, "__new__") is not None:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{cls.__name__} defines __new__ in Python, not traced")
    base = builtin_base(cls)
    init = python_method(cls, "__init__")
    if init is None and not kwargs and issubclass(base, StopIteration):  # .value is args[0], whatever it is
        value = args[0] if args else ConstantVariable(None)
        return heap.allocate(state, lambda oid: ExceptionVariable(oid, cls, tuple(args), attributes=pmap({"value": value}),
                                                            cls_source=cls_source))
    if init is None and (kwargs or issubclass(base, _SPECIAL_BUILTINS)):
        check = _check_builtin_constructor(state, cls, args, kwargs)
        if check is not None:
            return check
    state, handle = heap.allocate(state, lambda oid: ExceptionVariable(oid, cls, tuple(args),
                                                                 kwargs=tuple(kwargs.items()) if init is None else (),
                                                                 cls_source=cls_source))
    if init is None:
        return state, handle

    if cls_source is None:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{cls.__name__}.__init__ reached without a source")
    method = UserMethodVariable(init, handle, AttrSource(cls_source, "__init__"))
    out = method.call(state, list(args), dict(kwargs))
    if type(out) is not tuple:
        return out
    state, result = out
    if result.constant_value() is not None:
        return raise_error(TypeError, f"__init__() should return None, not '{result.type_name()}'")
    return state, handle


def _check_builtin_constructor(state, cls, args, kwargs):
    """None if building `cls(*args, **kwargs)` works; else how it fails (Thrown) or Unsupported."""

    values = [arg.as_python(state) for arg in args]
    kw_values = {key: value.as_python(state) for key, value in kwargs.items()}
    if any(v is NOT_CONSTANT for v in (*values, *kw_values.values())):
        return unsupported(BreakKind.UNSUPPORTED_CALL,
                           f"{cls.__name__}() with non-constant arguments is not modelled")
    try:
        cls(*values, **kw_values)
    except Exception as exc:
        return raised(exc)
    return None


def exception_from(state, thrown: Thrown):
    """The heap handle of the exception a Thrown record raises, allocating one for a builtin's error."""
    if thrown.exception is not None:
        return state, thrown.exception

    items = []
    for value in thrown.args:
        if isinstance(value, VariableTracker):  # a value of the program (KeyError(key) keeps the key object)
            items.append(value)
            continue
        out = from_python(state, value)
        if out is None:
            return unsupported(BreakKind.PYTHON_EXCEPTION,
                               f"{thrown.cls.__name__} with a {type(value).__name__} argument is not modelled")
        state, vt = out
        items.append(vt)
    out = instantiate(state, thrown.cls, None, items, {})
    if type(out) is not tuple or not thrown.attributes:
        return out
    state, handle = out
    record = heap.current(state, handle)
    for name, value in thrown.attributes:  # NameError.name, AttributeError.name / .obj
        if not isinstance(value, VariableTracker):
            converted = from_python(state, value)
            if converted is None:
                continue
            state, value = converted
        record = record.with_attribute(name, value)
    return heap.update_object(state, record), handle


@attrs.frozen(slots=True)
class ExceptionSuperVariable(VariableTracker):
    """`super()` inside a Python method of an exception class: the builtin `__init__` stores args."""

    start: type  # lookups begin after this class in the MRO
    receiver: object

    always_true = True

    def describe(self) -> str:
        return f"super({self.start.__name__})"

    def getattr(self, state, name):

        mro = self.receiver.cls.__mro__
        for position in range(mro.index(self.start) + 1, len(mro)):
            klass = mro[position]
            if name in vars(klass):
                found = vars(klass)[name]
                if type(found) is types.FunctionType and self.receiver.cls_source is not None:
                    where = AttrSource(ItemSource(AttrSource(self.receiver.cls_source, "__mro__"), position), name)
                    return state, UserMethodVariable(found, self.receiver, where)
                if type(found) is types.FunctionType:
                    return unsupported(BreakKind.UNSUPPORTED_OPERATION, "super() method reached without a source")
                break
        if name == "__init__":
            return state, BuiltinExceptionInit(self.receiver)
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"super().{name} of an exception is not modelled")


@attrs.frozen(slots=True)
class BuiltinExceptionInit(VariableTracker):
    """`BaseException.__init__` bound to an exception made while tracing: it sets `args`."""

    receiver: object

    always_true = True

    def describe(self) -> str:
        return "BaseException.__init__"

    def call(self, state, args, kwargs):
        if kwargs:
            return raise_error(TypeError, f"{self.receiver.cls.__name__}() takes no keyword arguments")
        current = heap.current(state, self.receiver)
        return heap.mutate(state, current.with_args(tuple(args)), "set args"), ConstantVariable(None)


def is_exception_class(value) -> bool:
    return isinstance(value, type) and issubclass(value, BaseException)


def matches(state, exc, classes):
    """`except classes:` for a raised exception: bool, or Unsupported when `classes` is not classes."""
    found = class_value(classes)
    if found is None and isinstance(classes, (ConstantVariable, ListVariable, DictVariable, SetVariable)):
        return raise_error(TypeError, "catching classes that do not inherit from BaseException is not allowed")
    if found is None:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"`except` with {classes.describe()} (not a class or tuple of classes) is not modelled")
    flat = found if type(found) is tuple else (found,)
    if not all(is_exception_class(c) for c in flat):
        return raise_error(TypeError, "catching classes that do not inherit from BaseException is not allowed")
    return issubclass(heap.current(state, exc).cls, found)


def exception_value(state, value, what: str):
    """An exception instance for `raise value` / `from value`: a class is called with no arguments.
    Returns (state, handle) or a Thrown/Unsupported outcome."""
    if isinstance(value, ExceptionVariable):
        return state, value
    as_class = getattr(value, "as_class", None)
    cls = as_class() if as_class is not None else None
    if isinstance(cls, type) and issubclass(cls, BaseException):
        out = value.call(state, [], {})
        if type(out) is not tuple:
            return out
        state, made = out
        if not isinstance(made, ExceptionVariable):
            return raise_error(TypeError, f"calling {cls!r} should have returned an instance of BaseException, "
                                          f"not {made.type_name()}")
        return state, made

    kind = value.runtime_type()
    if kind is None or issubclass(kind, BaseException):  # an exception object the tracer did not make
        return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                           f"raising {value.describe()}, an exception that existed before the call, is not modelled")
    return raise_error(TypeError, what)


def with_attribute_context(state, out, obj, name: str):
    """An outcome of reading `obj.name`: an AttributeError not yet given its context gets `name` and
    `obj`, as CPython's attribute lookup sets them (a builtin's error, or an AttributeError a Python
    `__getattr__` raised); anything else is returned as it is."""
    if not is_attribute_error(state, out):
        return out
    if out.exception is None:
        if any(key in ("name", "obj") for key, _ in out.attributes):
            return out
        return attrs.evolve(out, attributes=out.attributes + (("name", name), ("obj", obj)))
    where = out.state or state
    record = heap.current(where, out.exception)
    if type(record) is not ExceptionVariable or "name" in record.attributes or "obj" in record.attributes \
            or python_method(record.cls, "__init__") is not None:
        return out
    record = record.with_attribute("name", ConstantVariable(name)).with_attribute("obj", obj)
    return attrs.evolve(out, state=heap.update_object(where, record))
