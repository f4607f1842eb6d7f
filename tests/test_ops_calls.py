"""PRECALL / KW_NAMES / CALL: torch functions, torch.nn.functional, Tensor methods, builtins."""
import math
import operator

import pytest
import torch
import torch.nn.functional as F

from helpers import assert_same_as_eager, opnames, ops
from tracer import trace
from core.outcomes import BreakKind


def t(*shape):
    return torch.randn(*shape)


def test_torch_functions_positional():
    def fn(x, y):
        return torch.add(torch.sin(x), torch.mul(y, 2))

    res = assert_same_as_eager(fn, lambda: (t(3), t(3)))
    assert ops(res.graphs[0]) == [torch.sin, torch.mul, torch.add]


def test_torch_function_with_keyword_uses_kw_names():
    def fn(x, y):
        return torch.add(x, y, alpha=2), torch.sum(x, dim=0, keepdim=True)

    assert "KW_NAMES" in opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(2, 3), t(2, 3)))
    nodes = [n for n in res.graphs[0].graph.nodes if n.op == "call_function"]
    assert [n.target for n in nodes] == [torch.add, torch.sum]
    assert nodes[0].kwargs == {"alpha": 2}
    assert nodes[1].kwargs == {"dim": 0, "keepdim": True}


def test_torch_cat_and_stack_with_sequence_arguments():
    def fn(x, y):
        return torch.cat([x, y], dim=0), torch.stack((x, y), 1)

    res = assert_same_as_eager(fn, lambda: (t(2, 3), t(2, 3)))
    assert ops(res.graphs[0]) == [torch.cat, torch.stack]


def test_torch_factories_without_tensor_arguments():
    def fn(x):
        return x + torch.ones(3) + torch.zeros(2, 3, dtype=torch.float32) + torch.full((3,), 2.0)

    res = assert_same_as_eager(fn, lambda: (t(2, 3),))
    assert ops(res.graphs[0]) == [torch.ones, operator.add, torch.zeros, operator.add, torch.full, operator.add]


def test_torch_like_factories_and_where():
    def fn(x):
        return torch.where(x > 0, x, torch.zeros_like(x)), torch.ones_like(x, dtype=torch.float64)

    res = assert_same_as_eager(fn, lambda: (t(4),))
    assert ops(res.graphs[0]) == [operator.gt, torch.zeros_like, torch.where, torch.ones_like]


@pytest.mark.parametrize("call, targets", [
    (lambda x: F.relu(x), [F.relu]),
    (lambda x: F.softmax(x, dim=-1), [F.softmax]),
    (lambda x: F.log_softmax(x, dim=1, dtype=torch.float64), [F.log_softmax]),
    (lambda x: F.gelu(x, approximate="tanh"), [F.gelu]),
    (lambda x: F.leaky_relu(x, negative_slope=0.2), [F.leaky_relu]),
    (lambda x: F.normalize(x, p=2.0, dim=1), [F.normalize]),
    (lambda x: F.pad(x, (1, 2), value=0.5), [F.pad]),
    (lambda x: F.dropout(x, p=0.5, training=True) * 0, [F.dropout, operator.mul]),
])
def test_functional_with_keyword_arguments(call, targets):
    res = assert_same_as_eager(call, lambda: (t(2, 5),))
    assert ops(res.graphs[0]) == targets


def test_functional_linear_with_bias_keyword():
    def fn(x, w, b):
        return F.linear(x, w, bias=b)

    res = assert_same_as_eager(fn, lambda: (t(2, 4), t(3, 4), t(3)))
    assert ops(res.graphs[0]) == [F.linear]
    (node,) = [n for n in res.graphs[0].graph.nodes if n.op == "call_function"]
    assert [a.name for a in node.args] == ["x", "w"] and node.kwargs["bias"].name == "b"


def test_functional_with_none_keyword():
    def fn(x, w):
        return F.linear(x, w, bias=None)

    res = assert_same_as_eager(fn, lambda: (t(2, 4), t(3, 4)))
    (node,) = [n for n in res.graphs[0].graph.nodes if n.op == "call_function"]
    assert node.kwargs == {"bias": None}


def test_mlp():
    def mlp(x, w1, w2):
        return F.linear(torch.relu(F.linear(x, w1)), w2).softmax(dim=-1)

    res = assert_same_as_eager(mlp, lambda: (t(4, 8), t(8, 8), t(3, 8)))
    assert ops(res.graphs[0]) == [F.linear, torch.relu, F.linear, "softmax"]


def test_tensor_methods_positional():
    def fn(x):
        return x.transpose(0, 1).reshape(3, 2).permute(1, 0).sum(0)

    res = assert_same_as_eager(fn, lambda: (t(2, 3),))
    assert ops(res.graphs[0]) == ["transpose", "reshape", "permute", "sum"]


def test_tensor_methods_keyword():
    def fn(x):
        return x.sum(dim=1, keepdim=True), x.mean(dim=0), x.to(dtype=torch.float64), x.view(-1)

    assert "KW_NAMES" in opnames(fn)
    res = assert_same_as_eager(fn, lambda: (t(2, 3),))
    nodes = [n for n in res.graphs[0].graph.nodes if n.op == "call_method"]
    assert [n.target for n in nodes] == ["sum", "mean", "to", "view"]
    assert nodes[0].kwargs == {"dim": 1, "keepdim": True}
    assert nodes[2].kwargs == {"dtype": torch.float64}


def test_tensor_method_mixed_positional_and_keyword():
    def fn(x, y):
        return x.add(y, alpha=3).clamp(-0.5, max=0.5)

    res = assert_same_as_eager(fn, lambda: (t(4), t(4)))
    nodes = [n for n in res.graphs[0].graph.nodes if n.op == "call_method"]
    assert [(n.target, n.kwargs) for n in nodes] == [("add", {"alpha": 3}), ("clamp", {"max": 0.5})]


def test_tensor_method_returning_input_keeps_identity():
    def fn(x):
        return x.contiguous(), x.float()

    res = trace(fn, (t(3),))
    assert res.graphs == []
    x = t(3)
    a, b = res(x)
    assert a is x and b is x


def test_op_returning_its_input_is_the_input_object():
    def fn(x):
        return F.dropout(x, p=0.5, training=False), x.to(torch.float32)

    res = assert_same_as_eager(fn, lambda: (t(3),), graphs=0)
    x = t(3)
    a, b = res(x)
    assert a is x and b is x


def test_method_returning_named_tuple():
    def fn(x):
        out = x.max(dim=0)
        return out.values + 1, out.indices

    res = assert_same_as_eager(fn, lambda: (t(3, 4),))
    assert ops(res.graphs[0])[0] == "max"


def test_returning_named_tuple_keeps_its_type():
    def fn(x):
        return torch.sort(x, descending=True)

    assert_same_as_eager(fn, lambda: (t(5),))


def test_split_returns_tuple_of_tensors():
    def fn(x):
        a, b = x.split(2)
        return b - a

    res = assert_same_as_eager(fn, lambda: (t(4, 3),))
    assert ops(res.graphs[0]) == ["split", operator.getitem, operator.getitem, operator.sub]


def test_math_functions_fold_on_constants():
    def fn(x, a):
        return x * math.sqrt(a) + math.floor(2.7)

    res = assert_same_as_eager(fn, lambda: (t(3), 9.0))
    nodes = [n for n in res.graphs[0].graph.nodes if n.op == "call_function"]
    assert [n.target for n in nodes] == [operator.mul, operator.add]
    assert nodes[0].args[1] == 3.0 and nodes[1].args[1] == 2


@pytest.mark.parametrize("fn, expected", [
    (lambda a: (len("abc"), abs(a), max(a, 3), min((a, 1, 2)), round(2.567, 2), int("7"), str(a)),
     (3, 4, 3, -4, 2.57, 7, "-4")),
    (lambda a: (sum((1, 2, a)), divmod(7, 2), bool(a), float(a), max((3, 1, a)), round(a / 3)),
     (-1, (3, 1), True, -4.0, 3, -1)),
    (lambda a: (isinstance(a, int), isinstance(a, (str, float)), tuple(range(a + 6))), (True, False, (0, 1))),
])
def test_builtins_fold_on_constants(fn, expected):
    res = assert_same_as_eager(fn, lambda: (-4,), graphs=0)
    assert res(-4) == expected


def test_builtin_on_tensor():
    def fn(x):
        return abs(x) + len(x) + pow(x, 2), isinstance(x, torch.Tensor)

    res = assert_same_as_eager(fn, lambda: (t(3, 2),))
    assert ops(res.graphs[0]) == [operator.abs, operator.add, operator.pow, operator.add]


def test_kw_names_does_not_leak_into_the_next_call():
    def fn(x):
        a = x.sum(dim=0)
        b = torch.relu(a)
        return b.mean()

    res = assert_same_as_eager(fn, lambda: (t(3, 4),))
    nodes = [n for n in res.graphs[0].graph.nodes if n.op in ("call_function", "call_method")]
    assert [n.kwargs for n in nodes] == [{"dim": 0}, {}, {}]


def test_in_place_method_is_recorded_in_order():
    def fn(x):
        y = x + 1
        y.add_(1)
        return y

    res = assert_same_as_eager(fn, lambda: (t(3),))
    assert ops(res.graphs[0]) == [operator.add, "add_"]


def test_in_place_method_on_an_input_and_through_a_view():
    def fn(x):
        x.mul_(2)
        row = x[0]
        row.zero_()
        return x.sum()

    res = trace(fn, (t(2, 3),))
    x = t(2, 3)
    expected = x.clone()
    eager_out = fn(expected)
    out = res(x)
    torch.testing.assert_close(x, expected)
    torch.testing.assert_close(out, eager_out)


def test_in_place_change_of_metadata_breaks():
    def fn(x):
        y = x + 1
        y.t_()
        return y

    # `x + 1` before it is a graph, and the break at the call is resumed after it
    res = assert_same_as_eager(fn, lambda: (t(2, 3),), graphs=1, breaks=1)
    assert res.graph_breaks[0].kind is BreakKind.TENSOR_MUTATION
    assert res.graph_breaks[0].source_line == "y.t_()" and res.graph_breaks[0].instruction == "CALL"
    assert res.graph_breaks[0].rule == "TensorBase.t_: put in the graph (a tensor method)"


def test_item_breaks_as_data_dependent():
    def fn(x):
        return x.sum().item() + 1

    res = assert_same_as_eager(fn, lambda: (t(3),), graphs=1, breaks=1)
    assert res.graph_breaks[0].kind is BreakKind.DATA_DEPENDENT


def test_the_code_after_item_and_tolist_is_captured_again():
    # the break is at the call, so the entry runs it for real and a resume function traces the rest
    def fn(x):
        y = x * 2
        n = y.sum().item()
        values = y.tolist()
        return y + n + len(values)

    res = assert_same_as_eager(fn, lambda: (t(3),), graphs=1, breaks=1)  # the resume functions trace on the call
    # y * 2 and y.sum() before item(); nothing between item() and tolist(); the sum after tolist()
    assert len(res.graphs) == 2, res.graph_breaks
    assert [b.kind for b in res.graph_breaks] == [BreakKind.DATA_DEPENDENT] * 2
    assert [b.instruction for b in res.graph_breaks] == ["CALL", "CALL"]
    assert res.graph_breaks[0].rule == "TensorBase.item: run eagerly, at a graph break (turns tensor data into a Python scalar)"


def test_call_raising_shape_error_breaks_and_raises_like_eager():
    def fn(x, y):
        return torch.mm(x, y)

    res = trace(fn, (t(2, 3), t(2, 3)))
    assert res.graphs == [] and res.graph_breaks[0].kind is BreakKind.PYTHON_EXCEPTION
    with pytest.raises(RuntimeError):
        res(t(2, 3), t(2, 3))


def test_non_graphable_torch_function_breaks():
    def fn(x):
        torch.manual_seed(0)
        return x + 1

    res = trace(fn, (t(2),))
    assert res.graphs == []
    assert res.graph_breaks[0].source_line == "torch.manual_seed(0)"


def test_unused_result_of_op_with_side_effect_still_runs():
    def fn(x, running_mean, running_var):
        F.batch_norm(x, running_mean, running_var, training=True)  # result unused: updates the stats
        return x + 1

    def make():
        return t(4, 3), torch.zeros(3), torch.ones(3)

    res = trace(fn, make())
    x, mean, var = make()
    eager_mean, eager_var = mean.clone(), var.clone()
    fn(x, eager_mean, eager_var)
    res(x, mean, var)
    torch.testing.assert_close(mean, eager_mean)
    torch.testing.assert_close(var, eager_var)


def test_used_result_of_op_with_side_effect():
    def fn(x, running_mean, running_var):
        return F.batch_norm(x, running_mean, running_var, training=True, momentum=0.5)

    def make():
        return t(4, 3), torch.zeros(3), torch.ones(3)

    res = assert_same_as_eager(fn, make)
    x, mean, var = make()
    eager_mean = mean.clone()
    fn(x.clone(), eager_mean, var.clone())
    res(x, mean, var)
    torch.testing.assert_close(mean, eager_mean)


def test_random_ops_draw_like_eager():
    def fn(x):
        torch.rand(3)  # discarded, but advances the generator
        return x + torch.rand(3)

    res = trace(fn, (torch.zeros(3),))
    torch.manual_seed(123)
    expected = fn(torch.zeros(3))
    torch.manual_seed(123)
    torch.testing.assert_close(res(torch.zeros(3)), expected)


def test_dead_ops_leave_no_graph():
    def fn(x):
        y = x + 1  # noqa: F841 - unused
        return 3

    res = assert_same_as_eager(fn, lambda: (t(2),), graphs=0)
    assert res(t(2)) == 3
