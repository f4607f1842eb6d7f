"""The fast decoder reads every instruction as `dis.get_instructions` does."""
import collections
import dataclasses
import enum
import functools
import inspect
import json
import types
import typing

import pytest
import torch.nn.modules.module
import torch.utils._pytree

from core.code import _instructions, decode_with_dis


def _code_objects(*modules):
    seen = {}

    def walk(code):
        if code not in seen:
            seen[code] = None
            for const in code.co_consts:
                if isinstance(const, types.CodeType):
                    walk(const)

    for module in modules:
        for value in vars(module).values():
            for item in (value, *vars(value).values()) if isinstance(value, type) else (value,):
                item = getattr(item, "__func__", item)
                if isinstance(item, types.FunctionType):
                    walk(item.__code__)
    return list(seen)


CODES = _code_objects(collections, dataclasses, enum, functools, inspect, json.decoder, typing,
                      torch.nn.modules.module, torch.utils._pytree)


def test_the_sample_is_large_and_varied():
    opnames = {ins.opname for code in CODES for ins in _instructions(code)}
    assert len(CODES) > 800
    assert {"EXTENDED_ARG", "JUMP_BACKWARD", "FORMAT_VALUE", "KW_NAMES", "LOAD_GLOBAL", "COMPARE_OP",
            "LOAD_DEREF", "POP_JUMP_FORWARD_IF_FALSE", "FOR_ITER"} <= opnames


def test_fast_decoding_matches_dis_on_library_code():
    mismatches = [(code, fast, slow) for code in CODES
                  for fast, slow in zip(_instructions(code), decode_with_dis(code)) if fast != slow]
    assert not mismatches, mismatches[:3]
    assert all(len(_instructions(code)) == len(decode_with_dis(code)) for code in CODES)


@pytest.mark.parametrize("source", [
    "def f(x):\n" + "    x = x + 1\n" * 300 + "    for i in range(3):\n        x += i\n    return x\n",  # long jumps
    "def f(a, *, b=1, **kw):\n    return f'{a!r:>{b}}' + f'{kw!s}' + f'{a!a}'\n",
    "def f(x):\n    try:\n        return [y for y in x if y]\n    except* ValueError:\n        pass\n",
])
def test_fast_decoding_matches_dis_on_generated_code(source):
    scope = {}
    exec(compile(source, "<test>", "exec"), scope)
    code = scope["f"].__code__
    for inner in _code_objects(types.SimpleNamespace(f=scope["f"])) + [code]:
        assert tuple(_instructions(inner)) == decode_with_dis(inner)


def _fresh_code(text="def f(x):\n    return x + 1\n"):
    namespace = {}
    exec(compile(text, "<fresh>", "exec"), namespace)
    return namespace["f"].__code__


def test_compile_cache_decodes_a_code_object_once_per_process():
    from core.code import decode, decode_uncached

    code = _fresh_code()
    first, second = decode(code, {}), decode(code, {"other": 1})
    assert first.instructions is second.instructions  # read once, shared across traces
    assert second.globals == {"other": 1}  # the globals are per trace, not cached
    assert first.instructions == decode_uncached(code, {}).instructions == decode_with_dis(code)
    assert first.exception_table == decode_uncached(code, {}).exception_table


def test_compile_cache_is_keyed_by_identity_and_forgets_dead_code():
    import gc

    from core.code import _DECODED, decode

    code, twin = _fresh_code(), _fresh_code()
    assert code == twin and code is not twin  # equal text, two code objects: two entries
    decode(code, {}), decode(twin, {})
    assert id(code) in _DECODED and id(twin) in _DECODED
    key = id(code)
    del code
    gc.collect()
    assert key not in _DECODED  # the entry went with its code object
    assert id(twin) in _DECODED


def test_generated_source_is_compiled_once_per_text_and_name(monkeypatch):
    import core.code as code_module

    code_module._SOURCES.clear()
    first = code_module.compiled_source("def f(x):\n    return x + 1\n", "<a>")
    assert code_module.compiled_source("def f(x):\n    return x + 1\n", "<a>") is first
    other_name = code_module.compiled_source("def f(x):\n    return x + 1\n", "<b>")
    assert other_name is not first and other_name.co_filename == "<b>"
    assert code_module.compiled_source("def f(x):\n    return x + 2\n", "<a>") is not first
    scope = {}
    exec(first, scope)
    assert scope["f"](1) == 2
    monkeypatch.setattr(code_module, "SOURCE_LIMIT", 2)
    code_module.compiled_source("y = 3\n", "<c>")
    assert len(code_module._SOURCES) <= 2  # started over when full


def test_a_module_traced_again_reuses_its_guard_code_and_each_capture_guards_its_own_module():
    import tracer

    def make():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU())

    one, two = make(), make()
    first, second = tracer.compile(one), tracer.compile(two)
    x = torch.randn(2, 4)
    first(x), second(x)
    assert first.captures[0].guard_source == second.captures[0].guard_source
    one[1] = torch.nn.Tanh()  # only the first module changes: only its capture's guards fail
    torch.testing.assert_close(first(x), one(x))
    torch.testing.assert_close(second(x), two(x))
    assert len(first.captures) == 2 and len(second.captures) == 1
