"""Hypothesis strategies for whole Python programs and their inputs (the public entry point).

    from hypothesis import given
    from property_tests.strategies import programs

    @given(programs())
    def test_mine(program):
        fn = program.load()           # a fresh module each time
        fn(*program.inputs)

A program is a function `fn(a0, a1, ...)` built as an AST over the constructs
listed in `CONSTRUCTS` (arithmetic, comparisons, if/while/for with
break/continue, containers and their methods, comprehensions, unpacking,
closures, a small class with attribute writes, try/except/finally, with-blocks,
tensor ops, mutation of inputs and of module globals), unparsed to source.
`inputs` are random values of the parameters' kinds: ints, floats, bools,
strings, lists, dicts and tensors of a random shape and dtype.
"""
from __future__ import annotations

import ast

import hypothesis.strategies as st
import torch

from property_tests.gen_exprs import BOOL, DICT, FLOAT, INT, LIST, STR, TENSOR
from property_tests.gen_stmts import CONSTRUCTS, StmtGen
from property_tests.program import FUNCTION, PRELUDE, Program

SHAPES = ((3,), (2, 3), (), (1,), (4, 1), (0,))
DTYPES = (torch.float32, torch.float32, torch.float64, torch.int64)
PARAM_KINDS = (TENSOR, INT, TENSOR, LIST, FLOAT, DICT, STR, BOOL)


def make_tensor(shape: tuple, dtype, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    values = torch.randn(shape, generator=generator) * 3
    return values.round().to(dtype) if dtype == torch.int64 else values.to(dtype)


def value_of(kind: str, shape: tuple, dtype):
    """A strategy for one input of `kind`; tensors have the program's shape and their own dtype."""
    if kind == INT:
        return st.integers(-5, 20)
    if kind == FLOAT:
        return st.sampled_from((0.5, -1.5, 0.0, -0.0, 2.0)) | st.floats(-50, 50, allow_nan=False, width=32)
    if kind == BOOL:
        return st.booleans()
    if kind == STR:
        return st.text("abz", max_size=4)
    if kind == LIST:
        return st.lists(st.integers(-3, 9), max_size=5)
    if kind == DICT:
        return st.dictionaries(st.sampled_from("abcz"), st.integers(-3, 9), max_size=3)
    return st.integers(0, 2**16).map(lambda seed: make_tensor(shape, dtype, seed))


def other_kind(value, shape: tuple):
    """An input of another kind than `value`: another shape, another number, a longer container."""
    if isinstance(value, torch.Tensor):
        new_shape = (2,) if shape != (2,) else (5,)
        return make_tensor(new_shape, value.dtype, 7)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 2 + 1
    if isinstance(value, str):
        return value + "a"
    if isinstance(value, list):
        return value + [1]
    if isinstance(value, dict):
        return {**value, "c": 5}
    return value


def other_size(value, grow: int):
    """An input of the same kind with other values *and other sizes*: each dimension of a tensor
    grows by `grow` (same rank and dtype), an int moves by `grow`; other values are copied.  The
    cache property calls with two of these, so automatic dynamic (sizes and ints made symbolic on a
    recapture) is exercised on every program."""
    if isinstance(value, torch.Tensor):
        return make_tensor(tuple(size + grow for size in value.shape), value.dtype, 11 + grow)
    if type(value) is int:
        return value + grow
    return same_kind(value)


def same_kind(value):
    """An input of the same kind: tensors with new values, the same shape and dtype; other values copied."""
    if isinstance(value, torch.Tensor):
        return (torch.rand_like(value.double()) * 5).to(value.dtype) if value.numel() else value.clone()
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


@st.composite
def programs(draw, min_statements: int = 1, max_statements: int = 6):
    """A `Program`: module source defining `fn`, its example inputs and two variants of them."""
    shape = draw(st.sampled_from(SHAPES))
    n_params = draw(st.integers(1, 4))
    kinds = {f"a{i}": draw(st.sampled_from(PARAM_KINDS)) for i in range(n_params)}
    if draw(st.integers(0, 3)) > 0:  # most programs are about tensors: the first parameter usually is one
        kinds["a0"] = TENSOR
    gen = StmtGen(draw, shape, kinds)
    function = gen.function(FUNCTION, draw(st.integers(min_statements, max_statements)))
    module = ast.Module([function], type_ignores=[])
    ast.fix_missing_locations(module)
    prelude = PRELUDE.format(g_n=draw(st.integers(-2, 5)), g_l=draw(st.lists(st.integers(0, 5), max_size=3)),
                             g_d=draw(st.dictionaries(st.sampled_from("ab"), st.integers(0, 5), max_size=2)))
    source = prelude + "\n" + ast.unparse(module) + "\n"
    inputs = []
    for param, kind in kinds.items():
        dtype = draw(st.sampled_from(DTYPES)) if kind == TENSOR else None
        inputs.append(draw(value_of(kind, shape, dtype)))
    inputs = tuple(inputs)
    torch.manual_seed(len(source))  # same_kind draws new tensor values; keep them a function of the program
    same = tuple(same_kind(value) for value in inputs)
    other = tuple(other_kind(value, shape) for value in inputs)
    sizes = tuple(tuple(other_size(value, grow) for value in inputs) for grow in (1, 3))
    return Program(source, inputs, same, other, frozenset(gen.tags), sizes)


__all__ = ["programs", "Program", "CONSTRUCTS", "make_tensor"]
