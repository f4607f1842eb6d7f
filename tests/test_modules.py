"""nn.Module trees and objects of user classes, read-only: forward inlined into one graph."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tracer import compile, trace
from core.outcomes import BreakKind


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.fc = nn.Linear(d, d)
        self.scale = 0.5

    def forward(self, x):
        return x + self.fc(F.gelu(self.ln(x))) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Block(8) for _ in range(2)])
        self.head = nn.Sequential(nn.Linear(8, 4), nn.ReLU())
        self.register_buffer("offset", torch.zeros(4))

    @property
    def depth(self):
        return len(self.blocks)

    def scaled(self, y):
        return y * self.depth

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        x = self.blocks[0](x)
        out = self.scaled(self.head(x) + self.offset)
        return out if self.training else out * 0


def test_module_tree_is_one_graph_with_parameters_as_inputs():
    net = Net()
    x = torch.randn(3, 8)
    res = trace(net, (x,))
    assert res.graph_breaks == [] and len(res.graphs) == 1
    placeholders = [n.name for n in res.graphs[0].graph.nodes if n.op == "placeholder"]
    assert "blocks_0_fc_weight" in placeholders and "offset" in placeholders
    torch.testing.assert_close(res(x), net(x))


def test_training_flag_is_guarded():
    net = Net()
    res = compile(net)
    x = torch.randn(3, 8)
    torch.testing.assert_close(res(x), net(x))
    net.eval()
    torch.testing.assert_close(res(x), net(x))
    assert len(res.captures) == 2


def test_parameter_update_needs_no_recapture_and_is_seen():
    net = nn.Linear(4, 2)
    res = trace(net, (torch.randn(1, 4),))
    with torch.no_grad():
        net.weight.add_(1.0)
    x = torch.randn(1, 4)
    torch.testing.assert_close(res(x), net(x))


def test_gradients_flow_to_parameters():
    net = nn.Linear(4, 2)
    res = trace(net, (torch.randn(3, 4),))
    x = torch.randn(3, 4)
    res(x).sum().backward()
    traced_grad = net.weight.grad.clone()
    net.weight.grad = None
    net(x).sum().backward()
    torch.testing.assert_close(traced_grad, net.weight.grad)


def test_module_with_hook_is_inlined_and_its_effects_replayed():
    net = nn.Linear(4, 2)
    calls = []
    net.register_forward_hook(lambda m, i, o: calls.append(1))
    res = trace(lambda x: net(x), (torch.randn(1, 4),))
    assert res.graph_breaks == [] and len(res.graphs) == 1
    res(torch.randn(1, 4))
    assert calls == [1]


class Scaler:
    factor = 3.0

    def __init__(self, shift):
        self.shift = shift

    @property
    def double_shift(self):
        return self.shift * 2

    def apply(self, x):
        return x * self.factor + self.double_shift

    @staticmethod
    def square(x):
        return x * x


def test_user_object_attributes_methods_properties():
    obj = Scaler(1.5)

    def fn(x):
        return obj.apply(x), Scaler.square(x), obj.square(x)

    res = trace(fn, (torch.randn(2),))
    assert res.graph_breaks == []
    x = torch.randn(2)
    for a, b in zip(res(x), fn(x)):
        torch.testing.assert_close(a, b)
    obj.shift = 4.0  # guarded attribute: recapture with the new value
    for a, b in zip(res(x), fn(x)):
        torch.testing.assert_close(a, b)


def test_bound_method_is_traceable():
    obj = Scaler(2.0)
    res = trace(obj.apply, (torch.randn(2),))
    x = torch.randn(2)
    torch.testing.assert_close(res(x), obj.apply(x))


def test_attribute_write_on_object_is_replayed_after_the_graph():
    obj = Scaler(1.0)

    def fn(x):
        obj.extra = 2.0
        return x * obj.extra

    res = trace(fn, (torch.randn(2),))
    assert not res.graph_breaks and len(res.graphs) == 1
    assert "extra" not in vars(obj)  # nothing real is written while tracing
    x = torch.randn(2)
    assert torch.equal(res(x), x * 2.0)
    assert obj.extra == 2.0


def test_missing_attribute_raises_like_eager():
    obj = Scaler(1.0)
    res = trace(lambda x: obj.nope, (torch.randn(2),))
    assert res.graph_breaks == []
    with pytest.raises(AttributeError):
        res(torch.randn(2))


def test_getattr_default_on_a_missing_attribute_is_guarded():
    obj = Scaler(1.0)

    def fn(x):
        return x * getattr(obj, "extra", 2.0)

    res = trace(fn, (torch.randn(2),))
    assert res.graph_breaks == []
    assert any("has no attribute 'extra'" in str(g) for g in res.guards)
    x = torch.randn(2)
    torch.testing.assert_close(res(x), x * 2.0)
    obj.extra = 5.0
    torch.testing.assert_close(res(x), x * 5.0)
    assert len(res.captures) == 2


def test_nested_containers_and_odd_getattr_objects():
    class AnswersEverything:
        def __getattr__(self, name):
            return 5

    def fn(x, nested, odd):
        return x * nested[0][0] * nested[1]["k"] * odd.scale

    res = trace(fn, (torch.randn(2), [[2], {"k": 3}], AnswersEverything()))
    assert res.graph_breaks == []
    x = torch.randn(2)
    torch.testing.assert_close(res(x, [[2], {"k": 3}], AnswersEverything()), x * 30)


def test_isinstance_callable_and_class_methods_on_objects_and_modules():
    obj, net = Scaler(1.0), nn.Linear(2, 2)

    def fn(x):
        return (isinstance(obj, Scaler), isinstance(net, nn.Linear), isinstance(net, nn.Conv1d),
                callable(obj), callable(net), dict.fromkeys("ab", 0), x + 1)

    res = trace(fn, (torch.randn(2),))
    assert res.graph_breaks == []
    x = torch.randn(2)
    out, expected = res(x), fn(x)
    assert out[:6] == expected[:6]


class Base:
    def __init__(self, k):
        self.k = k

    def apply(self, x):
        return x * self.k


class Derived(Base):
    def apply(self, x):
        return super().apply(x) + 1

    def explicit(self, x):
        return super(Derived, self).apply(x) - 1


class ScaledLinear(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2


def test_super_in_methods_and_module_forward():
    obj = Derived(3.0)
    res = trace(lambda x: (obj.apply(x), obj.explicit(x)), (torch.randn(2),))
    assert res.graph_breaks == []
    x = torch.randn(2)
    for a, b in zip(res(x), (obj.apply(x), obj.explicit(x))):
        torch.testing.assert_close(a, b)
    net = ScaledLinear(4, 2)
    res = trace(net, (torch.randn(3, 4),))
    assert res.graph_breaks == [] and len(res.graphs) == 1
    x = torch.randn(3, 4)
    torch.testing.assert_close(res(x), net(x))


def test_plain_attribute_written_onto_a_module_is_read_back_and_replayed():
    net = nn.Linear(2, 2)

    def fn(x):
        net.calls = getattr(net, "calls", 0) + 1
        net.note = "seen"
        net.calls = getattr(net, "calls", 10) + 1
        return net(x) * net.calls

    res = trace(fn, (torch.randn(2),))
    assert res.graph_breaks == [] and len(res.graphs) == 1
    assert not hasattr(net, "calls")
    x = torch.randn(2)
    assert torch.allclose(res(x), net(x) * 2)
    assert net.calls == 2 and net.note == "seen"


def test_assigning_a_tensor_or_module_to_a_module_breaks_with_a_reason():
    net = nn.Linear(2, 2)

    def fn(x):
        net.cache = x * 2
        return x

    res = trace(fn, (torch.randn(2),))
    assert res.graph_breaks and "parameter, buffer or submodule" in res.graph_breaks[0].reason
    x = torch.randn(2)
    res(x)
    assert torch.equal(net.cache, x * 2)
