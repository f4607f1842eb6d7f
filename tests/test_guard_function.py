"""The guard function of a capture against its reference, `check.why`.

The guard function joins every guard into one `and` chain and stores the inputs the guards share
in locals at their first read (graph/guard_function.py); `check.why` tests each guard on its own,
spelled in full.  On guard lists from real captures, for inputs that match and inputs changed in
each way a guard watches, the two must agree: `check(*args)` holds exactly when `why` finds no
failing guard.  Each case also says which verdict it expects, so agreement cannot come from both
being wrong the same way (say, both always False).
"""
import gc
import math

import torch

from tracer import compile
from tracer.capture import bind_arguments


def _checked(res, fn, *args, **kwargs):
    """The guard function of the capture `res` made on these arguments, and a function that gives its
    verdict on new arguments, asserting that `why` agrees."""
    res(*args, **kwargs)
    assert len(res.captures) == 1
    check = res.captures[0].entry.__snaptrace_check__

    def verdict(*args, **kwargs):
        bound = bind_arguments(fn, args, kwargs)
        held = check(*bound)
        reason = check.why(*bound)
        assert held is (reason is None), (held, reason)
        return held

    return check, verdict


class _Config:
    def __init__(self):
        self.width = 4
        self.eps = 1e-5
        self.act = "gelu"
        self.nan = math.nan
        self.neg_zero = -0.0
        self.zero = 0.0
        self.flag = True
        self.nothing = None
        self.table = {"a": 1, "b": 2.5}


class _Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 4)
        self.scale = 2.0

    def forward(self, x):
        return self.linear(x) * self.scale


class _Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.config = _Config()
        self.layers = torch.nn.ModuleList([_Layer(), _Layer()])

    def forward(self, x, extra):
        c = self.config
        for layer in self.layers:
            x = layer(x)
        if c.flag and c.nothing is None and c.act == "gelu":
            x = x + c.eps
        if c.nan != c.nan and math.copysign(1.0, c.neg_zero) < 0 and math.copysign(1.0, c.zero) > 0:
            x = x * c.width
        return x + extra["bias"] * c.table["b"] + len(extra)


def _run(model, x, extra):
    return model(x, extra)


def test_the_guard_function_agrees_with_why_on_a_model_and_each_change_it_watches():
    model = _Model()
    res = compile(_run)
    x, extra = torch.randn(2, 4), {"bias": torch.randn(4)}
    check, verdict = _checked(res, _run, model, x, extra)
    assert " := " in check.source  # shared reads are stored at their first read
    assert verdict(model, torch.randn(2, 4), {"bias": torch.randn(4)})
    model.config.nan = float("nan")  # another NaN object: still a match
    assert verdict(model, x, extra)

    def changed(change, args=(model, x, extra)):
        undo = change()
        try:
            return verdict(*args)
        finally:
            if undo is not None:
                undo()

    def setting(obj, name, value):
        def change():
            old = getattr(obj, name)
            setattr(obj, name, value)
            return lambda: setattr(obj, name, old)
        return change

    config, layer = model.config, model.layers[1]
    misses = [
        setting(config, "width", 5), setting(config, "width", 4.0), setting(config, "eps", 1e-6),
        setting(config, "act", "relu"), setting(config, "nan", 0.0), setting(config, "neg_zero", 0.0),
        setting(config, "zero", -0.0), setting(config, "flag", False), setting(config, "flag", 1),
        setting(config, "nothing", 0), setting(layer, "scale", 3.0), setting(layer, "linear", torch.nn.Linear(4, 4)),
        setting(model, "config", _Config()),
    ]
    for change in misses:
        assert not changed(change)
    assert verdict(model, x, extra)  # every change undone

    def table_entry():
        config.table["b"] = 2
        return lambda: config.table.__setitem__("b", 2.5)

    def table_key():
        config.table["c"] = 0
        return lambda: config.table.pop("c")

    def no_layers():  # reading a shared input raises: a miss
        layers = model.layers
        del model.layers
        return lambda: setattr(model, "layers", layers)

    def hook():
        handle = layer.register_forward_hook(lambda *a: None)
        return handle.remove

    for change in (table_entry, table_key, no_layers, hook):
        assert not changed(change)
    for args in ((model, torch.randn(3, 4), extra), (model, x.double(), extra), (model, x.t(), extra),
                 (model, x.requires_grad_(), extra), (model, torch.randn(2, 4), {"bias": torch.randn(4), "k": 1}),
                 (model, torch.randn(2, 4), {"bias": 1.0})):
        assert not verdict(*args)
    assert verdict(model, torch.randn(2, 4), {"bias": torch.randn(4)})


class _Holder:
    pass


def _call_child(holder, x):
    return holder.child(x)


def test_a_freed_object_fails_its_identity_guard_even_where_the_input_now_reads_none():
    holder = _Holder()
    holder.child = torch.nn.Linear(2, 2)
    res = compile(_call_child)
    x = torch.randn(1, 2)
    check, verdict = _checked(res, _call_child, holder, x)
    assert verdict(holder, x)
    holder.child = None
    gc.collect()  # the module is gone: what the guard function holds of it is dead
    assert not verdict(holder, x)
    holder.child = torch.nn.Linear(2, 2)
    assert not verdict(holder, x)


def _sizes(x, y):
    return x[: y.size(0)] * 2 + y.sum()


def test_the_guard_function_agrees_with_why_on_shape_guards():
    res = compile(_sizes, dynamic=True)
    check, verdict = _checked(res, _sizes, torch.randn(5, 3), torch.randn(4))
    assert any(type(guard).__name__ == "ShapeGuard" for guard in res.captures[0].guards)
    assert verdict(torch.randn(6, 3), torch.randn(5))
    assert verdict(torch.randn(9, 3), torch.randn(2))
    assert not verdict(torch.randn(3, 3), torch.randn(5))  # y longer than x
    assert not verdict(torch.randn(6, 1), torch.randn(5))  # a size 1: specialized apart


def test_the_guard_function_agrees_with_why_on_a_transformers_model():
    transformers = __import__("pytest").importorskip("transformers")
    config = transformers.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32)
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).eval()
    ids, mask = torch.randint(0, 64, (2, 6)), torch.ones(2, 6, dtype=torch.long)
    res = compile(model)
    with torch.no_grad():
        res(input_ids=ids, attention_mask=mask)
    assert len(res.captures) == 1
    check = res.captures[0].entry.__snaptrace_check__
    assert len(res.captures[0].guards) > 100

    def verdict(**kwargs):
        with torch.no_grad():
            held = check((), kwargs)
            reason = check.why((), kwargs)
        assert held is (reason is None), (held, reason)
        return held

    assert verdict(input_ids=torch.randint(0, 64, (2, 6)), attention_mask=mask.clone())
    assert not verdict(input_ids=torch.randint(0, 64, (2, 7)), attention_mask=torch.ones(2, 7, dtype=torch.long))
    assert not verdict(input_ids=ids, attention_mask=mask.bool())
    assert not verdict(input_ids=ids)
    attention = model.model.layers[0].self_attn
    for obj, name, value in ((model.config, "return_dict", False), (model.config, "rms_norm_eps", 1e-5),
                             (attention, "q_proj", torch.nn.Linear(32, 32, bias=False)),
                             (model.model.layers[0].mlp, "act_fn", torch.nn.ReLU())):
        old = getattr(obj, name)
        setattr(obj, name, value)
        assert not verdict(input_ids=ids, attention_mask=mask), name
        setattr(obj, name, old)
    handle = attention.register_forward_pre_hook(lambda *a: None)
    assert not verdict(input_ids=ids, attention_mask=mask)
    handle.remove()
    assert verdict(input_ids=ids, attention_mask=mask)
