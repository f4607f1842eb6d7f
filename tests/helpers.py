"""Helpers shared by the test modules."""
from __future__ import annotations

import dis
import math

import torch

from tracer import trace


def clone_inputs(value):
    """A deep copy of an input structure: tensors are cloned (keeping requires_grad), containers rebuilt."""
    if isinstance(value, torch.Tensor):
        out = value.detach().clone()
        out.requires_grad_(value.requires_grad)
        return out
    if type(value) is tuple:
        return tuple(clone_inputs(item) for item in value)
    if type(value) is list:
        return [clone_inputs(item) for item in value]
    if type(value) is dict:
        return {key: clone_inputs(item) for key, item in value.items()}
    return value


def assert_same_structure(actual, expected, path="result", _ids=None):
    """Same python types all the way down, tensors close, constants equal, and the same aliasing.

    Aliasing: when `expected` holds one list/dict/tensor object at two places,
    `actual` must hold one object there too (and distinct objects stay distinct).
    """
    ids = {} if _ids is None else _ids
    assert type(actual) is type(expected), f"{path}: {type(actual).__name__} != {type(expected).__name__}"
    if isinstance(expected, (torch.Tensor, list, dict)):
        previous = ids.setdefault(id(expected), id(actual))
        assert previous == id(actual), f"{path}: aliasing differs from eager"
        reverse = ids.setdefault(("actual", id(actual)), id(expected))
        assert reverse == id(expected), f"{path}: two distinct eager objects became one object"
    if isinstance(expected, torch.Tensor):
        torch.testing.assert_close(actual, expected, msg=lambda m: f"{path}: {m}")
        assert actual.requires_grad == expected.requires_grad, f"{path}: requires_grad differs"
    elif isinstance(expected, (tuple, list)):
        assert len(actual) == len(expected), f"{path}: length {len(actual)} != {len(expected)}"
        for index, (a, e) in enumerate(zip(actual, expected)):
            assert_same_structure(a, e, f"{path}[{index}]", ids)
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), f"{path}: keys {list(actual)} != {list(expected)}"
        for key in expected:
            assert_same_structure(actual[key], expected[key], f"{path}[{key!r}]", ids)
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(actual), f"{path}: {actual!r} is not NaN"
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def _pair_inputs(actual, expected, ids):
    """Record that eager input object `expected` corresponds to traced input object `actual`."""
    if isinstance(expected, (torch.Tensor, list, dict)):
        ids[id(expected)] = id(actual)
        ids[("actual", id(actual))] = id(expected)
    if isinstance(expected, (tuple, list)):
        for a, e in zip(actual, expected):
            _pair_inputs(a, e, ids)
    elif isinstance(expected, dict):
        for key in expected:
            _pair_inputs(actual[key], expected[key], ids)


def assert_same_results(actual, expected, actual_inputs=(), expected_inputs=()):
    """assert_same_structure, where returning an input object must match eager's choice too."""
    ids = {}
    _pair_inputs(actual_inputs, expected_inputs, ids)
    assert_same_structure(actual, expected, "result", ids)


def assert_same_as_eager(fn, make_inputs, *, graphs=1, breaks=0):
    """Trace `fn` on make_inputs(), then check it against eager on fresh make_inputs().

    Returns the traced function so tests can look at its graphs and guards.
    """
    res = trace(fn, tuple(make_inputs()))
    assert len(res.graphs) == graphs, f"expected {graphs} graph(s), got {len(res.graphs)}: {res.graph_breaks}"
    assert len(res.graph_breaks) == breaks, f"expected {breaks} break(s), got {res.graph_breaks}"
    fresh = tuple(make_inputs())
    eager_inputs = clone_inputs(fresh)
    expected = fn(*eager_inputs)
    actual = res(*fresh)
    assert_same_results(actual, expected, fresh, eager_inputs)
    return res


def ops(gm) -> list:
    """The targets of a graph's call nodes, in order."""
    return [n.target for n in gm.graph.nodes if n.op in ("call_function", "call_method")]


def all_ops(res) -> list:
    return [target for gm in res.graphs for target in ops(gm)]


def opnames(fn) -> set:
    """The opcode names in fn's bytecode (to check a test exercises the opcode it is about)."""
    return {ins.opname for ins in dis.get_instructions(fn)}


def make_state(fn, args: tuple = (), kwargs: dict | None = None):
    """The initial tracer State for fn(*args, **kwargs), built exactly as tracer.capture does."""
    from tracer.capture import start_state

    return start_state(fn, tuple(args), dict(kwargs or {}))


def step_until(state, opname, after=True):
    """Step (with tracer.step.step) until the instruction `opname` has run (after=True) or is next."""
    from tracer.step import step

    while True:
        current = state.frame.instruction.opname
        if current == opname and not after:
            return state
        state = step(state).unwrap()
        if current == opname:
            return state


RAISES = "raises-like-eager"
"""Expected in place of a break kind where the traced program raises an exception the tracer models."""


def outcome(call, args):
    """("ok", result) or ("raised", type, args) for call(*args)."""
    try:
        return ("ok", call(*args))
    except Exception as exc:  # the program's own exception
        return ("raised", type(exc), exc.args)


def assert_raises_like_eager(fn, make_inputs, *, graphs=None):
    """Trace `fn`; with no graph break it raises eager's exception (same type and args) on fresh
    inputs, and leaves the inputs as eager leaves them.  Returns the traced function."""
    res = trace(fn, tuple(make_inputs()))
    assert res.graph_breaks == [], res.graph_breaks
    if graphs is not None:
        assert len(res.graphs) == graphs
    fresh = tuple(make_inputs())
    eager_inputs = clone_inputs(fresh)
    actual, expected = outcome(res, fresh), outcome(fn, eager_inputs)
    assert actual[0] == expected[0] == "raised", (actual, expected)
    assert actual[1:] == expected[1:]
    assert_same_results(fresh, eager_inputs, fresh, eager_inputs)
    return res


def _describe_outcome(call, args):
    """("ok", result) or ("raised", type name, str) for call(*args): what a user can compare."""
    try:
        return ("ok", call(*args))
    except Exception as exc:  # the program's own exception
        return ("raised", type(exc).__name__, str(exc))


def assert_same_outcome(fn, make_args=tuple, *, calls: int = 2):
    """`tracer.compile(fn)` returns what eager returns (==) or raises eager's exception (type and
    message), on the first call (the capture) and on later calls (the cached entries), each on fresh
    arguments.  Graph breaks are allowed: this is about what the user sees.  Returns the Traced."""
    from tracer import compile as compile_fn

    traced = compile_fn(fn)
    for _ in range(calls):
        expected = _describe_outcome(fn, tuple(make_args()))
        actual = _describe_outcome(traced, tuple(make_args()))
        assert actual == expected, (actual, expected, [str(b.reason) for b in traced.graph_breaks])
    return traced
