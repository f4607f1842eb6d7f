"""Where a value the tracer did not create came from.

A source is how the generated code (guards and wrappers) gets the real object
back at call time, so every source knows two renderings of itself: a Python
expression for the guard function (`g`, `b` and `f` name the module globals,
the builtins and the traced function there), and bytecode for the wrapper.  A
source read through a base also renders itself over its base's expression
already spelled (`expr_over`), so the guard function spells each source once.  Sources are
small frozen records compared by value, so guards keyed on them de-duplicate.
"""
from __future__ import annotations

import keyword
import operator
import sys

import attrs

from core.assembler import Instr


def local_name(name: str) -> str:
    """A parameter name as generated Python source can spell it: itself when it is an identifier,
    else a stand-in (`.0` of a comprehension, pytest's `@py_assert1`)."""
    if name.isidentifier() and not keyword.iskeyword(name):
        return name
    return "__snaptrace_local_" + "".join(c if c.isalnum() or c == "_" else f"_{ord(c):x}_" for c in name)


def _same_object_first(cls):
    """Sources built on a base compare by value, recursively; most comparisons (a guard or memo key
    found again) meet the very same base object, so identity answers first and stops the descent.
    The fields are compared as attrs would (as one tuple, of the same class), the base last, in one
    Python call per level: a memo key met again as a fresh chain (`super()`'s method source, read
    for every call) compares level by level."""
    names = [field.name for field in attrs.fields(cls) if field.eq and field.name != "base"]
    fields = operator.attrgetter(*names, "base")

    def __eq__(self, other):
        if self is other:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        return fields(self) == fields(other)

    def __ne__(self, other):
        equal = __eq__(self, other)
        return equal if equal is NotImplemented else not equal

    cls.__eq__, cls.__ne__ = __eq__, __ne__
    return cls


@attrs.frozen(slots=True, cache_hash=True)
class LocalSource:
    """An argument of the traced function, by parameter name.  `fresh` marks a resume function's
    parameter: a value the entry rebuilds on every call (see `made_per_call`)."""

    name: str
    fresh: bool = False

    def made_per_call(self) -> bool:
        return self.fresh

    def expr(self, g: str = "G", b: str = "B", f: str = "F") -> str:
        return local_name(self.name)

    def emit(self) -> list:
        return [Instr("LOAD_FAST", self.name)]

    def root_names(self) -> tuple:
        return (self.name,)

    def placeholder_name(self) -> str:
        return self.name


@attrs.frozen(slots=True, cache_hash=True)
class GlobalSource:
    """A name in the traced function's module globals (`G` in guards)."""

    name: str

    def expr(self, g: str = "G", b: str = "B", f: str = "F") -> str:
        return f"{g}[{self.name!r}]"

    def emit(self) -> list:
        return [Instr("LOAD_GLOBAL", (False, "__snaptrace_G")),
                Instr("LOAD_CONST", self.name), Instr("BINARY_SUBSCR")]

    def root_names(self) -> tuple:
        return ()

    def made_per_call(self) -> bool:
        return False

    def placeholder_name(self) -> str:
        return "G_" + self.name


@attrs.frozen(slots=True, cache_hash=True)
class BuiltinSource:
    """A builtin reached through a global lookup that missed the module dict."""

    name: str

    def expr(self, g: str = "G", b: str = "B", f: str = "F") -> str:
        return f"{b}[{self.name!r}]"

    def emit(self) -> list:
        return [Instr("LOAD_GLOBAL", (False, "__snaptrace_B")),
                Instr("LOAD_CONST", self.name), Instr("BINARY_SUBSCR")]

    def root_names(self) -> tuple:
        return ()

    def made_per_call(self) -> bool:
        return False

    def placeholder_name(self) -> str:
        return "B_" + self.name


@attrs.frozen(slots=True)
class _ReadThrough:
    """What every source read through another one (its `base`) shares: its guard expression is its
    own part spelled over the base's (`expr_over`), its roots are the base's, and whether it is made
    per call is the base's, worked out once when it is made (asked for every wrap and guard, down
    the chain)."""

    base: object
    per_call: bool = attrs.field(init=False, eq=False, hash=False, repr=False)

    @per_call.default
    def _base_per_call(self) -> bool:
        # a base that is no source (None, or a stand-in that generated code loads from a local) is not
        # made per call; a base read through another already knows (no call: sources are made per read)
        base = self.base
        if isinstance(base, _ReadThrough):
            return base.per_call
        made = getattr(base, "made_per_call", None)
        return made() if made is not None else False

    def expr(self, g: str = "G", b: str = "B", f: str = "F") -> str:
        return self.expr_over(self.base.expr(g, b, f), g, b, f)

    def root_names(self) -> tuple:
        return self.base.root_names()

    def made_per_call(self) -> bool:
        return self.per_call


@_same_object_first
@attrs.frozen(slots=True, cache_hash=True)
class AttrSource(_ReadThrough):
    """Attribute `name` of another source's object."""

    name: str

    def expr_over(self, base: str, g: str = "G", b: str = "B", f: str = "F") -> str:
        if self.name.isidentifier():
            return f"{base}.{self.name}"
        return f"getattr({base}, {self.name!r})"  # e.g. ModuleList children "0"

    def emit(self) -> list:
        return self.base.emit() + [Instr("LOAD_ATTR", self.name)]

    def placeholder_name(self) -> str:
        return f"{self.base.placeholder_name()}_{self.name}"


@_same_object_first
@attrs.frozen(slots=True, cache_hash=True)
class ItemSource(_ReadThrough):
    """Item `index` (an int or str constant) of another source's object."""

    index: object

    def expr_over(self, base: str, g: str = "G", b: str = "B", f: str = "F") -> str:
        return f"{base}[{self.index!r}]"

    def emit(self) -> list:
        return self.base.emit() + [Instr("LOAD_CONST", self.index), Instr("BINARY_SUBSCR")]

    def placeholder_name(self) -> str:
        return f"{self.base.placeholder_name()}_{self.index}"


@attrs.frozen(slots=True, cache_hash=True)
class DictItemSource(_ReadThrough):
    """Item `key` of a dict-subclass object read with `dict.__getitem__`, past the class's own
    `__getitem__` (which guards and entries must not run: it may count, log or compute)."""

    key: object

    def expr_over(self, base: str, g: str = "G", b: str = "B", f: str = "F") -> str:
        return f"{b}['dict'].__getitem__({base}, {self.key!r})"

    def emit(self) -> list:
        return [Instr("PUSH_NULL"), Instr("LOAD_CONST", dict.__getitem__), *self.base.emit(),
                Instr("LOAD_CONST", self.key), Instr("PRECALL", 2), Instr("CALL", 2)]

    def placeholder_name(self) -> str:
        return f"{self.base.placeholder_name()}_{self.key}"


@attrs.frozen(slots=True, cache_hash=True)
class FunctionSource:
    """The traced function object itself (`F` in guards), e.g. to reach its closure cells."""

    def expr(self, g: str = "G", b: str = "B", f: str = "F") -> str:
        return f

    def emit(self) -> list:
        return [Instr("LOAD_GLOBAL", (False, "__snaptrace_fn"))]

    def root_names(self) -> tuple:
        return ()

    def made_per_call(self) -> bool:
        return False

    def placeholder_name(self) -> str:
        return "F"


@_same_object_first
@attrs.frozen(slots=True, cache_hash=True)
class DictValueSource(_ReadThrough):
    """The value at `position` of a dict input whose keys (guarded in order by KeysMatch) include a key
    a guard cannot spell, such as an enum member: `[*d.values()][position]`."""

    position: int

    def expr_over(self, base: str, g: str = "G", b: str = "B", f: str = "F") -> str:
        return f"[*{base}.values()][{self.position}]"

    def emit(self) -> list:
        return [Instr("BUILD_LIST", 0), *self.base.emit(), Instr("LOAD_METHOD", "values"), Instr("PRECALL", 0),
                Instr("CALL", 0), Instr("LIST_EXTEND", 1), Instr("LOAD_CONST", self.position),
                Instr("BINARY_SUBSCR")]

    def placeholder_name(self) -> str:
        return f"{self.base.placeholder_name()}_v{self.position}"


@attrs.frozen(slots=True, cache_hash=True)
class ImportedModuleSource:
    """A module in sys.modules, by its full name."""

    name: str

    def expr(self, g: str = "G", b: str = "B", f: str = "F") -> str:
        return f"{b}['__import__']({self.name!r}, fromlist=('_',))"

    def emit(self) -> list:
        return [Instr("LOAD_CONST", sys.modules[self.name])]

    def root_names(self) -> tuple:
        return ()

    def made_per_call(self) -> bool:
        return False

    def placeholder_name(self) -> str:
        return "M_" + self.name.replace(".", "_")


@_same_object_first
@attrs.frozen(slots=True)
class TensorPropertySource(_ReadThrough):
    """A size, stride or the storage offset of a tensor input: where a symbolic size comes from
    (`x.size(0)`), so a graph input and a guard can read it at call time."""

    prop: str  # "size", "stride" or "storage_offset"
    index: object = None  # the dimension; None for the storage offset

    def expr_over(self, base: str, g: str = "G", b: str = "B", f: str = "F") -> str:
        index = "" if self.index is None else repr(self.index)
        return f"{base}.{self.prop}({index})"

    def emit(self) -> list:
        args = [] if self.index is None else [Instr("LOAD_CONST", self.index)]
        return self.base.emit() + [Instr("LOAD_METHOD", self.prop), *args, Instr("PRECALL", len(args)),
                                   Instr("CALL", len(args))]

    def placeholder_name(self) -> str:
        index = "" if self.index is None else self.index
        return f"{self.base.placeholder_name()}_{self.prop}{index}"
