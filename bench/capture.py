"""Capture time and warm-call overhead: snaptrace against Dynamo, in one process.

    python bench/capture.py [--quick] [--json PATH]

Capture time.  Workloads: `x + 1`, a 3-layer MLP, 1,000 chained elementwise
ops, and a Python-heavy one (200-step loops over lists and dicts, dict
counting, comprehensions, a list of tensors stacked at the end).  For each,
every repetition builds a fresh function (a new code object compiled from the workload's source text, registered under
a real file name so source lines exist) and times
  * snaptrace: `trace(fn, inputs)`;
  * Dynamo: `torch._dynamo.reset()` (untimed), then the first call of
    `torch.compile(fn, backend="eager")(*inputs)` (this includes running the
    function once, which costs microseconds here).
The table shows the median over the repetitions and the ratio snaptrace/dynamo
against the target ratio of 0.5.

Warm-call overhead.  `x + 1` on an 8x64 tensor, called many times after a
warm-up, through snaptrace's traced function, through torch.compile, and
eagerly; overhead = per-call time of the compiled function minus eager's, in
microseconds.

One-time costs (imports, the first FakeTensorMode use, Dynamo's first compile)
are paid by warm-up captures of an unrelated function before anything is timed.
Each timed capture starts after an untimed gc.collect(), so a collection of an
earlier repetition's garbage does not land in it.
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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch._dynamo  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from tracer import trace  # noqa: E402

TARGET_RATIO = 0.5
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


WORKLOADS = [
    ("x + 1 (8x64)", ADD_ONE_SRC, "add_one", x_input, 5),
    ("3-layer MLP (64 wide, batch 8)", MLP_SRC, "mlp", mlp_inputs, 5),
    ("1,000 chained elementwise ops", chain_source(1000), "chain1000", x_input, 3),
    ("Python-heavy (loops, dicts, comps)", PYTHON_HEAVY_SRC, "python_heavy", x_input, 5),
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

def snaptrace_capture_ms(src, name, path, inputs) -> float:
    fn = fresh_function(src, name, path)
    gc.collect()  # garbage from earlier repetitions is not this capture's cost
    start = time.perf_counter()
    res = trace(fn, inputs)
    elapsed = time.perf_counter() - start
    if res.graph_breaks or len(res.graphs) != 1:
        raise RuntimeError(f"snaptrace did not capture {name} in one graph: "
                           f"{len(res.graphs)} graph(s), breaks: {[str(b) for b in res.graph_breaks]}")
    return elapsed * 1e3


def dynamo_capture_ms(src, name, path, inputs) -> float:
    fn = fresh_function(src, name, path)
    torch._dynamo.reset()
    compiled = torch.compile(fn, backend="eager")
    gc.collect()
    start = time.perf_counter()
    compiled(*inputs)
    elapsed = time.perf_counter() - start
    return elapsed * 1e3


def same(a, b) -> bool:
    """Equal results: tensors close, containers item by item, anything else ==."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.allclose(a, b)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def check_agreement(src, name, path, inputs) -> bool:
    """The traced function returns what eager returns (guards against timing a wrong capture)."""
    fn = fresh_function(src, name, path)
    res = trace(fn, inputs)
    return same(res(*inputs), fn(*inputs))


def warm_up() -> None:
    """Pay one-time costs (imports, first FakeTensorMode, Dynamo's first compile) before timing."""
    path = source_file("warmup", WARMUP_SRC)
    a, b = torch.randn(4, 4), torch.randn(4, 4)
    for _ in range(2):
        trace(fresh_function(WARMUP_SRC, "warmup", path), (a, b))
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


def _first_tensor(out):
    """The logits of a model's output, whether a tensor, a tuple or a ModelOutput."""
    if isinstance(out, torch.Tensor):
        return out
    if hasattr(out, "logits"):
        return out.logits
    return out[0]


def model_rows(quick: bool) -> list:
    from models import nanogpt_inputs

    rows = []
    for title, make in (("nanoGPT 2 blocks (d=64, 4 heads, T=16)", nanogpt_inputs),
                        ("HF GPT2LMHeadModel (2 layers, d=64)", _gpt2_inputs)):
        if make() is None:
            print(f"  skipped {title}: install the bench extra (pip install -e '.[bench]')", flush=True)
            continue
        reps = 1 if quick else 3
        snap, dyn, graphs, breaks, agrees = [], [], 0, [], True
        for _ in range(reps):
            model, idx = make()
            gc.collect()
            start = time.perf_counter()
            res = trace(model, (idx,))
            snap.append((time.perf_counter() - start) * 1e3)
            graphs, breaks = len(res.graphs), res.graph_breaks
            agrees = torch.allclose(_first_tensor(res(idx)), _first_tensor(model(idx)), atol=1e-5)
            model, idx = make()
            torch._dynamo.reset()
            compiled = torch.compile(model, backend="eager")
            gc.collect()
            start = time.perf_counter()
            compiled(idx)
            dyn.append((time.perf_counter() - start) * 1e3)
        snap_ms, dyn_ms = statistics.median(snap), statistics.median(dyn)
        rows.append({"workload": title, "repetitions": reps, "snaptrace_ms": snap_ms, "dynamo_ms": dyn_ms,
                     "ratio": snap_ms / dyn_ms, "graphs": graphs, "breaks": [str(b) for b in breaks],
                     "meets_target": snap_ms / dyn_ms <= TARGET_RATIO and graphs == 1 and not breaks,
                     "matches_eager": bool(agrees)})
        print(f"  measured {title}: {reps} repetition(s)", flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="snaptrace vs Dynamo: capture time and warm-call overhead")
    parser.add_argument("--quick", action="store_true", help="one repetition of everything")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--calls", type=int, default=WARM_CALLS,
                        help=f"calls per timing run for the warm-call overhead (default {WARM_CALLS})")
    args = parser.parse_args(argv)

    print(f"python {platform.python_version()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s), {platform.machine()}")
    print("warming up (imports, first FakeTensorMode, first Dynamo compile) ...", flush=True)
    warm_up()

    rows = []
    for title, src, name, make_inputs, reps in WORKLOADS:
        reps = 1 if args.quick else reps
        path = source_file(name, src)
        inputs = make_inputs()
        agrees = check_agreement(src, name, path, inputs)
        snap = [snaptrace_capture_ms(src, name, path, inputs) for _ in range(reps)]
        dyn = [dynamo_capture_ms(src, name, path, inputs) for _ in range(reps)]
        snap_ms, dyn_ms = statistics.median(snap), statistics.median(dyn)
        rows.append({"workload": title, "repetitions": reps, "snaptrace_ms": snap_ms, "dynamo_ms": dyn_ms,
                     "ratio": snap_ms / dyn_ms, "target": TARGET_RATIO,
                     "meets_target": snap_ms / dyn_ms <= TARGET_RATIO, "matches_eager": agrees,
                     "snaptrace_all_ms": snap, "dynamo_all_ms": dyn})
        print(f"  measured {title}: {reps} repetition(s)", flush=True)
    torch._dynamo.reset()

    print()
    print("capture time (median)")
    header = f"{'workload':<36} {'reps':>4} {'snaptrace ms':>13} {'dynamo ms':>10} {'ratio':>7} " \
             f"{'target':>7}  {'met':<4} {'matches eager'}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['workload']:<36} {row['repetitions']:>4} {row['snaptrace_ms']:>13.2f} "
              f"{row['dynamo_ms']:>10.2f} {row['ratio']:>7.3f} {'<= 0.5':>7}  "
              f"{'yes' if row['meets_target'] else 'NO':<4} {'yes' if row['matches_eager'] else 'NO'}")

    models = model_rows(args.quick)
    torch._dynamo.reset()
    print()
    print("models (target: 1 graph, 0 breaks, capture <= 0.5x Dynamo)")
    header = f"{'model':<40} {'snaptrace ms':>13} {'dynamo ms':>10} {'ratio':>7} {'graphs':>6} {'breaks':>6}  " \
             f"{'met':<4} {'matches eager'}"
    print(header)
    print("-" * len(header))
    for row in models:
        print(f"{row['workload']:<40} {row['snaptrace_ms']:>13.2f} {row['dynamo_ms']:>10.2f} {row['ratio']:>7.3f} "
              f"{row['graphs']:>6} {len(row['breaks']):>6}  {'yes' if row['meets_target'] else 'NO':<4} "
              f"{'yes' if row['matches_eager'] else 'NO'}")
        for reason in row["breaks"]:
            print("    break: " + reason.splitlines()[0][:150])

    repeats = 1 if args.quick else 5
    print()
    print(f"warm-call overhead, x + 1 on 8x64 ({args.calls:,} calls per run, median of {repeats} run(s))",
          flush=True)
    overhead = warm_call_overhead(args.calls, repeats)
    print(f"  eager per call:      {overhead['eager_us']:8.2f} us")
    print(f"  snaptrace per call:  {overhead['snaptrace_us']:8.2f} us   "
          f"overhead {overhead['snaptrace_overhead_us']:7.2f} us")
    print(f"  dynamo per call:     {overhead['dynamo_us']:8.2f} us   "
          f"overhead {overhead['dynamo_overhead_us']:7.2f} us")
    print(f"  snaptrace overhead below dynamo's: {'yes' if overhead['snaptrace_below_dynamo'] else 'NO'}")

    if args.json:
        result = {"python": platform.python_version(), "torch": torch.__version__,
                  "threads": torch.get_num_threads(), "quick": args.quick,
                  "capture": rows, "models": models, "warm_call": overhead}
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
