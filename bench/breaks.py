"""Cost of graph breaks: snaptrace against Dynamo, in one process.

    python bench/breaks.py [--quick] [--json PATH]

The workload is about 200 bytecode instructions of tensor ops (50 statements
`x = x * 1.01 + c`) with k = 0, 1, 4 or 16 graph breaks spread evenly through
it (`tracer.graph_break()` for snaptrace, `torch._dynamo.graph_break()` for
Dynamo).  Both are timed on the first call of a fresh function (compile + run:
after a break, the rest is captured when it is reached), so every graph of the
function is captured inside the timed call.  The table shows the median over
the repetitions (the garbage collector is paused inside each timed call, for both, so a full
collection triggered by earlier work does not land in one of them), the cost per break over k = 0,
and the ratio snaptrace/dynamo
against the issue's targets: at most 10 ms per extra break, and at most 0.2x
Dynamo at k = 16.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch._dynamo  # noqa: E402

import tracer  # noqa: E402
from capture import source_file, warm_up  # noqa: E402

STATEMENTS = 50
BREAKS = (0, 1, 4, 16)
TARGET_PER_BREAK_MS = 10.0
TARGET_RATIO_AT_16 = 0.2


def workload_source(k: int, breaker: str) -> str:
    """50 statements (about 200 instructions) with `k` calls of `breaker()` spread evenly."""
    lines = [f"def breaks{k}(x):"]
    every = STATEMENTS // k if k else None
    for i in range(STATEMENTS):
        lines.append(f"    x = x * 1.01 + {i}")
        if every and i % every == every - 1 and (i + 1) // every <= k:
            lines.append(f"    {breaker}()")
    lines.append("    return x")
    return "\n".join(lines) + "\n"


def fresh(src: str, name: str, path: str):
    namespace = {"torch": torch, "tracer": tracer, "__name__": f"bench_{name}", "__file__": path}
    exec(compile(src, path, "exec"), namespace)
    return namespace[name]


def snaptrace_ms(k: int, x) -> tuple:
    src = workload_source(k, "tracer.graph_break")
    fn = fresh(src, f"breaks{k}", source_file(f"snap_breaks{k}", src))
    gc.collect()
    gc.disable()  # a full collection landing in one timed run costs more than the run itself
    start = time.perf_counter()
    compiled = tracer.compile(fn)
    out = compiled(x)
    elapsed = (time.perf_counter() - start) * 1e3
    gc.enable()
    if not torch.allclose(out, fn(x)):
        raise RuntimeError(f"snaptrace disagrees with eager at k={k}")
    if len(compiled.graph_breaks) != k:
        raise RuntimeError(f"expected {k} breaks, got {len(compiled.graph_breaks)}")
    return elapsed, len(compiled.graphs)


def dynamo_ms(k: int, x) -> tuple:
    src = workload_source(k, "torch._dynamo.graph_break")
    fn = fresh(src, f"breaks{k}", source_file(f"dynamo_breaks{k}", src))
    torch._dynamo.reset()
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    compiled = torch.compile(fn, backend=backend)
    gc.collect()
    gc.disable()
    start = time.perf_counter()
    compiled(x)
    elapsed = (time.perf_counter() - start) * 1e3
    gc.enable()
    return elapsed, len(graphs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition each")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    reps = 1 if args.quick else 5
    warm_up()
    x = torch.randn(8, 64)
    rows = []
    for k in BREAKS:
        snap = [snaptrace_ms(k, x) for _ in range(reps)]
        dyn = [dynamo_ms(k, x) for _ in range(reps)]
        rows.append({"breaks": k, "snaptrace_ms": statistics.median(ms for ms, _ in snap),
                     "dynamo_ms": statistics.median(ms for ms, _ in dyn),
                     "snaptrace_graphs": snap[0][1], "dynamo_graphs": dyn[0][1]})
    base_snap, base_dyn = rows[0]["snaptrace_ms"], rows[0]["dynamo_ms"]
    print(f"{'breaks':>6} {'snaptrace ms':>13} {'per break':>10} {'graphs':>7} "
          f"{'dynamo ms':>10} {'per break':>10} {'graphs':>7} {'ratio':>6}")
    for row in rows:
        k = row["breaks"]
        row["snaptrace_per_break_ms"] = (row["snaptrace_ms"] - base_snap) / k if k else 0.0
        row["dynamo_per_break_ms"] = (row["dynamo_ms"] - base_dyn) / k if k else 0.0
        row["ratio"] = row["snaptrace_ms"] / row["dynamo_ms"]
        print(f"{k:>6} {row['snaptrace_ms']:>13.1f} {row['snaptrace_per_break_ms']:>10.2f} "
              f"{row['snaptrace_graphs']:>7} {row['dynamo_ms']:>10.1f} {row['dynamo_per_break_ms']:>10.2f} "
              f"{row['dynamo_graphs']:>7} {row['ratio']:>6.2f}")
    last = rows[-1]
    per_break_ok = all(row["snaptrace_per_break_ms"] <= TARGET_PER_BREAK_MS for row in rows[1:])
    print(f"targets: <= {TARGET_PER_BREAK_MS:.0f} ms per extra break: {'met' if per_break_ok else 'NOT met'}; "
          f"<= {TARGET_RATIO_AT_16}x Dynamo at k=16: {'met' if last['ratio'] <= TARGET_RATIO_AT_16 else 'NOT met'} "
          f"({last['ratio']:.2f}x)")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
