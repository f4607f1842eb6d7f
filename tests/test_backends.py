"""Backends: "eager", "inductor", callables, failing backends and bad names."""
import operator

import pytest
import torch

from helpers import ops
from tracer import BackendError, SnaptraceError, compile, trace


def fn(x, y):
    return torch.sin(x) * y + 1


def inputs():
    return torch.randn(3), torch.randn(3)


def test_eager_backend_runs_the_graph_module():
    res = trace(fn, inputs(), backend="eager")
    x, y = inputs()
    torch.testing.assert_close(res(x, y), fn(x, y))
    assert ops(res.graphs[0]) == [torch.sin, operator.mul, operator.add]


@pytest.mark.inductor
def test_inductor_backend_on_cpu():
    res = compile(fn, backend="inductor")
    for _ in range(2):  # the second call reuses the compiled capture
        x, y = inputs()
        torch.testing.assert_close(res(x, y), fn(x, y))
    assert len(res.captures) == 1
    assert ops(res.graphs[0]) == [torch.sin, operator.mul, operator.add]


def test_custom_backend_receives_graph_module_and_example_inputs():
    seen = []
    calls = []

    def counting_backend(gm, example_inputs):
        seen.append((gm, list(example_inputs)))

        def run(*args):
            calls.append(len(args))
            return gm.forward(*args)

        return run

    res = compile(fn, backend=counting_backend)
    x, y = inputs()
    torch.testing.assert_close(res(x, y), fn(x, y))
    torch.testing.assert_close(res(y, x), fn(y, x))
    assert len(seen) == 1 and calls == [2, 2]
    gm, examples = seen[0]
    assert isinstance(gm, torch.fx.GraphModule)
    assert gm is res.graphs[0]
    assert [tuple(e.shape) for e in examples] == [(3,), (3,)]
    assert all(isinstance(e, torch.Tensor) for e in examples)
    # a new shape compiles again
    a, b = torch.randn(2, 2), torch.randn(2, 2)
    torch.testing.assert_close(res(a, b), fn(a, b))
    assert len(seen) == 2 and calls == [2, 2, 2]


def test_backend_output_is_used():
    def doubling_backend(gm, example_inputs):
        return lambda *args: tuple(out * 0 for out in gm(*args))

    res = trace(fn, inputs(), backend=doubling_backend)
    torch.testing.assert_close(res(*inputs()), torch.zeros(3))


def test_decorator_forms():
    @compile
    def plain(x):
        return x + 1

    @compile(backend="eager")
    def with_backend(x):
        return x - 1

    x = torch.randn(2)
    torch.testing.assert_close(plain(x), x + 1)
    torch.testing.assert_close(with_backend(x), x - 1)
    assert plain.__name__ == "plain" and with_backend.__name__ == "with_backend"


def test_compile_is_lazy():
    calls = []

    def backend(gm, example_inputs):
        calls.append(gm)
        return gm.forward

    res = compile(fn, backend=backend)
    assert res.captures == [] and calls == []
    res(*inputs())
    assert len(calls) == 1


def test_backend_that_raises_gives_backend_error_naming_it():
    def exploding_backend(gm, example_inputs):
        raise RuntimeError("kaboom")

    res = compile(fn, backend=exploding_backend)
    with pytest.raises(BackendError) as info:
        res(*inputs())
    message = str(info.value)
    assert "exploding_backend" in message and "kaboom" in message
    assert isinstance(info.value, SnaptraceError)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_backend_error_from_trace_too():
    def exploding_backend(gm, example_inputs):
        raise ValueError("nope")

    with pytest.raises(BackendError, match="exploding_backend"):
        trace(fn, inputs(), backend=exploding_backend)


def test_backend_returning_non_callable_is_backend_error():
    def lazy_backend(gm, example_inputs):
        return None

    with pytest.raises(BackendError, match="lazy_backend"):
        trace(fn, inputs(), backend=lazy_backend)


def test_backend_not_called_when_there_is_no_graph():
    calls = []

    def backend(gm, example_inputs):
        calls.append(gm)
        return gm.forward

    res = trace(lambda x: x.shape, (torch.randn(2),), backend=backend)
    assert calls == [] and res.graphs == []
    assert res(torch.randn(2)) == torch.Size([2])


def test_unknown_backend_name_is_value_error():
    with pytest.raises(ValueError, match="no_such_backend"):
        compile(fn, backend="no_such_backend")
    with pytest.raises(ValueError, match="no_such_backend"):
        trace(fn, inputs(), backend="no_such_backend")


def test_backend_of_wrong_type_is_type_error():
    with pytest.raises(TypeError, match="backend"):
        compile(fn, backend=3)


def test_autograd_through_the_captured_graph():
    def loss(x, w):
        return (x @ w).tanh().sum()

    x, w = torch.randn(2, 3), torch.randn(3, 3, requires_grad=True)
    res = trace(loss, (x, w))
    out = res(x, w)
    assert out.requires_grad
    out.backward()
    traced_grad, w.grad = w.grad.clone(), None
    loss(x, w).backward()
    torch.testing.assert_close(traced_grad, w.grad)


def test_the_graph_code_is_generated_on_the_first_call_then_called_directly():
    def f(x):
        return torch.sin(x) + 1

    x = torch.randn(3)
    traced = trace(f, (x,))
    (gm,) = traced.graphs
    entry = traced.captures[0].entry
    assert entry.__globals__["__snaptrace_graph"].__name__ == "first_call"  # nothing generated at capture
    assert torch.equal(traced(x), f(x))
    graph = entry.__globals__["__snaptrace_graph"]
    assert graph.__self__ is gm and graph.__func__ is type(gm).forward  # later calls: the generated forward
    assert torch.equal(traced(x + 1), f(x + 1))
    assert "torch.sin" in gm.code


def test_graph_code_is_readable_before_any_call():
    def f(x):
        return x.cos() * 2

    traced = trace(f, (torch.randn(2),))
    assert "cos" in traced.graphs[0].code
