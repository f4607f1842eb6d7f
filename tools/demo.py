"""Bundled examples: `python -m tracer demo` traces each one and shows what was captured.

Every example is a plain function taking tensors (weights are arguments, not
nn.Modules), so it is within what the tracer handles today.  For each one the
demo prints the function's source, each captured graph's code, the guards,
the graph breaks, and whether the traced function agrees with eager PyTorch.
"""
from __future__ import annotations

import inspect
import math
import textwrap

import torch
import torch.nn.functional as F

from tracer import graph_break, trace


def mlp(x, w1, b1, w2, b2, w3, b3):
    """A three-layer perceptron: linear + relu twice, then a linear output layer."""
    h = F.relu(F.linear(x, w1, b1))
    h = F.relu(F.linear(h, w2, b2))
    return F.linear(h, w3, b3)


def causal_attention(q, k, v):
    """Single-head softmax attention with a causal mask, scaled by 1/sqrt(d)."""
    d = q.shape[-1]
    t = q.shape[-2]
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(d)
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return torch.matmul(weights, v)


def unrolled_rnn(x, h, w, u, b):
    """A tiny recurrent cell applied four times; the loop is unrolled at trace time."""
    total = h
    for i in range(4):
        h = torch.tanh(x @ u + h @ w + b)
        total = total + h * (i + 1)
    return h, total


class TinyBlock(torch.nn.Module):
    """A pre-norm residual block: an nn.Module tree, its forward inlined, parameters as graph inputs."""

    def __init__(self, width):
        super().__init__()
        self.norm = torch.nn.LayerNorm(width)
        self.layers = torch.nn.ModuleList([torch.nn.Linear(width, width) for _ in range(2)])

    def forward(self, x):
        h = self.norm(x)
        for layer in self.layers:
            h = F.gelu(layer(h))
        return x + h


def python_data(x, weights):
    """Lists, dicts, comprehensions and a generator around tensor ops, all folded into one graph."""
    scaled = {name: x * w for name, w in weights.items()}
    order = sorted(scaled, key=len)
    parts = [scaled[name] for name in order if name != "skip"]
    total = sum(p.relu() for p in parts)
    return torch.stack(parts).mean(dim=0) + total, order


def with_break(x, w):
    """Calls tracer.graph_break() on purpose, so the capture stops and the function runs eagerly."""
    y = torch.relu(x @ w)
    graph_break()
    return y.sum(dim=-1)


def _examples():
    """(name, function, example inputs) for each bundled example; fixed seed so output is stable."""
    gen = torch.Generator().manual_seed(0)

    def randn(*shape):
        return torch.randn(*shape, generator=gen)

    batch, width, out = 8, 64, 10
    mlp_inputs = (randn(batch, width),
                  randn(width, width), randn(width),
                  randn(width, width), randn(width),
                  randn(out, width), randn(out))
    attn_inputs = (randn(2, 6, 16), randn(2, 6, 16), randn(2, 6, 16))
    rnn_inputs = (randn(4, 32), randn(4, 32), randn(32, 32) * 0.1, randn(32, 32) * 0.1, randn(32))
    break_inputs = (randn(4, 8), randn(8, 8))
    torch.manual_seed(0)
    block = TinyBlock(16)
    data_inputs = (randn(4, 8), {"alpha": 0.5, "beta": 2.0, "skip": 1.0})
    return [
        ("3-layer MLP", mlp, mlp_inputs),
        ("causal softmax attention", causal_attention, attn_inputs),
        ("loop unrolled at trace time", unrolled_rnn, rnn_inputs),
        ("nn.Module tree (LayerNorm, ModuleList of Linear)", block, (randn(4, 16),)),
        ("Python data around tensors", python_data, data_inputs),
        ("deliberate graph break", with_break, break_inputs),
    ]


def _flatten(value):
    """The tensors inside a (possibly nested) tuple/list/dict result, in order."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for key in value for t in _flatten(value[key])]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _flatten(item)]
    return [value]


def _same(traced_out, eager_out) -> bool:
    """True when both results have the same structure and every tensor is allclose."""
    left, right = _flatten(traced_out), _flatten(eager_out)
    if len(left) != len(right):
        return False
    for a, b in zip(left, right):
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
            if a.shape != b.shape or a.dtype != b.dtype or not torch.allclose(a, b, equal_nan=True):
                return False
        elif a != b:
            return False
    return True


def _header(text: str, char: str = "=") -> str:
    return f"{char * 72}\n{text}\n{char * 72}"


def _indent(text: str) -> str:
    return textwrap.indent(text.rstrip(), "    ")


def run_demo(out=print) -> bool:
    """Trace every bundled example, print what was captured; True when all match eager."""
    all_ok = True
    summary = []
    for number, (title, fn, inputs) in enumerate(_examples(), start=1):
        name = getattr(fn, "__name__", type(fn).__name__)
        out(_header(f"[{number}] {title}: {name}"))
        out("source:")
        out(_indent(inspect.getsource(fn if inspect.isfunction(fn) else type(fn))))
        out("")
        shapes = ", ".join("x".join(map(str, t.shape)) if isinstance(t, torch.Tensor) else repr(t)
                           for t in inputs)
        out(f"example inputs: {shapes}")
        out("")

        res = trace(fn, inputs)
        ok = _same(res(*inputs), fn(*inputs))
        # Fresh values of the same shapes reuse the capture (no recapture) and must agree too.
        fresh = tuple(torch.randn_like(t) if isinstance(t, torch.Tensor) else t for t in inputs)
        summary_name = name
        ok = ok and _same(res(*fresh), fn(*fresh)) and len(res.captures) == 1
        all_ok = all_ok and ok

        out(f"graphs captured: {len(res.graphs)}")
        for index, gm in enumerate(res.graphs):
            out(f"--- graph {index} ---")
            out(_indent(gm.code.strip()))
        out("--- guards ---")
        for guard in res.guards:
            out(f"    {guard}")
        out("--- graph breaks ---")
        if not res.graph_breaks:
            out("    none")
        for brk in res.graph_breaks:
            out(_indent(str(brk)))
        out("")
        out(f"matches eager: {'yes' if ok else 'NO'} (example inputs and fresh inputs of the same shapes)")
        out("")
        summary.append((summary_name, len(res.graphs), len(res.graph_breaks), ok))

    out(_header("summary"))
    out(f"    {'function':<20} {'graphs':>6} {'breaks':>6}  matches eager")
    for name, graphs, breaks, ok in summary:
        out(f"    {name:<20} {graphs:>6} {breaks:>6}  {'yes' if ok else 'NO'}")
    return all_ok


if __name__ == "__main__":
    raise SystemExit(0 if run_demo() else 1)
