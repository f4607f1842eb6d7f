"""Higher-order operators and mode switches: one graph around each, values and gradients as eager's.

Each construct sits between ordinary tensor work; the capture must be one graph with no break, the
results equal eager's on fresh inputs, and after `backward()` the gradients of the inputs and of the
parameters equal eager's.  The `inductor` tests compile the same kind of function with inductor
(tiny shapes); the fallback tests show a body that cannot be a sub-graph making the operator call
run eagerly as one break.
"""
import operator

import pytest
import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch.autograd.function import once_differentiable

from helpers import clone_inputs, ops
from tracer import trace

HOP = torch.ops.higher_order


def _tensors(value):
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    return []


def _run(fn, inputs, params):
    for p in params:
        p.grad = None
    out = fn(*inputs)
    differentiable = [t for t in _tensors(out) if t.requires_grad]
    if differentiable:
        sum(t.float().sum() for t in differentiable).backward()
    grads = [t.grad for t in _tensors(inputs) if t.requires_grad] + [p.grad for p in params]
    return out, [None if g is None else g.clone() for g in grads]


def same_grads_as_eager(fn, make_inputs, params=(), backend="eager", tol=None):
    """One graph, no break; outputs and input/parameter gradients equal eager's on fresh inputs."""
    res = trace(fn, make_inputs(), backend=backend)
    assert res.graph_breaks == [] and len(res.graphs) == 1, res.graph_breaks
    inputs = make_inputs()
    out, grads = _run(res, inputs, params)
    expected, expected_grads = _run(fn, clone_inputs(make_inputs()), params)
    close = {} if tol is None else {"atol": tol, "rtol": tol}
    assert len(_tensors(out)) == len(_tensors(expected))
    for a, b in zip(_tensors(out), _tensors(expected)):
        torch.testing.assert_close(a, b, **close)
        assert a.requires_grad == b.requires_grad
    assert [g is None for g in grads] == [g is None for g in expected_grads]
    for a, b in zip(grads, expected_grads):
        if a is not None:
            torch.testing.assert_close(a, b, **close)
    return res


def inputs(*shapes):
    def make():
        torch.manual_seed(1)
        return tuple(torch.randn(*shape, requires_grad=True) for shape in shapes)
    return make


def sub_modules(res):
    return dict(res.graphs[0].named_children())


# -- checkpoint -----------------------------------------------------------------------------------

def block(x, w):
    return torch.sin(x @ w).relu() * 2


def with_checkpoint(x, w):
    y = x.cos()
    z = torch.utils.checkpoint.checkpoint(block, y, w, use_reentrant=False)
    return z.sum(dim=-1) + y.mean()


def test_checkpoint_is_one_tagged_region():
    res = same_grads_as_eager(with_checkpoint, inputs((3, 4), (4, 4)))
    assert HOP.tag_activation_checkpoint in ops(res.graphs[0])
    (body,) = sub_modules(res).values()
    assert ops(body) == [operator.matmul, torch.sin, "relu", operator.mul]


def test_checkpoint_of_a_module_reads_its_parameters_as_operands():
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 4)

    def fn(x):
        return torch.utils.checkpoint.checkpoint(layer, x * 2, use_reentrant=False).tanh()

    res = same_grads_as_eager(fn, inputs((2, 4)), params=list(layer.parameters()))
    assert len(res.graphs[0].graph.find_nodes(op="placeholder")) == 3  # x, weight, bias


def test_reentrant_checkpoint_runs_eagerly():
    def fn(x, w):
        return torch.utils.checkpoint.checkpoint(block, x, w, use_reentrant=True) + 1

    res = trace(fn, inputs((3, 4), (4, 4))())
    assert len(res.graph_breaks) == 1 and "use_reentrant" in res.graph_breaks[0].reason


# -- cond, while_loop, map ------------------------------------------------------------------------

def with_cond(x, w):
    y = x.cos()
    r = torch.cond(y.sum() > 0, lambda a: (a @ w).sin(), lambda a: (a * 2) @ w, (y,))
    return r * 3


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cond_traces_both_branches(sign):
    res = same_grads_as_eager(lambda x, w: with_cond(x * sign + sign * 3, w), inputs((3, 4), (4, 4)))
    assert HOP.cond in ops(res.graphs[0])
    assert sorted(name.rsplit("_", 1)[0] for name in sub_modules(res)) == ["cond_false", "cond_true"]


def test_cond_on_a_python_predicate_calls_one_branch():
    res = same_grads_as_eager(lambda x: torch.cond(True, lambda a: a.sin(), lambda a: a.cos(), (x,)) + 1,
                              inputs((3,)))
    assert HOP.cond not in ops(res.graphs[0])


def test_cond_with_branches_of_different_shapes_runs_eagerly():
    def fn(x):
        return torch.cond(x.sum() > 0, lambda a: a.sum(0), lambda a: a, (x,))

    res = trace(fn, (torch.randn(3, 4),))
    assert len(res.graph_breaks) == 1 and "different structures" in res.graph_breaks[0].reason


def test_while_loop():
    def fn(x, n):
        i, y = torch.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y * 0.5 + x), (torch.zeros((), dtype=torch.int64), x * 1))
        return i, y - 1

    res = trace(fn, (torch.randn(3), torch.tensor(4)))
    assert res.graph_breaks == [] and HOP.while_loop in ops(res.graphs[0])
    x, n = torch.randn(3), torch.tensor(5)
    for a, b in zip(res(x, n), fn(x, n)):
        torch.testing.assert_close(a, b)


def test_map():
    import torch._higher_order_ops as hops

    def fn(xs, w):
        return hops.map(lambda row, scale: (row @ w).sin() * scale, xs.cos(), w[0, 0] + 1).sum(0)

    res = same_grads_as_eager(fn, inputs((5, 4), (4, 3)))
    assert HOP.map_impl in ops(res.graphs[0])


# -- autograd.Function ----------------------------------------------------------------------------

class ScaledSin(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, scale):
        ctx.save_for_backward(x, w)
        ctx.scale = scale
        ctx.extra = w * 0  # a tensor stashed on ctx travels to backward too
        return (x @ w).sin() * scale

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        inner = grad * (x @ w).cos() * ctx.scale + ctx.extra.sum()
        grad_x = inner @ w.t() if ctx.needs_input_grad[0] else None
        return grad_x, x.t() @ inner, None


class Split(torch.autograd.Function):
    """forward/setup_context style, a non-differentiable output, a custom gradient (not the true one)."""

    @staticmethod
    def forward(x):
        return x * 2, (x > 0).float()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.mark_non_differentiable(output[1])
        ctx.factor = 3.0

    @staticmethod
    def backward(ctx, grad, _):
        return grad * ctx.factor


def with_autograd_functions(x, w):
    y = x + 1
    z = ScaledSin.apply(y, w, 2.0)
    a, mask = Split.apply(z)
    return (a * mask).sum(dim=0), mask


def test_autograd_function_keeps_the_custom_backward():
    res = same_grads_as_eager(with_autograd_functions, inputs((3, 4), (4, 4)))
    assert ops(res.graphs[0]).count(HOP.autograd_function_apply) == 2
    names = sorted(name.rsplit("_", 1)[0] for name in sub_modules(res))
    assert names == ["bwd_body", "bwd_body", "fwd_body", "fwd_body"]


def test_autograd_function_needs_input_grad_follows_the_inputs():
    def fn(x, w):
        return ScaledSin.apply(x.detach(), w, 0.5).sum() * 2

    res = same_grads_as_eager(fn, inputs((3, 4), (4, 4)))
    bwd = [m for name, m in sub_modules(res).items() if name.startswith("bwd")][0]
    assert [n for n in bwd.graph.find_nodes(op="output")][0].args[0][0] is None  # x needs no grad: not computed


def test_autograd_function_used_in_a_module():
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(4, 4))

        def forward(self, x):
            return ScaledSin.apply(x.tanh(), self.w, 1.5).relu()

    net = Net()
    same_grads_as_eager(net, inputs((2, 4)), params=[net.w])


# -- torch.func -----------------------------------------------------------------------------------

def test_vmap_with_in_dims_and_out_dims():
    def fn(x, w):
        y = x * 2
        v = torch.func.vmap(lambda r, s, c: (r @ w).sin() * s + c, in_dims=(1, None, 0), out_dims=1)(y, 3.0, x.T)
        return v.sum() + 1

    res = same_grads_as_eager(fn, inputs((4, 5), (4, 4)))
    assert len(sub_modules(res)) == 1


def test_grad_grad_and_value_jacrev_jacfwd():
    def fn(x, w):
        y = x.cos()
        g0, g1 = torch.func.grad(lambda a, c: ((a @ w).tanh() * c).sum(), argnums=(0, 1))(y, y)
        gv, (value, aux) = torch.func.grad_and_value(lambda a: ((a ** 2).sum(), a.mean()), has_aux=True)(y)
        jr = torch.func.jacrev(lambda a: (a @ w).sin())(y[0])
        jf = torch.func.jacfwd(lambda a: (a @ w).cos())(y[1])
        return g0 * g1.mean() + gv, value + aux, jr.sum(0) + jf.sum(1)

    res = same_grads_as_eager(fn, inputs((2, 4), (4, 4)))
    assert len(sub_modules(res)) == 4


def test_vmap_of_grad():
    def fn(x, w):
        return torch.vmap(torch.func.grad(lambda a: (a.sin() * w[0]).sum()))(x + 1).sum(0)

    same_grads_as_eager(fn, inputs((5, 4), (4, 4)))


def test_functional_call_with_parameter_and_buffer_dicts():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2), torch.nn.BatchNorm1d(2))
    net.eval()

    def fn(x, w0, b2):
        out = torch.func.functional_call(net, ({"0.weight": w0}, {"2.bias": b2, "3.running_mean": b2.detach() * 0.5}),
                                         (x + 1,))
        return out.sum(0) * 2 + net[0].weight.sum()  # the module's own weight is back after the call

    same_grads_as_eager(fn, inputs((3, 4), (4, 4), (2,)), params=list(net.parameters()))


# -- autocast and inference mode ------------------------------------------------------------------

G_AUTOCAST = torch.autocast("cpu", dtype=torch.bfloat16)


@torch.autocast("cpu", dtype=torch.bfloat16)
def autocast_matmul(a, b):
    return a @ b


def with_autocast(x, w):
    y = x + 1
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = y @ w
        with torch.autocast("cpu", enabled=False):
            q = z.float() @ w
        r = autocast_matmul(y, w)
    with G_AUTOCAST:
        s = F.linear(q, w)
    return z.float().sum(0) + q.sum(0) + r.float().sum(0) + s.float().sum(0), z, q


def test_autocast_switches_inside_the_graph():
    res = same_grads_as_eager(with_autocast, inputs((3, 4), (4, 4)))
    targets = ops(res.graphs[0])
    assert targets.count(torch.amp._enter_autocast) == 4 and targets.count(torch.amp._exit_autocast) == 4
    z, q = [n for n in res.graphs[0].graph.find_nodes(op="output")][0].args[0][1:]
    assert z.meta["example_value"].dtype == torch.bfloat16 and q.meta["example_value"].dtype == torch.float32


@torch.inference_mode()
def doubled_in_inference(a):
    return a * 2


def with_inference_mode(x):
    y = x * 2
    with torch.inference_mode():
        z = y + 1
        inside = torch.is_inference_mode_enabled()
    return z, z.is_inference(), inside, doubled_in_inference(x), y.sum()


def test_inference_mode_is_a_graph_node():
    res = trace(with_inference_mode, (torch.randn(3, requires_grad=True),))
    assert res.graph_breaks == [] and len(res.graphs) == 1
    assert ops(res.graphs[0]).count(torch.autograd.grad_mode._enter_inference_mode) == 2
    x = torch.randn(3, requires_grad=True)
    got, expected = res(x), with_inference_mode(x)
    assert got[1:3] == expected[1:3] and got[0].is_inference() and got[3].is_inference()
    torch.testing.assert_close(got[0], expected[0])
    torch.testing.assert_close(got[3], expected[3])


# -- fallbacks: a body that cannot be a sub-graph -------------------------------------------------

COUNTER = 0


def printing_block(x):
    print("inside the checkpointed block")
    return x.sin()


def bumping_branch(x):
    global COUNTER
    COUNTER += 1
    return x.sin()


def test_a_body_that_prints_runs_the_operator_eagerly(capsys):
    def fn(x):
        y = x * 2
        z = torch.utils.checkpoint.checkpoint(printing_block, y, use_reentrant=False)
        return z + 1

    res = trace(fn, (torch.randn(3, requires_grad=True),))
    assert len(res.graph_breaks) == 1
    assert "checkpoint" in res.graph_breaks[0].reason and "runs eagerly" in res.graph_breaks[0].reason
    capsys.readouterr()
    x = torch.randn(3, requires_grad=True)
    torch.testing.assert_close(res(x), fn(x))
    assert capsys.readouterr().out.count("inside the checkpointed block") == 2  # once traced, once eager


def test_a_body_that_writes_a_global_runs_the_operator_eagerly():
    def fn(x):
        y = x.cos()
        return torch.utils.checkpoint.checkpoint(bumping_branch, y, use_reentrant=False) * 2

    res = trace(fn, (torch.randn(3),))
    assert len(res.graph_breaks) == 1 and "global" in res.graph_breaks[0].reason
    before = COUNTER
    x = torch.ones(3)
    torch.testing.assert_close(res(x), fn(x))
    assert COUNTER == before + 2  # the compiled call ran the body for real, as eager does


def test_a_cond_branch_that_writes_a_global_raises_as_eager_does():
    def fn(x):
        return torch.cond(x.sum() > 0, bumping_branch, lambda a: a.cos(), (x,)) * 2

    res = trace(fn, (torch.randn(3),))
    assert len(res.graph_breaks) == 1 and "global" in res.graph_breaks[0].reason
    with pytest.raises(Exception) as eager:
        fn(torch.ones(3))
    with pytest.raises(type(eager.value)):  # torch.cond refuses the side effect, eagerly too
        res(torch.ones(3))


def test_an_autograd_function_whose_forward_prints_runs_eagerly():
    class Loud(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            print("forward")
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    def fn(x):
        return Loud.apply(x + 1).sum()

    res = trace(fn, (torch.randn(3, requires_grad=True),))
    assert len(res.graph_breaks) == 1 and "Loud.forward" in res.graph_breaks[0].reason
    x = torch.randn(3, requires_grad=True)
    torch.testing.assert_close(res(x), fn(x))


# -- inductor -------------------------------------------------------------------------------------

@pytest.mark.inductor
def test_inductor_checkpoint_cond_autograd_function():
    def fn(x, w):
        y = with_checkpoint(x, w)
        z = with_cond(x, w)
        a, mask = with_autograd_functions(x, w)
        return y.sum() + z.sum() + a.sum(), mask

    same_grads_as_eager(fn, inputs((3, 4), (4, 4)), backend="inductor", tol=1e-4)


@pytest.mark.inductor
def test_inductor_torch_func():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh())

    def fn(x, w):
        v = torch.func.vmap(lambda r: (r @ w).sin(), in_dims=1, out_dims=1)(x.T)
        g = torch.func.grad(lambda a: (a @ w).tanh().sum())(x)
        j = torch.func.jacrev(lambda a: (a @ w).sin())(x[0])
        f = torch.func.functional_call(net, {"0.weight": w}, (x,))
        return v.T.sum(0) + g.sum(0) + j.sum(0) + f.sum(0)

    same_grads_as_eager(fn, inputs((3, 4), (4, 4)), params=list(net.parameters()), backend="inductor", tol=1e-4)


@pytest.mark.inductor
def test_inductor_autocast_inference_mode_and_forward_only_operators():
    import torch._higher_order_ops as hops

    def fn(x, w):
        total = with_autocast(x, w)[0].sum()
        with torch.inference_mode():
            frozen = (x * 2).sum()
        jf = torch.func.jacfwd(lambda a: (a @ w).cos())(x[0].detach()).sum()  # (inductor's backward of jacfwd crashes in torch)
        _, looped = torch.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * 0.5), (torch.zeros((), dtype=torch.int64), x.detach()))
        mapped = hops.map(lambda row: row.sin(), x.detach())
        return total, frozen + jf + looped.sum() + mapped.sum()

    same_grads_as_eager(fn, inputs((3, 4), (4, 4)), backend="inductor", tol=2e-2)


def test_calling_under_an_outer_autocast_recaptures():
    def fn(x, w):
        return x @ w, (x @ w).dtype

    res = trace(fn, (torch.randn(3, 4), torch.randn(4, 4)))
    x, w = torch.randn(3, 4), torch.randn(4, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got, expected = res(x, w), fn(x, w)
    assert got[1] == expected[1] == torch.bfloat16 and got[0].dtype == torch.bfloat16
    assert len(res.captures) == 2  # the guard on autocast failed, so it captured again under it
    assert "autocast on (cpu, torch.bfloat16)" in str(res.captures[1].guards[0])


def test_a_break_inside_an_autocast_block_runs_the_function_eagerly(capsys):
    def fn(x, w):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            z = x @ w
            print("inside")
            q = z @ w
        return q.float() + 1, q.dtype

    res = trace(fn, (torch.randn(3, 4), torch.randn(4, 4)))
    assert len(res.graph_breaks) == 1 and res.graphs == []
    x, w = torch.randn(3, 4), torch.randn(4, 4)
    got, expected = res(x, w), fn(x, w)
    torch.testing.assert_close(got[0], expected[0])
    assert got[1] == expected[1] and not torch.is_autocast_enabled("cpu")
