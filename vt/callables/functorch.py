"""`torch.func` transforms: vmap, grad, grad_and_value, jacrev, jacfwd, as one node each.

`torch.func.vmap(f, in_dims, out_dims)(*args)` (and the others) traces `f` as a
sub-graph (vt/callables/subgraphs.py) on inputs shaped as the transform shows
them to `f`: one slice of each batched argument for vmap, the arguments
themselves, differentiated ones requiring grad, for the derivatives.  The node
is `apply_transform(name, options, count, body, *tensors, *lifted)`, which
applies the real transform to the sub-graph: run eagerly it is `torch.func`
itself, and AOT autograd traces through it into plain aten ops, as functorch is
built to be traced.  Its result is the flat list of the transform's outputs;
their structure (per argnum, `has_aux`, ...) comes from running the transform
once on fake tensors.

Transforms compose: `vmap(grad(f))` traces the inner transform inside the outer
sub-trace.  Arguments other than tensors and constants (nested structures,
tensors among keyword arguments) are reported, and the call runs eagerly.
"""
from __future__ import annotations

import attrs
import torch
import torch.func
import torch.utils._pytree as pytree

from core.graph_log import NodeRef
from core.outcomes import BreakKind, unsupported
from vt import registry
from vt.callables.subgraphs import (TENSOR, build_subgraph, failed, lifted_pairs, pair_of, record_hop, subtrace)
from vt.data.constant import ConstantVariable
from vt.data.dicts import new_dict_from_entries
from vt.data.lists import TupleVariable, new_list
from vt.data.tensor import TensorVariable, fake_context
from vt.protocol import VariableTracker

TRANSFORMS = {"vmap": torch.func.vmap, "grad": torch.func.grad, "grad_and_value": torch.func.grad_and_value,
              "jacrev": torch.func.jacrev, "jacfwd": torch.func.jacfwd}
DEFAULTS = {
    "vmap": (("in_dims", 0), ("out_dims", 0), ("randomness", "error"), ("chunk_size", None)),
    "grad": (("argnums", 0), ("has_aux", False)),
    "grad_and_value": (("argnums", 0), ("has_aux", False)),
    "jacrev": (("argnums", 0), ("has_aux", False), ("chunk_size", None), ("_preallocate_and_copy", False)),
    "jacfwd": (("argnums", 0), ("has_aux", False), ("randomness", "error")),
}
DIFFERENTIATING = {"grad", "grad_and_value", "jacrev"}  # run the body with grad enabled


def run_transform(name: str, options: tuple, count: int, body, *operands):
    """torch.func.<name>(body, **options) applied to the first `count` operands; the others are
    values the body read from outside, passed through unchanged."""
    explicit, lifted = operands[:count], operands[count:]

    def inner(*args):
        return body(*args, *lifted)

    return TRANSFORMS[name](inner, **dict(options))(*explicit)


def apply_transform(name: str, options: tuple, count: int, body, *operands):
    """The graph node of a transform: `run_transform`'s result as a flat tuple of its leaves."""
    return tuple(pytree.tree_leaves(run_transform(name, options, count, body, *operands)))


def _bind_options(name, args, kwargs):
    """(fn, options) from the transform's call, every option a constant known while tracing; or None."""
    names = [key for key, _ in DEFAULTS[name]]
    if not args or len(args) > 1 + len(names):
        return None
    values = dict(DEFAULTS[name])
    for key, value in zip(names, args[1:]):
        values[key] = value
    for key, value in kwargs.items():
        if key not in values:
            return None
        values[key] = value
    options = []
    for key, value in values.items():
        constant = value.constant_value() if isinstance(value, VariableTracker) else value
        if not _is_plain(constant):
            return None
        options.append((key, constant))
    return args[0], tuple(options)


def _is_plain(value) -> bool:
    if type(value) in (tuple, list):
        return all(_is_plain(item) for item in value)
    return value is None or type(value) in (bool, int, float, str)


@attrs.frozen(slots=True)
class FunctorchTransformVariable(VariableTracker):
    """`torch.func.<name>(fn, **options)`: a function waiting for its arguments."""

    name: str
    fn: object
    options: tuple  # (key, constant) pairs, every option given

    always_true = True

    def describe(self) -> str:
        return f"torch.func.{self.name}({self.fn.describe()})"

    def call(self, state, args, kwargs):
        return call_transform(state, self, list(args), kwargs)


def _make(name):
    def rule(state, args, kwargs):
        bound = _bind_options(name, args, kwargs)
        if bound is None:
            return unsupported(BreakKind.UNSUPPORTED_CALL, f"torch.func.{name} with options not known while tracing")
        return state, FunctorchTransformVariable(name, *bound)
    return rule


for _name, _fn in TRANSFORMS.items():
    registry.add_builtin_rule(_fn, _make(_name))


def _argnums(options, count):
    argnums = dict(options)["argnums"]
    return (argnums,) if type(argnums) is int else tuple(argnums)


def _inputs(state, transform, args):
    """(fakes of the body's tensor inputs, options for the node) or Unsupported."""
    options = dict(transform.options)
    positions = [i for i, arg in enumerate(args) if isinstance(arg, TensorVariable)]
    if transform.name == "vmap":
        in_dims = options["in_dims"]
        dims = [in_dims] * len(args) if type(in_dims) is int or in_dims is None else list(in_dims)
        if len(dims) != len(args) or any(dims[i] is not None and i not in positions for i in range(len(args))):
            return unsupported(BreakKind.UNSUPPORTED_CALL, "vmap's in_dims must give an int or None per argument, "
                               "ints only for tensors")
        fakes = []
        with fake_context(state):
            for i in positions:
                fake = args[i].fake
                fakes.append(fake if dims[i] is None else fake.select(dims[i], 0).clone())
        options["in_dims"] = tuple(dims[i] for i in positions)
        return fakes, options
    argnums = _argnums(transform.options, len(args))
    if any(type(n) is not int or n >= len(args) or (n % len(args)) not in positions for n in argnums):
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"torch.func.{transform.name} differentiates tensor "
                           "arguments only")
    wanted = {n % len(args) for n in argnums}
    remap = {i: position for position, i in enumerate(positions)}
    given = dict(transform.options)["argnums"]
    options["argnums"] = remap[given % len(args)] if type(given) is int else tuple(remap[n % len(args)] for n in given)
    fakes = []
    with state.env.fake_mode:
        for i in positions:
            fake = args[i].fake.detach()
            fakes.append(fake.requires_grad_(True) if i in wanted and transform.name != "jacfwd" else fake)
    return fakes, options


def _spec_output(spec, leaves):
    """The body's return structure with NodeRefs for its tensors (what the sub-graph returns)."""
    position = [0]

    def build(spec):
        if spec == TENSOR:
            position[0] += 1
            return NodeRef(leaves[position[0] - 1].node)
        if spec[0] == "const":
            return spec[1].constant_value()
        items = [build(item) for item in spec[1]]
        return items if spec[0] == "list" else tuple(items)

    return build(spec)


def call_transform(state, transform, args, kwargs):
    what = f"the function transformed by torch.func.{transform.name}"
    if any(not isinstance(arg, (TensorVariable, ConstantVariable)) for arg in args) or \
            any(not isinstance(value, ConstantVariable) for value in kwargs.values()):
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"torch.func.{transform.name} is traced on tensors and "
                           "constants (keyword arguments constants only)")
    out = _inputs(state, transform, args)
    if type(out) is not tuple:
        return out
    fakes, options = out
    positions = [i for i, arg in enumerate(args) if isinstance(arg, TensorVariable)]
    constants = [None if i in positions else arg for i, arg in enumerate(args)]
    body_fn = _Body(transform.fn, tuple(constants), tuple(positions))
    grad = True if transform.name in DIFFERENTIATING else None
    trace = subtrace(state, body_fn, [], kwargs, what, fakes=fakes, grad_enabled=grad)
    if failed(trace):
        return trace
    state = trace.state
    body = build_subgraph(state.graph, trace.inputs, trace.lifted, trace.body, _spec_output(trace.spec, trace.leaves),
                          f"{transform.name}_body")
    tensors = [args[i] for i in positions]
    operands = [(graph, _unviewed(state, fake)) for graph, fake in
                [pair_of(t) for t in tensors] + list(lifted_pairs(state, trace.lifted))]
    settings = tuple(options.items())
    head = [(transform.name, transform.name), (settings, settings), (len(tensors), len(tensors))]
    try:
        with fake_context(state):
            structured = run_transform(transform.name, settings, len(tensors), body.module,
                                       *[fake for _, fake in operands])
    except Exception as exc:  # eager raises too (a shape that vmap cannot batch, a non-scalar for grad, ...)
        return unsupported(BreakKind.PYTHON_EXCEPTION, f"torch.func.{transform.name} raised "
                           f"{type(exc).__name__}: {exc}")
    _, treespec = pytree.tree_flatten(structured)
    out = record_hop(state, apply_transform, (*head, pair_of(body), *operands), {}, f"torch.func.{transform.name}")
    if type(out) is not tuple:
        return out
    state, flat = out
    items = flat.unpack(state, None) if not isinstance(flat, TensorVariable) else (flat,)
    return _rebuild(state, treespec, list(items))


def _unviewed(state, fake):
    """A fake operand for the transform's fake runs: views are cloned (forward-mode AD on a fake view
    trips an internal assert of torch's; the values are the same)."""
    if not fake._is_view():
        return fake
    with fake_context(state):
        return fake.clone()


def _rebuild(state, spec, leaves):
    """(state, VT) of the transform's output structure, with its leaves in order."""
    if spec.is_leaf():
        return state, leaves.pop(0)
    children = []
    for child in spec.children():
        state, vt = _rebuild(state, child, leaves)
        children.append(vt)
    if spec.type is list:
        return new_list(state, tuple(children))
    if spec.type is dict:
        return new_dict_from_entries(state, tuple(zip(spec.context, children)))
    return state, TupleVariable(tuple(children))


@attrs.frozen
class _Body:
    """Calls the transformed function with the fresh tensor inputs in the places of the tensor arguments."""

    fn: object
    constants: tuple
    positions: tuple

    def call(self, state, inputs, kwargs):
        args = list(self.constants)
        for position, value in zip(self.positions, inputs):
            args[position] = value
        return self.fn.call(state, args, kwargs)
