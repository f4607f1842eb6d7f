"""A break inside a callee stays local at any depth: every frame on the way keeps its graph before and
after the call, the callee gets its own graphs, and values made at run time that cross a break do not
make the resumed code capture again."""
import collections

import pytest
import torch
import torch.nn as nn

import tracer
from tracer import compile, trace


def ops_in(traced) -> int:
    return sum(1 for gm in traced.graphs for node in gm.graph.nodes
               if node.op in ("call_function", "call_method", "call_module"))


def captures(traced) -> int:
    return len(traced.captures) + sum(len(r.captures) for r in traced.resumes)


class Inner(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        x = self.lin(x).relu()
        tracer.graph_break()
        return x * 2


class Mid(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Inner()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return self.inner(self.lin(x)) + 1


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.mid = Mid()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return self.lin(self.mid(x.sin())).cos()


def test_a_break_three_modules_down_keeps_every_level_in_graphs():
    model = Outer()
    res = trace(model, (torch.randn(2, 4),))
    for _ in range(3):
        x = torch.randn(2, 4)
        torch.testing.assert_close(res(x), model(x))
    # sin | mid: lin | inner: linear, relu | * 2 | + 1 | linear, cos -- as torch.compile splits it
    assert len(res.graphs) == 6 and ops_in(res) == 8
    assert captures(res) == len(res.resumes) + 1  # no capture again on later calls
    breaks = res.graph_breaks
    assert all(b.kind.value == "user-graph-break" for b in breaks)
    assert breaks[0].inside[-1].name.endswith("Inner.forward")


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([Inner(), Inner(), Inner()])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x) + 1
        return x


def test_a_break_in_a_module_list_loop_body():
    model = Stack()
    res = compile(model)
    counts = []
    for _ in range(3):
        x = torch.randn(2, 4)
        torch.testing.assert_close(res(x), model(x))
        counts.append(captures(res))
    assert counts[0] == counts[2]  # the second and third calls capture nothing new
    # each layer: (linear, relu) before the break, (* 2) after it; + 1 after each layer
    assert ops_in(res) >= 3 * 3 + 3


class Out(collections.OrderedDict):
    """Like transformers' ModelOutput: a dict subclass made by the model on every call."""


class Box:
    def __init__(self, t):
        self.t = t


def test_objects_made_at_run_time_cross_a_break_without_capturing_again():
    def inner(x):
        tracer.graph_break()
        return Box(x + 1), Out(y=x * 2)

    def fn(x):
        box, out = inner(x)
        return box.t - out["y"]

    res = compile(fn)
    for _ in range(4):
        x = torch.randn(3)
        torch.testing.assert_close(res(x), fn(x))
    assert captures(res) == len(res.resumes) + 1
    guards = "\n".join(str(g) for r in res.resumes for g in r.guards)
    assert "type(" in guards and " is Box" in guards  # guarded by type, not identity


def test_an_object_made_per_call_is_guarded_by_what_it_holds():
    class Flag:
        scale = 2.0

    def make(x, own):
        tracer.graph_break()
        flag = Flag()
        if own:
            flag.scale = 5.0
        return flag

    def fn(x, own):
        flag = make(x, own)
        return x * flag.scale

    res = compile(fn)
    x = torch.randn(3)
    torch.testing.assert_close(res(x, False), x * 2.0)
    torch.testing.assert_close(res(x, True), x * 5.0)  # an instance attribute now shadows the class's
    torch.testing.assert_close(res(x, False), x * 2.0)


def test_a_break_in_a_forward_hook_and_in_a_method_and_super():
    class Base(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            y = self.lin(x)
            tracer.graph_break()
            return y.tanh()

    class Child(Base):
        def helper(self, x):
            x = x * 3
            tracer.graph_break()
            return x - 1

        def forward(self, x):
            return self.helper(super().forward(x.exp())) + 2

    model = Child()

    def hook(module, args, output):
        output = output * 10
        tracer.graph_break()
        return output + 0.5

    model.register_forward_hook(hook)
    res = compile(model)
    counts = []
    for _ in range(3):
        x = torch.randn(2, 4)
        expected = model(x)
        torch.testing.assert_close(res(x), expected)
        counts.append(captures(res))
    assert counts[0] == counts[2]
    # exp | linear | tanh | * 3 | - 1 | + 2 | * 10 | + 0.5: every op is in a graph
    assert ops_in(res) >= 8


def test_registering_a_hook_later_captures_again():
    model = Mid()
    res = compile(model)
    x = torch.randn(2, 4)
    torch.testing.assert_close(res(x), model(x))
    handle = model.inner.register_forward_hook(lambda m, a, out: out * 0)
    torch.testing.assert_close(res(x), model(x))
    handle.remove()
    torch.testing.assert_close(res(x), model(x))


def test_a_module_with_a_backward_hook_runs_as_one_call():
    model = Mid()
    model.inner.register_full_backward_hook(lambda m, gi, go: None)
    res = compile(model)
    x = torch.randn(2, 4, requires_grad=True)
    torch.testing.assert_close(res(x), model(x))
    assert not any(r.fn.__qualname__.startswith("Inner.") for r in res.resumes)


class HookedStack(nn.Module):
    """A break in a ModuleList loop body and in a forward hook, and a dict subclass made per call
    returned across the breaks."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([Inner(), Inner()])
        self.head = nn.Linear(4, 4)
        self.head.register_forward_hook(self._hook)

    @staticmethod
    def _hook(module, args, output):
        output = output.sigmoid()
        tracer.graph_break()
        return output * 3

    def forward(self, x):
        for layer in self.layers:
            x = layer(x).sin()
        return Out(logits=self.head(x) - 1)


def _dynamo_ops(model) -> tuple:
    """(ops in graphs, frames compiled after 3 calls, after 1 call) for torch.compile on the same model."""
    import torch._dynamo
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    counter = CompileCounter()
    compiled = torch.compile(model, backend=counter)
    original, tracer.graph_break = tracer.graph_break, torch._dynamo.graph_break
    try:
        compiled(torch.randn(2, 4))
        frames_first = counter.frame_count
        for _ in range(2):
            compiled(torch.randn(2, 4))
    finally:
        tracer.graph_break = original
        torch._dynamo.reset()
    return counter.op_count, counter.frame_count, frames_first


@pytest.mark.parametrize("make", [Outer, Stack, HookedStack], ids=lambda c: c.__name__)
def test_as_many_ops_in_graphs_as_torch_compile(make):
    model = make()
    dynamo_ops, _, _ = _dynamo_ops(model)
    res = compile(model)
    counts = []
    for _ in range(3):
        x = torch.randn(2, 4)
        got, want = res(x), model(x)
        if isinstance(want, dict):
            assert type(got) is type(want) and list(got) == list(want)
            got, want = got["logits"], want["logits"]
        torch.testing.assert_close(got, want)
        counts.append(captures(res))
    assert counts[0] == counts[2]  # later calls capture nothing
    assert ops_in(res) >= dynamo_ops, (ops_in(res), dynamo_ops)
