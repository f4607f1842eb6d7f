"""Capture time, peak memory and warm-call overhead: snaptrace against torch.fx and Dynamo, in one process.

    python bench/capture.py [--quick] [--only TEXT] [--json PATH]

Capture time.  Workloads: `x + 1`, a 3-layer MLP, 1,000 and 2,000 chained
elementwise ops (one per line), a Python-heavy function (200-step loops over
lists and dicts, dict counting, comprehensions, a list of tensors stacked at
the end), one nanoGPT block, a 2-block nanoGPT and Hugging Face GPT-2 (2
layers; skipped without `transformers`).  Every repetition builds a fresh
callable (functions: a new code object compiled from the workload's source
text, registered under a real file name so source lines exist; models: a new
module with the same seed) and times
  * snaptrace: `trace(fn, inputs)` (capture, guards, entry code, backend "eager");
  * fx: `torch.fx.symbolic_trace(fn)` ("n/a" where the workload is not
    fx-traceable);
  * Dynamo: `torch._dynamo.reset()` (untimed), then the first call of
    `torch.compile(fn, backend="eager")(*inputs)` (this includes running the
    function once, which costs microseconds to a millisecond here).
The table shows medians over the repetitions, the ratios snaptrace/fx and
snaptrace/Dynamo against the targets of issue 15 (at most 2x fx, at most
0.2x Dynamo), and the peak memory of one more capture of each, measured
separately under tracemalloc (Python allocations; fake tensors own no data).

Warm-call overhead.  `x + 1` on an 8x64 tensor, called many times after a
warm-up, through snaptrace's traced function, through torch.compile, and
eagerly; overhead = per-call time of the compiled function minus eager's, in
microseconds (target: under 5 us).

One-time costs (imports, the first FakeTensorMode use, Dynamo's first compile)
are paid by warm-up captures of an unrelated function before anything is timed.
Each timed capture starts after an untimed gc.collect(), so a collection of an
earlier repetition's garbage does not land in it.  Other agents may share the
machine: timings are noisy, the ratios of one run are rough.
"""
from __future__ import annotations

import argparse
import atexit
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import timeit
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch._dynamo  # noqa: E402
import torch.fx  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from tracer import trace  # noqa: E402

FX_TARGET = 2.0  # snaptrace at most 2x torch.fx.symbolic_trace
DYNAMO_TARGET = 0.2  # snaptrace at most 0.2x Dynamo
WARM_TARGET_US = 5.0
WARM_CALLS = 20_000

# --- workloads: (name, source text, function name, input factory, repetitions) -------------------

ADD_ONE_SRC = """\
def add_one(x):
    return x + 1
"""

MLP_SRC = """\
def mlp(x, w1, b1, w2, b2, w3, b3):
    h = F.relu(F.linear(x, w1, b1))
    h = F.relu(F.linear(h, w2, b2))
    return F.linear(h, w3, b3)
"""

PYTHON_HEAVY_SRC = """\
def python_heavy(x):
    words = ["relu", "gelu", "tanh", "relu", "silu", "gelu", "relu"]
    counts = {}
    for i in range(200):
        word = words[i % len(words)]
        counts[word] = counts.get(word, 0) + 1
    names = sorted(counts)
    weights = {name: counts[name] / 200 for name in names}
    evens = [i for i in range(200) if i % 2 == 0]
    total = 0
    for i, v in enumerate(evens):
        if v % 3 == 0:
            total += i
    squares = [v * v for v in evens[:10]]
    outs = []
    for i in range(8):
        name = names[i % len(names)]
        outs.append(x * weights[name] + total + squares[i])
    return torch.stack(outs).sum(dim=0), counts, names
"""

WARMUP_SRC = """\
def warmup(a, b):
    c = torch.sin(a) * b + 2.0
    return c.sum(dim=-1), c.shape[0]
"""


def chain_source(n: int) -> str:
    """A function of `n` chained elementwise ops, one per line, cycling through four kinds."""
    kinds = ("    x = x * 1.0001", "    x = x + 0.001", "    x = torch.sin(x)", "    x = x - 0.0005")
    lines = [f"def chain{n}(x):"]
    lines += [kinds[i % len(kinds)] for i in range(n)]
    lines.append("    return x")
    return "\n".join(lines) + "\n"


def mlp_inputs():
    g = torch.Generator().manual_seed(0)
    width, batch = 64, 8
    return (torch.randn(batch, width, generator=g),
            torch.randn(width, width, generator=g), torch.randn(width, generator=g),
            torch.randn(width, width, generator=g), torch.randn(width, generator=g),
            torch.randn(width, width, generator=g), torch.randn(width, generator=g))


def x_input():
    return (torch.randn(8, 64, generator=torch.Generator().manual_seed(0)),)


def _function(src: str, name: str, make_inputs):
    """A factory of (fresh function, inputs) for a workload given as source text."""
    path = source_file(name, src)
    inputs = make_inputs()
    return lambda: (fresh_function(src, name, path), inputs)


def _module(make):
    """A factory of (fresh module, inputs) from a `make() -> (module, input)`; None when `make` gives None."""
    if make() is None:
        return None

    def fresh():
        model, x = make()
        return model, (x,)
    return fresh


def workloads():
    """(title, factory or None, repetitions): the factory gives a fresh (callable, inputs) per call."""
    from models import block_inputs, nanogpt_inputs

    return [
        ("x + 1 (8x64)", _function(ADD_ONE_SRC, "add_one", x_input), 5),
        ("3-layer MLP (64 wide, batch 8)", _function(MLP_SRC, "mlp", mlp_inputs), 5),
        ("1,000 chained elementwise ops", _function(chain_source(1000), "chain1000", x_input), 3),
        ("2,000 chained elementwise ops", _function(chain_source(2000), "chain2000", x_input), 3),
        ("Python-heavy (loops, dicts, comps)", _function(PYTHON_HEAVY_SRC, "python_heavy", x_input), 5),
        ("nanoGPT block (d=64, 4 heads, T=16)", _module(block_inputs), 5),
        ("nanoGPT 2 blocks (d=64, 4 heads, T=16)", _module(nanogpt_inputs), 5),
        ("HF GPT2LMHeadModel (2 layers, d=64)", _module(_gpt2_inputs), 5),
    ]


# --- fresh functions from source text with real file names ----------------------------------------

_TMPDIR = tempfile.mkdtemp(prefix="snaptrace_bench_")
atexit.register(shutil.rmtree, _TMPDIR, ignore_errors=True)


def source_file(name: str, src: str) -> str:
    """Write `src` to a real file (so linecache and tracebacks find the lines) and return its path."""
    path = os.path.join(_TMPDIR, f"{name}.py")
    with open(path, "w") as handle:
        handle.write(src)
    return path


def fresh_function(src: str, name: str, path: str):
    """A brand-new function object with a brand-new code object, compiled from `src` as `path`."""
    namespace = {"torch": torch, "F": F, "__name__": f"bench_{name}", "__file__": path}
    exec(compile(src, path, "exec"), namespace)
    return namespace[name]


# --- measurements ----------------------------------------------------------------------------------

def _timed(run) -> float:
    gc.collect()  # garbage from earlier repetitions is not this capture's cost
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1e3


def _peak_kib(run) -> float:
    """Peak Python memory allocated while `run()` runs, in KiB (tracemalloc; not timed)."""
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()


def _snaptrace(fn, inputs):
    res = trace(fn, inputs)
    if res.graph_breaks or len(res.graphs) != 1:
        raise RuntimeError(f"snaptrace did not capture {getattr(fn, '__name__', fn)} in one graph: "
                           f"{len(res.graphs)} graph(s), breaks: {[str(b) for b in res.graph_breaks]}")
    return res


def _fx(fn, inputs):
    return torch.fx.symbolic_trace(fn)


def _dynamo(fn, inputs):
    torch._dynamo.reset()
    compiled = torch.compile(fn, backend="eager")
    return lambda: compiled(*inputs)


def same(a, b) -> bool:
    """Equal results: tensors close, containers item by item, ModelOutputs by their logits, anything else ==."""
    if hasattr(a, "logits") and hasattr(b, "logits"):
        return same(a.logits, b.logits)
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.allclose(a, b, atol=1e-5)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def measure(title: str, fresh, reps: int) -> dict:
    """Median capture times of snaptrace, fx and Dynamo on fresh callables, peak memory of each, and
    whether snaptrace's result matches eager (guards against timing a wrong capture)."""
    fn, inputs = fresh()
    agrees = same(_snaptrace(fn, inputs)(*inputs), fresh()[0](*inputs))
    try:
        _fx(*fresh())
        fx_ok = True
    except Exception as exc:  # not fx-traceable: the fx column says n/a
        fx_ok, fx_error = False, f"{type(exc).__name__}: {exc}"
    snap, fx, dyn = [], [], []
    for _ in range(reps):
        fn, inputs = fresh()
        snap.append(_timed(lambda: _snaptrace(fn, inputs)))
        if fx_ok:
            fn, inputs = fresh()
            fx.append(_timed(lambda: _fx(fn, inputs)))
        fn, inputs = fresh()
        first_call = _dynamo(fn, inputs)
        dyn.append(_timed(first_call))
    memory = {"snaptrace_kib": _peak_kib(lambda: _snaptrace(*fresh())),
              "fx_kib": _peak_kib(lambda: _fx(*fresh())) if fx_ok else None}
    fn, inputs = fresh()
    first_call = _dynamo(fn, inputs)
    memory["dynamo_kib"] = _peak_kib(first_call)
    torch._dynamo.reset()
    snap_ms, dyn_ms = statistics.median(snap), statistics.median(dyn)
    fx_ms = statistics.median(fx) if fx_ok else None
    row = {"workload": title, "repetitions": reps, "snaptrace_ms": snap_ms, "fx_ms": fx_ms, "dynamo_ms": dyn_ms,
           "ratio_fx": snap_ms / fx_ms if fx_ok else None, "ratio_dynamo": snap_ms / dyn_ms,
           "meets_fx_target": snap_ms / fx_ms <= FX_TARGET if fx_ok else None,
           "meets_dynamo_target": snap_ms / dyn_ms <= DYNAMO_TARGET, "matches_eager": bool(agrees),
           "snaptrace_all_ms": snap, "fx_all_ms": fx, "dynamo_all_ms": dyn, **memory}
    if not fx_ok:
        row["fx_error"] = fx_error
    return row


def warm_up() -> None:
    """Pay one-time costs (imports, first FakeTensorMode, Dynamo's first compile, fx) before timing."""
    path = source_file("warmup", WARMUP_SRC)
    a, b = torch.randn(4, 4), torch.randn(4, 4)
    for _ in range(2):
        trace(fresh_function(WARMUP_SRC, "warmup", path), (a, b))
        torch.fx.symbolic_trace(fresh_function(WARMUP_SRC, "warmup", path))
        torch._dynamo.reset()
        torch.compile(fresh_function(WARMUP_SRC, "warmup", path), backend="eager")(a, b)
    torch._dynamo.reset()


def per_call_us(fn, args, calls: int, repeats: int) -> float:
    """Median over `repeats` of the per-call time of `fn(*args)`, in microseconds."""
    for _ in range(200):
        fn(*args)
    timer = timeit.Timer(lambda: fn(*args))
    return statistics.median(timer.repeat(repeat=repeats, number=calls)) / calls * 1e6


def warm_call_overhead(calls: int, repeats: int) -> dict:
    path = source_file("add_one_warm", ADD_ONE_SRC)
    (x,) = x_input()
    eager_fn = fresh_function(ADD_ONE_SRC, "add_one", path)
    traced = trace(fresh_function(ADD_ONE_SRC, "add_one", path), (x,))
    torch._dynamo.reset()
    compiled = torch.compile(fresh_function(ADD_ONE_SRC, "add_one", path), backend="eager")
    for fn in (traced, compiled):
        if not torch.equal(fn(x), eager_fn(x)):
            raise RuntimeError("a compiled x + 1 disagrees with eager")
    eager = per_call_us(eager_fn, (x,), calls, repeats)
    snap = per_call_us(traced, (x,), calls, repeats)
    dyn = per_call_us(compiled, (x,), calls, repeats)
    if len(traced.captures) != 1:
        raise RuntimeError(f"snaptrace recaptured x + 1 during timing ({len(traced.captures)} captures)")
    return {"calls": calls, "repeats": repeats, "eager_us": eager, "snaptrace_us": snap, "dynamo_us": dyn,
            "snaptrace_overhead_us": snap - eager, "dynamo_overhead_us": dyn - eager,
            "snaptrace_below_dynamo": (snap - eager) < (dyn - eager)}


# --- model workloads: whole nn.Modules ---------------------------------------------------------------

def _gpt2_inputs():
    """Hugging Face GPT2LMHeadModel, 2 layers, d=64, 4 heads (no weights are downloaded); None when the
    bench-only `transformers` extra is not installed."""
    try:
        import transformers
    except ImportError:
        return None
    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=1000)
    model = transformers.GPT2LMHeadModel(config).eval()
    return model, torch.randint(0, 1000, (2, 16))


def _cell(value, fmt: str) -> str:
    """`value` formatted with `fmt` ("8.2f"), or "n/a" right-aligned to the same width."""
    return format("n/a", ">" + fmt.split(".")[0]) if value is None else format(value, fmt)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="snaptrace vs torch.fx and Dynamo: capture time, memory, "
                                                 "warm-call overhead")
    parser.add_argument("--quick", action="store_true", help="one repetition of everything")
    parser.add_argument("--only", action="append", metavar="TEXT",
                        help="only the workloads whose title contains TEXT (repeatable)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--calls", type=int, default=WARM_CALLS,
                        help=f"calls per timing run for the warm-call overhead (default {WARM_CALLS})")
    args = parser.parse_args(argv)

    print(f"python {platform.python_version()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s), {platform.machine()}")
    print("warming up (imports, first FakeTensorMode, first Dynamo compile) ...", flush=True)
    warm_up()

    rows = []
    for title, fresh, reps in workloads():
        if args.only and not any(text.lower() in title.lower() for text in args.only):
            continue
        if fresh is None:
            print(f"  skipped {title}: install the bench extra (pip install -e '.[bench]')", flush=True)
            continue
        rows.append(measure(title, fresh, 1 if args.quick else reps))
        print(f"  measured {title}: {rows[-1]['repetitions']} repetition(s)", flush=True)

    print()
    print(f"capture time (median ms) and peak memory of one capture (KiB, tracemalloc); "
          f"targets: <= {FX_TARGET:g}x fx, <= {DYNAMO_TARGET:g}x Dynamo")
    header = (f"{'workload':<40} {'reps':>4} {'snaptrace':>10} {'fx':>8} {'dynamo':>9} {'/fx':>6} {'/dynamo':>8}  "
              f"{'met':<7} {'eager':<5} {'KiB snap':>9} {'KiB fx':>8} {'KiB dyn':>9}")
    print(header)
    print("-" * len(header))
    for row in rows:
        met = {True: "yes", False: "NO", None: "n/a"}[row["meets_fx_target"]] + "/" + \
            ("yes" if row["meets_dynamo_target"] else "NO")
        print(f"{row['workload']:<40} {row['repetitions']:>4} {row['snaptrace_ms']:>10.2f} {_cell(row['fx_ms'], '8.2f')} "
              f"{row['dynamo_ms']:>9.2f} {_cell(row['ratio_fx'], '6.2f')} {row['ratio_dynamo']:>8.3f}  {met:<7} "
              f"{'yes' if row['matches_eager'] else 'NO':<5} {row['snaptrace_kib']:>9.0f} "
              f"{_cell(row['fx_kib'], '8.0f')} {row['dynamo_kib']:>9.0f}")

    repeats = 1 if args.quick else 5
    print()
    print(f"warm-call overhead, x + 1 on 8x64 ({args.calls:,} calls per run, median of {repeats} run(s))",
          flush=True)
    overhead = warm_call_overhead(args.calls, repeats)
    print(f"  eager per call:      {overhead['eager_us']:8.2f} us")
    print(f"  snaptrace per call:  {overhead['snaptrace_us']:8.2f} us   "
          f"overhead {overhead['snaptrace_overhead_us']:7.2f} us   (target < {WARM_TARGET_US:g} us)")
    print(f"  dynamo per call:     {overhead['dynamo_us']:8.2f} us   "
          f"overhead {overhead['dynamo_overhead_us']:7.2f} us")
    print(f"  snaptrace overhead below dynamo's: {'yes' if overhead['snaptrace_below_dynamo'] else 'NO'}")

    if args.json:
        result = {"python": platform.python_version(), "torch": torch.__version__,
                  "threads": torch.get_num_threads(), "quick": args.quick,
                  "capture": rows, "warm_call": overhead}
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
