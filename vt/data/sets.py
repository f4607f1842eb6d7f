"""Sets of constants, with the exact iteration order CPython would give them.

A set VT is a heap handle like a list.  `values` holds the real, hashable
elements in the order CPython iterates them.  That order depends on the
set's whole history (its table size, collisions, the dummies removals leave,
where `pop` stopped last), not only on its elements: rebuilding a set from
its elements can reorder it.  So a set made by the traced code also carries
its `recipe`: the chain of real set operations that made it.  An operation
replays the chain on a fresh real set (see `realize`), applies itself for
real, and reads the new `values` off the result, so iteration order is
CPython's by construction.

Sets that existed before the call have no recipe; they start from their
observed order, the best the tracer can do without the real object.
"""
from __future__ import annotations

import attrs

from effects import heap
from vt import registry
from vt.data.container_methods import container_attribute, container_load_method
from vt.data.equality import container_key
from vt.data.object_keys import is_object_key, key_value, key_vt, unordered
from vt.protocol import NOT_CONSTANT, VariableTracker
from vt.data.constant import ConstantVariable, is_constant_value
from vt.iteration import IteratorVariable, new_iterator
from core.outcomes import BreakKind, raise_error, raised, unsupported


class _Self:
    """Marks, inside a recipe's arguments, the set the operation runs on (`s.update(s)`)."""

    def __repr__(self) -> str:
        return "SELF"


SELF = _Self()


@attrs.frozen(slots=True, eq=False)
class Recipe:
    """How to rebuild a set exactly.  A root (`base` None) calls `op(*args)`, which makes a fresh
    set; otherwise `op` names a method run on `base`'s set, which it changes, or which returns a
    new set when `new` (union, copy, `|`).  Arguments are real constants, tuples of elements,
    other sets' recipes, `DictKeysArg` or SELF."""

    base: object
    op: object
    args: tuple = ()
    new: bool = False
    # The real set this recipe makes, when a replay of it is at hand and nobody has changed it since
    # (a memo carried by the immutable recipe, emptied by whoever takes the set to change it), so
    # that a set changed step after step is not replayed from its root at every step.
    held: list = attrs.field(factory=list, repr=False)


@attrs.frozen(slots=True, eq=False)
class DictKeysArg:
    """A dict passed to a set operation: CPython reads dicts through a fast path with its own
    table sizing, so the replay passes a real dict with the same keys."""

    keys: tuple


def _build(values):
    """BUILD_SET: an empty set, then each element added in order."""
    real = set()
    for value in values:
        real.add(value)
    return real


def realize(recipe, own: bool = True) -> set:
    """A fresh real set in exactly the state CPython's would be in after `recipe`.

    The chain is replayed from its root, unless the recipe holds its set already (`Recipe.held`).
    With `own` the caller takes the set to change it; without, it only reads it (and the set is
    held for the next caller).
    """
    if recipe.held:
        real = recipe.held[0]
        if own:
            recipe.held.clear()
        return real
    chain, node = [], recipe
    while True:
        if node.base is None:
            real = node.op(*_resolve(node.args, None))
            break
        if node.new:
            real = _run(realize(node.base, own=False), node)
            break
        chain.append(node)
        node = node.base
    for step in reversed(chain):
        _run(real, step)
    if not own:
        recipe.held[:] = [real]
    return real


def _run(real, recipe):
    return getattr(real, recipe.op)(*_resolve(recipe.args, real))


def _resolve(args, this) -> list:
    out = []
    for arg in args:
        if arg is SELF:
            out.append(this)
        elif type(arg) is Recipe:
            out.append(realize(arg, own=False))
        elif type(arg) is DictKeysArg:
            out.append(dict.fromkeys(arg.keys))
        else:
            out.append(arg)
    return out


@attrs.frozen(slots=True)
class SetVariable(VariableTracker):
    """A handle on a set in the heap; `values` are its elements when this copy was made."""

    oid: int
    values: tuple = attrs.field(eq=False)
    source: object = attrs.field(default=None, eq=False)
    recipe: object = attrs.field(default=None, eq=False, repr=False)


    def comparison_kind(self):
        return "set"

    def runtime_type(self):
        return set

    def as_python(self, state):
        values = heap.current(state, self).values
        return NOT_CONSTANT if any(is_object_key(value) for value in values) else set(values)

    def elements(self, state) -> tuple:
        """The real elements, objects as their keys (vt/data/object_keys.py)."""
        return heap.current(state, self).values

    def references(self, state):
        return [key_value(value) for value in heap.current(state, self).values if is_object_key(value)]

    def rebuild(self, emitter):
        return emitter.heap_object(self, lambda current: emitter.build_set(current.values, current.recipe))

    def replay_changes(self, emitter):
        return emitter.refill(self.source, lambda: emitter.build_set(self.values, self.recipe))

    def type_name(self) -> str:
        return "set"

    def describe(self) -> str:
        return "{" + ", ".join(repr(v) for v in self.values) + "}" if self.values else "set()"

    def truth(self, state):
        return bool(heap.current(state, self).values)

    def unpack(self, state, count):
        values = heap.current(state, self).values
        if unordered(values):
            return None
        if count is None or count == len(values):
            return tuple(key_vt(v) for v in values)
        return None

    def iterate(self, state):
        values = heap.current(state, self).values
        if unordered(values):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, "iterating over a set of objects hashed by their "
                               "address: the order differs from run to run", "use a list or a dict")
        return new_iterator(state, lambda oid: SetIteratorVariable(oid, self.oid, values, 0))

    def getattr(self, state, name):
        return container_attribute(state, self, set, name)

    def load_method(self, state, name):
        return container_load_method(state, self, set, name)

    def contains(self, state, item):
        out = self.key(state, item)
        if type(out) is not tuple and isinstance(item, SetVariable):  # CPython retries a set as a frozenset
            out = state, frozenset(heap.current(state, item).values)
        if type(out) is not tuple:
            return out
        state, key = out
        return state, ConstantVariable(key in set(heap.current(state, self).values))

    def key(self, state, value):
        """(state, the real element `value` is in this set), or the stop (vt/data/object_keys.py)."""
        return container_key(state, value, heap.current(state, self).values, key_vt, "set element")

    def real(self, state) -> set:
        """A fresh real set with the current elements (in CPython's order when the recipe is known)."""
        return set(realize(recipe_of(heap.current(state, self)), own=False))

    def with_values(self, values) -> "SetVariable":
        """New contents given directly: the order is taken as observed, the recipe starts again."""
        return SetVariable(self.oid, tuple(values), self.source)


def fresh_set(recipe: Recipe) -> set:
    """A new real set exactly as `recipe` makes it, for code that rebuilds a returned set at run
    time (`LOAD_CONST fresh_set; LOAD_CONST recipe; CALL`): same elements, same order as eager."""
    return realize(recipe, own=True)


def recipe_of(current: SetVariable) -> Recipe:
    return current.recipe if current.recipe is not None else Recipe(None, _build, (current.values,))


@attrs.frozen(slots=True)
class SetIteratorVariable(IteratorVariable):
    """Iterator over a set in the heap: like CPython it fails if the set changed size meanwhile."""

    set_oid: int = 0
    start: tuple = ()
    index: int = 0

    def step(self, state):
        values = state.heap[self.set_oid].values
        if len(values) != len(self.start):
            return raise_error(RuntimeError, "Set changed size during iteration")
        if values != self.start:
            return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                               "changing a set's elements while iterating over it is not modelled")
        if self.index >= len(values):
            return None
        return state, key_vt(values[self.index]), attrs.evolve(self, index=self.index + 1)


# -- making and changing sets -----------------------------------------------------------------------

def new_set(state, values: tuple):
    """Allocate a set created by the traced code from hashable constants added in this order
    (BUILD_SET); returns (state, vt)."""
    return new_set_from_recipe(state, Recipe(None, _build, (tuple(values),)))


def new_set_from_recipe(state, recipe: Recipe):
    """Allocate the set `recipe` makes: (state, vt), or the exception building it raises."""
    try:
        real = realize(recipe, own=False)
    except Exception as exc:  # the traced program raises the same
        return raised(exc)
    values = tuple(real)
    return heap.allocate(state, lambda oid: SetVariable(oid, values, None, recipe))


def change_set(state, handle, op: str, args: tuple, what: str):
    """Run set method `op` (one that changes the set) with recipe arguments:
    (state, the method's real result), the set changed through `state.mutate`."""
    current = heap.current(state, handle)
    recipe = recipe_of(current)
    step = Recipe(recipe, op, tuple(args))
    real = realize(recipe, own=True)
    size = len(real)
    try:
        result = _run(real, step)
    except Exception as exc:  # the traced program raises the same; `real` is dropped, the recipe stays
        if len(real) != size:  # CPython changed the set part-way (s.update([1, [2]]) adds 1 first)
            return unsupported(BreakKind.PYTHON_EXCEPTION, f"{what} raised {type(exc).__name__} part-way; "
                                                           "the elements it added first are not modelled")
        return raised(exc)
    step.held.append(real)
    changed = SetVariable(current.oid, tuple(real), current.source, step)
    return heap.mutate(state, changed, what), result


def derive_set(state, handle, op: str, args: tuple):
    """A new set from set method `op` that returns one (union, copy, `__or__`): (state, vt)."""
    return new_set_from_recipe(state, Recipe(recipe_of(heap.current(state, handle)), op, tuple(args), new=True))


def query_set(state, handle, op: str, args: tuple):
    """The real result of a read-only set method (issubset, ...), or Unsupported."""
    real = realize(recipe_of(heap.current(state, handle)), own=False)
    try:
        return _run(real, Recipe(None, op, tuple(args)))
    except Exception as exc:  # the traced program raises the same
        return raised(exc)


def resolve_argument(argument):
    """The real value of a recipe argument (for operations whose result is not a set)."""
    return _resolve((argument,), None)[0]


registry.container_type(set, SetVariable)


@registry.from_python_rule(set)
def _set_from_python(state, value):
    if not all(is_constant_value(item) for item in value):
        return None
    return new_set(state, tuple(value))
