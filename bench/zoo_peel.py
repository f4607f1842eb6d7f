"""What is behind the first blocker: the zoo with the known blockers worked around, one process per model.

    python bench/zoo_peel.py                                   # all six workarounds, every model
    python bench/zoo_peel.py --patches kernels,is_tensor,chunking --only bert
    python bench/zoo_peel.py --seq-lens 8      # then 8 sequence lengths (batch sizes): captures over all

A break anywhere inside a model stops the whole model call (it then runs eagerly), so bench/zoo.py
shows one blocker per model.  This script replaces the constructs behind the known blockers with
equivalent code snaptrace can trace, in its own worker process (the patches are process-global), calls
`tracer.compile(model)` twice with same-shaped inputs and reports graphs, breaks (the next blocker)
and whether both calls match eager.  The workarounds (none changes a result):

  kernels     unwrap `kernels`' `use_kernelized_func` forward wrapper (reads `forward.__func__` and a
              ContextVar) from attention classes: call the original forward;
  is_tensor   `transformers.utils.generic.is_tensor` (ModelOutput.__post_init__; it calls
              `str(type(x))`) becomes `isinstance(x, torch.Tensor)`;
  chunking    `apply_chunking_to_forward` (calls `inspect.signature` on a bound method) calls the
              chunk function directly (the zoo's configs do not chunk);
  finfo       `torch.finfo(dtype)` returns a precomputed plain object with min, max, eps;
  textconfig  `PreTrainedConfig.get_text_config` (deep-copies legacy encoder-decoder configs for each
              DynamicCache) returns the same object for the same config;
  experts     MoE models use `experts_implementation="batched_mm"` instead of the default grouped_mm,
              whose CPU path is the custom op torch.ops.transformers.grouped_mm_fallback.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ALL_PATCHES = ("kernels", "is_tensor", "chunking", "finfo", "textconfig", "experts")


class _FInfo:
    def __init__(self, info):
        self.min, self.max, self.eps, self.dtype = info.min, info.max, info.eps, info.dtype


def apply_patches(model_name: str, patches: tuple, zoo) -> list:
    """Patches that must be in place before the model is built; returns what was applied."""
    import torch

    applied = []
    if "experts" in patches:
        kind, model_cls, config_cls, kwargs = zoo.ZOO[model_name]
        if "num_local_experts" in kwargs or "num_experts" in kwargs:
            zoo.ZOO[model_name] = (kind, model_cls, config_cls, dict(kwargs, experts_implementation="batched_mm"))
            applied.append("experts=batched_mm")
    if "is_tensor" in patches:
        from transformers.utils import generic

        generic.is_tensor = lambda x: isinstance(x, torch.Tensor)
        applied.append("is_tensor")
    if "finfo" in patches:
        real = torch.finfo
        known = [(dtype, _FInfo(real(dtype))) for dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64)]

        def finfo(dtype=None):
            dtype = torch.get_default_dtype() if dtype is None else dtype
            for candidate, info in known:
                if candidate == dtype:
                    return info
            return real(dtype)

        torch.finfo = finfo
        applied.append("finfo")
    if "textconfig" in patches:
        from transformers import configuration_utils

        original = configuration_utils.PreTrainedConfig.get_text_config
        memo = []

        def get_text_config(self, decoder=None, encoder=None):
            for owner, d, e, value in memo:
                if owner is self and d == decoder and e == encoder:
                    return value
            value = original(self, decoder=decoder, encoder=encoder)
            memo.append((self, decoder, encoder, value))
            return value

        configuration_utils.PreTrainedConfig.get_text_config = get_text_config
        applied.append("textconfig")
    return applied


def patch_chunking() -> list:
    """After the model is built (its modeling module imported): `apply_chunking_to_forward` calls the chunk
    function directly, in every transformers module that imported it."""
    def apply_chunking_to_forward(forward_fn, chunk_size, chunk_dim, *input_tensors):
        if chunk_size:
            raise NotImplementedError("the zoo's configs do not chunk")
        return forward_fn(*input_tensors)

    patched = []
    for name, module in list(sys.modules.items()):
        if name.startswith("transformers.") and getattr(module, "apply_chunking_to_forward", None) is not None:
            module.apply_chunking_to_forward = apply_chunking_to_forward
            patched.append(name)
    return ["chunking"] if patched else []


def unwrap_kernels(model) -> list:
    """Replace `use_kernelized_func`'s forward wrapper by the original forward on the model's classes."""
    done = []
    for module in model.modules():
        cls = type(module)
        forward = cls.__dict__.get("forward")
        if getattr(getattr(forward, "__code__", None), "co_name", "") == "new_forward" and hasattr(forward, "__wrapped__"):
            cls.forward = forward.__wrapped__
            done.append(f"unwrapped {cls.__name__}")
    return done


def worker(name: str, patches: tuple, seq_lens: int = 1) -> dict:
    sys.path.insert(0, ROOT)
    sys.path.insert(0, HERE)
    import torch
    import transformers

    import tracer
    import zoo

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    applied = apply_patches(name, patches, zoo)
    model, _ = zoo.build(name, "sdpa")
    if "kernels" in patches:
        applied += unwrap_kernels(model)
    if "chunking" in patches:
        applied += patch_chunking()
    inputs = [zoo.make_inputs(name, zoo.sizes(name, 1)[0], call, False) for call in range(2)]
    with torch.no_grad():
        want = [model(**x) for x in inputs]
        compiled = tracer.compile(model)
        got = [compiled(**x) for x in inputs]
    problems = [p for g, w in zip(got, want) for p in zoo.compare(g, w)]
    breaks = [zoo._break_record(b) for b in compiled.graph_breaks]
    result = {"model": name, "applied": applied, "graphs": len(compiled.graphs),
              "captures": len(compiled.captures) + sum(len(r.captures) for r in compiled.resumes),
              "breaks": [{"reason": b["reason"], "origin": b["origin"], "chain": b["chain"]} for b in breaks],
              "match": not problems, "problems": problems[:4]}
    if seq_lens > 1:  # the other sizes, as bench/zoo.py --seq-lens calls them
        with torch.no_grad():
            for call, size in enumerate(zoo.sizes(name, seq_lens)[1:], start=2):
                x = zoo.make_inputs(name, size, call, False)
                problems += zoo.compare(compiled(**x), model(**x))
        result.update(captures_all=len(compiled.captures) + sum(len(r.captures) for r in compiled.resumes),
                      match_all=not problems, problems=problems[:4])
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="the zoo with the known blockers worked around")
    parser.add_argument("--only", action="append", metavar="NAME")
    parser.add_argument("--patches", default=",".join(ALL_PATCHES), help=f"comma-separated, from {ALL_PATCHES}")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--seq-lens", type=int, default=1, metavar="N",
                        help="also call with N - 1 further sequence lengths (batch sizes), as bench/zoo.py does")
    parser.add_argument("--worker", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    patches = tuple(p for p in args.patches.split(",") if p)
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, patches, args.seq_lens)))
        return 0
    sys.path.insert(0, HERE)
    import zoo

    results = []
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    for name in args.only or list(zoo.ZOO):
        try:
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", name, "--patches",
                                   ",".join(patches), "--seq-lens", str(args.seq_lens)], env=env,
                                  capture_output=True, text=True, timeout=300)
            lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
            result = json.loads(lines[-1][7:]) if lines else {
                "model": name, "error": (proc.stderr.strip().splitlines() or ["?"])[-1][:200]}
        except subprocess.TimeoutExpired:
            result = {"model": name, "error": "timeout"}
        results.append(result)
        if "error" in result:
            print(f"{name:<13} ERROR {result['error']}", flush=True)
            continue
        first = result["breaks"][0] if result["breaks"] else None
        nxt = f"next: {first['reason'][:90]} @ {first['origin']}" if first else "no break"
        sizes = (f" | {args.seq_lens} sizes: captures={result['captures_all']} "
                 f"match={'yes' if result['match_all'] else 'NO'}") if "captures_all" in result else ""
        print(f"{name:<13} graphs={result['graphs']} captures={result['captures']} "
              f"match={'yes' if result['match'] else 'NO'} {nxt}{sizes}", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"patches": patches, "results": results}, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
