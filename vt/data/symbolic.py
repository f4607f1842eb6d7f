"""Symbolic numbers: sizes and Python ints that vary between calls, as symbols of torch's ShapeEnv.

A `SymNodeVariable` is a graph node plus its fake value, a `torch.SymInt` (or `SymFloat`,
`SymBool`) whose expression is over the ShapeEnv's symbols.  The node is a placeholder (an int
input, or a size of a tensor input, which the FX graph receives as a `SymInt` input as Dynamo's
graphs do) or arithmetic on them.  Arithmetic and comparisons become nodes, computed on the fake
values so each result knows its expression (`2*s0`, `s0 > 1`).

A decision on a symbolic value (the truth of a comparison that steers control flow, `x.size(0) ==
y.size(0)` inside a container comparison) asks the ShapeEnv, which answers from the value the symbol
has in this call and records a guard on the symbols (`x.size(0) > 1`); the capture is reused only
for inputs where every such decision comes out the same (graph/shape_guards.py renders them).

A use the tracer does not model symbolically (an index into a list, a dict key, `range(n)`, a
string format) *specialises*: `specialized()` / `as_python()` guard the symbol to equal its
present value, and the constant goes on from there.  That is always correct; it only makes the
capture less general.
"""
from __future__ import annotations

import operator

import attrs
import torch

from core.graph_log import NodeRef
from core.outcomes import BreakKind, unsupported
from core.stops import Exhausted
from vt import registry
from vt.data.constant import ConstantVariable, RangeIteratorVariable
from vt.data.operators import UNARY_OPS
from vt.folding import call_constant_fn
from vt.iteration import IteratorVariable, new_iterator, next_value
from vt.protocol import VariableTracker

PYTHON_TYPES = {torch.SymInt: int, torch.SymFloat: float, torch.SymBool: bool}
"""The Python type each symbolic type stands for."""

_NUMBER_TYPES = (int, float, bool)
_DIVISIONS = frozenset({operator.truediv, operator.floordiv, operator.mod})


def is_symbolic(value) -> bool:
    return type(value) in PYTHON_TYPES


def known_number(value):
    """The plain number a symbolic value is when the ShapeEnv already knows it (a symbol guarded to
    a constant, an expression that simplified), else None."""
    node = value.node
    kind = PYTHON_TYPES[type(value)]
    if kind is int:
        return node.maybe_as_int()
    if kind is float:
        return node.maybe_as_float()
    return node.maybe_as_bool()


def specialize(value):
    """The plain value of a symbolic number, guarded (in the ShapeEnv) to stay what it is now."""
    return PYTHON_TYPES[type(value)](value)


@attrs.frozen(slots=True)
class SymNodeVariable(VariableTracker):
    """An int, float or bool the graph computes: node `node` of the graph log, with fake value
    `value` (a torch.SymInt, SymFloat or SymBool)."""

    node: int
    value: object = attrs.field(eq=False, repr=False)
    source: object = attrs.field(default=None, eq=False)

    def runtime_type(self):
        return PYTHON_TYPES[type(self.value)]

    def type_name(self) -> str:
        return self.runtime_type().__name__

    def describe(self) -> str:
        return f"symbolic {self.type_name()} {self.value.node.expr}"

    def graph_node(self):
        return self.node

    def specialized(self):
        return specialize(self.value)

    def as_python(self, state):
        return specialize(self.value)

    def truth(self, state):
        return bool(self.value)  # the ShapeEnv answers from this call's value and guards the answer

    def comparison_kind(self):
        return "other"

    def known_equality(self, state, other):
        other_value = operand(other)
        if other_value is None:
            kind = other.runtime_type()
            # A number is never equal to a string, a container or None: no need to look at it.
            return False if kind is not None and kind not in _NUMBER_TYPES and kind not in PYTHON_TYPES else None
        return bool(self.value == other_value)

    def rebuild(self, emitter):
        emitter.push_tensor(self.node)  # an input is loaded from its source, a result from the graph's outputs
        return None

    def getattr(self, state, name):
        return ConstantVariable(self.specialized()).getattr(state, name)


def operand(vt):
    """The number a VT stands for in symbolic arithmetic (a SymInt, SymFloat, SymBool or a plain int,
    float or bool), or None."""
    if isinstance(vt, SymNodeVariable):
        return vt.value
    value = vt.constant_value()
    return value if type(value) in _NUMBER_TYPES else None


def graph_arg(vt):
    """How a number VT appears among the arguments of a graph node."""
    return NodeRef(vt.node) if isinstance(vt, SymNodeVariable) else vt.constant_value()


def symbol_placeholder(state, value):
    """The placeholder node that holds the symbol `value` stands for (an int input, a size of a
    tensor input), or None when `value` is not a plain symbol with a placeholder."""
    expr = value.node.expr
    if not getattr(expr, "is_Symbol", False):
        return None
    for index in state.placeholders:
        example = state.graph[index].example
        if type(example) in PYTHON_TYPES and example.node.expr == expr:
            return index
    return None


def wrap_number(state, value, make_node):
    """The VT of a number a fake computation produced: a constant when it is (or is known to be)
    one, the placeholder of its symbol, or else a new node from `make_node(state) -> (state, index)`."""
    if not is_symbolic(value):
        return state, ConstantVariable(value)
    known = known_number(value)
    if known is not None:
        return state, ConstantVariable(known)
    index = symbol_placeholder(state, value)
    if index is None:
        state, index = make_node(state)
    return state, SymNodeVariable(index, value)


def number_result(state, target, args: tuple, result):
    """The VT of `target(*args)`, computed as `result` on fake values: a node when symbolic."""
    return wrap_number(state, result, lambda s: s.add_node("call_function", target, args, (), result))


# -- operators ---------------------------------------------------------------------------------------

@registry.binary_rule((SymNodeVariable, SymNodeVariable), (SymNodeVariable, ConstantVariable),
                      (ConstantVariable, SymNodeVariable))
def _symbolic_binary(state, fn, a, b, symbol, plain):
    x, y = operand(a), operand(b)
    # Anything but plain arithmetic (`n * "ab"`), and a division by zero, specialises: folding the
    # real operator then gives eager's result, or eager's exception.
    if x is None or y is None or (plain in _DIVISIONS and not bool(y != 0)):
        return call_constant_fn(state, plain, f"operator {symbol}", (a, b), {})
    try:
        result = plain(x, y)
    except Exception:  # an operator symbolic numbers do not implement
        return call_constant_fn(state, plain, f"operator {symbol}", (a, b), {})
    return number_result(state, plain, (graph_arg(a), graph_arg(b)), result)


@registry.unary_rule(SymNodeVariable)
def _symbolic_unary(state, opname, value):
    fn = UNARY_OPS[opname]
    if fn is operator.not_:
        return state, ConstantVariable(not value.truth(state))
    try:
        result = fn(value.value)
    except Exception:
        return call_constant_fn(state, fn, opname, (value,), {})
    return number_result(state, fn, (NodeRef(value.node),), result)


# -- builtins on symbolic numbers ------------------------------------------------------------------
# Each answers only when a symbolic number is involved (None lets the ordinary rules answer, and
# those specialise it through `as_python`).

def _one_symbolic(args, kwargs):
    if kwargs or len(args) != 1 or not isinstance(args[0], SymNodeVariable):
        return None
    return args[0]


@registry.builtin_rule(int, first=True)
def _int(state, args, kwargs):
    value = _one_symbolic(args, kwargs)
    if value is None or type(value.value) is not torch.SymInt:
        return None
    return state, value


@registry.builtin_rule(float, first=True)
def _float(state, args, kwargs):
    value = _one_symbolic(args, kwargs)
    if value is None or type(value.value) is torch.SymBool:
        return None
    return number_result(state, torch.sym_float, (NodeRef(value.node),), torch.sym_float(value.value))


@registry.builtin_rule(abs, first=True)
def _abs(state, args, kwargs):
    value = _one_symbolic(args, kwargs)
    if value is None or type(value.value) is torch.SymBool:
        return None
    return number_result(state, operator.abs, (NodeRef(value.node),), abs(value.value))


def _extremum(symbolic_fn):
    def rule(state, args, kwargs):
        if kwargs or len(args) < 2 or not any(isinstance(arg, SymNodeVariable) for arg in args):
            return None
        values = [operand(arg) for arg in args]
        if any(PYTHON_TYPES.get(type(v), type(v)) is not int for v in values):
            return None  # floats, bools and anything else: the ordinary rule (specialising)
        state, best = state, args[0]
        for arg in args[1:]:
            out = number_result(state, symbolic_fn, (graph_arg(best), graph_arg(arg)),
                                symbolic_fn(operand(best), operand(arg)))
            state, best = out
        return state, best
    return rule


registry.add_builtin_rule(min, _extremum(torch.sym_min), first=True)
registry.add_builtin_rule(max, _extremum(torch.sym_max), first=True)


# -- slices with symbolic bounds -------------------------------------------------------------------

@attrs.frozen(slots=True)
class SliceVariable(VariableTracker):
    """A slice with a symbolic bound (`x[:, :n]`); slices of constants stay ConstantVariables."""

    parts: tuple  # start, stop, step: VTs (ConstantVariable or SymNodeVariable)

    def runtime_type(self):
        return slice

    def describe(self) -> str:
        return f"slice({', '.join(part.describe() for part in self.parts)})"

    def specialized(self):
        return slice(*(part.specialized() for part in self.parts))

    def as_python(self, state):
        return self.specialized()

    def references(self, state):
        return self.parts

    def getattr(self, state, name):
        fields = ("start", "stop", "step")
        if name in fields:
            return state, self.parts[fields.index(name)]
        return ConstantVariable(self.specialized()).getattr(state, name)

    def lowered(self) -> tuple:
        """(graph argument, fake argument) for a tensor op taking this slice."""
        graph = slice(*(graph_arg(part) for part in self.parts))
        return graph, slice(*(operand(part) for part in self.parts))


def build_slice(parts: tuple):
    """BUILD_SLICE on these VTs: a constant slice, a SliceVariable when a bound is symbolic, or the
    Unsupported for bounds that are not ints known while tracing."""
    symbolic = any(isinstance(part, SymNodeVariable) and type(part.value) is torch.SymInt for part in parts)
    values = [part.constant_value() for part in parts]
    for part, value in zip(parts, values):
        if not (type(value) is int or value is None or (symbolic and isinstance(part, SymNodeVariable))):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION, "slice bounds must be ints known while tracing")
    if not symbolic:
        return ConstantVariable(slice(*values))
    parts = tuple(parts) + (ConstantVariable(None),) * (3 - len(parts))
    return SliceVariable(parts)


# -- loops over ranges with a symbolic position ----------------------------------------------------

def add_numbers(state, a, b):
    """a + b for number VTs, symbolic when either is."""
    return _symbolic_binary(state, operator.add, a, b, "+", operator.add)



def is_symbolic_int(vt) -> bool:
    return isinstance(vt, SymNodeVariable) and type(vt.value) is torch.SymInt


def _mul(state, a, b):
    return _symbolic_binary(state, operator.mul, a, b, "*", operator.mul)


@attrs.frozen(slots=True)
class SymbolicRangeIteratorVariable(IteratorVariable):
    """An iterator over a range that has already given a symbolic number of items: how a resume
    function continues a `for i in range(...)` loop that breaks on every iteration, so that one
    capture serves every iteration (the item is `start + index * step`, symbolic too)."""

    values: range = range(0)
    index: object = None  # SymNodeVariable of a SymInt

    python_type = type(iter(range(0)))

    def step(self, state):
        if not bool(self.index.value < len(self.values)):  # a guard on the position
            return None
        out = _mul(state, self.index, ConstantVariable(self.values.step))
        if type(out) is not tuple:
            return out
        out = add_numbers(out[0], ConstantVariable(self.values.start), out[1])
        if type(out) is not tuple:
            return out
        state, item = out
        out = add_numbers(state, self.index, ConstantVariable(1))
        if type(out) is not tuple:
            return out
        state, following = out
        if not isinstance(following, SymNodeVariable):  # the position became known
            return state, item, RangeIteratorVariable(self.oid, self.values, following.constant_value())
        return state, item, attrs.evolve(self, index=following)


def advanced_iterator(iterable, taken: int):
    """iter(iterable) after `taken` items: how a resume function rebuilds the iterator of a loop it
    continues (graph/resume.py).  Traced by the rule below, which keeps a symbolic position in a
    range symbolic."""
    iterator = iter(iterable)
    for _ in range(taken):
        next(iterator, None)
    return iterator


@registry.builtin_rule(advanced_iterator)
def _advanced_iterator(state, args, kwargs):
    if kwargs or len(args) != 2:
        return None
    iterable, taken = args
    values = iterable.constant_value()
    if type(values) is range and isinstance(taken, SymNodeVariable) and type(taken.value) is torch.SymInt:
        return new_iterator(state, lambda oid: SymbolicRangeIteratorVariable(oid, values, taken))
    count = taken.specialized()
    if type(count) is not int:
        return None
    if type(values) is range:
        return new_iterator(state, lambda oid: RangeIteratorVariable(oid, values, count))
    out = iterable.iterate(state)
    if type(out) is not tuple:
        return out
    state, iterator = out
    for _ in range(count):
        out = next_value(state, iterator)
        if type(out) is not tuple:
            if type(out) is Exhausted:
                state = out.state
                break
            return out
        state = out[0]
    return state, iterator
