"""The idioms real model code uses, modelled rather than broken: each runs with no break and gives
eager's answer on fresh inputs."""
import collections
import copy
import dataclasses
import enum
import inspect
import operator
import types
import typing

import pytest
import torch
import torch.utils._pytree as pytree

import tracer


def same_without_breaks(fn, *extra, calls: int = 2):
    res = tracer.compile(fn)
    for _ in range(calls):
        x = torch.randn(2, 3)
        got, want = res(x.clone(), *extra), fn(x.clone(), *extra)
        torch.testing.assert_close(got, want)
    assert res.graph_breaks == [], res.graph_breaks
    return res


class Layer:
    def __init__(self):
        self.scale = 2.0

    def forward_chunk(self, x, dim=0):
        return x * self.scale


LAYER = Layer()


def test_inspect_signature_of_a_bound_method():
    def fn(x):
        sig = inspect.signature(LAYER.forward_chunk)
        names = list(sig.parameters)
        kinds = [p.kind for p in sig.parameters.values()]
        default = sig.parameters["dim"].default
        return x + len(names) + (kinds[0] is inspect.Parameter.POSITIONAL_OR_KEYWORD) + default

    same_without_breaks(fn)


def test_introspection_of_methods_functions_and_classes():
    def fn(x):
        method = LAYER.forward_chunk
        checks = (isinstance(method, types.MethodType), isinstance(method.__func__, types.FunctionType),
                  isinstance(len, types.BuiltinFunctionType), method.__self__ is LAYER,
                  method.__func__ is Layer.forward_chunk, method.__name__ == "forward_chunk",
                  Layer.forward_chunk.__defaults__ == (0,), Layer.forward_chunk.__closure__ is None)
        text = str(type(x)) + repr(Layer) + Layer.__name__ + Layer.__qualname__
        return x + sum(checks) + len(text) + vars(LAYER)["scale"]

    same_without_breaks(fn)


def test_id_as_a_memo_key_and_classes_as_dict_keys():
    dispatch = {int: "int", list: "list", typing.Union: "union"}

    def fn(x):
        memo = {id(LAYER): 1}
        hit = memo.get(id(LAYER), 0)
        origin = typing.get_origin(typing.Optional[int])
        return x + hit + len(dispatch[list]) + len(dispatch.get(origin, "")) + len(typing.get_args(int | None))

    same_without_breaks(fn)


class Color(enum.Enum):
    RED = 1
    BLUE = 2


def test_torch_utilities():
    def fn(x):
        low = torch.finfo(x.dtype).min
        top = torch.iinfo(torch.int8).max
        flags = (x.dtype is torch.float32, x.dtype == torch.float32, torch.backends.cudnn.enabled,
                 torch.distributed.is_available(), torch.jit.is_scripting(), torch.jit.is_tracing(),
                 len(Color.__members__))
        return x.clamp(min=low).to(torch.device("cpu")) + top + sum(flags)

    same_without_breaks(fn)


def test_torch_compiler_is_compiling_is_true_while_traced():
    res = tracer.trace(lambda x: x + torch.compiler.is_compiling(), (torch.zeros(1),))
    assert res.graph_breaks == [] and res(torch.zeros(1)).item() == 1.0  # as under torch.compile


@torch.library.custom_op("snaptrace_test::scale", mutates_args=())
def _scale(x: torch.Tensor, k: float) -> torch.Tensor:
    return x * k


@_scale.register_fake
def _(x, k):
    return torch.empty_like(x)


def test_custom_ops_and_dispatcher_ops_are_graph_nodes():
    def fn(x):
        return torch.ops.snaptrace_test.scale(x.sin(), 3.0) + torch.ops.aten.add.Tensor(x, x)

    res = same_without_breaks(fn)
    assert "torch.ops.snaptrace_test.scale" in res.graphs[0].code


def test_pytree_helpers_are_inlined():
    def fn(x):
        tree = {"a": x, "b": [x + 1, (x * 2, 3)]}
        doubled = pytree.tree_map(lambda t: t * 2 if isinstance(t, torch.Tensor) else t, tree)
        leaves = [leaf for leaf in pytree.tree_leaves(doubled) if isinstance(leaf, torch.Tensor)]
        return sum(leaves) + doubled["b"][1][1]

    same_without_breaks(fn)


class Config:
    def __init__(self):
        self.hidden = 4
        self.names = ["a", "b"]
        self.sub = types.SimpleNamespace(depth=2) if False else SubConfig()


class SubConfig:
    def __init__(self):
        self.depth = 2


CONFIG = Config()


def test_copy_and_deepcopy_of_a_config():
    def fn(x):
        deep = copy.deepcopy(CONFIG)
        deep.hidden = 10
        deep.names.append("c")
        shallow = copy.copy(CONFIG)
        return x * deep.hidden + len(deep.names) + len(CONFIG.names) + shallow.sub.depth + (shallow.sub is CONFIG.sub)

    same_without_breaks(fn)
    assert CONFIG.hidden == 4 and CONFIG.names == ["a", "b"]  # the originals are untouched


def test_deepcopy_of_tensors_and_containers_of_them():
    def fn(x):
        state = copy.deepcopy({"h": x, "both": [x, x]})
        state["h"].add_(1)  # the copy has storage of its own: x is untouched
        return state["h"] + x, state["both"][0] is state["both"][1], state["both"][0] is x

    res = tracer.compile(fn)
    x = torch.randn(2, 3)
    got, want = res(x.clone()), fn(x.clone())
    torch.testing.assert_close(got[0], want[0])
    assert got[1:] == want[1:] == (True, False) and res.graph_breaks == []


def test_deepcopy_of_a_view_or_a_tensor_that_requires_grad_runs_for_real():
    w = torch.randn(3, requires_grad=True)
    for fn in (lambda x: copy.deepcopy(x[1:]) + 1, lambda x: copy.deepcopy(w) * x):
        res = tracer.compile(fn)
        x = torch.randn(3)
        torch.testing.assert_close(res(x), fn(x))
        assert [b.kind.value for b in res.graph_breaks] == ["unsupported-call"]


@dataclasses.dataclass(order=True)
class Version:
    major: int
    minor: int


def test_collections_and_operator_helpers():
    def fn(x):
        chain = collections.ChainMap({"a": 1}, {"b": 2})
        newest = max(Version(1, 2), Version(1, 3))
        return operator.methodcaller("mul", 2)(x) + chain["b"] + newest.minor + operator.is_(None, None)

    same_without_breaks(fn)


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_match_statements():
    def fn(x, p, d, s):
        match p:
            case Point(x=0, y=y):
                x = x + y
            case Point(a, b) if a > b:
                x = x * a
        match d:
            case {"scale": float(k), **rest}:
                x = x * k + len(rest)
        match s:
            case [a, b, *rest]:
                x = x + a + b + len(rest)
            case str():
                x = x - 1
        return x

    for args in ((Point(0, 3), {"scale": 2.0, "z": 1}, [1, 2, 3]), (Point(5, 1), {}, "text")):
        same_without_breaks(fn, *args)


def test_iterating_and_unpacking_a_tensor():
    def fn(x):
        first, second = x
        rows = [row.sum() for row in x]
        return first - second + sum(rows)

    same_without_breaks(fn)


def test_trace_rules_the_user_sets():
    calls = []

    def helper(t):
        calls.append(1)
        return t * 2

    @tracer.assume_constant_result
    def table_size():
        return 7

    def fused(t):
        return t.sin() + 1

    tracer.disable(helper)
    tracer.allow_in_graph(fused)

    def fn(x):
        return helper(x) + table_size() + fused(x)

    res = tracer.compile(fn)
    x = torch.randn(3)
    torch.testing.assert_close(res(x), fn(x))
    (brk,) = res.graph_breaks
    assert "tracer.disable" in brk.reason and "run eagerly" in brk.rule
    assert any(node.target is fused for gm in res.graphs for node in gm.graph.nodes)
    assert "run eagerly" in tracer.trace_rule(helper) and "put in the graph" in tracer.trace_rule(fused)
    assert "inlined" in tracer.trace_rule(pytree.tree_map)


def test_torch_compiler_disable_is_honoured():
    @torch.compiler.disable
    def opaque(t):
        return t + 1

    res = tracer.compile(lambda x: opaque(x) * 2)
    x = torch.randn(3)
    torch.testing.assert_close(res(x), (x + 1) * 2)
    assert [b.kind.value for b in res.graph_breaks] == ["unsupported-call"]


@pytest.mark.parametrize("builtin", [print, eval])
def test_breaks_at_a_call_name_the_rule(builtin):
    def fn(x):
        builtin("1")
        return x + 1

    res = tracer.compile(fn)
    res(torch.ones(1))
    assert res.graph_breaks[0].rule.startswith(f"{builtin.__name__}: run eagerly")
