"""What fake tensors do not tell: ops that raise eagerly on inputs that pass the guards.

A graph runs as one piece before the entry replays the effects the trace recorded (list appends,
global stores, attribute writes).  If an op inside it raises at run time, eager's changes made
before that op are lost, so such an op must not run inside the graph after effects.  Two kinds:

* an in-place op whose result type cannot be cast back into `self` (`int_tensor *= 0.5`): eager
  raises, fake tensors often let it through, so the op is a break that runs it for real (after
  the graph and the effects), as eager's exception comes out with the changes before it applied;
* ops that raise depending on the values (integer division by a tensor that may hold 0, indexing
  with a tensor of indices that may be out of range): they stay in the graph, and the entry runs
  such a graph *transactionally* (`rerun_plan`): the graph computes without changing anything the
  caller can see (it writes into no input; the random generator is restored), so when it raises,
  the entry runs the function eagerly instead, and eager's exception, the changes made before it
  and the handlers (`except`, `finally`) around it all come out as eager makes them.  Only when
  the graph also writes into an input is that impossible.  Such a graph may still raise as eager
  does when nothing is lost: the writes before the op are made, the ones after it are not, and
  the exception leaves the function.  Something is lost when effects were recorded before the op
  (the entry replays them only after the graph) or when a handler of a traced frame would catch
  the exception (`caught_here`: an `except`, a `finally`, a `with` block's exit, in any frame).
  So an op that may raise is a break when the graph already writes into an input and something
  would be lost, and an input write is a break (or an op that may raise and writes into an input
  itself) when the graph holds such an op and something would be lost; both then run for real,
  inside the handlers, after the graph and the effects before them.
"""
from __future__ import annotations

import operator

import torch

from core.graph_log import map_refs

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


_SYMBOLIC_STAND_INS = {torch.SymInt: 1, torch.SymFloat: 1.0, torch.SymBool: True}
"""A Python number of a symbolic scalar's kind: type promotion looks at a scalar's kind, never at
its value, so `int_tensor.mul_(0.5 + n)` with a symbolic `n` is refused as `mul_(0.5)` is."""


def refused_in_place_cast(op: str, target, fake_args: list, fake_kwargs: dict):
    """Eager's message when an in-place op's result type cannot be cast back into `self`'s dtype
    (`int_tensor.mul_(0.5)`, `int_tensor *= 0.5`, `bool_tensor *= 2`); None when it can."""
    name = _in_place_name(op, target)
    if name is None or len(fake_args) < 2:
        return None
    receiver, other = fake_args[0], _SYMBOLIC_STAND_INS.get(type(fake_args[1]), fake_args[1])
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


# Ops that draw random numbers (a rerun draws them again, from the generator state restored).
RANDOM_OPS = frozenset({
    "rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like", "bernoulli",
    "multinomial", "normal", "poisson", "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
    "feature_alpha_dropout", "rrelu", "gumbel_softmax", "native_dropout", "uniform", "exponential",
})
# Ops that update running statistics their schema does not declare as mutated.
STATISTICS_OPS = frozenset({"batch_norm", "instance_norm", "native_batch_norm"})
# Nodes that switch torch's global modes (a `with torch.no_grad()` / `torch.autocast` block in the graph).
MODE_SWITCHES = frozenset({torch._C._set_grad_enabled, torch.amp._enter_autocast, torch.amp._exit_autocast,
                           torch.autograd.grad_mode._enter_inference_mode,
                           torch.autograd.grad_mode._exit_inference_mode})
_CALLS = ("call_function", "call_method")

NO_RERUN = "no-rerun"  # no op of the graph may raise on values: the entry runs it plainly
RERUN_ON_RAISE = "rerun"  # on an exception, run the function eagerly instead
RERUN_RESTORING_RNG = "rerun-restoring-rng"  # the same, restoring the random generators first
# The same, putting back grad mode and autocast, which a graph raising inside their block leaves switched
RERUN_RESTORING_MODES = "rerun-restoring-modes"
RERUN_RESTORING_RNG_AND_MODES = "rerun-restoring-rng-and-modes"
RERUNS = frozenset({RERUN_ON_RAISE, RERUN_RESTORING_RNG, RERUN_RESTORING_MODES, RERUN_RESTORING_RNG_AND_MODES})
UNSAFE = "unsafe"  # the graph writes into an input, so it cannot be undone


def op_name(op: str, target) -> str:
    """The name an op is known by in the tables here: a method's name, or the function's `__name__`."""
    return target if op == "call_method" else getattr(target, "__name__", "")


def _fake_args(graph, node) -> list:
    return list(map_refs(node.args, lambda ref: graph[ref.index].example))


def _storage(value):
    try:
        return value.untyped_storage()._cdata
    except Exception:  # noqa: BLE001 - sparse or other storage-less tensors alias nothing we track
        return None


def _input_storages(graph, placeholders=None) -> set:
    """Storages of the graph's tensor inputs; `placeholders` (their log indices, `State.placeholders`)
    spares a walk over the whole log."""
    nodes = graph if placeholders is None else (graph[index] for index in placeholders)
    return {_storage(node.example) for node in nodes
            if node.op == "placeholder" and isinstance(node.example, torch.Tensor)} - {None}


def _touches(inputs: set, fake_args) -> bool:
    return any(_storage(arg) in inputs for arg in _flat(fake_args) if isinstance(arg, torch.Tensor))


def _statistics_updated(node) -> bool:
    """Whether a batch/instance norm node updates running statistics (training=True)."""
    kwargs = dict(node.kwargs)
    training = kwargs.get("training", kwargs.get("use_input_stats"))
    if training is None and len(node.args) > 5:
        training = node.args[5]
    return training is not False


def writes_input(graph, node, inputs=None) -> bool:
    """Whether an impure node may write into the storage of a graph input (a parameter, a buffer, an
    argument or a view of one); a write into a tensor the graph made is invisible to a rerun."""
    name = op_name(node.op, node.target)
    if not node.impure or node.op not in _CALLS or name in RANDOM_OPS:
        return False
    if name in STATISTICS_OPS and not _statistics_updated(node):
        return False
    return _touches(_input_storages(graph) if inputs is None else inputs, _fake_args(graph, node))


def _flat(value):
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _flat(item)
    else:
        yield value


def writes_into_inputs(graph, placeholders, fake_args) -> bool:
    """Whether an in-place op on `fake_args` may write into the storage of a graph input."""
    return _touches(_input_storages(graph, placeholders), fake_args)


def _catches(code, entry) -> bool:
    """Whether exception-table `entry` leads to code of the program's (an `except` test, a `finally`
    body, a `with` exit) rather than to the cleanup that only re-raises (`COPY 3; POP_EXCEPT;
    RERAISE 1`, which covers an `except` body)."""
    names = [instruction.opname for instruction in code.instructions[entry.target:entry.target + 3]]
    return names != ["COPY", "POP_EXCEPT", "RERAISE"]


def caught_here(state) -> bool:
    """Whether an exception raised at the current instruction would reach a handler of a traced
    frame (the top one or an inlined caller) instead of leaving the traced function."""
    for frame in (state.frame, *state.parents):
        entry = frame.code.handler_at(frame.ip)
        if entry is not None and _catches(frame.code, entry):
            return True
    return False


def may_raise_node(graph, node) -> bool:
    return node.op in _CALLS and may_raise_at_run_time(node.op, node.target, _fake_args(graph, node)) is not None


def graph_writes_input(graph) -> bool:
    inputs = _input_storages(graph)
    return any(writes_input(graph, node, inputs) for node in graph)


def rerun_plan(graph) -> str:
    """How the entry runs a graph whose ops may raise on values the guards do not check (see the
    module docstring): NO_RERUN, UNSAFE or one of RERUNS (what to put back before the rerun)."""
    if not any(may_raise_node(graph, node) for node in graph):
        return NO_RERUN
    if graph_writes_input(graph):
        return UNSAFE
    random = any(node.impure and node.op in _CALLS and op_name(node.op, node.target) in RANDOM_OPS for node in graph)
    modes = any(node.op == "call_function" and node.target in MODE_SWITCHES for node in graph)
    if modes:
        return RERUN_RESTORING_RNG_AND_MODES if random else RERUN_RESTORING_MODES
    return RERUN_RESTORING_RNG if random else RERUN_ON_RAISE
