"""What fake tensors do not tell: ops that raise eagerly on inputs that pass the guards.

A graph runs as one piece before the entry replays the effects the trace recorded (list appends,
global stores, attribute writes).  If an op inside it raises at run time, eager's changes made
before that op are lost, so such an op must not run inside the graph after effects.  Two kinds:

* an in-place op whose result type cannot be cast back into `self` (`int_tensor *= 0.5`): eager
  raises, fake tensors often let it through, so the op is a break that runs it for real (after
  the graph and the effects), as eager's exception comes out with the changes before it applied;
* ops that raise depending on the values (integer division by a tensor that may hold 0, indexing
  with a tensor of indices that may be out of range): they stay in the graph unless effects were
  recorded before them, in which case they are a break too.
"""
from __future__ import annotations

import operator

import torch

_IN_PLACE_FUNCTIONS = {
    operator.iadd: "add", operator.isub: "sub", operator.imul: "mul", operator.itruediv: "div",
    operator.ifloordiv: "floor_divide", operator.imod: "remainder", operator.ipow: "pow",
    operator.iand: "and", operator.ior: "or", operator.ixor: "xor", operator.ilshift: "lshift",
    operator.irshift: "rshift",
}
_TRUE_DIVISIONS = ("div", "div_", "true_divide", "true_divide_")
_NAMES = {torch.float32: "Float", torch.float64: "Double", torch.float16: "Half", torch.bfloat16: "BFloat16",
          torch.int64: "Long", torch.int32: "Int", torch.int16: "Short", torch.int8: "Char", torch.uint8: "Byte",
          torch.bool: "Bool", torch.complex64: "ComplexFloat", torch.complex128: "ComplexDouble"}


def _in_place_name(op: str, target):
    if op == "call_method" and isinstance(target, str) and target.endswith("_") and not target.endswith("__"):
        return target
    if op == "call_function":
        return _IN_PLACE_FUNCTIONS.get(target)
    return None


def refused_in_place_cast(op: str, target, fake_args: list, fake_kwargs: dict):
    """Eager's message when an in-place op's result type cannot be cast back into `self`'s dtype
    (`int_tensor.mul_(0.5)`, `int_tensor *= 0.5`, `bool_tensor *= 2`); None when it can."""
    name = _in_place_name(op, target)
    if name is None or len(fake_args) < 2:
        return None
    receiver, other = fake_args[0], fake_args[1]
    if not isinstance(receiver, torch.Tensor) or not isinstance(other, (torch.Tensor, int, float, bool, complex)):
        return None
    try:
        result = torch.result_type(receiver, other)
    except Exception:  # not a binary arithmetic op
        return None
    if name in _TRUE_DIVISIONS and not fake_kwargs.get("rounding_mode") and not (result.is_floating_point
                                                                                    or result.is_complex):
        result = torch.get_default_dtype()  # true division of integers gives floats
    if torch.can_cast(result, receiver.dtype):
        return None
    return (f"result type {_NAMES.get(result, result)} can't be cast to the desired output type "
            f"{_NAMES.get(receiver.dtype, receiver.dtype)}")


_DIVISIONS = {operator.floordiv, operator.mod, operator.ifloordiv, operator.imod, torch.floor_divide,
              torch.remainder, torch.fmod}
_DIVISION_METHODS = {"floor_divide", "floor_divide_", "remainder", "remainder_", "fmod", "fmod_",
                     "__floordiv__", "__mod__", "__ifloordiv__", "__imod__"}
_INDEXING = {torch.gather, torch.index_select, torch.take, torch.take_along_dim, torch.scatter, torch.scatter_add,
             torch.scatter_reduce, torch.index_add, torch.index_copy, torch.index_fill, torch.index_put,
             torch.nn.functional.embedding, torch.nn.functional.one_hot, torch.bincount}
_INDEXING_METHODS = {"gather", "index_select", "take", "take_along_dim", "scatter", "scatter_", "scatter_add",
                     "scatter_add_", "scatter_reduce", "scatter_reduce_", "index_add", "index_add_", "index_copy",
                     "index_copy_", "index_fill", "index_fill_", "index_put", "index_put_", "put_", "bincount"}


def _integral(value) -> bool:
    if isinstance(value, torch.Tensor):
        return not (value.dtype.is_floating_point or value.dtype.is_complex)
    return isinstance(value, int)


def _holds_index_tensor(value) -> bool:
    if isinstance(value, torch.Tensor):
        return value.dtype is not torch.bool and _integral(value)
    if isinstance(value, (tuple, list)):
        return any(_holds_index_tensor(item) for item in value)
    return False


def may_raise_at_run_time(op: str, target, fake_args: list) -> str | None:
    """Why an op may raise eagerly on values the guards do not check (None: it cannot)."""
    name = target if op == "call_method" else None
    if (target in _DIVISIONS or name in _DIVISION_METHODS) and len(fake_args) >= 2:
        dividend, divisor = fake_args[0], fake_args[1]
        if _integral(dividend) and _integral(divisor) and (isinstance(divisor, torch.Tensor) or divisor == 0):
            return "an integer division by a tensor, which raises when it holds 0"
    if target in _INDEXING or name in _INDEXING_METHODS:
        return "indexing with a tensor of indices, which raises when one is out of range"
    if target in (operator.getitem, operator.setitem) or name in ("__getitem__", "__setitem__"):
        if len(fake_args) >= 2 and _holds_index_tensor(fake_args[1]):
            return "indexing with a tensor of indices, which raises when one is out of range"
    return None
