"""Ops repeated on the same metadata reuse the first fake run's output metadata (vt/data/propagation.py);
what the traced code reads of the results is still exactly eager's."""
import operator
import types

import pytest
import torch
import torch.nn.functional as F

import tracer
import vt.data.tensor as tensor_module


def metadata(t):
    return (tuple(t.shape), t.stride(), t.dtype, t.storage_offset(), t.is_contiguous(), t.requires_grad, t.is_leaf,
            t.is_contiguous(memory_format=torch.channels_last) if t.dim() == 4 else None)


def repeated(op, *args):
    """Run `op` three times on the same arguments, reading every result's metadata as traced code does."""
    def fn(*xs):
        outs = [op(*xs) for _ in range(3)]
        return tuple(metadata(o) for o in outs), outs[-1]
    return fn


CASES = {
    "elementwise": (lambda a, b: a * b + 1, torch.randn(4, 3), torch.randn(4, 3)),
    "broadcast and promotion": (lambda a, b: a + b, torch.randn(4, 3), torch.arange(3)),
    "transposed input keeps its layout": (lambda a: a.exp(), torch.randn(3, 4).t()),
    "channels last": (lambda a: torch.relu(a) * 2, torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last)),
    "linear": (lambda a, w: F.linear(a, w), torch.randn(2, 5), torch.randn(3, 5)),
    "reduction": (lambda a: a.sum(dim=-1, keepdim=True), torch.randn(2, 5)),
    "integer division": (lambda a: a // 2, torch.arange(6).view(2, 3)),
    "softmax over a dtype": (lambda a: a.softmax(-1, dtype=torch.float64), torch.randn(2, 3)),
    "views are not remembered": (lambda a: a.view(3, 2) + 0, torch.randn(2, 3)),
    "requires grad": (lambda a: a * 2, torch.randn(3, requires_grad=True)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_repeated_ops_read_eagers_metadata(name):
    op, *args = CASES[name]
    fn = repeated(op, *args)
    res = tracer.compile(fn)
    got, want = res(*args), fn(*args)
    assert got[0] == want[0]
    torch.testing.assert_close(got[1], want[1])
    assert res.graph_breaks == []


def test_repeated_ops_under_no_grad_skip_the_fake_run(monkeypatch):
    runs = []
    real = tensor_module.fake_context

    def counting(state):
        runs.append(1)
        return real(state)

    monkeypatch.setattr(tensor_module, "fake_context", counting)

    def layers(x, w):
        for _ in range(6):
            x = torch.tanh(F.linear(x, w)) + 1
        return x

    res = tracer.compile(layers)
    x, w = torch.randn(2, 4), torch.randn(4, 4)
    with torch.no_grad():
        torch.testing.assert_close(res(x, w), layers(x, w))
    assert len(runs) == 3  # linear, tanh and + 1 ran once on fake tensors; 15 repeats did not


def test_results_that_require_grad_still_run_on_fake_tensors(monkeypatch):
    runs = []
    real = tensor_module.fake_context
    monkeypatch.setattr(tensor_module, "fake_context", lambda state: runs.append(1) or real(state))

    def fn(x, w):
        return (x * w).sum() + (x * w).sum()

    res = tracer.compile(fn)
    x, w = torch.randn(3), torch.randn(3, requires_grad=True)
    out = res(x, w)
    out.backward()
    assert len(runs) == 5 and out.grad_fn is not None


# -- the per-trace wrap memo (vt/registry.py wrap_value) ----------------------------------------------

WRAP_LIMIT = 4


def _reads_limit(x):
    return x * WRAP_LIMIT


def test_a_remembered_wrap_adds_every_guard_it_needs_in_a_state_that_lacks_them():
    from core.sources import GlobalSource
    from tests.helpers import make_state
    from vt.registry import wrap_value

    source = GlobalSource("WRAP_LIMIT")
    probe, _ = wrap_value(make_state(_reads_limit, (torch.ones(2),)), WRAP_LIMIT, source)
    needed = set(probe.guard_list()) - set(make_state(_reads_limit, (torch.ones(2),)).guard_list())
    assert needed  # the value is guarded
    start = make_state(_reads_limit, (torch.ones(2),))
    with_them = start
    for guard in needed:  # a state that already has the guards, as after an earlier read
        with_them = with_them.add_guard(guard)
    wrap_value(with_them, WRAP_LIMIT, source)  # remembered here
    again, _ = wrap_value(start, WRAP_LIMIT, source)  # a state without them: a rolled-back snapshot
    assert needed <= set(again.guard_list())


def test_a_remembering_run_inside_another_passes_every_guard_it_asked_for_to_the_outer_one():
    from core.guards import ConstantMatch
    from core.outcomes import Thrown
    from core.sources import GlobalSource
    from tests.helpers import make_state
    from vt.guard_trail import with_own_guards

    first, second = ConstantMatch.of(GlobalSource("A"), 1), ConstantMatch.of(GlobalSource("B"), 2)
    start = make_state(_reads_limit, (torch.ones(2),)).add_guard(first)  # the state has `first` already
    inner_guards = []

    def inner(state):
        return state.add_guard(first).add_guard(second), "value"

    def outer(state):
        out, guards = with_own_guards(state, inner)
        inner_guards.append(guards.guards())
        return out

    (after, value), guards = with_own_guards(start, outer)
    assert value == "value" and inner_guards == [(first, second)] and guards.guards() == (first, second)
    assert after.guard_trail is None and after.guard_list().count(first) == 1 and second in after.guard_list()

    # a run that raises: its state keeps the guards and records nothing any more
    thrown, guards = with_own_guards(start, lambda state: Thrown(ValueError, (), state=state.add_guard(second)))
    assert type(thrown) is Thrown and guards.guards() == () and thrown.state.guard_trail is None
    assert second in thrown.state.guard_list()


def _plain(x):
    return x


# Values of classes made in C, one or more of every kind the wrap rules tell apart.
_C_VALUES = [1, 2.5, True, None, "text", b"bytes", 3j, (1, 2), [1], {"a": 1}, {1}, frozenset({1}), len, print, abs,
             max, int, dict, type, object, torch.Tensor.add, list.append, str.join, _plain, torch, operator.add,
             torch.float32, torch.device("cpu"), slice(1, 2), Ellipsis, range(3), iter([1]), (lambda: 0).__code__]


def test_a_wrap_rule_declared_only_for_some_classes_answers_none_for_every_other_value():
    """The promise `registry.wrap_rule(..., only=...)` makes, which lets `rules_for` skip the rule."""
    from core.sources import GlobalSource
    from tests.helpers import make_state
    from vt import registry

    registry.check_complete()
    state = make_state(_plain, (torch.ones(2),))
    declared = {name: registry._WRAP_RULES[name] for name in registry._WRAP_ONLY}
    assert {"function", "tensor", "container", "class"} <= set(declared)
    for name, rule in declared.items():
        for value in _C_VALUES:
            if not isinstance(value, registry._WRAP_ONLY[name]):
                assert rule(state, value, GlobalSource("V"), True) is None, (name, value)


def test_rules_for_skips_only_rules_that_cannot_answer_and_asks_python_classes_every_rule():
    from tests.helpers import make_state
    from vt import registry

    env = make_state(_plain, (torch.ones(2),)).env
    every = tuple(registry._wrap_sequence())
    for_functions = registry.rules_for(env, types.FunctionType)
    assert registry._WRAP_RULES["function"] in for_functions and registry._WRAP_RULES["tensor"] not in for_functions
    assert set(for_functions) < set(every) and list(for_functions) == [r for r in every if r in for_functions]

    class Mine:
        pass

    assert registry.rules_for(env, Mine) == every  # a Python class may claim another __class__


def _input_tensors():
    conv = torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
    return [torch.nn.Parameter(torch.randn(4, 3)), torch.randn(5, requires_grad=True), torch.randn(2, 3),
            torch.arange(6), torch.zeros(0, 3), torch.ones(2, 2, dtype=torch.bool), conv, torch.tensor(3.5),
            torch.nn.Parameter(torch.randn(3), requires_grad=False), *_view_inputs()]


def _view_inputs():
    """Views of plain tensors, as models keep them in buffers."""
    base = torch.randn(4, 4)
    return [torch.arange(8).expand((1, -1)), torch.tril(torch.ones(4, 4)).view(1, 1, 4, 4), base[1:], base.t(),
            base[:, 1], torch.randn(6)[2:4]]


def test_plain_input_fakes_are_the_fakes_torch_makes():
    from torch._subclasses.fake_tensor import FakeTensorMode

    from vt.data.propagation import plain_input_fake

    for value in _input_tensors():
        fast = plain_input_fake(FakeTensorMode(), value)
        slow = FakeTensorMode().from_tensor(value, static_shapes=True)
        assert fast is not None, value
        for read in (lambda t: t.shape, lambda t: t.stride(), lambda t: t.storage_offset(), lambda t: t.dtype,
                     lambda t: t.device, lambda t: t.requires_grad, lambda t: t.is_leaf, lambda t: type(t),
                     lambda t: t.__dict__.get("_is_param"), lambda t: t.is_contiguous(),
                     lambda t: t.is_contiguous(memory_format=torch.channels_last), lambda t: t._version,
                     lambda t: t._is_view(), lambda t: t._base is None or tuple(t._base.shape)):
            assert read(fast) == read(slow), (value, read(slow))
        with fast.fake_mode:
            out = fast * 2
        with slow.fake_mode:
            expected = slow * 2
        assert (out.shape, out.stride(), out.dtype, out.requires_grad) == \
            (expected.shape, expected.stride(), expected.dtype, expected.requires_grad)


def test_plain_input_fakes_are_remembered_and_refused_for_views_and_tensors_with_grads():
    from torch._subclasses.fake_tensor import FakeTensorMode

    from vt.data.propagation import plain_input_fake

    mode, weight = FakeTensorMode(), torch.nn.Parameter(torch.randn(4, 3))
    fake = plain_input_fake(mode, weight)
    assert plain_input_fake(mode, weight) is fake and mode.from_tensor(weight, static_shapes=True) is fake
    row = mode.from_tensor(weight[1], static_shapes=True)  # torch's converter builds the view on our fake
    assert row.untyped_storage()._cdata == fake.untyped_storage()._cdata and row.storage_offset() == 3
    with_grad = torch.nn.Parameter(torch.randn(2))
    with_grad.grad = torch.ones(2)
    base = torch.randn(4, 4)
    over_storage = torch.empty(0).set_(torch.randn(8).untyped_storage(), 0, (2,), (1,))  # not a view, more storage
    assert not over_storage._is_view()
    for value in (with_grad, over_storage, torch.randn(3, 3) * torch.randn(3, 3, requires_grad=True),
                  torch.randn(4, requires_grad=True)[1:]):
        assert plain_input_fake(FakeTensorMode(), value) is None, value


def test_a_view_input_shares_storage_and_version_with_its_bases_fake_as_in_eager():
    from torch._subclasses.fake_tensor import FakeTensorMode

    from vt.data.propagation import plain_input_fake

    mode, base = FakeTensorMode(), torch.randn(4, 4)
    view = base[1:, 1:]
    fake_view = plain_input_fake(mode, view)
    fake_base = plain_input_fake(mode, base)
    assert fake_view._base is fake_base and mode.from_tensor(view, static_shapes=True) is fake_view
    assert fake_view.untyped_storage()._cdata == fake_base.untyped_storage()._cdata
    with mode:
        fake_base.add_(1)
    assert fake_view._version == fake_base._version == 1


def test_a_buffer_that_is_a_view_reads_and_writes_as_in_eager():
    class Positions(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("ids", torch.arange(6).expand((1, -1)))
            self.register_buffer("mask", torch.tril(torch.ones(6, 6)).view(1, 1, 6, 6))

        def forward(self, x):
            ids = self.ids[:, : x.shape[1]]
            self.mask[0, 0, 0, 1] += 1  # into the base, seen through both
            return x + ids, self.mask.narrow(2, 0, x.shape[1]).sum(), self.mask._base.sum()

    eager, traced = Positions(), Positions()
    res = tracer.compile(traced)
    for n in (3, 3, 5):
        x = torch.randn(2, n)
        got, want = res(x), eager(x)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b)
    torch.testing.assert_close(traced.mask, eager.mask)


def test_an_op_giving_back_its_argument_is_remembered_by_position_and_still_gives_it_back():
    def fn(x, y):
        a = x.to(torch.float32)  # the very x: same dtype
        b = y.to(torch.float32)  # the very y, from the remembered position
        c = y.to(torch.float64)  # a new tensor: another key
        return a is x, b is y, a + b, c

    res = tracer.trace(fn, (torch.randn(3), torch.randn(3)))
    x, y = torch.randn(3), torch.randn(3)
    got, want = res(x, y), fn(x, y)
    assert got[:2] == want[:2] == (True, True)
    assert torch.equal(got[2], want[2]) and got[3].dtype == torch.float64 and torch.equal(got[3], want[3])


def test_a_view_of_the_ops_own_temporary_is_remembered_and_a_view_of_an_argument_is_not(monkeypatch):
    # torch's fake `linear` with a bias on a 3-d input gives a view of the 2-d `addmm` it made
    # itself; eager's kernel gives a tensor of its own.  Nothing can reach that temporary, so the result is remembered.
    runs = []
    real = tensor_module.fake_context
    monkeypatch.setattr(tensor_module, "fake_context", lambda state: runs.append(1) or real(state))

    def ops(x, w, b):
        return [F.linear(x, w, b) for _ in range(3)] + [x.transpose(0, 1) for _ in range(3)]

    def fn(x, w, b):
        return tuple(metadata(t) for t in ops(x, w, b))

    x, w, b = torch.randn(2, 5, 4), torch.randn(3, 4), torch.randn(3)
    with torch.no_grad():
        res = tracer.compile(ops)
        for got, want in zip(res(x, w, b), ops(x, w, b)):
            torch.testing.assert_close(got, want)
        assert len(runs) == 1 + 3  # linear once; each transpose, a view of x
        assert tracer.compile(fn)(x, w, b) == fn(x, w, b)
