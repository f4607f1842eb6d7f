"""Variable trackers: construction, equality, the heap, and tensor metadata folding."""
import operator

import pytest
import torch

from helpers import assert_same_as_eager, make_state, ops, step_until
from effects import heap
from tracer import trace
from vt.protocol import NOT_CONSTANT, NULL
from vt.data.constant import ConstantVariable, is_constant_value
from vt.data.lists import ListVariable, TupleVariable, new_list
from vt.data.dicts import DictVariable, new_dict
from core.sources import LocalSource
from vt.data.tensor import TensorVariable


def t(*shape):
    return torch.randn(*shape)


# -- constants -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [3, -2.5, True, None, "s", b"b", (1, "a", (None,)), torch.float16,
                                   torch.device("cpu"), torch.Size([2, 3]), slice(1, 2), range(4)])
def test_constant_variable_holds_its_value(value):
    vt = ConstantVariable(value)
    assert is_constant_value(value)
    assert vt.runtime_type() is type(value)
    assert vt.constant_value() == value
    assert vt.truth(None) is bool(value)
    assert vt == ConstantVariable(value)


def test_constant_equality_ignores_source():
    assert ConstantVariable(1, LocalSource("a")) == ConstantVariable(1, LocalSource("b"))
    assert ConstantVariable(1) != ConstantVariable(2)


@pytest.mark.parametrize("value", [[1], {"a": 1}, {1, 2}, (1, [2]), object(), torch.zeros(1)])
def test_mutable_or_unknown_values_are_not_constants(value):
    assert not is_constant_value(value)


def test_constant_unpack_and_iterate():
    vt = ConstantVariable((1, 2, 3))
    assert vt.unpack(None, 3) == (ConstantVariable(1), ConstantVariable(2), ConstantVariable(3))
    assert vt.unpack(None, 2) is None
    assert ConstantVariable(5).unpack(None, None) is None
    assert ConstantVariable("ab").unpack(None, None) == (ConstantVariable("a"), ConstantVariable("b"))


def test_constant_getattr_folds():
    state = make_state(lambda: None)
    out_state, vt = ConstantVariable(2.0).getattr(state, "real")
    assert out_state is state and vt == ConstantVariable(2.0)


def test_null_and_base_defaults():
    assert NULL.constant_value() is NOT_CONSTANT
    assert NULL.describe() == "NULL"
    assert NULL.truth(None) is NOT_CONSTANT


# -- tuples ----------------------------------------------------------------------------------

def test_tuple_variable():
    items = (ConstantVariable(1), ConstantVariable("a"))
    vt = TupleVariable(items)
    assert vt.runtime_type() is tuple
    assert vt.constant_value() == (1, "a")
    assert vt.unpack(None, 2) == items and vt.unpack(None, 3) is None
    assert vt.truth(None) is True and TupleVariable(()).truth(None) is False
    assert vt == TupleVariable((ConstantVariable(1), ConstantVariable("a")))


def test_tuple_with_a_tensor_is_not_constant():
    fn = lambda x: x  # noqa: E731
    state = step_until(make_state(fn, (t(2),)), "LOAD_FAST")
    tensor_vt = state.peek()
    vt = TupleVariable((tensor_vt, ConstantVariable(1)))
    assert vt.constant_value() is NOT_CONSTANT


# -- tensors via tracing ---------------------------------------------------------------------

def test_load_fast_realizes_a_tensor_variable_with_a_placeholder():
    def fn(x):
        return x

    x = t(2, 3)
    state = make_state(fn, (x,))
    assert len(state.graph) == 0
    after = step_until(state, "LOAD_FAST")
    vt = after.peek()
    assert type(vt) is TensorVariable and vt.runtime_type() is torch.Tensor
    assert tuple(vt.fake.shape) == (2, 3) and vt.fake.dtype == torch.float32
    assert isinstance(vt.fake, torch._subclasses.FakeTensor)
    node = after.graph[vt.node]
    assert node.op == "placeholder" and node.target == LocalSource("x")
    assert node.value is x
    assert list(after.placeholders) == [vt.node]
    assert after.frame.locals[0] == vt  # the realized VT replaces the lazy one in the local
    assert vt.truth(after) is NOT_CONSTANT
    assert vt.constant_value() is NOT_CONSTANT


def test_tensor_op_adds_one_node_with_fake_output():
    def fn(x):
        return x.sum(0)

    state = step_until(make_state(fn, (t(4, 5),)), "CALL")
    vt = state.peek()
    assert type(vt) is TensorVariable
    assert tuple(vt.fake.shape) == (5,)
    node = state.graph[vt.node]
    assert (node.op, node.target) == ("call_method", "sum")
    assert len(state.graph) == 2


def test_tensor_variable_equality_is_by_node():
    def fn(x):
        return x

    state = step_until(make_state(fn, (t(2),)), "LOAD_FAST")
    vt = state.peek()
    assert vt == TensorVariable(vt.node, None)
    assert vt != TensorVariable(vt.node + 1, vt.fake)


# -- lists and dicts live on the heap ----------------------------------------------------------

def test_list_aliasing_through_the_heap():
    state = make_state(lambda: None)
    one, two = ConstantVariable(1), ConstantVariable(2)
    state1, lst = new_list(state, (one,))
    assert type(lst) is ListVariable and lst.runtime_type() is list
    alias = ListVariable(lst.oid, ())  # another handle on the same object (e.g. a second local)
    state2 = heap.update_object(state1, heap.current(state1, lst).with_items((one, two)))
    assert alias.unpack(state2, None) == (one, two)
    assert lst.unpack(state2, None) == (one, two)
    assert lst.unpack(state1, None) == (one,)  # the older state still sees the old contents
    assert alias == lst  # equality is identity of the object
    assert state.heap == {} and state1.next_oid == state.next_oid + 1


def test_two_lists_are_distinct_objects():
    state = make_state(lambda: None)
    state, a = new_list(state, ())
    state, b = new_list(state, ())
    assert a != b and a.oid != b.oid
    assert a.truth(state) is False


def test_dict_variable_lookup_and_truth():
    state = make_state(lambda: None)
    state, d = new_dict(state, (ConstantVariable("a"), ConstantVariable(2)),
                        (ConstantVariable(10), ConstantVariable(20)))
    assert type(d) is DictVariable and d.truth(state) is True
    assert d.lookup(state, "a") == (state, ConstantVariable(10))
    assert d.lookup(state, 2)[1] == ConstantVariable(20)
    assert d.lookup(state, "missing").cls is KeyError  # raised by the traced program, not a break


def test_list_aliasing_while_tracing():
    def fn(x):
        a = [x]
        b = a
        b += [x]
        return a

    state = make_state(fn, (t(2),))
    from tracer.step import run
    final, stop = run(state)
    a_vt, b_vt = final.frame.locals[1], final.frame.locals[2]
    assert a_vt.oid == b_vt.oid
    assert len(heap.current(final, a_vt).items) == 2
    assert len(stop.value.unpack(final, None)) == 2


# -- metadata folding ------------------------------------------------------------------------

@pytest.mark.parametrize("expression, expected", [
    ("x.shape", torch.Size([2, 3])), ("x.dtype", torch.float32), ("x.device", torch.device("cpu")),
    ("x.ndim", 2), ("x.requires_grad", False), ("x.size()", torch.Size([2, 3])), ("x.size(1)", 3),
    ("x.size(-2)", 2), ("x.dim()", 2), ("x.numel()", 6), ("x.shape[0] * x.shape[1]", 6), ("len(x)", 2),
    ("x.is_floating_point()", True), ("x.element_size()", 4), ("x.is_contiguous()", True),
    ("x.stride()", (3, 1)), ("x.size(0) + 1", 3), ("x.layout", torch.strided), ("x.is_cuda", False),
])
def test_metadata_folds_to_constants_with_no_graph(expression, expected):
    fn = eval(f"lambda x: {expression}")
    res = assert_same_as_eager(fn, lambda: (t(2, 3),), graphs=0)
    assert res.graph_breaks == []
    assert res(t(2, 3)) == expected


def test_folded_metadata_leaves_no_node_in_a_graph():
    def fn(x):
        return x * x.shape[0] + x.size(1) + x.dim() + x.numel()

    res = assert_same_as_eager(fn, lambda: (t(2, 3),))
    assert ops(res.graphs[0]) == [operator.mul, operator.add, operator.add, operator.add]
    consts = [n.args[1] for n in res.graphs[0].graph.nodes if n.op == "call_function"]
    assert consts == [2, 3, 2, 6]


def test_metadata_of_an_intermediate_tensor_folds():
    def fn(x):
        y = x.transpose(0, 1)
        return y.reshape(y.shape[0], -1) + y.size(1)

    res = assert_same_as_eager(fn, lambda: (t(2, 3),))
    assert ops(res.graphs[0]) == ["transpose", "reshape", operator.add]


def test_requires_grad_metadata():
    def fn(x):
        return x.requires_grad, x * 2

    res = trace(fn, (t(2).requires_grad_(),))
    out = res(t(2).requires_grad_())
    assert out[0] is True and out[1].requires_grad
