"""Record types: named tuples (collections.namedtuple, typing.NamedTuple) and enums.

Both are classes the user writes to give names to plain data, and both are
fixed once defined, so the tracer can treat them as data:

* a named tuple is a tuple whose VT also knows its class and field names
  (`NamedTupleVariable`); construction binds arguments with the class's own
  `__new__` signature and defaults, `_replace`/`_asdict`/`_make` are modelled,
  methods and properties written on the class are inlined, and a named tuple
  returned from the function is rebuilt with `cls._make`;
* an enum member is an immutable singleton (`EnumVariable`), a constant for
  every operation (`.name`, `.value`, `==`, IntEnum arithmetic, hashing as a
  dict key), guarded by identity when it comes from outside.  The enum class
  (`EnumClassVariable`) is iterable and answers `Color(1)`, `Color["RED"]`,
  `len(Color)` and `member in Color` from its real member table, which the
  enum machinery does not let anyone change.
"""
from __future__ import annotations

import enum
import types

import attrs

from core.guards import IdMatch, SequenceMatch
from vt import registry
from vt.data.container_methods import has_method
from vt.data.dicts import new_dict_from_entries
from vt.callables.functions import FunctionParts, bind_arguments
from vt.iteration import iterate_items
from vt.data.iterators import items_of
from vt.objects.introspection import FrozenObjectVariable
from vt.protocol import NOT_CONSTANT, NULL, VariableTracker
from vt.data.constant import ConstantVariable, is_constant_value
from vt.data.lists import TupleVariable
from core.outcomes import BreakKind, unsupported
from core.sources import AttrSource, ItemSource
from vt.registry import from_python, wrap_items, wrap_value
from vt.callables.classes import ClassVariable
from vt.callables.functions import UserMethodVariable, class_attribute
from vt.callables.functions import call_function_from

# -- named tuples -----------------------------------------------------------------------------


def namedtuple_base(cls):
    """The class made by collections.namedtuple that `cls` is or derives from, or None."""
    if not (isinstance(cls, type) and issubclass(cls, tuple)):
        return None
    for klass in cls.__mro__:
        if "_fields" in klass.__dict__ and "_make" in klass.__dict__:
            return klass
    return None


def _plain_constructor(cls, base) -> bool:
    """Whether building `cls(...)` only runs the namedtuple's generated `__new__`."""
    return class_attribute(cls, "__new__") is base.__dict__["__new__"] and cls.__init__ is tuple.__init__


@attrs.frozen(slots=True)
class NamedTupleVariable(TupleVariable):
    """A named tuple: items, class (`python_type`), field names; `class_source` reaches the class."""

    class_source: object = attrs.field(default=None, eq=False)

    def describe(self) -> str:
        return f"{self.python_type.__name__}({', '.join(item.describe() for item in self.items)})"

    def with_items(self, items) -> "NamedTupleVariable":
        return NamedTupleVariable(tuple(items), self.python_type, self.fields, class_source=self.class_source)

    def getattr(self, state, name):
        if name in self.fields:
            return state, self.items[self.fields.index(name)]
        if name in _NAMEDTUPLE_METHODS:
            return state, NamedTupleMethodVariable(self, name)
        if name == "_fields":
            return state, ConstantVariable(self.fields)
        if name == "_field_defaults":
            out = from_python(state, dict(self.python_type._field_defaults))
            return out if out is not None else unsupported(
                BreakKind.UNSUPPORTED_VALUE, "_field_defaults holding values that are not plain data is not modelled")
        found = class_attribute(self.python_type, name)
        owner = _defining_class(self.python_type, name)
        if owner is not None and owner is not tuple and self.class_source is not None:
            source = AttrSource(self.class_source, name)
            if type(found) is types.FunctionType:
                return state, UserMethodVariable(found, self, source)
            if isinstance(found, property) and found.fget is not None:
                return call_function_from(state, found.fget, AttrSource(source, "fget"), [self], {})
            if isinstance(found, staticmethod):
                return wrap_value(state, found.__func__, source)
            if is_constant_value(found):
                return wrap_value(state, found, source)
        return super().getattr(state, name)

    def load_method(self, state, name):
        if has_method(tuple, name) and _defining_class(self.python_type, name) is tuple:
            return super().load_method(state, name)
        out = self.getattr(state, name)
        if type(out) is not tuple:
            return out

        return out[0], (NULL, out[1])


def _defining_class(cls, name):
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass
    return None


@attrs.frozen(slots=True)
class NamedTupleMethodVariable(VariableTracker):
    """`p._replace`, `p._asdict` bound to a named tuple (or `Point._make` with `receiver` a class VT)."""

    receiver: object
    name: str

    always_true = True

    def describe(self) -> str:
        return f"namedtuple {self.name}"

    def call(self, state, args, kwargs):
        return _NAMEDTUPLE_METHODS[self.name](state, self.receiver, args, kwargs)


def _replace(state, receiver, args, kwargs):
    if args:
        return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: _replace() takes 1 positional argument")
    unknown = [key for key in kwargs if key not in receiver.fields]
    if unknown:
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"ValueError: Got unexpected field names: {unknown!r}")
    items = tuple(kwargs.get(field, item) for field, item in zip(receiver.fields, receiver.items))
    return made_namedtuple(state, items, receiver.python_type, receiver.fields, receiver.class_source)


def _asdict(state, receiver, args, kwargs):
    if args or kwargs:
        return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: _asdict() takes no arguments")
    return new_dict_from_entries(state, tuple(zip(receiver.fields, receiver.items)))


def _make(state, receiver, args, kwargs):
    if len(args) != 1 or kwargs:
        return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: _make() takes one iterable")
    out = items_of(state, args[0])
    if type(out) is not tuple:
        return out
    state, items = out
    cls = receiver.python_type if isinstance(receiver, NamedTupleVariable) else receiver.cls
    source = receiver.class_source if isinstance(receiver, NamedTupleVariable) else receiver.source
    fields = namedtuple_base(cls)._fields
    if len(items) != len(fields):
        return unsupported(BreakKind.PYTHON_EXCEPTION,
                           f"TypeError: Expected {len(fields)} arguments, got {len(items)}")
    return made_namedtuple(state, tuple(items), cls, fields, source)


def made_namedtuple(state, items: tuple, cls, fields, class_source):
    """(state, NamedTupleVariable) for a named tuple the program makes: tagged like `made_tuple`'s, so
    every reference to it is one object when it leaves the trace (a subclass's objects have a
    `__dict__`: an attribute set on one at a break must be there in the resumed code)."""
    tag = state.next_oid
    return state.replace(next_oid=tag + 1), NamedTupleVariable(items, cls, fields, tag=tag, class_source=class_source)


_NAMEDTUPLE_METHODS = {"_replace": _replace, "_asdict": _asdict, "_make": _make}


@attrs.frozen(slots=True)
class NamedTupleClassVariable(ClassVariable):
    """A named tuple class: calling it builds a `NamedTupleVariable` with CPython's argument binding."""

    def call(self, state, args, kwargs):
        cls = self.cls
        base = namedtuple_base(cls)
        if not _plain_constructor(cls, base):
            return unsupported(BreakKind.UNSUPPORTED_CALL,
                               f"{self.describe()} overrides __new__ or __init__, which is not traced yet")
        new = base.__dict__["__new__"].__func__  # a staticmethod in the class dict
        out = self._defaults(state, new)
        if type(out) is not tuple:
            return out
        state, defaults = out
        parts = FunctionParts(new.__code__, new.__globals__, None, defaults, (), ())
        binding = bind_arguments(new.__code__, parts, [self, *args], dict(kwargs))
        if type(binding) is not tuple:  # Unsupported, or the TypeError eager raises
            return binding
        bound = binding[0]
        return made_namedtuple(state, tuple(bound[1:]), cls, base._fields, self.source)

    def _defaults(self, state, new):
        values = new.__defaults__ or ()
        if values and self.source is None:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"{self.describe()} reached without a source")
        source = AttrSource(AttrSource(self.source, "__new__"), "__defaults__")
        vts = []
        for position, value in enumerate(values):
            out = wrap_value(state, value, ItemSource(source, position))
            if type(out) is not tuple:
                return out
            state, vt = out
            vts.append(vt)
        return state, tuple(vts)

    def getattr(self, state, name):
        if name == "_make":
            return state, NamedTupleMethodVariable(self, name)
        if name == "_fields":
            return state, ConstantVariable(namedtuple_base(self.cls)._fields)
        return super().getattr(state, name)


def wrap_namedtuple(state, value, source, guard: bool):
    """A named tuple input: its type and length guarded, each item wrapped through `x[i]`."""
    if guard:
        state = state.add_guard(SequenceMatch(source, type(value), len(value)))
    out = wrap_items(state, value, source, guard)
    if type(out) is not tuple:
        return out
    state, items = out
    return state, NamedTupleVariable(items, type(value), namedtuple_base(type(value))._fields, source=source,
                                     class_source=AttrSource(source, "__class__"))


# -- enums ------------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class EnumVariable(ConstantVariable):
    """A member of an `enum.Enum` (IntEnum, Flag, ...): a constant singleton.

    Every operation that folds constants (`==`, `in`, IntEnum arithmetic,
    `Flag` bit operators, hashing as a dict key) works on the real member.
    Methods written on the enum class are inlined when the member was read
    through a source (so the method can be guarded)."""

    def describe(self) -> str:
        return f"{type(self.value).__name__}.{self.value.name}"

    def getattr(self, state, name):
        found = class_attribute(type(self.value), name)
        owner = _defining_class(type(self.value), name)
        if owner is not None and owner.__module__ != "enum" and type(found) is types.FunctionType:
            if self.source is None:
                return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                                   f"method {name!r} of {self.describe()} computed while tracing is not traced yet")
            return state, UserMethodVariable(found, self, AttrSource(AttrSource(self.source, "__class__"), name))
        if isinstance(found, property) and owner.__module__ != "enum" and found.fget is not None \
                and self.source is not None:
            return call_function_from(state, found.fget, AttrSource(AttrSource(AttrSource(self.source, "__class__"),
                                                                            name), "fget"), [self], {})
        return super().getattr(state, name)


def enum_member_vt(member, source=None) -> EnumVariable:
    return EnumVariable(member, source)


@attrs.frozen(slots=True)
class EnumClassVariable(ClassVariable):
    """An enum class: iteration, `len`, `in`, `Color(value)` and `Color[name]` over its members."""

    def _members(self):
        return tuple(enum_member_vt(member, self._member_source(member)) for member in self.cls)

    def _member_source(self, member):
        return None if self.source is None else AttrSource(self.source, member.name)

    def iterate(self, state):
        return iterate_items(state, self._members())

    def unpack(self, state, count):
        members = self._members()
        return members if count is None or count == len(members) else None

    def length(self):
        return len(self.cls)

    def contains(self, state, item):
        value = item.constant_value() if isinstance(item, ConstantVariable) else None
        if not isinstance(value, enum.Enum):
            return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: `in` on an enum class needs a member")
        return state, ConstantVariable(value in self.cls)

    def getitem(self, state, index):
        name = index.constant_value()
        if type(name) is not str:
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"KeyError: {index.describe()}")
        try:
            member = self.cls[name]
        except KeyError:
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"KeyError: {name!r}")
        return state, enum_member_vt(member, self._member_source(member))

    def getattr(self, state, name):
        member = self.cls.__members__.get(name) if isinstance(name, str) else None
        if member is not None:  # members cannot be reassigned, so the class guard covers them
            return state, enum_member_vt(member, self._member_source(member))
        if name == "__members__":  # a read-only view of the members, fixed with the class
            return state, FrozenObjectVariable(self.cls.__members__)
        return super().getattr(state, name)

    def call(self, state, args, kwargs):
        """`Color(value)`: the lookup by value, run for real when the class keeps enum's own `_missing_`."""
        missing = getattr(self.cls._missing_, "__func__", None)
        if len(args) != 1 or kwargs or getattr(missing, "__module__", None) != "enum":
            return unsupported(BreakKind.UNSUPPORTED_CALL,
                               f"{self.describe()} called with a custom _missing_ or to make a new enum "
                               "is not traced")
        value = args[0].as_python(state)
        if value is NOT_CONSTANT:
            return unsupported(BreakKind.UNSUPPORTED_CALL,
                               f"{self.describe()}({args[0].describe()}) needs a value known while tracing")
        try:
            member = self.cls(value)
        except ValueError as exc:
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"ValueError: {exc}")
        return state, enum_member_vt(member)


def wrap_record(state, value, source, guard: bool):
    """(state, vt) when `value` is a named tuple, a named tuple class, an enum member or an enum
    class; None for anything else."""
    kind = type(value)
    if isinstance(value, enum.Enum):
        check = IdMatch(source, value, f"{kind.__name__}.{value.name}")
        return (state.add_guard(check) if guard else state), enum_member_vt(value, source)
    if isinstance(value, type):
        if isinstance(value, enum.EnumMeta):
            check = IdMatch(source, value, f"enum {value.__qualname__}")
            return (state.add_guard(check) if guard else state), EnumClassVariable(value, source)
        if namedtuple_base(value) is not None:
            check = IdMatch(source, value, f"class {value.__qualname__}")
            return (state.add_guard(check) if guard else state), NamedTupleClassVariable(value, source)
        return None
    if kind is not tuple and isinstance(value, tuple) and namedtuple_base(kind) is not None:
        return wrap_namedtuple(state, value, source, guard)
    return None


@registry.class_value_rule
def record_class_vt(kind):
    """The class VT of a named-tuple or enum class reached without a source (`type(p)`), or None."""
    if isinstance(kind, enum.EnumMeta):
        return EnumClassVariable(kind)
    if namedtuple_base(kind) is not None:
        return NamedTupleClassVariable(kind)
    return None


@registry.from_python_rule(enum.Enum, subclasses=True)
def _enum_from_python(state, value):
    return state, EnumVariable(value)  # Flag.A | Flag.B, IntEnum(...) lookups: members are singletons
