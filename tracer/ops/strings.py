"""f-strings: FORMAT_VALUE and BUILD_STRING.

3.11 compiles `f"{v!r:>8}"` (and `"%s" % (v,)` with a tuple display) into
FORMAT_VALUE, which formats one value, and BUILD_STRING, which joins the
pieces.  Formatting runs for real on the value the tracer knows: constants,
plain data (lists, dicts, sets of constants), and objects it holds exactly
(modules, classes, builtins, torch functions).  A tensor's text depends on the
numbers inside it, so formatting one stops the capture as data-dependent.
"""
from __future__ import annotations

from tracer.registry import handles
from vt.protocol import NOT_CONSTANT, real_value
from vt.data.constant import ConstantVariable
from core.outcomes import BreakKind, unsupported, raised
from vt.data.tensor import TensorVariable

CONVERSIONS = {0: None, 1: str, 2: repr, 3: ascii}
"""FORMAT_VALUE's low two flag bits: no conversion, !s, !r, !a."""

HAS_SPEC = 0x04
"""FORMAT_VALUE flag: the format spec (a string) is on the stack above the value."""


def format_vt(state, value, conversion, spec: str):
    """format(conversion(value), spec) for a value known while tracing: (state, vt) or Unsupported."""
    real = real_value(state, value)
    if real is NOT_CONSTANT:
        return _cannot_format(state, value)
    try:
        text = format(real if conversion is None else conversion(real), spec)
    except Exception as exc:  # eager raises the same error (bad spec, failing __format__)
        return raised(exc)
    return state, ConstantVariable(text)


def _cannot_format(state, value):
    if isinstance(value, TensorVariable) or any(isinstance(item, TensorVariable) for item in value.unpack(state, None) or ()):
        return unsupported(BreakKind.DATA_DEPENDENT, f"formatting {value.describe()} shows the values inside "
                           "a tensor", "format metadata instead (x.shape, x.dtype), or format outside the "
                           "traced function")
    return unsupported(BreakKind.UNSUPPORTED_VALUE, f"formatting {value.describe()} is not modelled")


@handles("FORMAT_VALUE")
def format_value(state, ins):
    has_spec = bool(ins.arg & HAS_SPEC)
    value = state.peek(2) if has_spec else state.peek()
    spec = state.peek().constant_value() if has_spec else ""
    if type(spec) is not str:
        return unsupported(BreakKind.UNSUPPORTED_VALUE, "an f-string format spec not known while tracing")
    out = format_vt(state, value, CONVERSIONS[ins.arg & 0x03], spec)
    if type(out) is not tuple:
        return out
    state, text = out
    return state.advance(pop=2 if has_spec else 1, push=(text,))


@handles("BUILD_STRING")
def build_string(state, ins):
    stack = state.frame.stack
    pieces = [piece.constant_value() for piece in stack[len(stack) - ins.arg:]] if ins.arg else []
    if any(type(piece) is not str for piece in pieces):
        return unsupported(BreakKind.UNSUPPORTED_VALUE, "BUILD_STRING of pieces not known while tracing")
    return state.advance(pop=ins.arg, push=(ConstantVariable("".join(pieces)),))
