"""The trace's fake mode makes plain views by their kernel (vt/data/fake_mode.py): what they give must
be what torch's own fake path gives, in every field a traced program can read."""
import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode

import tracer
from vt.data import fake_mode as fake_mode_module
from vt.data.fake_mode import BY_KERNEL, PLAIN_VIEWS, trace_fake_mode

aten = torch.ops.aten

CASES = [  # (op, input maker, arguments)
    (aten.view.default, lambda: torch.randn(2, 8, 6), ([2, 8, 3, 2],)),
    (aten.view.default, lambda: torch.randn(4, 6).t(), ([24],)),  # not viewable: raises
    (aten.transpose.int, lambda: torch.randn(2, 3, 4), (0, -1)),
    (aten.t.default, lambda: torch.randn(3, 5)[1:], ()),
    (aten.permute.default, lambda: torch.randn(2, 3, 4), ([2, 0, 1],)),
    (aten.expand.default, lambda: torch.randn(3, 1), ([3, 5],)),
    (aten.expand.default, lambda: torch.randn(3, 2), ([3, 5],)),  # raises
    (aten.unsqueeze.default, lambda: torch.randn(3, 4), (-1,)),
    (aten.squeeze.dim, lambda: torch.randn(3, 1, 4), (1,)),
    (aten.squeeze.dims, lambda: torch.randn(1, 3, 1), ([0, 2],)),
    (aten.squeeze.default, lambda: torch.randn(1, 3, 1, 2), ()),
    (aten.slice.Tensor, lambda: torch.randn(5, 6), (1, 1, None, 2)),
    (aten.slice.Tensor, lambda: torch.randn(5, 6), (0, -3, 100, 1)),
    (aten.select.int, lambda: torch.randn(5, 6), (0, -1)),
    (aten.select.int, lambda: torch.randn(5, 6), (1, 9)),  # out of range: raises
    (aten.alias.default, lambda: torch.randn(2, 2), ()),
    (aten.unfold.default, lambda: torch.randn(10), (0, 3, 2)),
    (aten.diagonal.default, lambda: torch.randn(4, 5), (1, 0, 1)),
    (aten.as_strided.default, lambda: torch.randn(12), ([3, 2], [1, 3], 2)),
    (aten.split.Tensor, lambda: torch.randn(7, 2), (3,)),
    (aten.split_with_sizes.default, lambda: torch.randn(7, 2), ([2, 5],)),
    (aten.unbind.int, lambda: torch.randn(3, 4), (1,)),
    (aten.view.default, lambda: torch.randn(2, 3).to(torch.float16), ([6],)),
    (aten.transpose.int, lambda: torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last), (1, 2)),
    (aten.detach.default, lambda: torch.randn(3, 4), ()),
    (aten._unsafe_view.default, lambda: torch.randn(2, 3, 4), ([6, 4],)),
    (aten._unsafe_view.default, lambda: torch.randn(4, 6).t(), ([24],)),  # not viewable: raises
]


def _read(base, out):
    outs = out if isinstance(out, (list, tuple)) else [out]
    return [type(out).__name__] + [
        (tuple(o.shape), o.stride(), o.storage_offset(), o.dtype, o.device, type(o).__name__, o._is_view(),
         o._base is base, o.untyped_storage()._cdata == base.untyped_storage()._cdata, o.requires_grad,
         type(o.grad_fn).__name__, o.is_contiguous()) for o in outs]


def _run(mode, op, make, args, grad):
    torch.manual_seed(0)
    real = make()
    if grad and real.dtype.is_floating_point:
        real.requires_grad_(True)
    base = mode.from_tensor(real)
    if grad:
        base = base * 1  # a non-leaf, as model activations are
    try:
        with mode:
            out = op(base, *args)
    except Exception as exc:
        return type(exc).__name__
    reads = _read(base, out)
    with mode, torch.no_grad():
        base.zero_()  # the version counter is shared with the base
    outs = out if isinstance(out, (list, tuple)) else [out]
    return reads, [o._version for o in outs]


@pytest.mark.parametrize("grad", [False, True], ids=["no-grad", "grad"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_an_op_by_its_kernel_is_what_torchs_fake_path_gives(case, grad, monkeypatch):
    op, make, args = CASES[case]
    taken = []
    real = fake_mode_module._by_kernel
    monkeypatch.setattr(fake_mode_module, "_by_kernel", lambda *a: taken.append((a[1], real(*a))) or taken[-1][1])
    context = torch.enable_grad() if grad else torch.no_grad()
    with context:
        mine = _run(trace_fake_mode(), op, make, args, grad)
        torchs = _run(FakeTensorMode(), op, make, args, grad)
    assert mine == torchs
    answered = [func for func, out in taken if out is not None]
    assert op in answered or isinstance(mine, str), "the short path did not answer"


def test_every_listed_op_has_a_case():
    assert {op for op, _, _ in CASES} == BY_KERNEL


def test_every_listed_op_is_a_view_op_by_its_schema():
    for op in PLAIN_VIEWS:
        returns = op._schema.returns
        assert returns and all(r.alias_info is not None and not r.alias_info.is_write for r in returns), op
        assert not any(a.alias_info is not None and a.alias_info.is_write for a in op._schema.arguments), op


def test_views_in_a_traced_model_match_eager_and_the_short_path_runs(monkeypatch):
    taken = []
    real = fake_mode_module._by_kernel
    monkeypatch.setattr(fake_mode_module, "_by_kernel", lambda *a: taken.append(a[1]) or real(*a))

    def attention(x, w):
        b, t, c = x.shape
        q, k, v = torch.nn.functional.linear(x, w).split(c, dim=2)
        q = q.view(b, t, 2, c // 2).transpose(1, 2)
        k = k.view(b, t, 2, c // 2).transpose(1, 2)
        v = v.view(b, t, 2, c // 2).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)).softmax(-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        return y, y[:, -1], y.unbind(0)[1].sum(), y.is_contiguous()

    x, w = torch.randn(2, 5, 8, requires_grad=True), torch.randn(24, 8, requires_grad=True)
    res = tracer.compile(attention)
    got, want = res(x, w), attention(x, w)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b) if isinstance(b, torch.Tensor) else (a == b or pytest.fail(f"{a} != {b}"))
    got[0].sum().backward()
    assert res.graph_breaks == [] and taken


def test_the_device_of_a_fake_tensor_is_its_fake_device_as_torch_answers_it():
    mine, torchs = trace_fake_mode(), FakeTensorMode()
    for mode in (mine, torchs):
        x = mode.from_tensor(torch.randn(2, 3))
        with mode:
            assert x.device == torch.device("cpu") and x.t().device == torch.device("cpu")
        assert x.device == x.fake_device


def test_the_short_path_leaves_the_dispatch_state_as_it_found_it():
    mode = trace_fake_mode()
    x = mode.from_tensor(torch.randn(4, 6))
    before = (mode.in_kernel_invocation, torch._C._meta_in_tls_dispatch_include(), torch._C._dispatch_tls_local_include_set(),
              torch._C._dispatch_tls_local_exclude_set())
    with mode:
        x.view(24)
        with pytest.raises((RuntimeError, ValueError)):
            x.t().view(24)  # raises inside the kernel, then again on torch's path
    after = (mode.in_kernel_invocation, torch._C._meta_in_tls_dispatch_include(), torch._C._dispatch_tls_local_include_set(),
             torch._C._dispatch_tls_local_exclude_set())
    assert before == after == (False, False, before[2], before[3])
    assert torch.randn(2).add(1).device.type == "cpu"  # real ops run for real again
