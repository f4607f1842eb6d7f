"""One registry for the rules that give operations their meaning across value kinds.

Every family of VTs plugs in here with decorators, next to its own code, and
nothing here knows any family: the registry only stores rules and finds them.
The tables:

* **builtin rules** (`builtin_rule`): what calling a builtin or library function
  means (`len`, `isinstance`, `operator.add`, `functools.partial`, ...), keyed by
  the function.  A function may have several rules, tried in order until one
  answers (returns something other than None); rules registered with
  `first=True` (objects of the user's classes dispatching to their dunders) come
  before the others.  `pure_function` marks functions folded on constants.
* **binary rules** (`binary_rule`): `a <op> b`, keyed by the pair of VT classes
  and found along both classes' MROs, so a subclass inherits its base's rules.
* **method tables** (`method`): the methods of builtin containers (`list.append`,
  `dict.get`, ...), keyed by the Python type and the method name, each row saying
  which arguments the method accepts.
* **wrap rules** (`wrap_rule`): how a real object reached through a source
  becomes a VT, tried in the order `WRAP_ORDER` declares; `wrap_value` is the
  dispatcher.
* **conversion rules** (`from_python_rule`): how plain data computed at trace
  time (a folded call's result) becomes a VT.

Registration checks names and duplicates the way `tracer/registry.py` checks
opcode handlers, and `check_complete()` (run by the tests) that every declared
wrap rule exists.  Families are registered by importing them (`vt/families.py`).
"""
from __future__ import annotations

import attrs

from core.outcomes import BreakKind, unsupported
from core.sources import ItemSource
from vt.guard_trail import only_guards_added, with_own_guards
from vt.protocol import NOT_CONSTANT, VariableTracker, is_python_class

# -- builtin rules ---------------------------------------------------------------------------------

_BUILTIN_RULES: dict = {}  # fn -> tuple of rules, tried in order
_RULES_BY_KIND: dict = {}  # fn -> (rules registered first, the ordinary rule or None)
_PURE_FUNCTIONS: set = set()


def _hashable(fn) -> bool:
    try:
        hash(fn)
    except TypeError:
        return False
    return True


def builtin_rule(*fns, first: bool = False):
    """Decorator: `rule(state, args, kwargs)` gives the meaning of calling each of `fns`.

    A rule returns an outcome, or None to let the next rule (or the generic folding of pure
    functions) answer.  A second ordinary rule for one function is a mistake and raises."""

    def register(rule):
        for fn in fns:
            add_builtin_rule(fn, rule, first=first)
        return rule

    return register


def add_builtin_rule(fn, rule, first: bool = False) -> None:
    """The non-decorator form of `builtin_rule`, for rules made by a factory."""
    if not callable(fn) or not _hashable(fn):
        raise ValueError(f"{fn!r} cannot key a builtin rule")
    firsts, ordinary = _RULES_BY_KIND.get(fn, ((), None))
    if first:
        firsts = (rule,) + firsts
    elif ordinary is not None:
        raise ValueError(f"{getattr(fn, '__qualname__', fn)} already has a rule")
    else:
        ordinary = rule
    _RULES_BY_KIND[fn] = (firsts, ordinary)
    _BUILTIN_RULES[fn] = firsts + ((ordinary,) if ordinary is not None else ())


def register_builtin_rules(table: dict, first: bool = False) -> None:
    """Register a table {fn: rule} at once (rules made by factories, one per function)."""
    for fn, rule in table.items():
        add_builtin_rule(fn, rule, first=first)


_CLASS_RULES: dict = {}  # base class -> rule for calling it or any subclass of it


def class_rule(base: type):
    """Decorator: `rule(state, cls, cls_source, args, kwargs)` gives the meaning of calling `base`
    or any of its subclasses (`ValueError("x")`: every exception class); tried before builtin rules."""

    def register(rule):
        if base in _CLASS_RULES:
            raise ValueError(f"{base.__qualname__} already has a class rule")
        _CLASS_RULES[base] = rule
        return rule

    return register


def class_rule_for(cls):
    """The class rule for calling `cls` (a rule registered for one of its bases), or None."""
    if isinstance(cls, type):
        for base in cls.__mro__:
            rule = _CLASS_RULES.get(base)
            if rule is not None:
                return rule
    return None


def builtin_rules(fn) -> tuple:
    """The rules for calling `fn`, in the order to try them (empty when none)."""
    try:
        return _BUILTIN_RULES.get(fn, ())
    except TypeError:  # an unhashable callable
        return ()


def pure_function(*fns) -> None:
    """Mark functions as pure: called on arguments all known while tracing, they are run for real."""
    _PURE_FUNCTIONS.update(fns)


def is_pure(fn) -> bool:
    try:
        return fn in _PURE_FUNCTIONS
    except TypeError:
        return False


def has_rule(value) -> bool:
    """Whether calling `value` is modelled by a builtin rule or folded as a pure function."""
    try:
        return callable(value) and (value in _BUILTIN_RULES or value in _PURE_FUNCTIONS)
    except Exception:  # unhashable, or a user object whose __hash__ / __eq__ raises
        return False


# -- binary rules ----------------------------------------------------------------------------------

_BINARY_RULES: dict = {}  # (class of a, class of b) -> rule(state, fn, a, b, symbol, plain)


def binary_rule(*pairs):
    """Decorator: `rule(state, fn, a, b, symbol, plain)` handles `a <op> b` for each (class, class) pair."""

    def register(rule):
        for left, right in pairs:
            add_binary_rule(left, right, rule)
        return rule

    return register


def add_binary_rule(left: type, right: type, rule) -> None:
    for cls in (left, right):
        if not (isinstance(cls, type) and issubclass(cls, VariableTracker)):
            raise ValueError(f"binary rules are keyed by VT classes, not {cls!r}")
    if (left, right) in _BINARY_RULES:
        raise ValueError(f"({left.__name__}, {right.__name__}) already has a binary rule")
    _BINARY_RULES[(left, right)] = rule


def binary_rule_for(a, b):
    """The rule for `a <op> b`: the pair of classes nearest along both MROs, or None."""
    rules = _BINARY_RULES
    rule = rules.get((type(a), type(b)))
    if rule is not None:
        return rule
    for left in type(a).__mro__:
        for right in type(b).__mro__:
            rule = rules.get((left, right))
            if rule is not None:
                return rule
            if right is VariableTracker:
                break
        if left is VariableTracker:
            break
    return None


_UNARY_RULES: dict = {}  # VT class -> rule(state, opname, value)


def unary_rule(*classes):
    """Decorator: `rule(state, opname, value)` handles UNARY_* opcodes (and `operator.neg` and
    friends) on values of these VT classes and their subclasses."""

    def register(rule):
        for cls in classes:
            if cls in _UNARY_RULES:
                raise ValueError(f"{cls.__name__} already has a unary rule")
            _UNARY_RULES[cls] = rule
        return rule

    return register


def unary_rule_for(value):
    """The unary rule of the nearest class along the value's MRO, or None."""
    for cls in type(value).__mro__:
        rule = _UNARY_RULES.get(cls)
        if rule is not None:
            return rule
        if cls is VariableTracker:
            return None
    return None


_CODE_CALL_RULES: dict = {}  # code flag -> make(state, frame, name)


def code_call_rule(flag: int):
    """Decorator: `make(state, callee_frame, name)` is what calling a Python function whose code has
    `flag` returns at once, without running its body (a generator object for CO_GENERATOR)."""

    def register(make):
        if flag in _CODE_CALL_RULES:
            raise ValueError(f"code flag {flag:#x} already has a call rule")
        _CODE_CALL_RULES[flag] = make
        return make

    return register


def code_call_rule_for(code):
    """The call rule of the first registered flag `code` has, or None (the body runs at once)."""
    for flag, make in _CODE_CALL_RULES.items():
        if code.co_flags & flag:
            return make
    return None


_BOUND_RULES: dict = {}  # C function -> rule(state, receiver, args, kwargs)


def register_bound_rules(table: dict) -> None:
    """Rules for C methods of builtin base classes read off objects of Python classes
    (`object.__setattr__`, `dict.get` on a dict subclass): {C function: rule(state, receiver,
    args, kwargs)}.  Each is also the builtin rule of the unbound form, `object.__setattr__(obj,
    name, value)`, whose first argument is the receiver."""
    for fn, rule in table.items():
        if fn in _BOUND_RULES:
            raise ValueError(f"{getattr(fn, '__qualname__', fn)} already has a bound rule")
        _BOUND_RULES[fn] = rule
        add_builtin_rule(fn, _unbound(rule))


def _unbound(rule):
    def call(state, args, kwargs):
        if not args:
            return unsupported(BreakKind.PYTHON_EXCEPTION, "TypeError: descriptor needs an argument")
        return rule(state, args[0], list(args[1:]), kwargs)
    return call


def bound_rule_for(fn):
    """The bound rule of the C function `fn`, or None."""
    try:
        return _BOUND_RULES.get(fn)
    except TypeError:  # unhashable
        return None


_DUNDER_MODELS: list = []  # (recognises(fn), model(state, obj_vt)) for generated dunders


def dunder_model(recognises):
    """Decorator: `model(state, obj_vt)` is what calling a Python dunder that `recognises(fn)`
    means, without inlining its code (the `__repr__` dataclasses generate, which guards against
    recursion through id() and threads)."""

    def register(model):
        _DUNDER_MODELS.append((recognises, model))
        return model

    return register


def dunder_model_for(fn):
    """The model of the dunder function `fn`, or None (its code is inlined)."""
    for recognises, model in _DUNDER_MODELS:
        if recognises(fn):
            return model
    return None


# -- method tables of builtin containers -----------------------------------------------------------

@attrs.frozen(slots=True)
class Method:
    """A row of a method table: the rule and the arguments it accepts."""

    rule: object
    min_args: int = 0
    max_args: int = 0
    keywords: frozenset = frozenset()  # accepted keyword names; "**" accepts any
    is_classmethod: bool = False  # the receiver is the class (dict.fromkeys), never checked


_METHODS: dict = {}  # python type -> {name: Method}


def method(owner: type, name: str, min_args: int = 0, max_args: int | None = None, keywords=(),
           is_classmethod: bool = False):
    """Decorator: `rule(state, receiver, args, kwargs)` is `owner.name`, taking min_args..max_args
    positional arguments (checked before the rule runs)."""
    if not hasattr(owner, name):
        raise ValueError(f"{owner.__name__} has no method {name!r}")

    def register(rule):
        table = _METHODS.setdefault(owner, {})
        if name in table:
            raise ValueError(f"{owner.__name__}.{name} already has a rule")
        table[name] = Method(rule, min_args, min_args if max_args is None else max_args, frozenset(keywords),
                             is_classmethod)
        return rule

    return register


_RECEIVERS: dict = {}  # python type -> the VT class whose values are its instances (list -> ListVariable)


def container_type(python_type: type, vt_class: type) -> None:
    """Declare `vt_class` as the VT of values of the builtin container `python_type`: what the
    unbound methods (`list.append(lst, x)`) accept as their receiver."""
    if python_type in _RECEIVERS:
        raise ValueError(f"{python_type.__name__} already has a VT class")
    _RECEIVERS[python_type] = vt_class


def receiver_class(python_type: type) -> type:
    return _RECEIVERS[python_type]


def method_row(owner: type, name: str):
    """The Method row of `owner.name`, or None when the method is not modelled."""
    table = _METHODS.get(owner)
    return None if table is None else table.get(name)


# -- wrapping real objects -------------------------------------------------------------------------

WRAP_ORDER = (
    # exact and cheap tests first; objects of the user's classes before probes that could run their code
    "tensor", "tuple", "container", "constant", "module", "user_marked", "record", "frozen", "container_method",
    "cell", "functools", "graph_break", "grad_mode_factory", "mode_manager", "user_method", "nn_module", "torch_op",
    "user_object", "torch_function", "builtin", "rule_callable", "pure_function", "opaque_torch_callable", "function",
    "autograd_function", "class",
)
"""The order in which wrap rules are asked about a real object; the first that answers wins."""

_WRAP_RULES: dict = {}  # name -> rule(state, value, source, guard) -> outcome or None
_WRAP_ONLY: dict = {}  # name -> the classes outside whose instances the rule always answers None


def wrap_rule(name: str, only: tuple = None):
    """Decorator: `rule(state, value, source, guard)` wraps the real objects it recognises (returning
    (state, vt) or a stop) and returns None for the others.  `name` must appear in WRAP_ORDER.
    `only`, when given, promises that the rule answers None for every value that is not an instance
    of one of these classes, so the dispatcher need not ask it about the others (`rules_for`)."""
    if name not in WRAP_ORDER:
        raise ValueError(f"wrap rule {name!r} is not in WRAP_ORDER")

    def register(rule):
        if name in _WRAP_RULES:
            raise ValueError(f"wrap rule {name!r} is already registered")
        _WRAP_RULES[name] = rule
        if only is not None:
            _WRAP_ONLY[name] = only
        return rule

    return register


_WRAP_SEQUENCE: list = []  # the registered rules in WRAP_ORDER, filled by check_complete()


def wrap_value(state, value, source, guard: bool = True):
    """VT for the real object `value` reached through `source`: (state, vt), or the stop that says
    why it cannot be modelled.  `guard=False` for objects taken as fixed (inside torch).

    Model code reads the same globals and attributes over and over (`nn.functional`, `torch`, a
    config's fields, a layer's class), so a wrap whose only effect was to add guards is remembered
    for the trace (`Env.wrapped`): the same object at the same source later gets the same VT and the
    same guards without asking the rules again.  A heap handle is remembered only while the state
    still knows the object under the same handle (a rolled-back snapshot may not)."""
    if source is None:  # nothing to guard it or load it through: a value the trace cannot name
        return unsupported(BreakKind.UNSUPPORTED_VALUE, f"a {type(value).__qualname__} was reached without a source")
    memo = state.env.wrapped
    hit = memo.get((source, guard))
    if hit is not None and hit[0] is value:
        _, vt, guards, oid = hit
        if oid is None or state.known_objects.get(id(value)) == oid:
            state = state.add_guards(guards.guards())
            return state, (vt if oid is None else state.heap[oid])
    if source.made_per_call():
        return _apply_wrap_rules(state, value, source, guard)
    # Every guard the wrap needs is remembered, also those the state had already: a later state (one
    # a speculation rolled back to) may lack them.
    out, guards = with_own_guards(state, lambda recording: _apply_wrap_rules(recording, value, source, guard))
    if type(out) is tuple and only_guards_added(state, out[0]):
        vt, oid = out[1], getattr(out[1], "oid", None)
        # Only values that name nothing of one state: fixed objects, constants and other stateless
        # VTs (a function read through its source), or heap handles checked again on use.  A tensor
        # names a graph node a rolled-back state may not have.
        if oid is not None or vt.stateless or vt.fixed_object() is not NOT_CONSTANT \
                or vt.constant_value() is not NOT_CONSTANT:
            memo[(source, guard)] = (value, vt, guards, oid)
    return out


def remembered_wrap(env, value, source):
    """(VT, guards) of the remembered wrap of `value` at `source` when it names nothing of one state
    (no heap handle), else None: what a hit of `wrap_value` gives, for a caller that keeps it
    closer to hand (LOAD_GLOBAL, per instruction)."""
    hit = env.wrapped.get((source, True))
    if hit is None or hit[0] is not value or hit[3] is not None:
        return None
    return hit[1], hit[2].guards()


def _apply_wrap_rules(state, value, source, guard):
    for rule in rules_for(state.env, type(value)):
        out = rule(state, value, source, guard)
        if out is not None:
            return out
    return _unmodelled(value, source)


def rules_for(env, kind: type) -> tuple:
    """The wrap rules, in WRAP_ORDER, that may answer for a value of class `kind`: those whose `only`
    classes `kind` is a subclass of, or that declared none.  Only for classes made in C (functions,
    builtins, numbers, strings, classes themselves), whose objects cannot claim another
    `__class__` to `isinstance`; any other class is asked every rule.  Per trace (`Env.wrap_rules`)."""
    table = env.wrap_rules
    rules = table.get(kind)
    if rules is None:
        sequence = _WRAP_SEQUENCE or _wrap_sequence()
        if is_python_class(kind):
            rules = tuple(sequence)
        else:
            rules = tuple(rule for name, rule in zip(WRAP_ORDER, sequence)
                          if name not in _WRAP_ONLY or issubclass(kind, _WRAP_ONLY[name]))
        table[kind] = rules
    return rules


def wrap_items(state, value, source, guard: bool):
    """(state, VTs) for the items of a tuple-like input, each read and guarded through
    `source[i]`, or the stop that one of them hit."""
    items = []
    for position, item in enumerate(value):
        out = wrap_value(state, item, ItemSource(source, position), guard)
        if type(out) is not tuple:
            return out
        state, vt = out
        items.append(vt)
    return state, tuple(items)


def _wrap_sequence() -> list:
    check_complete()
    return _WRAP_SEQUENCE


def _unmodelled(value, source):
    return unsupported(BreakKind.UNSUPPORTED_VALUE,
                       f"{source.expr()} is a {type(value).__qualname__}, which the tracer does not model yet",
                       "pass tensors, numbers, strings or tuples of them")


_CLASS_VALUE_RULES: list = []  # rule(cls) -> VT or None, asked in registration order


def class_value_rule(rule):
    """Decorator: `rule(cls)` gives the VT of a class of its kind reached without a source (`type(p)`
    of a named tuple, an enum class), or None."""
    _CLASS_VALUE_RULES.append(rule)
    return rule


def class_value_rules() -> tuple:
    return tuple(_CLASS_VALUE_RULES)


# -- values computed at trace time -----------------------------------------------------------------

_FROM_PYTHON: dict = {}  # exact type -> rule(state, value) -> (state, vt) or None


_FROM_PYTHON_SUBCLASSES: list = []  # (base type, rule) for rules that also take subclasses


def from_python_rule(*types, subclasses: bool = False):
    """Decorator: `rule(state, value)` turns plain data of these types, computed while tracing
    (a folded call's result), into a VT: (state, vt), or None when part of it is not plain data.
    Exact types only, unless `subclasses` (enum members of any Enum class)."""

    def register(rule):
        for kind in types:
            if kind in _FROM_PYTHON:
                raise ValueError(f"{kind.__name__} already has a conversion rule")
            _FROM_PYTHON[kind] = rule
            if subclasses:
                _FROM_PYTHON_SUBCLASSES.append((kind, rule))
        return rule

    return register


def from_python_items(state, values):
    """(state, [vt, ...]) for real values, or None if one of them is not plain data."""
    vts = []
    for value in values:
        out = from_python(state, value)
        if out is None:
            return None
        state, vt = out
        vts.append(vt)
    return state, vts


def from_python(state, value):
    """VT for a real value produced by a folded call: (state, vt), or None if it is not plain data."""
    rule = _FROM_PYTHON.get(type(value))
    if rule is None:
        rule = next((r for kind, r in _FROM_PYTHON_SUBCLASSES if isinstance(value, kind)), None)
    return None if rule is None else rule(state, value)


# -- completeness ----------------------------------------------------------------------------------

def check_complete() -> None:
    """Every wrap rule WRAP_ORDER declares is registered; fixes the order wrap_value uses."""
    missing = [name for name in WRAP_ORDER if name not in _WRAP_RULES]
    if missing:
        raise RuntimeError(f"wrap rules not registered: {', '.join(missing)} (is vt.families imported?)")
    _WRAP_SEQUENCE[:] = [_WRAP_RULES[name] for name in WRAP_ORDER]
