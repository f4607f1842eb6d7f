"""Cost per instruction: instructions stepped, Python calls and CPU time of one capture, per workload.

    python bench/step_cost.py [--runs N] [--only TEXT]

For each workload of bench/capture.py, one capture (`trace(fn, inputs)` on a fresh callable) is
measured three ways:
  * instructions: how many instructions the step loop ran (every handler call, inlined frames
    included), counted by wrapping the handlers of tracer/registry.py for one extra capture;
  * calls: Python function calls during the capture (`sys.setprofile` "call" events; C calls are
    not counted), for one extra capture.  Unlike times, both counts are exactly repeatable, which
    makes them the A/B measure on a shared machine;
  * CPU time (`time.process_time`, the minimum over `--runs` captures, nothing installed): of the
    whole capture and of the step loop alone (the top-level `run` of tracer/capture.py, which
    includes the fake-tensor work of the ops; the rest is building the graph, the guards and the
    entry).
It prints calls per instruction and microseconds per instruction (step loop time / instructions).
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import capture as bench  # noqa: E402
import tracer.capture  # noqa: E402
from tracer import trace  # noqa: E402
from tracer.registry import HANDLERS  # noqa: E402


def count_instructions(fn, inputs) -> int:
    count = [0]
    originals = dict(HANDLERS)

    def counting(handler):
        def counted(state, instruction):
            count[0] += 1
            return handler(state, instruction)
        return counted

    HANDLERS.update({name: counting(handler) for name, handler in originals.items()})
    try:
        trace(fn, inputs)
    finally:
        HANDLERS.update(originals)
    return count[0]


def count_calls(fn, inputs) -> int:
    count = [0]

    def profile(frame, event, arg):
        if event == "call":
            count[0] += 1

    sys.setprofile(profile)
    try:
        trace(fn, inputs)
    finally:
        sys.setprofile(None)
    return count[0]


def cpu_ms(fresh, runs: int) -> tuple:
    """(whole capture, step loop) CPU milliseconds, each the minimum over `runs` captures."""
    original = tracer.capture.run
    loop = [0.0]

    def timed_run(state):
        start = time.process_time()
        try:
            return original(state)
        finally:
            loop[0] += time.process_time() - start

    tracer.capture.run = timed_run
    whole, steps = [], []
    try:
        for _ in range(runs):
            fn, inputs = fresh()
            gc.collect()
            loop[0] = 0.0
            start = time.process_time()
            trace(fn, inputs)
            whole.append(time.process_time() - start)
            steps.append(loop[0])
    finally:
        tracer.capture.run = original
    return min(whole) * 1e3, min(steps) * 1e3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="instructions, calls and time per instruction of a capture")
    parser.add_argument("--runs", type=int, default=7, help="timed captures per workload (minimum taken)")
    parser.add_argument("--only", action="append", metavar="TEXT", help="only workloads whose title has TEXT")
    args = parser.parse_args(argv)
    bench.warm_up()
    header = f"{'workload':<40} {'instructions':>12} {'calls':>9} {'calls/ins':>9} {'capture ms':>10} " \
             f"{'loop ms':>8} {'us/ins':>7}"
    print(header)
    print("-" * len(header))
    for title, fresh, _ in bench.workloads():
        if fresh is None or (args.only and not any(text.lower() in title.lower() for text in args.only)):
            continue
        trace(*fresh())  # one-time costs of this workload's code (decoding, first fake ops)
        instructions = count_instructions(*fresh())
        calls = count_calls(*fresh())
        whole, loop = cpu_ms(fresh, args.runs)
        print(f"{title:<40} {instructions:>12,} {calls:>9,} {calls / instructions:>9.1f} {whole:>10.1f} "
              f"{loop:>8.1f} {loop * 1e3 / instructions:>7.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
