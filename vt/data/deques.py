"""`collections.deque`: a list-like heap object with a `maxlen` and fast ends.

A deque VT is a handle like a list's: `oid` names the record in the heap, whose
`items` are the current contents.  Where CPython's arithmetic is subtle (a full
deque dropping items from the other end, `rotate`, `insert` clamping its index,
negative indices and their errors), the rule runs the real deque operation on a
real deque of *positions* with the same `maxlen` and maps the result back to
the items (new items enter as negative tokens), so the behaviour and the errors
are CPython's own.  Searching (`count`, `index`, `remove`, `in`) compares items
with `vt.data.equality.equal`, by identity first, so tensors are found by
identity.

`version` counts the changes that CPython's iterators notice (everything but
`d[i] = v`): a deque changed while a loop walks it stops the trace, and the
loop runs for real (where CPython raises its RuntimeError).
"""
from __future__ import annotations

import collections

import attrs

from core.outcomes import BreakKind, raise_error, raised, unsupported
from effects import heap
from vt import registry
from vt.data.constant import ConstantVariable
from vt.data.container_methods import container_attribute, container_load_method
from vt.data.dicts import DictVariable, DictViewVariable
from vt.data.equality import COMPARE_SYMBOLS, compare, contains_in, equal
from vt.data.iterators import items_of
from vt.data.lists import ListVariable, TupleVariable
from vt.data.sets import SetVariable
from vt.iteration import IteratorVariable, new_iterator
from vt.protocol import NOT_CONSTANT, VariableTracker

deque = collections.deque
NONE = ConstantVariable(None)


@attrs.frozen(slots=True)
class DequeVariable(VariableTracker):
    """A handle on a deque in the heap; `items` are its contents when this copy was made."""

    oid: int
    items: tuple = attrs.field(eq=False)
    maxlen: object = attrs.field(default=None, eq=False)  # an int, or None
    source: object = attrs.field(default=None, eq=False)  # set when the deque existed before the call
    version: int = attrs.field(default=0, eq=False)

    def runtime_type(self):
        return deque

    def type_name(self) -> str:
        return "collections.deque"

    def describe(self) -> str:
        suffix = "" if self.maxlen is None else f", maxlen={self.maxlen}"
        return f"deque([{', '.join(item.describe() for item in self.items)}]{suffix})"

    def as_python(self, state):
        items = [item.as_python(state) for item in heap.current(state, self).items]
        return NOT_CONSTANT if NOT_CONSTANT in items else deque(items, self.maxlen)

    def known_equality(self, state, other):
        """deque == deque compares lengths, then items; a deque equals nothing else, unless the
        other side is an object of a Python class (whose __eq__ may answer)."""
        if isinstance(other, DequeVariable):
            mine, theirs = heap.current(state, self).items, heap.current(state, other).items
            if len(mine) != len(theirs):
                return False
            for x, y in zip(mine, theirs):
                same = equal(state, x, y)
                if same is not True:
                    return same
            return True
        return None if other.dunder_dispatch else False

    def truth(self, state):
        return bool(heap.current(state, self).items)

    def unpack(self, state, count):
        items = heap.current(state, self).items
        return items if count is None or count == len(items) else None

    def iterate(self, state):
        current = heap.current(state, self)
        return new_iterator(state, lambda oid: DequeIteratorVariable(oid, self.oid, 0, current.version, False))

    def contains(self, state, item):
        return contains_in(state, heap.current(state, self).items, item)

    def getattr(self, state, name):
        if name == "maxlen":
            return state, ConstantVariable(heap.current(state, self).maxlen)
        return container_attribute(state, self, deque, name)

    def load_method(self, state, name):
        return container_load_method(state, self, deque, name)

    def getitem(self, state, index):
        return _getitem(state, self, [index], {})

    def store_item(self, state, key, value):
        out = _setitem(state, self, [key, value], {})
        return out[0] if type(out) is tuple else out

    def delete_item(self, state, key):
        out = _delitem(state, self, [key], {})
        return out[0] if type(out) is tuple else out

    def references(self, state):
        return heap.current(state, self).items

    def rebuild(self, emitter):
        return emitter.heap_object(self, lambda current: emitter.make_object(
            deque, [lambda: emitter.build_list(current.items), lambda: emitter.push_constant(current.maxlen)]))

    def replay_changes(self, emitter):
        return emitter.refill(self.source, lambda: emitter.build_list(self.items), "extend")


@attrs.frozen(slots=True)
class DequeIteratorVariable(IteratorVariable):
    """iter(d) or reversed(d): reads the deque's current items; a change that CPython's iterator
    would notice stops the trace."""

    deque_oid: int = 0
    index: int = 0
    version: int = 0
    backwards: bool = False

    def runtime_type(self):
        return type(reversed(deque())) if self.backwards else type(iter(deque()))

    def step(self, state):
        record = state.heap[self.deque_oid]
        if record.version != self.version:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                               "changing a deque while iterating over it is not modelled (CPython raises)")
        items = record.items[::-1] if self.backwards else record.items
        if self.index >= len(items):
            return None
        return state, items[self.index], attrs.evolve(self, index=self.index + 1)


def new_deque(state, items, maxlen):
    return heap.allocate(state, lambda oid: DequeVariable(oid, tuple(items), maxlen))


# -- running the real deque arithmetic on positions -------------------------------------------------

def _real(value):
    """The real argument behind a constant VT, or NOT_CONSTANT."""
    return value.constant_value() if isinstance(value, ConstantVariable) else NOT_CONSTANT


def _on_positions(items, maxlen, new_items, action):
    """Run `action(real, tokens)` on deque(range(len(items)), maxlen): (result, pool) or a Thrown.
    `pool` maps every position and token to its VT."""
    pool = dict(enumerate(items))
    tokens = [-1 - number for number in range(len(new_items))]
    pool.update(zip(tokens, new_items))
    real = deque(range(len(items)), maxlen)
    try:
        result = action(real, tokens)
    except Exception as exc:  # the program raises the same
        return raised(exc)
    return (real, result), pool


def _apply(state, dq, what, action, new_items=(), result_is_item=False, mutates=True, counted=True):
    """A deque method as `action` on positions: (state, result), the deque given the new order when
    the method `mutates` it (`counted`: a change CPython's iterators notice)."""
    current = heap.current(state, dq)
    out = _on_positions(current.items, current.maxlen, tuple(new_items), action)
    if type(out) is not tuple:
        return out
    (real, result), pool = out
    value = pool[result] if result_is_item else NONE
    if not mutates:
        return state, value
    record = attrs.evolve(current, items=tuple(pool[position] for position in real),
                          version=current.version + (1 if counted else 0))
    return heap.mutate(state, record, what), value


def _constant_arguments(args, what):
    values = [_real(arg) for arg in args]
    if NOT_CONSTANT in values:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"{what} with an argument not known while tracing")
    return values


# -- methods ---------------------------------------------------------------------------------------

def _simple(name, takes_item: bool, result_is_item: bool = False):
    def rule(state, dq, args, kwargs):
        new = args[:1] if takes_item else ()
        return _apply(state, dq, f"deque.{name}",
                      lambda real, tokens: getattr(real, name)(*tokens), new, result_is_item=result_is_item)
    return rule


for _name in ("append", "appendleft"):
    registry.method(deque, _name, 1)(_simple(_name, True))
for _name in ("pop", "popleft"):
    registry.method(deque, _name, 0)(_simple(_name, False, result_is_item=True))
registry.method(deque, "clear", 0)(_simple("clear", False))
registry.method(deque, "reverse", 0)(_simple("reverse", False))


def _extend(name):
    def rule(state, dq, args, kwargs):
        out = items_of(state, args[0])
        if type(out) is not tuple:
            return out
        state, extra = out
        return _apply(state, dq, f"deque.{name}", lambda real, tokens: getattr(real, name)(tokens), extra)
    return rule


registry.method(deque, "extend", 1)(_extend("extend"))
registry.method(deque, "extendleft", 1)(_extend("extendleft"))


@registry.method(deque, "rotate", 0, 1)
def _rotate(state, dq, args, kwargs):
    values = _constant_arguments(args, "deque.rotate")
    if type(values) is not list:
        return values
    return _apply(state, dq, "deque.rotate", lambda real, tokens: real.rotate(*values))


@registry.method(deque, "insert", 2)
def _insert(state, dq, args, kwargs):
    values = _constant_arguments(args[:1], "deque.insert")
    if type(values) is not list:
        return values
    return _apply(state, dq, "deque.insert", lambda real, tokens: real.insert(values[0], tokens[0]), args[1:])


@registry.method(deque, "__getitem__", 1)
def _getitem(state, dq, args, kwargs):
    values = _constant_arguments(args, "deque indexing")
    if type(values) is not list:
        return values
    return _apply(state, dq, "deque[]", lambda real, tokens: real[values[0]], result_is_item=True, mutates=False)


@registry.method(deque, "__setitem__", 2)
def _setitem(state, dq, args, kwargs):
    values = _constant_arguments(args[:1], "deque item assignment")
    if type(values) is not list:
        return values
    return _apply(state, dq, "deque[]=", lambda real, tokens: real.__setitem__(values[0], tokens[0]), args[1:],
                  counted=False)


@registry.method(deque, "__delitem__", 1)
def _delitem(state, dq, args, kwargs):
    values = _constant_arguments(args, "deque item deletion")
    if type(values) is not list:
        return values
    return _apply(state, dq, "del deque[]", lambda real, tokens: real.__delitem__(values[0]))


def _copy(state, dq, args, kwargs):
    current = heap.current(state, dq)
    return new_deque(state, current.items, current.maxlen)


registry.method(deque, "copy", 0)(_copy)
registry.method(deque, "__copy__", 0)(_copy)


def _first_equal(state, items, value, positions):
    """(state, position of the first item equal to `value` among `positions`, or None), or a stop."""
    for position in positions:
        same = equal(state, items[position], value)
        if type(same) is not bool:
            return same
        if same:
            return state, position
    return state, None


def _not_in_deque(value):
    known = _real(value)
    if known is NOT_CONSTANT:
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"ValueError: {value.describe()} is not in deque")
    return raise_error(ValueError, f"{known!r} is not in deque")


@registry.method(deque, "count", 1)
def _count(state, dq, args, kwargs):
    items = heap.current(state, dq).items
    count = 0
    for item in items:
        same = equal(state, item, args[0])
        if type(same) is not bool:
            return same
        count += same
    return state, ConstantVariable(count)


@registry.method(deque, "index", 1, 3)
def _index(state, dq, args, kwargs):
    items = heap.current(state, dq).items
    bounds = _constant_arguments(args[1:], "deque.index")
    if type(bounds) is not list:
        return bounds
    if any(type(bound) is not int for bound in bounds):
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, "deque.index bounds that are not ints are not modelled")
    start = bounds[0] if bounds else 0
    stop = bounds[1] if len(bounds) > 1 else len(items)
    positions = range(*slice(start, stop).indices(len(items)))
    out = _first_equal(state, items, args[0], positions)
    if type(out) is not tuple:
        return out
    state, found = out
    return (state, ConstantVariable(found)) if found is not None else _not_in_deque(args[0])


@registry.method(deque, "remove", 1)
def _remove(state, dq, args, kwargs):
    items = heap.current(state, dq).items
    out = _first_equal(state, items, args[0], range(len(items)))
    if type(out) is not tuple:
        return out
    state, found = out
    if found is None:
        return _not_in_deque(args[0])
    return _apply(state, dq, "deque.remove", lambda real, tokens: real.__delitem__(found))


registry.container_type(deque, DequeVariable)


# -- making one ------------------------------------------------------------------------------------

@registry.builtin_rule(deque)
def _make_deque(state, args, kwargs):
    """deque(iterable=(), maxlen=None)."""
    real_args = [() if position == 0 else _real(value) for position, value in enumerate(args)]
    real_kwargs = {key: () if key == "iterable" else _real(value) for key, value in kwargs.items()}
    if NOT_CONSTANT in real_args or NOT_CONSTANT in real_kwargs.values():
        return unsupported(BreakKind.UNSUPPORTED_CALL, "deque(maxlen=...) not known while tracing")
    try:
        made = deque(*real_args, **real_kwargs)  # CPython checks the arguments and maxlen
    except Exception as exc:  # the program raises the same
        return raised(exc)
    bound = {"iterable": args[0]} if args else {key: value for key, value in kwargs.items() if key == "iterable"}
    maxlen = made.maxlen
    items = ()
    if "iterable" in bound:
        out = items_of(state, bound["iterable"])
        if type(out) is not tuple:
            return out
        state, items = out
    start = len(items) - maxlen if maxlen is not None and len(items) > maxlen else 0
    return new_deque(state, items[start:], maxlen)


@registry.builtin_rule(reversed, first=True)
def _reversed_deque(state, args, kwargs):
    if len(args) != 1 or kwargs or not isinstance(args[0], DequeVariable):
        return None
    current = heap.current(state, args[0])
    return new_iterator(state, lambda oid: DequeIteratorVariable(oid, current.oid, 0, current.version, True))


# -- operators -------------------------------------------------------------------------------------

_SAMPLES = {ListVariable: list, TupleVariable: tuple, DictVariable: dict, SetVariable: set, DequeVariable: deque}


def _sample(value):
    if isinstance(value, ConstantVariable):
        return value.constant_value()
    make = _SAMPLES.get(type(value))
    return make() if make is not None else NOT_CONSTANT


def _no_operator(plain, symbol, a, b):
    """The TypeError CPython raises for these two types, found on empty values of the same types."""
    samples = _sample(a), _sample(b)
    if NOT_CONSTANT not in samples:
        try:
            plain(*samples)
        except TypeError as exc:
            return raised(exc)
        except Exception:  # noqa: BLE001 - only asking whether the types support the operator
            pass
    return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"`{symbol}` between {a.describe()} and {b.describe()} "
                       "is not modelled")


def _repeat(value):
    known = _real(value)
    return known if type(known) in (int, bool) else None


def deque_operation(state, fn, a, b, symbol, plain):
    """Operators with a deque on either side: comparisons (deques compare only with deques), `+`
    of two deques, `*` by an int, `+=` with any iterable, `*=`."""
    both = isinstance(a, DequeVariable) and isinstance(b, DequeVariable)
    if symbol in COMPARE_SYMBOLS:
        if symbol in ("==", "!="):
            same = equal(state, a, b)
            return same if type(same) is not bool else (state, ConstantVariable(same == (symbol == "==")))
        if not both:
            return _no_operator(plain, symbol, a, b)
        out = compare(state, symbol, TupleVariable(heap.current(state, a).items),
                      TupleVariable(heap.current(state, b).items))
        return out if type(out) is not bool else (state, ConstantVariable(out))
    inplace = fn is not plain
    base = symbol[:-1] if inplace else symbol
    if base == "+" and inplace and isinstance(a, DequeVariable):
        out = _extend("extend")(state, a, [b], {})
        return out if type(out) is not tuple else (out[0], a)
    if base == "+" and both:
        state, made = _copy(state, a, [], {})
        out = _extend("extend")(state, made, [b], {})
        return out if type(out) is not tuple else (out[0], made)
    if base == "*":
        dq, count = (a, _repeat(b)) if isinstance(a, DequeVariable) else (b, _repeat(a))
        if count is not None:
            target = dq
            if not (inplace and dq is a):
                state, target = _copy(state, dq, [], {})
            out = _apply(state, target, "deque *=", lambda real, tokens: real.__imul__(count))
            return out if type(out) is not tuple else (out[0], target)
    return _no_operator(plain, symbol, a, b)


def _register_operations():
    others = (DequeVariable, ListVariable, TupleVariable, DictVariable, SetVariable, DictViewVariable,
              ConstantVariable, IteratorVariable)
    for other in others:
        registry.add_binary_rule(DequeVariable, other, deque_operation)
        if other is not DequeVariable:
            registry.add_binary_rule(other, DequeVariable, deque_operation)


_register_operations()


@registry.from_python_rule(deque)
def _deque_from_python(state, value):
    out = registry.from_python_items(state, value)
    return None if out is None else new_deque(out[0], out[1], value.maxlen)

