"""Inputs that become graph placeholders: tensors (with their fake tensors, static or with symbolic
sizes) and ints that vary between calls (a SymInt of their own).  The wrap rules of
vt/builtins/builder.py call these; what a placeholder is and how its guards read it is decided here.
"""
from __future__ import annotations

import torch
from torch.fx.experimental.symbolic_shapes import DimDynamic, StatelessSymbolicContext

from core.dynamic import DUCK, OWN, STATIC, TorchSource
from core.guards import TensorMatch, TypeMatch
from core.identity_guards import SameObject
from core.sources import TensorPropertySource
from vt.data.propagation import plain_input_fake
from vt.data.symbolic import SymNodeVariable, symbol_placeholder
from vt.data.tensor import TensorVariable


def wrap_tensor_input(state, value: torch.Tensor, source):
    dims = state.env.dynamic.tensor_dims(source, value) if value.layout is torch.strided else None
    if dims is None:
        fake = plain_input_fake(state.env.fake_mode, value)
        if fake is None:
            fake = state.env.fake_mode.from_tensor(value, static_shapes=True)
    else:
        context = StatelessSymbolicContext(dynamic_sizes=[_DIM_KINDS[kind] for kind in dims])
        state.env.shape_env()
        fake = state.env.fake_mode.from_tensor(value, symbolic_context=context, source=TorchSource(source))
    for index in state.placeholders:
        node = state.graph[index]
        if node.example is fake:
            # The same tensor object passed twice: one placeholder, and a guard that it stays shared.
            state = state.add_guard(SameObject(source, node.target))
            return state, TensorVariable(index, fake, type(value), source)
    if dims is None:
        state = state.add_guard(TensorMatch.of(source, value))
    else:
        state.env.symbolic_inputs.append((fake, source))
        state = symbol_placeholders(state.add_guard(TensorMatch.of(source, value, fake)), value, fake, source)
    state, index = state.add_node("placeholder", source, (), (), fake, value)
    return state, TensorVariable(index, fake, type(value), source)


_DIM_KINDS = {STATIC: DimDynamic.STATIC, DUCK: DimDynamic.DUCK, OWN: DimDynamic.DYNAMIC}


def symbol_placeholders(state, value: torch.Tensor, fake, source):
    """A SymInt placeholder for each new symbol among the tensor input's sizes, strides and offset,
    read at call time as `x.size(0)` (...): the FX graph then receives its symbols as inputs, as
    Dynamo's graphs do, and a backend compiles one kernel for every size."""
    properties = [("size", dim, fake.shape[dim], value.shape[dim]) for dim in range(value.dim())]
    properties += [("stride", dim, fake.stride(dim), value.stride(dim)) for dim in range(value.dim())]
    properties.append(("storage_offset", None, fake.storage_offset(), value.storage_offset()))
    for prop, dim, symbolic, real in properties:
        if type(symbolic) is torch.SymInt and getattr(symbolic.node.expr, "is_Symbol", False) \
                and symbol_placeholder(state, symbolic) is None:
            state, _ = state.add_node("placeholder", TensorPropertySource(source, prop, dim), (), (), symbolic, real)
    return state


def symbolic_int_input(state, value: int, source):
    """An int input that varies between calls: a SymInt placeholder of its own, guarded by type only
    (the relations the trace relies on come from the ShapeEnv)."""
    for index in state.placeholders:
        node = state.graph[index]
        if node.target == source and type(node.example) is torch.SymInt:
            return state, SymNodeVariable(index, node.example, source)
    symbolic = state.env.shape_env().create_unspecified_symint_and_symbol(
        value, TorchSource(source), DimDynamic.DYNAMIC)
    state.env.symbolic_inputs.append((symbolic, source))
    state, index = state.add_guard(TypeMatch(source, int)).add_node("placeholder", source, (), (), symbolic, value)
    return state, SymNodeVariable(index, symbolic, source)
