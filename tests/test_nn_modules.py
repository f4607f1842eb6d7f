"""nn.Module completeness: hooks, containers, tree walks, training flags, modules made inside the function."""
import operator

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from helpers import all_ops, assert_same_as_eager
from tracer import compile, trace
from core.outcomes import BreakKind


def x4():
    return (torch.randn(2, 4),)


# -- hooks -------------------------------------------------------------------------------------

def test_forward_pre_hook_and_forward_hook_are_inlined():
    net = nn.Linear(4, 4)
    seen = []
    net.register_forward_pre_hook(lambda module, args: (args[0] * 2,))
    net.register_forward_pre_hook(lambda module, args: None)  # None keeps the arguments
    net.register_forward_hook(lambda module, args, out: out + args[0])
    net.register_forward_hook(lambda module, args, out: seen.append(out.shape[0]))

    res = assert_same_as_eager(lambda x: net(x).relu(), x4)
    assert all_ops(res)[0] is operator.mul and F.linear in all_ops(res)
    assert seen == [2, 2]  # the eager call, then the traced call replays the append
    assert any("forward pre-hooks" in str(g) for g in res.guards)


def test_pre_hook_returning_a_single_value_wraps_it_in_a_tuple():
    net = nn.Linear(4, 4)
    net.register_forward_pre_hook(lambda module, args: args[0] + 1)
    assert_same_as_eager(lambda x: net(x), x4)


def test_registering_a_hook_later_recaptures():
    net = nn.Linear(4, 4)
    res = compile(lambda x: net(x))
    x = torch.randn(2, 4)
    torch.testing.assert_close(res(x), net(x))
    handle = net.register_forward_hook(lambda module, args, out: out * 0)
    torch.testing.assert_close(res(x), torch.zeros(2, 4))
    handle.remove()
    torch.testing.assert_close(res(x), net(x))
    assert len(res.captures) == 2


@pytest.mark.parametrize("register", [
    lambda net: net.register_forward_pre_hook(lambda module, args: None),
    lambda net: net.register_forward_pre_hook(lambda module, args, kwargs: None, with_kwargs=True),
    lambda net: net.register_forward_hook(lambda module, args, out: None, with_kwargs=False),
    lambda net: net.register_forward_hook(lambda module, args, kwargs, out: None, with_kwargs=True),
    lambda net: net.register_full_backward_hook(lambda module, grad_in, grad_out: None),
    lambda net: net.register_full_backward_pre_hook(lambda module, grad_out: None),
], ids=["pre", "pre-kwargs", "forward", "forward-kwargs", "backward", "backward-pre"])
def test_any_hook_registered_later_fails_the_guard_of_a_module_that_had_none(register):
    net = nn.Linear(4, 4)
    res = compile(lambda x: net(x))
    x = torch.randn(2, 4)
    res(x)
    register(net)
    torch.testing.assert_close(res(x), net(x))
    assert len(res.captures) == 2  # the first capture's guards failed


def test_global_hook_breaks_with_a_clear_reason():
    net = nn.Linear(4, 4)
    handle = nn.modules.module.register_module_forward_hook(lambda module, args, out: None)
    try:
        res = trace(lambda x: net(x), x4())
        assert res.graph_breaks[0].kind is BreakKind.UNSUPPORTED_CALL
        assert "global nn.Module hooks" in res.graph_breaks[0].reason
        x = torch.randn(2, 4)
        torch.testing.assert_close(res(x), net(x))
    finally:
        handle.remove()


def test_backward_hooks_break():
    net = nn.Linear(4, 4)
    net.register_full_backward_hook(lambda module, grad_in, grad_out: None)
    res = trace(lambda x: net(x), x4())
    assert res.graph_breaks[0].kind is BreakKind.UNSUPPORTED_CALL and "backward hooks" in res.graph_breaks[0].reason


# -- containers --------------------------------------------------------------------------------

def make_seq():
    return nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.Tanh())


def test_sequential_indexing_negative_and_slices():
    seq = make_seq()

    def fn(x):
        head = seq[:2]
        return seq[-1](x), head(x), seq[1:](x), seq[::2][1](x), len(seq[1:3]), seq[-2:](seq[:-2](x))

    res = assert_same_as_eager(fn, x4)
    assert len(res.graphs) == 1


def test_modulelist_iteration_index_len_and_in():
    layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
    other = nn.Linear(4, 4)

    def fn(x):
        for layer in layers[1:]:
            x = layer(x)
        for position in range(len(layers)):
            x = x + layers[position](x) * 0.1
        return x, layers[0] in layers, other in layers, len(layers)

    assert_same_as_eager(fn, x4)


def test_moduledict_items_keys_values_and_in():
    table = nn.ModuleDict({"act": nn.ReLU(), "proj": nn.Linear(4, 4)})

    def fn(x):
        outs = [module(x) for name, module in table.items()]
        return outs, list(table.keys()), [type(m).__name__ for m in table.values()], "act" in table, \
            "nope" in table, table["proj"](x), [name for name in table]

    assert_same_as_eager(fn, x4)


def test_adding_a_child_recaptures():
    layers = nn.ModuleList([nn.Linear(4, 4)])

    def fn(x):
        for layer in layers:
            x = layer(x)
        return x

    res = compile(fn)
    x = torch.randn(2, 4)
    torch.testing.assert_close(res(x), fn(x))
    layers.append(nn.Linear(4, 4))
    torch.testing.assert_close(res(x), fn(x))
    assert len(res.captures) == 2


# -- training flags ----------------------------------------------------------------------------

class Regularized(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.bn = nn.BatchNorm1d(4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        y = self.drop(self.bn(self.fc(x)))
        return y * 2 if self.training else y - 1


def test_eval_and_train_branches_are_guarded_on_training():
    net = Regularized()
    net.eval()
    res = compile(net)
    x = torch.randn(5, 4)
    torch.testing.assert_close(res(x), net(x))
    assert F.batch_norm in all_ops(res.captures[0]) and F.dropout not in all_ops(res.captures[0])
    guards = "\n".join(map(str, res.captures[0].guards))
    assert ".training: bool == False" in guards
    net.train()
    out = res(x)
    assert out.shape == (5, 4) and len(res.captures) == 2
    net.eval()
    torch.testing.assert_close(res(x), net(x))
    assert len(res.captures) == 2


# -- tree walks --------------------------------------------------------------------------------

class Tree(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        self.shared = self.a  # the same module twice: walks visit it once
        self.register_buffer("scale", torch.ones(4))

    def forward(self, x):
        norm = sum(p.pow(2).sum() for p in self.parameters())
        names = [name for name, _ in self.named_parameters()]
        kids = [name for name, _ in self.named_children()]
        mods = [type(m).__name__ for m in self.modules()]
        qual = [name for name, _ in self.named_modules()]
        bufs = [name for name, _ in self.named_buffers()]
        count = sum(p.numel() for p in self.b.parameters(recurse=True))
        own = list(self.parameters(recurse=False))
        return x * norm * self.scale, names, kids, mods, qual, bufs, count, len(own), len(list(self.children()))


def test_parameters_modules_and_children_walks_inside_forward():
    net = Tree()
    res = assert_same_as_eager(net, x4)
    assert res.graph_breaks == []


def test_walk_with_prefix_and_new_parameter_recaptures():
    net = nn.Sequential(nn.Linear(4, 4))

    def fn(x):
        return x, [name for name, _ in net.named_parameters(prefix="model")]

    res = compile(fn)
    x = torch.randn(2, 4)
    assert res(x)[1] == fn(x)[1]
    net[0].register_parameter("extra", nn.Parameter(torch.ones(1)))
    assert res(x)[1] == fn(x)[1] and len(res.captures) == 2


# -- modules made inside -------------------------------------------------------------------------

def test_stateless_modules_made_inside_are_inlined():
    def fn(x):
        return (nn.ReLU()(x), nn.LeakyReLU(0.2)(x), nn.Softmax(dim=-1)(x), nn.Flatten(0)(x), nn.Identity()(x),
                nn.Dropout(0.0)(x), nn.Tanh()(x), nn.GELU(approximate="tanh")(x), nn.MaxPool1d(2)(x[None]))

    res = assert_same_as_eager(fn, x4)
    assert F.relu in all_ops(res) and F.leaky_relu in all_ops(res)


def test_modules_owning_parameters_made_inside_break_with_a_reason():
    res = trace(lambda x: nn.Linear(4, 4)(x), x4())
    assert res.graph_breaks[0].kind is BreakKind.UNSUPPORTED_CALL
    assert "create the module once" in res.graph_breaks[0].hint
    res = trace(lambda x: Tree()(x), x4())
    assert res.graph_breaks[0].kind is BreakKind.UNSUPPORTED_CALL and "your class" in res.graph_breaks[0].reason


def test_module_identity_and_used_attributes_are_guarded():
    net = Regularized().eval()
    res = trace(net, (torch.randn(3, 4),))
    guards = "\n".join(map(str, res.guards))
    assert "module object Regularized" in guards and "fc.weight" in guards
    assert "bn.eps" in guards or "bn.momentum" in guards


def test_nanogpt_style_model_is_one_graph():
    import sys
    import os

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
    from models import NanoGPT, nanogpt_inputs

    model, idx = nanogpt_inputs()  # in eval mode
    res = trace(model, (idx,))
    assert res.graph_breaks == [] and len(res.graphs) == 1
    torch.testing.assert_close(res(idx), model(idx))


class Counter:
    def __init__(self):
        self.calls = []

    def hook(self, module, args, out):
        self.calls.append(type(module).__name__)
        return out * 0.5


def test_hook_that_is_a_bound_method_and_init_style_walk():
    counter = Counter()
    net = nn.Sequential(nn.Linear(4, 4), nn.GELU(), nn.Linear(4, 2))
    net[2].register_forward_hook(counter.hook)

    def fn(x):
        linears = sum(1 for m in net.modules() if isinstance(m, nn.Linear))
        return net(x) * linears

    assert_same_as_eager(fn, x4)
    assert counter.calls == ["Linear", "Linear"]


def test_parameter_list_and_dict():
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.plist = nn.ParameterList([nn.Parameter(torch.randn(4)) for _ in range(3)])
            self.pdict = nn.ParameterDict({"a": nn.Parameter(torch.randn(4))})

        def forward(self, x):
            for p in self.plist:
                x = x * p
            return x + self.plist[-1] + self.pdict["a"], len(self.plist), [k for k in self.pdict]

    assert_same_as_eager(Holder(), x4)


def test_forward_replaced_on_the_instance_and_custom_call():
    import types

    net = nn.Linear(4, 4)
    net.forward = types.MethodType(lambda self, x: F.linear(x, self.weight) * 3, net)

    class Called(nn.Module):
        def __call__(self, x):
            return x - 1

    called = Called()
    assert_same_as_eager(lambda x: (net(x), called(x)), x4)


def test_capture_reads_a_modules_own_dict_past_its_python_getattribute():
    """The tracer's own reads of a module's instance dict (its tables, a replaced forward, its
    plain attributes) must not run the class's Python `__getattribute__`: capturing runs none of
    the user's code for real.  (Calls of the compiled function read attributes as eager does.)"""
    asked = []

    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = 2.0
            self.inner = nn.Linear(4, 4)

        def __getattribute__(self, name):
            if name == "__dict__":
                asked.append(name)
            return super().__getattribute__(name)

        def forward(self, x):
            return self.inner(x) * self.scale

    net, x = Counting(), torch.randn(2, 4)
    asked.clear()
    res = trace(net, (x,))
    assert asked == [] and res.graph_breaks == []
    torch.testing.assert_close(res(x), net(x))
