"""Model zoo: Hugging Face `transformers` architectures through snaptrace and Dynamo, one process each.

    pip install -e '.[bench]'
    python bench/zoo.py                      # the whole zoo, 35 models (about 7 min on 2 cores)
    python bench/zoo.py --only llama --only t5 --json zoo.json
    python bench/zoo.py --seq-lens 8         # 8 sequence lengths (batch sizes for vision models)
    python bench/zoo.py --repeat 3           # each model measured 3 times (fresh processes), medians
    python bench/zoo.py --submodules         # also every layer class on its own (all blockers)
    python bench/zoo.py --list               # the model names

The baseline and what it means: bench/ZOO_BASELINE.md (made with `--submodules --seq-lens 8`,
about 9 min).  bench/zoo_peel.py reruns the zoo with the known blockers worked around.

Every model is built from a tiny config with random weights (hidden 32-64, 2 layers, 2-4 heads,
vocabulary 256; nothing is downloaded), put in `eval()` mode with `torch.manual_seed(0)`, and run
in its own worker process (`python bench/zoo.py --worker NAME --json OUT`) under a timeout, so one
crash or hang does not stop the run.  The parent prints one progress line per model as it finishes
and a markdown summary table at the end; `--json PATH` writes every result.

Inputs: batch 2, sequence 16 (`input_ids` and an `attention_mask` whose second row ends in 3
padding tokens; encoder-decoders also get `decoder_input_ids` of length 8), or `pixel_values` of
2x3x32x32 for vision models.  The model is called the way a user calls it, `model(**inputs)`, with
the config's defaults (decoders return their KV cache unless `--no-cache`).  Attention is
`--attn sdpa` (the default, which is also transformers' default) or `--attn eager`, the same for
eager, snaptrace and Dynamo; the implementation actually used is recorded per model.

Per model the worker
  1. runs the model eagerly (the reference, and it pays lazy imports), and warms up both compilers
     on an unrelated function (first FakeTensorMode, Dynamo's first compile);
  2. snaptrace: `compiled = tracer.compile(model)`; the capture time is the first call
     `compiled(**inputs)` (capture + run; after a graph break the rest is captured when it is
     reached, so every graph and resume function of that call is captured inside the timed call);
  3. calls it again with fresh inputs of the same shapes and compares both calls with eager (walking
     ModelOutputs, tuples, dicts and KV caches; floats with torch.allclose(rtol=1e-4, atol=1e-5),
     integers and bools exactly);
  4. counts captures: `len(traced.captures) + sum(len(r.captures) for r in traced.resumes)`, after
     the first and after the second call (a second call with same-shaped inputs should add none);
  5. records graphs and graph breaks (reason, kind, the source location where it stopped);
  6. Dynamo: `torch._dynamo.reset()`, `torch.compile(model, backend=counting_backend)` and the
     same two calls.  Dynamo's numbers: graphs = calls of the counting backend (one per graph
     Dynamo compiles, recompilations included; this is more reliable than
     `counters["stats"]["unique_graphs"]`, which counts the same thing but is bumped before
     Dynamo decides a graph is empty), breaks = the sum of `torch._dynamo.utils.counters
     ["graph_break"]` (one per break, keyed by reason), frames = `counters["frames"]["ok"]`
     (frames Dynamo converted, resume functions included);
  7. with `--seq-lens N` (N > 1): calls both compiled models with N - 1 further sequence lengths
     (16 + 4k for k = 1..N-1; vision models: batch sizes 2 + k) and reports the total captures of
     snaptrace (top function plus resume functions, as in 4) and the total graphs Dynamo compiled
     (as in 6), and whether every call matched eager.

With `--submodules`, the worker also records the first call of every non-torch module class inside
the model (forward pre-hooks, inputs deep-copied) and traces each class on its own with
`tracer.compile(module)`, comparing with eager: a break anywhere inside a module call stops the whole
call, so the model-level run shows one blocker per model and this shows the rest.

Times are of one first call each (the garbage collector is paused inside the timed calls); other
agents share the machine, so treat ratios as rough.  The ratio is shown in parentheses when
snaptrace broke: it then ran (part of) the model eagerly, so the time is not a capture time.  An exception in snaptrace is reported as
"crash: ..." and the rest of the worker still runs.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

BATCH = 2
SEQ = 16
DEC_SEQ = 8
IMAGE = 32
VOCAB = 256
PAD_ROW_TAIL = 3  # the second row of attention_mask ends in this many zeros
DEFAULT_TIMEOUT = 300

# --- the zoo -----------------------------------------------------------------------------------------
# name -> (kind, model class, config class, config kwargs).  kind is "encoder", "decoder", "encdec"
# or "vision".  Everything is tiny: hidden 32-64, 2 layers, 2-4 heads, vocabulary 256.

_TXT = dict(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=128, max_position_embeddings=128)
_LLAMA = dict(_TXT, num_key_value_heads=2, pad_token_id=0, bos_token_id=1, eos_token_id=2)
_SEQ2SEQ = dict(vocab_size=VOCAB, d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128, max_position_embeddings=128)

ZOO = {
    # encoders
    "bert": ("encoder", "BertModel", "BertConfig", _TXT),
    "roberta": ("encoder", "RobertaModel", "RobertaConfig", dict(_TXT, pad_token_id=1)),
    "xlm-roberta": ("encoder", "XLMRobertaModel", "XLMRobertaConfig", dict(_TXT, pad_token_id=1)),
    "distilbert": ("encoder", "DistilBertModel", "DistilBertConfig",
                   dict(vocab_size=VOCAB, dim=64, n_layers=2, n_heads=4, hidden_dim=128, max_position_embeddings=128)),
    "albert": ("encoder", "AlbertModel", "AlbertConfig", dict(_TXT, embedding_size=32)),
    "electra": ("encoder", "ElectraModel", "ElectraConfig", dict(_TXT, embedding_size=32)),
    "deberta-v2": ("encoder", "DebertaV2Model", "DebertaV2Config",
                   dict(_TXT, relative_attention=True, position_buckets=32, pos_att_type=["p2c", "c2p"])),
    "mpnet": ("encoder", "MPNetModel", "MPNetConfig", dict(_TXT, pad_token_id=1)),
    # decoders
    "gpt2": ("decoder", "GPT2LMHeadModel", "GPT2Config",
             dict(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4, n_positions=128, bos_token_id=0, eos_token_id=0)),
    "gpt-neo": ("decoder", "GPTNeoForCausalLM", "GPTNeoConfig",
                dict(vocab_size=VOCAB, hidden_size=64, num_layers=2, num_heads=4, intermediate_size=128,
                     attention_types=[[["global", "local"], 1]], window_size=8, max_position_embeddings=128,
                     bos_token_id=0, eos_token_id=0)),
    "gptj": ("decoder", "GPTJForCausalLM", "GPTJConfig",
             dict(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4, rotary_dim=8, n_positions=128,
                  bos_token_id=0, eos_token_id=0)),
    "gpt-neox": ("decoder", "GPTNeoXForCausalLM", "GPTNeoXConfig", dict(_TXT, bos_token_id=0, eos_token_id=0)),
    "opt": ("decoder", "OPTForCausalLM", "OPTConfig",
            dict(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, ffn_dim=128,
                 max_position_embeddings=128, word_embed_proj_dim=64, pad_token_id=1, bos_token_id=2,
                 eos_token_id=2)),
    "bloom": ("decoder", "BloomForCausalLM", "BloomConfig",
              dict(vocab_size=VOCAB, hidden_size=64, n_layer=2, n_head=4, bos_token_id=1, eos_token_id=2,
                   pad_token_id=3)),
    "falcon": ("decoder", "FalconForCausalLM", "FalconConfig",
               dict(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                    bos_token_id=0, eos_token_id=0)),
    "llama": ("decoder", "LlamaForCausalLM", "LlamaConfig", _LLAMA),
    "mistral": ("decoder", "MistralForCausalLM", "MistralConfig", _LLAMA),
    "qwen2": ("decoder", "Qwen2ForCausalLM", "Qwen2Config", _LLAMA),
    "qwen3": ("decoder", "Qwen3ForCausalLM", "Qwen3Config", dict(_LLAMA, head_dim=16)),
    "gemma": ("decoder", "GemmaForCausalLM", "GemmaConfig", dict(_LLAMA, head_dim=16)),
    "gemma2": ("decoder", "Gemma2ForCausalLM", "Gemma2Config", dict(_LLAMA, head_dim=16, sliding_window=8)),
    "phi": ("decoder", "PhiForCausalLM", "PhiConfig", dict(_TXT, partial_rotary_factor=0.5, pad_token_id=0)),
    "phi3": ("decoder", "Phi3ForCausalLM", "Phi3Config", dict(_LLAMA)),
    "mixtral": ("decoder", "MixtralForCausalLM", "MixtralConfig",
                dict(_LLAMA, num_local_experts=4, num_experts_per_tok=2)),
    "qwen2-moe": ("decoder", "Qwen2MoeForCausalLM", "Qwen2MoeConfig",
                  dict(_LLAMA, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
                       shared_expert_intermediate_size=64, decoder_sparse_step=1)),
    # encoder-decoders
    "t5": ("encdec", "T5ForConditionalGeneration", "T5Config",
           dict(vocab_size=VOCAB, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4,
                relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)),
    "bart": ("encdec", "BartForConditionalGeneration", "BartConfig", _SEQ2SEQ),
    "pegasus": ("encdec", "PegasusForConditionalGeneration", "PegasusConfig",
                dict(_SEQ2SEQ, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)),
    "marian": ("encdec", "MarianMTModel", "MarianConfig",
               dict(_SEQ2SEQ, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)),
    # vision
    "resnet": ("vision", "ResNetForImageClassification", "ResNetConfig",
               dict(embedding_size=16, hidden_sizes=[16, 32], depths=[1, 1], layer_type="basic", num_labels=10)),
    "convnext": ("vision", "ConvNextForImageClassification", "ConvNextConfig",
                 dict(num_stages=2, hidden_sizes=[16, 32], depths=[1, 1], num_labels=10)),
    "swin": ("vision", "SwinForImageClassification", "SwinConfig",
             dict(image_size=IMAGE, patch_size=4, embed_dim=16, depths=[1, 1], num_heads=[2, 2], window_size=4,
                  num_labels=10)),
    "vit": ("vision", "ViTForImageClassification", "ViTConfig",
            dict(image_size=IMAGE, patch_size=8, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=128, num_labels=10)),
    "deit": ("vision", "DeiTForImageClassification", "DeiTConfig",
             dict(image_size=IMAGE, patch_size=8, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=128, num_labels=10)),
    "mobilenet-v2": ("vision", "MobileNetV2ForImageClassification", "MobileNetV2Config",
                     dict(image_size=IMAGE, depth_multiplier=0.35, num_labels=10)),
}


# --- worker: one model ---------------------------------------------------------------------------------

def build(name: str, attn: str):
    """The model (eval mode, seed 0) and the attention implementation it ended up with."""
    import torch
    import transformers

    kind, model_cls, config_cls, kwargs = ZOO[name]
    torch.manual_seed(0)
    config = getattr(transformers, config_cls)(**kwargs)
    model_class = getattr(transformers, model_cls)
    used = attn
    if kind != "vision" or attn == "eager":
        try:
            config._attn_implementation = attn
            model = model_class(config)
        except (ValueError, ImportError):  # the architecture does not support this implementation
            torch.manual_seed(0)
            config._attn_implementation = used = "eager"
            model = model_class(config)
    else:
        model = model_class(config)
    used = getattr(model.config, "_attn_implementation", None) or used
    return model.eval(), used


def make_inputs(name: str, size: int, call: int, no_cache: bool) -> dict:
    """Inputs of call number `call` (its own seed): `size` is the sequence length, or the batch for vision."""
    import torch

    kind = ZOO[name][0]
    g = torch.Generator().manual_seed(1000 + call)
    if kind == "vision":
        return {"pixel_values": torch.randn(size, 3, IMAGE, IMAGE, generator=g)}
    ids = torch.randint(4, VOCAB, (BATCH, size), generator=g)
    mask = torch.ones(BATCH, size, dtype=torch.long)
    mask[1, size - PAD_ROW_TAIL:] = 0
    inputs = {"input_ids": ids, "attention_mask": mask}
    if kind == "encdec":
        inputs["decoder_input_ids"] = torch.randint(4, VOCAB, (BATCH, DEC_SEQ), generator=g)
    if no_cache and kind in ("decoder", "encdec"):
        inputs["use_cache"] = False
    return inputs


def sizes(name: str, n: int) -> list:
    """The sequence lengths (batch sizes for vision models) of the --seq-lens run; the first is the default."""
    if ZOO[name][0] == "vision":
        return [BATCH + k for k in range(n)]
    return [SEQ + 4 * k for k in range(n)]


def _leaves(obj, path="out", depth=0):
    """(path, leaf) pairs of a model output: ModelOutputs, dicts, sequences and KV caches are walked."""
    import torch

    if depth > 12:
        yield path, repr(type(obj))
        return
    if isinstance(obj, torch.Tensor) or obj is None or isinstance(obj, (bool, int, float, str)):
        yield path, obj
    elif isinstance(obj, dict):  # ModelOutput is an OrderedDict of its non-None fields
        yield path + ".<keys>", tuple(obj.keys())
        for k, v in obj.items():
            yield from _leaves(v, f"{path}.{k}", depth + 1)
    elif isinstance(obj, (list, tuple)):
        yield path + ".<len>", len(obj)
        for i, v in enumerate(obj):
            yield from _leaves(v, f"{path}[{i}]", depth + 1)
    elif hasattr(obj, "self_attention_cache") and hasattr(obj, "cross_attention_cache"):
        yield from _leaves(obj.self_attention_cache, path + ".self_attention_cache", depth + 1)
        yield from _leaves(obj.cross_attention_cache, path + ".cross_attention_cache", depth + 1)
    elif hasattr(obj, "layers") and isinstance(getattr(obj, "layers"), list):  # transformers Cache
        yield path + ".<layers>", len(obj.layers)
        for i, layer in enumerate(obj.layers):
            yield from _leaves(getattr(layer, "keys", None), f"{path}.layers[{i}].keys", depth + 1)
            yield from _leaves(getattr(layer, "values", None), f"{path}.layers[{i}].values", depth + 1)
    else:
        yield path, repr(type(obj))


def compare(got, want) -> list:
    """Differences between two model outputs (empty when they agree), with types of containers checked."""
    import torch

    problems = []
    if type(got) is not type(want):
        problems.append(f"type {type(got).__name__} != {type(want).__name__}")
    a, b = list(_leaves(got)), list(_leaves(want))
    if [p for p, _ in a] != [p for p, _ in b]:
        only_a = sorted({p for p, _ in a} - {p for p, _ in b})[:3]
        only_b = sorted({p for p, _ in b} - {p for p, _ in a})[:3]
        return problems + [f"structure differs: got {only_a} want {only_b}"]
    for (path, x), (_, y) in zip(a, b):
        if isinstance(y, torch.Tensor):
            if not isinstance(x, torch.Tensor):
                problems.append(f"{path}: {type(x).__name__} instead of a tensor")
            elif x.shape != y.shape or x.dtype != y.dtype:
                problems.append(f"{path}: {x.dtype}{list(x.shape)} != {y.dtype}{list(y.shape)}")
            elif y.is_floating_point() or y.is_complex():
                if not torch.allclose(x, y, rtol=1e-4, atol=1e-5, equal_nan=True):
                    diff = (x - y).abs().nan_to_num(float("inf")).max().item()
                    problems.append(f"{path}: max abs diff {diff:.3g}")
            elif not torch.equal(x, y):
                problems.append(f"{path}: integer values differ")
        elif x != y:
            problems.append(f"{path}: {x!r} != {y!r}")
    return problems


def _short_path(filename: str) -> str:
    """site-packages/transformers/models/x.py -> transformers/models/x.py; the repo's own files relative."""
    for marker in ("site-packages/", "dist-packages/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    if filename.startswith(ROOT + os.sep):
        return os.path.relpath(filename, ROOT)
    stdlib = os.path.dirname(os.__file__) + os.sep  # .../lib/python3.11/inspect.py -> python3.11/inspect.py
    if filename.startswith(stdlib):
        return os.path.basename(os.path.dirname(os.__file__)) + "/" + filename[len(stdlib):]
    return filename


_INSIDE = re.compile(r" \(inside ([^,]+), (\S+?):(\d+)\)")
_SOURCE_EXPR = re.compile(r"^(.+?) (is an? \w+, which .*)$")


def _short_reason(reason: str) -> str:
    """Reasons that start with the source expression of a value (`F.__closure__[0].cell_contents.mlp...
    .__globals__['GeLUFunction'].apply.__func__ is a function, ...`) differ per layer for the same
    construct; keep the expression from its last global on (`GeLUFunction.apply.__func__ is a function, ...`)."""
    m = _SOURCE_EXPR.match(reason)
    if not m or len(m.group(1)) < 40:
        return reason
    expr, rest = m.groups()
    cut = expr.rfind("__globals__['")
    if cut >= 0:
        name, _, tail = expr[cut + len("__globals__['"):].partition("']")
        expr = name + tail
    else:
        expr = "..." + expr[-40:]
    return f"{expr} {rest}"


def _break_record(b) -> dict:
    """One graph break: its kind, its reason, where capture stopped (`where`, in the captured function)
    and the innermost of the callee frames it happened inside (`origin`, the construct that could not
    be traced; the same as `where` when the break is not inside a call).  `b.inside` lists the frames
    outermost first; older tracers appended them to the reason as "(inside F, file:line)"."""
    import linecache

    text = str(b.reason).splitlines()[0] if b.reason else ""
    inside = getattr(b, "inside", ())
    if inside:
        raw = [(frame.name, frame.filename, frame.lineno) for frame in reversed(inside)]
    else:
        raw = [(fn, path, int(line)) for fn, path, line in _INSIDE.findall(text)]
    base = _INSIDE.split(text, maxsplit=1)[0] if raw and not inside else text
    kind = getattr(b.kind, "value", str(b.kind))
    where = f"{_short_path(b.filename)}:{b.lineno}"
    if raw:
        fn, path, line = raw[0]
        origin, origin_source = f"{_short_path(path)}:{line}", linecache.getline(path, line).strip()
    else:
        fn, origin, origin_source = "", where, linecache.getline(b.filename, b.lineno).strip()
    return {"kind": kind, "reason": _short_reason(base.strip()), "full_reason": text, "origin": origin, "origin_fn": fn, "origin_source": origin_source,
            "chain": [f"{f} ({_short_path(p)}:{n})" for f, p, n in raw], "where": where,
            "source": linecache.getline(b.filename, b.lineno).strip()}


def _dedup(records: list) -> list:
    """Breaks grouped by (kind, reason, origin, where), with a count, first-seen order."""
    groups = {}
    for r in records:
        key = (r["kind"], r["reason"], r["origin"], r["where"])
        if key not in groups:
            groups[key] = dict(r, count=0)
        groups[key]["count"] += 1
    return list(groups.values())


def _snap_captures(traced) -> int:
    return len(traced.captures) + sum(len(r.captures) for r in traced.resumes)


def _warm_up():
    """Pay one-time costs (first FakeTensorMode, Dynamo's first compile) before anything is timed."""
    import torch
    import torch._dynamo

    import tracer

    def warm(a, b):
        c = torch.sin(a) * b + 2.0
        return c.sum(dim=-1), c.shape[0]

    a, b = torch.randn(4, 4), torch.randn(4, 4)
    tracer.compile(warm)(a, b)
    torch._dynamo.reset()
    torch.compile(warm, backend="eager")(a, b)
    torch._dynamo.reset()


def _timed_call(fn, inputs):
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        out = fn(**inputs)
        return out, (time.perf_counter() - start) * 1e3
    finally:
        gc.enable()


def _error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text[:300]


def _record_submodule_calls(model, inputs) -> dict:
    """The first call of every module class below `model` (transformers', kernels' and other non-torch
    classes): {class name: (module, args, kwargs)}, in call order, inputs deep-copied before the call."""
    import copy

    import torch

    records, hooks = {}, []

    def pre_hook(module, args, kwargs):
        key = type(module).__qualname__
        if key not in records:
            try:
                records[key] = (module, copy.deepcopy(args), copy.deepcopy(kwargs))
            except Exception:  # noqa: BLE001  (something in the inputs cannot be copied)
                records[key] = (module, args, kwargs)

    for module in model.modules():
        if module is model or type(module).__module__.startswith("torch."):
            continue
        hooks.append(module.register_forward_pre_hook(pre_hook, with_kwargs=True))
    try:
        with torch.no_grad():
            model(**inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return records


def _submodule_phase(model, inputs) -> list:
    """Each recorded submodule traced on its own (a break anywhere inside a module call that snaptrace
    inlines stops the whole call, so the top-level run shows only the first blocker; this shows the
    blockers of every layer).  Per class: graphs, breaks, whether it matches eager, capture time."""
    import copy

    import torch

    import tracer

    rows = []
    for key, (module, args, kwargs) in _record_submodule_calls(model, inputs).items():
        row = {"class": key}
        try:
            a1, k1 = copy.deepcopy((args, kwargs))
            a2, k2 = copy.deepcopy((args, kwargs))
        except Exception:  # noqa: BLE001
            (a1, k1), (a2, k2) = (args, kwargs), (args, kwargs)
        try:
            with torch.no_grad():
                want = module(*a1, **k1)
                compiled = tracer.compile(module)
                gc.collect()
                start = time.perf_counter()
                got = compiled(*a2, **k2)
                row["ms"] = (time.perf_counter() - start) * 1e3
            row["graphs"] = len(compiled.graphs)
            row["n_breaks"] = len(compiled.graph_breaks)
            row["breaks"] = _dedup([_break_record(b) for b in compiled.graph_breaks])
            row["problems"] = compare(got, want)[:4]
            row["match"] = not row["problems"]
        except Exception as exc:  # noqa: BLE001
            row["crash"] = _error(exc)
        rows.append(row)
    return rows


def run_worker(name: str, out_path: str, attn: str, seq_lens: int, no_cache: bool, submodules: bool) -> None:
    """Measure one model; the JSON file is rewritten after each phase so a hang keeps what was measured."""
    result = {"model": name, "kind": ZOO[name][0], "status": "started", "seq_lens": seq_lens}

    def save():
        with open(out_path, "w") as handle:
            json.dump(result, handle, indent=1)

    save()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import torch._dynamo
    import transformers

    import tracer

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)

    # 1. build, eager reference
    try:
        model, used = build(name, attn)
        result["attn"] = used
        result["params"] = sum(p.numel() for p in model.parameters())
        lens = sizes(name, max(1, seq_lens))
        calls = [make_inputs(name, lens[0], 0, no_cache), make_inputs(name, lens[0], 1, no_cache)]
        calls += [make_inputs(name, n, 2 + k, no_cache) for k, n in enumerate(lens[1:])]
        with torch.no_grad():
            expected = [model(**inputs) for inputs in calls]
            model(**calls[0])  # a second eager call, so lazy imports and caches are warm for both
    except Exception as exc:  # noqa: BLE001
        result["status"] = "build failed"
        result["error"] = _error(exc)
        result["traceback"] = traceback.format_exc()[-3000:]
        save()
        return
    _warm_up()
    result["status"] = "built"
    save()

    # 2-5. snaptrace
    snap = result["snaptrace"] = {}
    try:
        with torch.no_grad():
            compiled = tracer.compile(model)
            out, snap["ms"] = _timed_call(compiled, calls[0])
            snap["captures_1st"] = _snap_captures(compiled)
            snap["graphs"] = len(compiled.graphs)
            snap["graph_ops"] = [sum(1 for n in gm.graph.nodes if n.op == "call_function" or n.op == "call_method"
                                     or n.op == "call_module") for gm in compiled.graphs]
            snap["breaks"] = _dedup([_break_record(b) for b in compiled.graph_breaks])
            snap["n_breaks"] = len(compiled.graph_breaks)
            problems = compare(out, expected[0])
            save()
            out2 = compiled(**calls[1])
            snap["captures_2nd"] = _snap_captures(compiled)
            problems += [f"2nd call: {p}" for p in compare(out2, expected[1])]
            snap["graphs_2nd"] = len(compiled.graphs)
            for k in range(2, len(calls)):
                outk = compiled(**calls[k])
                problems += [f"size {lens[k - 1]}: {p}" for p in compare(outk, expected[k])]
            if len(calls) > 2:
                snap["captures_all"] = _snap_captures(compiled)
                snap["graphs_all"] = len(compiled.graphs)
                snap["n_breaks_all"] = len(compiled.graph_breaks)
            snap["match"] = not problems
            snap["problems"] = problems[:8]
    except Exception as exc:  # noqa: BLE001
        snap["crash"] = _error(exc)
        snap["traceback"] = traceback.format_exc()[-4000:]
    result["status"] = "snaptrace done"
    save()
    del compiled

    # 6-7. Dynamo
    dyn = result["dynamo"] = {}
    try:
        from torch._dynamo.utils import counters

        graphs = []

        def counting_backend(gm, example_inputs):
            graphs.append(sum(1 for n in gm.graph.nodes if n.op in ("call_function", "call_method", "call_module")))
            return gm.forward

        torch._dynamo.reset()
        counters.clear()
        with torch.no_grad():
            compiled = torch.compile(model, backend=counting_backend)
            out, dyn["ms"] = _timed_call(compiled, calls[0])
            dyn["graphs"] = len(graphs)
            dyn["graph_ops"] = list(graphs)
            dyn["n_breaks"] = sum(counters["graph_break"].values())
            dyn["breaks"] = [{"reason": str(k).splitlines()[0][:200], "count": v}
                             for k, v in counters["graph_break"].items()]
            dyn["frames"] = counters["frames"]["ok"]
            problems = compare(out, expected[0])
            out2 = compiled(**calls[1])
            dyn["graphs_2nd"] = len(graphs)
            problems += [f"2nd call: {p}" for p in compare(out2, expected[1])]
            for k in range(2, len(calls)):
                outk = compiled(**calls[k])
                problems += [f"size {lens[k - 1]}: {p}" for p in compare(outk, expected[k])]
            if len(calls) > 2:
                dyn["graphs_all"] = len(graphs)
                dyn["frames_all"] = counters["frames"]["ok"]
            dyn["match"] = not problems
            dyn["problems"] = problems[:8]
    except Exception as exc:  # noqa: BLE001
        dyn["crash"] = _error(exc)
        dyn["traceback"] = traceback.format_exc()[-4000:]
    torch._dynamo.reset()
    if "ms" in snap and "ms" in dyn and dyn["ms"]:
        result["ratio"] = snap["ms"] / dyn["ms"]
    result["status"] = "dynamo done"
    save()

    # 8. --submodules: every layer class on its own
    if submodules:
        try:
            result["submodules"] = _submodule_phase(model, make_inputs(name, lens[0], 0, no_cache))
        except Exception as exc:  # noqa: BLE001
            result["submodules_crash"] = _error(exc)
    result["status"] = "done"
    save()


# --- parent: run the workers, print progress and the table -----------------------------------------------

def _fmt_ms(v):
    return "-" if v is None else (f"{v:.0f}" if v >= 100 else f"{v:.1f}")


def _snap_cell(r) -> tuple:
    """(match, graphs, breaks, captures) cells for snaptrace."""
    s = r.get("snaptrace") or {}
    if r.get("status") in ("build failed",):
        return ("build failed", "-", "-", "-")
    if "crash" in s:
        return ("crash: " + s["crash"][:60], "-", "-", "-")
    if "match" not in s:
        return (r.get("status", "?"), str(s.get("graphs", "-")), str(s.get("n_breaks", "-")), "-")
    match = "yes" if s["match"] else "**NO**"
    caps = f"{s['captures_1st']}→{s['captures_2nd']}"
    return (match, str(s["graphs"]), str(s["n_breaks"]), caps)


def _top_reason(r) -> str:
    s = r.get("snaptrace") or {}
    if not s.get("breaks"):
        return ""
    b = s["breaks"][0]
    more = f" (+{len(s['breaks']) - 1} more)" if len(s["breaks"]) > 1 else ""
    return f"{b['reason'][:70]} @ {b['origin']}{more}"


def progress_line(r) -> str:
    s, d = r.get("snaptrace") or {}, r.get("dynamo") or {}
    match, graphs, breaks, caps = _snap_cell(r)
    text = (f"{r['model']:<13} {r.get('kind', ''):<8} match={match} graphs={graphs} breaks={breaks} "
            f"captures={caps} snap={_fmt_ms(s.get('ms'))}ms dynamo={_fmt_ms(d.get('ms'))}ms "
            f"(graphs={d.get('graphs', '-')} breaks={d.get('n_breaks', '-')})")
    if "captures_all" in s or "graphs_all" in d:
        text += f" | {r['seq_lens']} sizes: snap captures={s.get('captures_all', '-')} dynamo graphs={d.get('graphs_all', '-')}"
    if "submodules" in r:
        text += f" | layers in one graph: {_layers_cell(r)}"
    if "crash" in d:
        text += f" dynamo crash: {d['crash'][:80]}"
    if r.get("error"):
        text += f" [{r['error'][:120]}]"
    return text


def _layers_cell(r) -> str:
    """How many of the model's layer classes snaptrace captures on their own in one graph without a break."""
    rows = r.get("submodules")
    if rows is None:
        return "-"
    clean = sum(1 for x in rows if x.get("graphs") == 1 and x.get("n_breaks") == 0 and x.get("match"))
    bad = [x["class"] for x in rows if x.get("match") is False]
    crashed = [x["class"] for x in rows if "crash" in x]
    text = f"{clean}/{len(rows)}"
    if bad:
        text += f" MISMATCH {','.join(bad)}"
    if crashed:
        text += f" crash {','.join(crashed)}"
    return text


def _ratio_cell(r) -> str:
    """snaptrace/dynamo; in parentheses when snaptrace broke (it then ran part of the model eagerly)."""
    if not r.get("ratio"):
        return "-"
    s = r.get("snaptrace") or {}
    clean = s.get("graphs") == 1 and s.get("n_breaks") == 0
    return f"{r['ratio']:.2f}" if clean else f"({r['ratio']:.2f})"


def table(results: list, seq_lens: int) -> str:
    head = ["model", "kind", "attn", "matches eager", "graphs", "breaks", "captures 1st→2nd", "snaptrace ms",
            "dynamo ms", "ratio", "dynamo graphs", "dynamo breaks"]
    if seq_lens > 1:
        head += [f"captures over {seq_lens} sizes (snap / dynamo graphs)"]
    if any("submodules" in r for r in results):
        head += ["layers in one graph"]
    head += ["first break"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in results:
        s, d = r.get("snaptrace") or {}, r.get("dynamo") or {}
        match, graphs, breaks, caps = _snap_cell(r)
        ratio = _ratio_cell(r)
        dgraphs = "crash" if "crash" in d else str(d.get("graphs", "-"))
        row = [r["model"], r.get("kind", ""), r.get("attn", "-"), match, graphs, breaks, caps, _fmt_ms(s.get("ms")),
               _fmt_ms(d.get("ms")), ratio, dgraphs, str(d.get("n_breaks", "-"))]
        if seq_lens > 1:
            row += [f"{s.get('captures_all', '-')} / {d.get('graphs_all', '-')}"]
        if "layers in one graph" in head:
            row += [_layers_cell(r)]
        row += [_top_reason(r).replace("|", "\\|")]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def break_ranking(results: list) -> str:
    """Break reasons over the whole zoo, most common first (counted once per model and location)."""
    by_reason = {}
    for r in results:
        for b in (r.get("snaptrace") or {}).get("breaks", []):
            entry = by_reason.setdefault(b["reason"], {"models": set(), "where": {}})
            entry["models"].add(r["model"])
            origin = f"{b['origin']} ({b['origin_fn']}): {b['origin_source']}" if b["origin_fn"] else \
                f"{b['origin']}: {b['origin_source']}"
            entry["where"].setdefault(origin, set()).add(r["model"])
    ranked = sorted(by_reason.items(), key=lambda kv: (-len(kv[1]["models"]), kv[0]))
    lines = []
    for i, (reason, entry) in enumerate(ranked, 1):
        lines.append(f"{i}. **{reason}** ({len(entry['models'])} models)")
        for where, models in sorted(entry["where"].items(), key=lambda kv: -len(kv[1])):
            lines.append(f"   - `{where}`: {', '.join(sorted(models))}")
    return "\n".join(lines)


def layer_blockers(results: list) -> str:
    """--submodules: for each model, the distinct breaks of its layer classes traced on their own."""
    lines, by_reason = [], {}
    for r in results:
        blockers = {}
        for row in r.get("submodules") or []:
            for b in row.get("breaks", []):
                key = (b["reason"], b["origin"])
                blockers.setdefault(key, []).append(row["class"])
                entry = by_reason.setdefault(b["reason"], {"models": set(), "where": {}})
                entry["models"].add(r["model"])
                entry["where"].setdefault(f"{b['origin']} ({b['origin_fn'] or '-'}): {b['origin_source']}",
                                          set()).add(r["model"])
            if "crash" in row:
                blockers.setdefault(("crash: " + row["crash"][:100], ""), []).append(row["class"])
        if blockers:
            lines.append(f"- **{r['model']}**: " + "; ".join(
                f"{reason} @ {origin} [{', '.join(classes)}]" for (reason, origin), classes in blockers.items()))
    ranked = sorted(by_reason.items(), key=lambda kv: (-len(kv[1]["models"]), kv[0]))
    rank = []
    for i, (reason, entry) in enumerate(ranked, 1):
        rank.append(f"{i}. **{reason}** ({len(entry['models'])} models)")
        for where, models in sorted(entry["where"].items(), key=lambda kv: -len(kv[1])):
            rank.append(f"   - `{where}`: {', '.join(sorted(models))}")
    return "\n".join(rank + [""] + lines)


def run_parent(args) -> int:
    names = args.only or list(ZOO)
    unknown = [n for n in names if n not in ZOO]
    if unknown:
        print(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(ZOO)}", file=sys.stderr)
        return 2
    print(f"python {platform.python_version()}, {len(names)} model(s), attn={args.attn}, seq-lens={args.seq_lens}, "
          f"timeout {args.timeout}s per model", flush=True)
    results = []
    tmpdir = tempfile.mkdtemp(prefix="snaptrace_zoo_")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1")
    start_all = time.perf_counter()
    for name in names:
        start = time.perf_counter()
        runs = [_run_worker(name, tmpdir, args, env) for _ in range(max(1, args.repeat))]
        result = _median_of(runs)
        result["wall_s"] = time.perf_counter() - start
        results.append(result)
        print(f"[{len(results):>2}/{len(names)} {result['wall_s']:5.0f}s] " + progress_line(result), flush=True)
    total = time.perf_counter() - start_all
    _report(results, args, total)
    return 0


def _median_of(runs: list) -> dict:
    """The first run's result, with each tool's capture time the median over the runs (each run is a
    fresh process, so each is a first capture), all of them kept under `ms_all`."""
    result = runs[0]
    for tool in ("snaptrace", "dynamo"):
        times = [r[tool]["ms"] for r in runs if "ms" in (r.get(tool) or {})]
        if times and tool in result:
            result[tool]["ms_all"] = times
            result[tool]["ms"] = statistics.median(times)
    if "ms" in (result.get("snaptrace") or {}) and (result.get("dynamo") or {}).get("ms"):
        result["ratio"] = result["snaptrace"]["ms"] / result["dynamo"]["ms"]
    return result


def _run_worker(name: str, tmpdir: str, args, env) -> dict:
    """One worker process measuring `name`: its result record."""
    out_path = os.path.join(tmpdir, f"{name}.json")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, "--json", out_path, "--attn", args.attn,
           "--seq-lens", str(args.seq_lens)] + (["--no-cache"] if args.no_cache else []) + \
        (["--submodules"] if args.submodules else [])
    if os.path.exists(out_path):  # a run that writes nothing must not read the one before
        os.remove(out_path)
    failure = None
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
        if proc.returncode != 0:
            tail = (proc.stderr or "").strip().splitlines()[-1:] or [""]
            failure = f"worker exited {proc.returncode}: {tail[0][:200]}"
    except subprocess.TimeoutExpired:
        failure = f"timeout after {args.timeout}s"
    try:
        with open(out_path) as handle:
            result = json.load(handle)
    except (OSError, ValueError):
        result = {"model": name, "kind": ZOO[name][0], "status": "no result", "seq_lens": args.seq_lens}
    if failure:
        result["error"] = f"{failure} (reached: {result.get('status')})"
        result["status"] = "failed"
    return result


def _report(results: list, args, total: float) -> None:
    print()
    print(table(results, args.seq_lens))
    print()
    ratios = [r["ratio"] for r in results if r.get("ratio")]
    if ratios:
        print(f"median capture time ratio snaptrace / Dynamo over {len(ratios)} model(s): "
              f"{statistics.median(ratios):.3f} (range {min(ratios):.2f}-{max(ratios):.2f})"
              + (f", each time the median of {args.repeat} runs" if args.repeat > 1 else ""))
    ranking = break_ranking(results)
    if ranking:
        print("snaptrace break reasons, most common first:")
        print(ranking)
    if any("submodules" in r for r in results):
        print("\nlayer classes traced on their own (--submodules): break reasons, most common first, then per model:")
        print(layer_blockers(results))
    bad = [r["model"] for r in results if (r.get("snaptrace") or {}).get("match") is False]
    if bad:
        print(f"\nsnaptrace does NOT match eager on: {', '.join(bad)}")
    print(f"\ntotal {total / 60:.1f} min")
    if args.json:
        meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "python": platform.python_version(),
                "commit": _git_commit(), "attn": args.attn, "seq_lens": args.seq_lens, "no_cache": args.no_cache,
                "total_s": total}
        try:
            import torch
            import transformers
            meta.update(torch=torch.__version__, transformers=transformers.__version__)
        except ImportError:
            pass
        with open(args.json, "w") as handle:
            json.dump({"meta": meta, "results": results}, handle, indent=1)
        print(f"wrote {args.json}")


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="transformers model zoo through snaptrace and Dynamo")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this model (repeatable)")
    parser.add_argument("--json", metavar="PATH", help="write all results (the worker's result) as JSON")
    parser.add_argument("--seq-lens", type=int, default=1, metavar="N",
                        help="call each compiled model with N sequence lengths (vision: batch sizes); default 1")
    parser.add_argument("--attn", choices=("sdpa", "eager"), default="sdpa",
                        help="attention implementation for every model (default sdpa, transformers' default)")
    parser.add_argument("--no-cache", action="store_true", help="pass use_cache=False to decoders and seq2seq models")
    parser.add_argument("--submodules", action="store_true",
                        help="also trace every transformers layer class on its own (all blockers, not only the first)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="measure each model N times, each in a fresh process; times are the medians")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="seconds per model (default 300)")
    parser.add_argument("--list", action="store_true", help="print the model names and exit")
    parser.add_argument("--worker", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.list:
        for name, (kind, model_cls, _, _) in ZOO.items():
            print(f"{name:<14} {kind:<8} {model_cls}")
        return 0
    if args.worker:
        if not args.json:
            parser.error("--worker needs --json")
        sys.path.insert(0, ROOT)
        run_worker(args.worker, args.json, args.attn, max(1, args.seq_lens), args.no_cache, args.submodules)
        return 0
    return run_parent(args)


if __name__ == "__main__":
    raise SystemExit(main())
