"""`torch.func.functional_call(module, dicts, args, kwargs)`: the module's call, inlined, reading the given tensors.

torch swaps the module's parameters and buffers for the given tensors, calls
the module and swaps them back.  Here the swap is made in the heap: each named
tensor is written into its owner module's attribute record (which
`NNModuleVariable.getattr` reads before the real module) without an effect
record, the call is inlined like any module call, and the records are put back.
Nothing real changes, the ops land in the graph around them, and gradients
flow to the tensors passed in, as eager's do.

Only reads of the attribute itself (`self.weight`) see the swap: code walking
`self.parameters()` or `self._parameters` reads the module's own tensors, and
a module with tied weights is reported, so the call then runs eagerly.
"""
from __future__ import annotations

import attrs
import torch
import torch.func

from core.outcomes import BreakKind, Thrown, unsupported
from effects import heap
from vt import registry
from vt.data.dicts import DictVariable
from vt.data.tensor import TensorVariable
from vt.nn.nn_modules import NNModuleVariable, module_record
from vt.objects.attributes import with_written, written
from vt.protocol import MISSING


def _bind(args, kwargs):
    names = ("module", "parameter_and_buffer_dicts", "args", "kwargs")
    bound = dict(zip(names, args))
    for key, value in kwargs.items():
        if key in bound:
            return None
        bound[key] = value
    if len(args) > len(names) or "module" not in bound or "parameter_and_buffer_dicts" not in bound:
        return None
    return bound


def _entries(state, value):
    """The (name, tensor VT) pairs of a dict or a tuple/list of dicts; None when they are not that."""
    dicts = [value] if isinstance(value, DictVariable) else value.unpack(state, None)
    if dicts is None or not all(isinstance(item, DictVariable) for item in dicts):
        return None
    entries = []
    for item in dicts:
        entries += heap.current(state, item).entries
    if not all(type(key) is str and isinstance(vt, TensorVariable) for key, vt in entries):
        return None
    if len({key for key, _ in entries}) != len(entries):
        return None
    return entries


def _owner(state, module_vt, path: str):
    """(state, NNModuleVariable) of the submodule at dotted `path`, read as the program would."""
    owner = module_vt
    for part in filter(None, path.split(".")):
        out = owner.getattr(state, part)
        if type(out) is not tuple or not isinstance(out[1], NNModuleVariable):
            return None
        state, owner = out
    return state, owner


@registry.builtin_rule(torch.func.functional_call)
def _functional_call(state, args, kwargs):
    bound = _bind(args, kwargs)
    if bound is None:
        return None
    module_vt = bound["module"]
    options = {key: bound[key].constant_value() for key in ("tie_weights", "strict") if key in bound}
    if not isinstance(module_vt, NNModuleVariable) or options.get("strict", False) is not False:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "torch.func.functional_call is traced on a module that existed "
                           "before the call, without strict=True")
    entries = _entries(state, bound["parameter_and_buffer_dicts"])
    if entries is None:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "functional_call's dicts must map names to tensors, each name "
                           "given once")
    real = module_vt.module
    named = list(real.named_parameters(remove_duplicate=False)) + list(real.named_buffers(remove_duplicate=False))
    if len({id(value) for _, value in named}) != len(named):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "functional_call on a module with tied weights is not traced")
    known = {name for name, _ in named}
    swapped = []  # (record VT, attribute, value before)
    for name, tensor in entries:
        if name not in known:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"functional_call got {name!r}, which is not a parameter "
                               "or buffer of the module")
        path, _, leaf = name.rpartition(".")
        out = _owner(state, module_vt, path)
        if out is None:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"functional_call cannot reach the module owning {name!r}")
        state, owner = out
        state, record = module_record(state, owner)
        record = heap.current(state, record)
        swapped.append((record, leaf, written(record.attributes, leaf)))
        state = heap.update_object(state, attrs.evolve(record, attributes=with_written(record.attributes, leaf, tensor)))
    call_args = bound.get("args")
    positional = [] if call_args is None or call_args.constant_value() is None else call_args.unpack(state, None)
    if positional is None:
        positional = [call_args]  # one argument, not a tuple
    call_kwargs = bound.get("kwargs")
    keywords = {} if call_kwargs is None or call_kwargs.constant_value() is None else None
    if keywords is None:
        if not isinstance(call_kwargs, DictVariable):
            return unsupported(BreakKind.UNSUPPORTED_CALL, "functional_call's kwargs must be a dict")
        keywords = dict(heap.current(state, call_kwargs).entries)
    out = module_vt.call(state, list(positional), keywords)
    if type(out) is Thrown:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "the module called by functional_call raises, so the call "
                           "runs eagerly")
    if type(out) is not tuple:
        return out
    state, result = out
    for record, leaf, before in reversed(swapped):
        record = heap.current(state, record)
        attributes = tuple(item for item in record.attributes if item[0] != leaf) if before is MISSING \
            else with_written(record.attributes, leaf, before)
        state = heap.update_object(state, attrs.evolve(record, attributes=attributes))
    return state, result
