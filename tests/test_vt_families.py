"""Each VariableTracker family the seeds name is what the tracer builds for its kind of value."""
import collections
import enum
import functools

import torch

from tracer.capture import start_state
from tracer.step import run
from core.stops import Returned
from vt.data.constant import BuiltinMethodVariable
from vt.callables.functions import CellVariable, UserFunctionVariable
from vt.callables.nested_functions import NestedUserFunctionVariable
from vt.callables.functools_variables import FunctoolsPartialVariable
from vt.objects.records import EnumVariable, NamedTupleVariable
from vt.nn.nn_modules import NNModuleVariable
from vt.objects.user_objects import SuperVariable
from vt.callables.functions import UserMethodVariable

Pair = collections.namedtuple("Pair", "a b")


class Color(enum.Enum):
    RED = 1


class Base:
    def who(self):
        return "base"


class Child(Base):
    def who(self):
        return "child"


def helper(x):
    return x


LINEAR = torch.nn.Linear(2, 2)
CHILD = Child()


def _returned(fn, *args):
    """The VT the traced `fn(*args)` returns, with the state it returns in."""
    state, stop = run(start_state(fn, args, {}))
    assert type(stop) is Returned, stop
    return state, stop.value


def test_functions_methods_and_cells():
    def fn(x):
        k = 2

        def inner(v):
            return v * k

        return helper, inner, CHILD.who, [].append

    state, value = _returned(fn, 1)
    existing, nested, method, builtin_method = value.items
    assert type(existing) is UserFunctionVariable and existing.fn is helper
    assert type(nested) is NestedUserFunctionVariable
    assert all(type(cell) is CellVariable for cell in nested.parts.closure)
    assert type(method) is UserMethodVariable and method.fn is Child.who
    assert isinstance(builtin_method, BuiltinMethodVariable)


def test_super_records_module_partial():
    def fn(x):
        return super(Child, CHILD), Pair(1, 2), Color.RED, LINEAR, functools.partial(helper)

    _, value = _returned(fn, 1)
    sup, pair, color, module, partial = value.items
    assert type(sup) is SuperVariable
    assert type(pair) is NamedTupleVariable
    assert type(color) is EnumVariable
    assert type(module) is NNModuleVariable and module.module is LINEAR
    assert type(partial) is FunctoolsPartialVariable
