"""Guards: what must hold of the inputs for a capture to be reused.

Each guard is a frozen record with a readable `str()` and a Python expression
over the traced function's arguments (by name), its globals `G` and builtins
`B`.  All guards of a capture are joined into one generated function, so a
cache hit costs one Python call and a chain of cheap comparisons.

A guard kind whose expression is an `and` chain of comparisons and negations
that evaluates the sources it renders from left to right, all of them whenever
it holds, says so with the class attribute `conjunction = True`: the guard
function (graph/guard_function.py) then joins it to the others without
parentheses and stores a source read again later at its first read.  Any other
expression (a shape guard's, printed by torch) is joined in parentheses, after
the reads it shares are stored.
"""
from __future__ import annotations

import math
import operator
import weakref
import re

import attrs
import torch


class _Namespace:
    """Collects the objects a guard expression refers to, under fresh names."""

    def __init__(self, taken=()):
        self.values = {}
        self._ids = {}
        self.g = "G" if "G" not in taken else "__snaptrace_G"
        self.b = "B" if "B" not in taken else "__snaptrace_B"
        self.f = "F" if "F" not in taken else "__snaptrace_F"

    def src(self, source) -> str:
        return source.expr(self.g, self.b, self.f)

    def ref(self, obj, hint: str) -> str:
        key = id(obj)
        if key not in self._ids:
            name = f"__snaptrace_{hint}{len(self.values)}"
            self._ids[key] = name
            self.values[name] = obj
        return self._ids[key]


_TENSOR_FIELDS = operator.attrgetter("dtype", "device", "layout", "requires_grad", "shape")
_TENSOR_FIELDS_AND_LEAF = operator.attrgetter("dtype", "device", "layout", "requires_grad", "shape", "is_leaf")
"""What a tensor guard compares as one tuple: read by one C call, spelled in a few tokens."""


@attrs.frozen(slots=True)
class TensorMatch:
    """A tensor input has the same type, dtype, device, layout, shape, strides, storage offset
    and requires_grad (and, when it requires grad, is still a leaf or not a leaf)."""

    conjunction = True

    source: object
    python_type: type
    dtype: torch.dtype
    device: torch.device
    shape: tuple
    stride: tuple
    requires_grad: bool
    storage_offset: int = 0
    layout: object = torch.strided
    is_leaf: bool = True

    @classmethod
    def of(cls, source, tensor: torch.Tensor, fake=None) -> "TensorMatch":
        """The guard for `tensor`; with the `fake` tensor that stands for it when some of its sizes
        are symbolic, those sizes (and the strides and offset that depend on them) are None here and
        guarded by the shape guards instead."""
        shape, stride, offset = tuple(tensor.shape), tuple(tensor.stride()), tensor.storage_offset()
        if fake is not None:
            shape = tuple(s if type(f) is int else None for s, f in zip(shape, fake.shape))
            stride = tuple(s if type(f) is int else None for s, f in zip(stride, fake.stride()))
            offset = offset if type(fake.storage_offset()) is int else None
        return cls(source, type(tensor), tensor.dtype, tensor.device, shape, stride, tensor.requires_grad, offset,
                   tensor.layout, tensor.is_leaf)

    def settled(self, fake) -> "TensorMatch":
        """This guard once the trace is over: a symbolic size (stride, offset) of `fake` that the
        trace specialised to a constant (`range(x.size(0))`, `x.size(0) == 3`) is checked as that
        constant here; the shape guards leave such sizes out."""
        def known(value):
            return value if type(value) is int else value.node.maybe_as_int()

        return attrs.evolve(
            self, shape=tuple(known(f) if s is None else s for s, f in zip(self.shape, fake.shape)),
            stride=tuple(known(f) if s is None else s for s, f in zip(self.stride, fake.stride())),
            storage_offset=known(fake.storage_offset()) if self.storage_offset is None else self.storage_offset)

    @property
    def symbolic(self) -> bool:
        return None in self.shape or None in self.stride or self.storage_offset is None

    def mismatch(self, value) -> str | None:
        """What differs in `value` from what this guard expects, as the recapture log says it."""
        if type(value) is not self.python_type:
            return f"type mismatch: expected {self.python_type.__name__}, actual {type(value).__name__}"
        for name in ("dtype", "device", "layout", "requires_grad"):
            if getattr(value, name) != getattr(self, name):
                return f"{name} mismatch: expected {getattr(self, name)}, actual {getattr(value, name)}"
        if value.dim() != len(self.shape):
            return f"rank mismatch: expected {len(self.shape)} dimension(s), actual {value.dim()}"
        for what, expected, actual in (("size", self.shape, value.shape), ("stride", self.stride, value.stride())):
            for dim, (e, a) in enumerate(zip(expected, actual)):
                if e is not None and e != a:
                    return f"{what} mismatch at index {dim}: expected {e}, actual {a}"
        if self.storage_offset is not None and value.storage_offset() != self.storage_offset:
            return f"storage offset mismatch: expected {self.storage_offset}, actual {value.storage_offset()}"
        if self.requires_grad and value.is_leaf != self.is_leaf:
            return f"is_leaf mismatch: expected {self.is_leaf}, actual {value.is_leaf}"
        return None

    def key(self):
        return ("tensor", self.source)

    def expr(self, ns: _Namespace) -> str:
        x = ns.src(self.source)
        if not self.symbolic:  # the common case, in few tokens (a guard function costs its parse)
            expected = (self.dtype, self.device, self.layout, self.requires_grad, self.shape)
            read = _TENSOR_FIELDS
            if self.requires_grad:
                expected, read = expected + (self.is_leaf,), _TENSOR_FIELDS_AND_LEAF
            return (f"type({x}) is {ns.ref(self.python_type, 'type')} and {ns.ref(read, 'fields')}({x}) == "
                    f"{ns.ref(expected, 'expected')} and {x}.stride() == {self.stride!r}"
                    f" and {x}.storage_offset() == {self.storage_offset!r}")
        return (f"type({x}) is {ns.ref(self.python_type, 'type')}"
                f" and {x}.dtype is {ns.ref(self.dtype, 'dtype')}"
                f" and {x}.device == {ns.ref(self.device, 'device')}"
                + self._symbolic_layout(x)
                + f" and {x}.layout is {ns.ref(self.layout, 'layout')}"
                f" and {x}.requires_grad is {self.requires_grad!r}"
                + (f" and {x}.is_leaf is {self.is_leaf!r}" if self.requires_grad else ""))

    def _symbolic_layout(self, x: str) -> str:
        """The rank, and the sizes, strides and offset that are not symbolic (None)."""
        text = f" and {x}.dim() == {len(self.shape)}"
        text += "".join(f" and {x}.size({dim}) == {size}" for dim, size in enumerate(self.shape) if size is not None)
        text += "".join(f" and {x}.stride({dim}) == {size}" for dim, size in enumerate(self.stride)
                        if size is not None)
        if self.storage_offset is not None:
            text += f" and {x}.storage_offset() == {self.storage_offset!r}"
        return text

    @staticmethod
    def _dims(values) -> str:
        return "(" + ", ".join("*" if v is None else str(v) for v in values) + ("," if len(values) == 1 else "") + ")"

    def __str__(self):
        if self.symbolic:
            return (f"{self.source.expr()}: {self.python_type.__name__}(dtype={self.dtype}, "
                    f"device={self.device}, shape={self._dims(self.shape)}, stride={self._dims(self.stride)}, "
                    f"storage_offset={'*' if self.storage_offset is None else self.storage_offset}, "
                    + (f"layout={self.layout}, " if self.layout is not torch.strided else "")
                    + f"requires_grad={self.requires_grad}"
                    + (f", is_leaf={self.is_leaf})" if self.requires_grad else ")"))
        return (f"{self.source.expr()}: {self.python_type.__name__}(dtype={self.dtype}, "
                f"device={self.device}, shape={self.shape}, stride={self.stride}, "
                f"storage_offset={self.storage_offset}, "
                + (f"layout={self.layout}, " if self.layout is not torch.strided else "")
                + f"requires_grad={self.requires_grad}"
                + (f", is_leaf={self.is_leaf})" if self.requires_grad else ")"))


@attrs.frozen(slots=True)
class ConstantMatch:
    """A Python scalar input has the same type and value (NaN matches NaN, -0.0 only -0.0)."""

    conjunction = True

    source: object
    value: object = attrs.field(eq=False)
    value_key: object = attrs.field(default=None)

    @classmethod
    def of(cls, source, value) -> "ConstantMatch":
        return cls(source, value, (type(value), repr(value)))

    def key(self):
        return ("constant", self.source)

    def expr(self, ns: _Namespace) -> str:
        x = ns.src(self.source)
        kind = type(self.value)
        if self.value is None or kind is bool:
            return f"{x} is {self.value!r}"
        type_ref = ns.ref(kind, "type")
        if kind is float and math.isnan(self.value):
            return f"type({x}) is {type_ref} and {x} != {x}"
        if kind is float and self.value == 0.0:  # 0.0 == -0.0, but they behave differently
            sign = math.copysign(1.0, self.value)
            return f"type({x}) is {type_ref} and {x} == 0.0 and {ns.ref(math.copysign, 'fn')}(1.0, {x}) == {sign!r}"
        return f"type({x}) is {type_ref} and {x} == {ns.ref(self.value, 'const')}"

    def __str__(self):
        return f"{self.source.expr()}: {type(self.value).__name__} == {self.value!r}"


class _Strong:
    """A reference to an object that cannot be referenced weakly (builtins, ints, ...): called, it
    gives the object, as a weak reference does."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __call__(self):
        return self.obj


def held_weakly(obj):
    """A weak reference to `obj` when it supports one, else a `_Strong` holder: what guards keep of
    the objects they compare against, so that a capture does not keep its inputs alive (a dead
    object fails the guard)."""
    try:
        return weakref.ref(obj)
    except TypeError:
        return _Strong(obj)


@attrs.frozen(slots=True)
class IdMatch:
    """An object (module, function, ...) is the very same object as at capture.  The object is held
    weakly when it can be: once it is freed, the guard fails."""

    conjunction = True

    source: object
    ref: object = attrs.field(eq=False, converter=held_weakly)
    description: str = ""

    @property
    def obj(self):
        return self.ref()

    def key(self):
        return ("id", self.source)

    def expr(self, ns: _Namespace) -> str:
        x = ns.src(self.source)
        if type(self.ref) is _Strong:
            return f"{x} is {ns.ref(self.ref.obj, 'obj')}"
        return f"{ns.ref(self.ref, 'ref')}() is {x} is not None"

    def __str__(self):
        return f"{self.source.expr()} is {self.description or repr(self.obj)}"


@attrs.frozen(slots=True)
class TypeMatch:
    """An object has exactly this type; what it holds is read (and guarded) through other sources."""

    conjunction = True

    source: object
    python_type: type

    def key(self):
        return ("type", self.source)

    def expr(self, ns: _Namespace) -> str:
        return f"type({ns.src(self.source)}) is {ns.ref(self.python_type, 'type')}"

    def __str__(self):
        return f"type({self.source.expr()}) is {self.python_type.__name__}"


@attrs.frozen(slots=True)
class BuiltinMatch:
    """A global name resolves to the same builtin: not shadowed in the module, not replaced."""

    conjunction = True

    name: str
    obj: object = attrs.field(eq=False)

    def key(self):
        return ("builtin", self.name)

    def expr(self, ns: _Namespace) -> str:
        return f"{self.name!r} not in {ns.g} and {ns.b}[{self.name!r}] is {ns.ref(self.obj, 'builtin')}"

    def __str__(self):
        return f"{self.name} is the builtin {self.name} (not shadowed by a global)"


@attrs.frozen(slots=True)
class GlobalPresence:
    """The traced function's module has (or has not) a global `name`: what `"name" in globals()`
    answered, or a `globals()[name]` that raised KeyError."""

    conjunction = True

    name: str
    present: bool

    def key(self):
        return ("global_presence", self.name)

    def expr(self, ns: _Namespace) -> str:
        return f"({self.name!r} in {ns.g}) is {self.present}"

    def __str__(self):
        return f"global {self.name} is {'defined' if self.present else 'not defined'}"


def ambient_modes() -> tuple:
    """Autocast (CPU and CUDA: on or off, CPU's dtype) and inference mode, as a capture depends on
    them: fake ops run under them, so dtypes and inference flags are folded from them."""
    return (torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"), torch.is_autocast_enabled("cuda"),
            torch.is_inference_mode_enabled())


_NO_MODES = (False, None, False, False)


@attrs.frozen(slots=True)
class GlobalStateMatch:
    """Torch's global modes that change what ops produce: grad mode, default dtype, and autocast and
    inference mode (see `ambient_modes`)."""

    conjunction = True

    grad_enabled: bool
    default_dtype: torch.dtype
    modes: tuple = _NO_MODES

    @classmethod
    def now(cls) -> "GlobalStateMatch":
        return cls(torch.is_grad_enabled(), torch.get_default_dtype(), ambient_modes())

    def key(self):
        return ("global-state",)

    def expr(self, ns: _Namespace) -> str:
        return (f"{ns.ref(torch.is_grad_enabled, 'fn')}() is {self.grad_enabled!r}"
                f" and {ns.ref(torch.get_default_dtype, 'fn')}() is {ns.ref(self.default_dtype, 'dtype')}"
                f" and {ns.ref(ambient_modes, 'fn')}() == {ns.ref(self.modes, 'modes')}")

    def __str__(self):
        text = f"torch.is_grad_enabled() is {self.grad_enabled}, default dtype is {self.default_dtype}"
        autocast_cpu, dtype, autocast_cuda, inference = self.modes
        if autocast_cpu or autocast_cuda:
            text += f", autocast on ({'cpu, ' + str(dtype) if autocast_cpu else 'cuda'})"
        if inference:
            text += ", inference mode on"
        return text


@attrs.frozen(slots=True)
class SequenceMatch:
    """A tuple input has the same type and length (its items have guards of their own)."""

    conjunction = True

    source: object
    python_type: type
    length: int

    def key(self):
        return ("sequence", self.source)

    def expr(self, ns: _Namespace) -> str:
        x = ns.src(self.source)
        return f"type({x}) is {ns.ref(self.python_type, 'type')} and len({x}) == {self.length}"

    def __str__(self):
        return f"{self.source.expr()}: {self.python_type.__name__} of length {self.length}"


@attrs.frozen(slots=True)
class KeysMatch:
    """A dict or set input has the same type and the same keys, in the same order, of the same types
    (so {1: a} and {1.0: a}, which compare equal, are told apart)."""

    conjunction = True

    source: object
    python_type: type
    keys: tuple = attrs.field(eq=False)
    key_types: tuple = attrs.field(default=None)

    def __attrs_post_init__(self):
        if self.key_types is None:
            object.__setattr__(self, "key_types", tuple(type(key) for key in self.keys))

    def key(self):
        return ("keys", self.source)

    def expr(self, ns: _Namespace) -> str:
        x = ns.src(self.source)
        return (f"type({x}) is {ns.ref(self.python_type, 'type')} and tuple({x}) == {ns.ref(self.keys, 'keys')}"
                f" and tuple(map(type, {x})) == {ns.ref(self.key_types, 'types')}")

    def __str__(self):
        return f"{self.source.expr()}: {self.python_type.__name__} with keys {list(self.keys)!r}"


@attrs.frozen(slots=True)
class NotInInstanceDict:
    """An object's own `__dict__` has no `name`: reading `obj.name` went on to its class.  Needed where
    the object is not pinned by identity (a value made anew on every call)."""

    conjunction = True

    source: object
    name: str

    def key(self):
        return ("not_in_instance_dict", self.source, self.name)

    def expr(self, ns: _Namespace) -> str:
        return f"{self.name!r} not in getattr({ns.src(self.source)}, '__dict__', ())"

    def __str__(self):
        return f"{self.source.expr()} has no attribute {self.name!r} of its own"


@attrs.frozen(slots=True)
class MissingAttribute:
    """An object has no attribute `name` (the trace took a getattr default or a False hasattr)."""

    conjunction = True

    source: object
    name: str

    def key(self):
        return ("missing", self.source, self.name)

    def expr(self, ns: _Namespace) -> str:
        return f"not hasattr({ns.src(self.source)}, {self.name!r})"

    def __str__(self):
        return f"{self.source.expr()} has no attribute {self.name!r}"


@attrs.frozen(slots=True)
class ShapeGuard:
    """A relation on symbolic sizes and ints that the capture relies on (`x.size(0) >= 2`,
    `y.size(0) == x.size(0)`), produced by torch's ShapeEnv (graph/shape_guards.py).

    `template` is the Python expression with each input it reads written as `__snaptrace_symN`,
    standing for `sources[N]`; the guard function and `str()` put the inputs' expressions in."""

    template: str
    sources: tuple

    def key(self):
        return ("shape", self.template, self.sources)

    def _filled(self, render) -> str:
        text = self.template
        for position in reversed(range(len(self.sources))):  # __snaptrace_sym10 before __snaptrace_sym1
            text = text.replace(f"__snaptrace_sym{position}", render(self.sources[position]))
        return text

    def expr(self, ns: _Namespace) -> str:
        return self._filled(ns.src)

    def __str__(self):
        text = self._filled(lambda source: source.expr())
        low = _LOWER_BOUND.fullmatch(text)
        if low is not None:  # torch writes `2 <= x.size(0)`; read as `x.size(0) >= 2`
            return f"{low.group(2)} >= {low.group(1)}"
        between = _BETWEEN.fullmatch(text)
        if between is not None:  # `2 <= x.size(0) and x.size(0) <= 3`
            return f"{between.group(1)} <= {between.group(2)} <= {between.group(3)}"
        return text


_OPERAND = r"([\w.\[\]()'\"]+)"
_LOWER_BOUND = re.compile(r"(-?\d+) <= " + _OPERAND)
_BETWEEN = re.compile(r"(-?\d+) <= " + _OPERAND + r" and \2 <= (-?\d+)")
