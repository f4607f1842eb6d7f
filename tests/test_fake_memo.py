"""The fake mode remembers functional ATen ops' outputs (vt/data/fake_memo.py) and makes fake tensors
without torch's constructor (vt/data/fake_build.py): a remembered output must be what torch's own
fake path gives, in every field a program can read, and the memo must refuse what it cannot repeat."""
import pytest
import torch
import torch.nn.functional as F
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode

import tracer
from vt.data import fake_memo
from vt.data.fake_build import fake_over
from vt.data.fake_mode import trace_fake_mode

aten = torch.ops.aten

CASES = {  # name: (inputs, call on fake inputs)
    "add": (lambda: (torch.randn(4, 6), torch.randn(6)), lambda a, b: a + b),
    "int plus float promotes": (lambda: (torch.arange(6), torch.randn(6)), lambda a, b: a + b),
    "mul by a python float": (lambda: (torch.arange(6),), lambda a: a * 0.5),
    "addmm (linear)": (lambda: (torch.randn(5, 8), torch.randn(3, 8), torch.randn(3)), F.linear),
    "linear on 3-d": (lambda: (torch.randn(2, 5, 8), torch.randn(3, 8), torch.randn(3)), F.linear),
    "bmm": (lambda: (torch.randn(2, 3, 4), torch.randn(2, 4, 5)), torch.bmm),
    "layer norm (three outputs)": (lambda: (torch.randn(2, 5, 8),), lambda a: F.layer_norm(a, (8,))),
    "softmax": (lambda: (torch.randn(3, 7),), lambda a: a.softmax(-1)),
    "gelu": (lambda: (torch.randn(3, 7),), F.gelu),
    "clone keeps channels-last": (lambda: (torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last),),
                                  lambda a: a.clone()),
    "clone of a transpose": (lambda: (torch.randn(4, 6),), lambda a: a.t().clone()),
    "contiguous of a transpose": (lambda: (torch.randn(2, 4, 6),), lambda a: a.transpose(1, 2).contiguous()),
    "to a dtype": (lambda: (torch.randn(4, 6),), lambda a: a.to(torch.float16)),
    "cat of a list": (lambda: (torch.randn(2, 3), torch.randn(4, 3)), lambda a, b: torch.cat([a, b])),
    "sum over a dim": (lambda: (torch.randn(4, 6),), lambda a: a.sum(1, keepdim=True)),
    "max with indices": (lambda: (torch.randn(4, 6),), lambda a: a.max(1)),
    "masked fill": (lambda: (torch.randn(4, 4), torch.ones(4, 4).tril() == 0), lambda a, m: a.masked_fill(m, -1.0)),
    "where": (lambda: (torch.randn(4, 4) > 0, torch.randn(4, 4), torch.randn(4)), torch.where),
    "sliced input": (lambda: (torch.randn(6, 8),), lambda a: a[1:, ::2] * 2),
    "half plus float": (lambda: (torch.randn(3).half(), torch.randn(3)), lambda a, b: a + b),
}


def _fields(out, inputs):
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    return [type(out).__name__] + [
        (type(o).__name__, tuple(o.shape), o.stride(), o.storage_offset(), o.dtype, o.device, o.requires_grad,
         type(o.grad_fn).__name__, o.is_leaf, o._is_view(), o._base is not None, o.is_contiguous(),
         o.is_contiguous(memory_format=torch.channels_last), o.untyped_storage().nbytes(), o._version,
         any(o.untyped_storage()._cdata == i.untyped_storage()._cdata for i in inputs),
         o.__dict__.keys() - {"_fake_device", "fake_mode"} if isinstance(o, FakeTensor) else None,
         torch._C._dispatch_keys(o))
        for o in outs if isinstance(o, torch.Tensor)]


def _run(mode, make, call, grad, times):
    torch.manual_seed(0)
    reals = make()
    fakes = [mode.from_tensor(r.requires_grad_(True) if grad and r.is_floating_point() else r) for r in reals]
    if grad:
        fakes = [f * 1 if f.requires_grad else f for f in fakes]  # activations are no leaves
    with torch.set_grad_enabled(grad), mode:
        return [_fields(call(*fakes), fakes) for _ in range(times)]


@pytest.mark.parametrize("grad", [False, True], ids=["no-grad", "grad"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_remembered_output_is_what_torchs_fake_path_gives(name, grad, monkeypatch):
    make, call = CASES[name]
    fake_memo.forget_all()
    hits = []
    real = fake_memo.remembered
    monkeypatch.setattr(fake_memo, "remembered", lambda *a: hits.append(1) or real(*a))
    mine = _run(trace_fake_mode(), make, call, grad, 3)
    assert hits, "the repeats were not remembered"
    torchs = _run(FakeTensorMode(), make, call, grad, 1)
    assert mine == torchs * 3
    hits.clear()
    assert _run(trace_fake_mode(), make, call, grad, 1) == torchs  # another trace's mode, straight from the memo
    assert hits


def _remembered_count(call, *fakes):
    fake_memo.forget_all()
    with trace_fake_mode():
        call(*fakes)
    return sum(1 for key in fake_memo._REMEMBERED if type(key) is tuple)


@pytest.mark.parametrize("call", [
    lambda a: a.add_(1),                        # writes its input
    lambda a: a.view(-1) * 1,                   # the view is taken by its kernel; only `mul` is remembered
    lambda a: torch.add(a, 1, out=torch.empty(4, 6)),  # an out= op writes its argument
    lambda a: (a > 0).nonzero(),                # dynamic output shape
    lambda a: a.sum().item(),                   # a number, not a tensor
], ids=["in-place", "view", "out", "nonzero", "item"])
def test_what_is_refused(call):
    mode = trace_fake_mode()
    a = mode.from_tensor(torch.randn(4, 6))
    fake_memo.forget_all()
    try:
        with mode:
            call(a)
    except Exception:  # nonzero and item cannot run on fake tensors; nothing is remembered either way
        pass
    keys = [key for key in fake_memo._REMEMBERED if type(key) is tuple]
    refused = {aten.add_.Tensor, aten.add.out, aten.nonzero.default, aten._local_scalar_dense.default,
               aten.view.default}
    assert not [key for key in keys if key[0] in refused]
    assert all(fake_memo._REMEMBERED.get(op) in (None, False) for op in refused)


def test_an_output_sharing_storage_with_an_argument_or_another_output_is_not_remembered():
    mode = trace_fake_mode()
    a = mode.from_tensor(torch.randn(4, 6))
    b = mode.from_tensor(torch.randn(4, 6))
    assert fake_memo.entry_of(mode, b, (b,), {}) is None
    assert fake_memo.entry_of(mode, (a, b), (), {"x": [b]}) is None
    assert fake_memo.entry_of(mode, (a, a), (), {}) is None
    assert fake_memo.entry_of(mode, (a, b), (), {}) is not None
    with mode:
        view = a.t()
    assert fake_memo.entry_of(mode, view, (), {}) is None  # a view, and no offset-0 span of its own
    other = FakeTensorMode().from_tensor(torch.randn(3))
    assert fake_memo.entry_of(mode, other, (), {}) is None  # another mode's tensor


def test_settings_outside_the_arguments_are_part_of_the_key():
    mode = trace_fake_mode()
    a = mode.from_tensor(torch.randn(4))
    fake_memo.forget_all()
    with mode:
        first = a + 1
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            # int + float scalar: the result dtype is the default dtype, though the arguments are the same
            b = mode.from_tensor(torch.arange(4))
            widened = b * 0.5
        finally:
            torch.set_default_dtype(previous)
        narrow = b * 0.5
    assert first.dtype == torch.float32 and widened.dtype == torch.float64 and narrow.dtype == torch.float32


def test_a_constant_carrying_argument_is_not_remembered():
    mode = trace_fake_mode()
    c = FakeTensor(mode, torch.empty(2, device="meta"), torch.device("cpu"), constant=torch.tensor([1.0, 2.0]))
    fake_memo.forget_all()
    with mode:
        c * 2
    assert not [key for key in fake_memo._REMEMBERED if type(key) is tuple]


def test_the_memo_starts_over_when_full(monkeypatch):
    monkeypatch.setattr(fake_memo, "LIMIT", 3)
    mode = trace_fake_mode()
    fake_memo.forget_all()
    with mode:
        for n in range(1, 8):
            mode.from_tensor(torch.randn(n)) * 2
    assert 0 < len(fake_memo._REMEMBERED) <= 3


def test_a_traced_block_in_grad_mode_matches_eager_with_its_gradients(monkeypatch):
    hits = []
    real = fake_memo.remembered
    monkeypatch.setattr(fake_memo, "remembered", lambda *a: hits.append(1) or real(*a))

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = torch.nn.LayerNorm(8), torch.nn.LayerNorm(8)
            self.fc1, self.fc2 = torch.nn.Linear(8, 8), torch.nn.Linear(8, 8)

        def forward(self, x):
            x = x + self.fc1(self.ln1(x)).relu()
            return x + self.fc2(self.ln2(x)).relu()

    torch.manual_seed(0)
    block = Block()
    fake_memo.forget_all()
    compiled = tracer.compile(block)
    x = torch.randn(2, 3, 8, requires_grad=True)
    x_eager = x.detach().clone().requires_grad_(True)
    got, want = compiled(x), block(x_eager)
    torch.testing.assert_close(got, want)
    grads = torch.autograd.grad(got.sum(), [x, *block.parameters()])
    want_grads = torch.autograd.grad(want.sum(), [x_eager, *block.parameters()])
    for g, w in zip(grads, want_grads):
        torch.testing.assert_close(g, w)
    assert hits and compiled.graph_breaks == []


@pytest.mark.parametrize("unsafe_data_ptr", [False, True])
def test_fake_over_gives_what_torchs_constructor_gives(unsafe_data_ptr):
    mode, device = FakeTensorMode(), "cpu"
    mode._allow_unsafe_data_ptr_access = unsafe_data_ptr
    elem = torch.empty_strided((3, 4), (1, 3), dtype=torch.float16, device="meta")
    mine = fake_over(mode, elem, torch.device(device))
    torchs = FakeTensor(mode, torch.empty_strided((3, 4), (1, 3), dtype=torch.float16, device="meta"),
                        torch.device(device))
    assert mine.__dict__ == torchs.__dict__
    assert torch._C._dispatch_keys(mine) == torch._C._dispatch_keys(torchs)
    assert (mine.device, mine.shape, mine.stride(), mine.dtype, mine.requires_grad, type(mine)) == \
        (torchs.device, torchs.shape, torchs.stride(), torchs.dtype, torchs.requires_grad, type(torchs))
    if not unsafe_data_ptr:
        with pytest.raises(RuntimeError):
            mine.data_ptr()  # as torch's: a fake tensor has no data
        with pytest.raises(RuntimeError):
            torchs.data_ptr()
