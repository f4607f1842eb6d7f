"""IMPORT_NAME / IMPORT_FROM for modules that are already imported.

`import torch` or `from .utils import helper` inside a traced function only looks
the module up when it is already in `sys.modules` (importing for the first time
runs module code, which is not traced: that stays a break).  The module is a
fixed object; names read from it are guarded like globals of another module.
"""
from __future__ import annotations

import importlib.util
import sys


from tracer.registry import handles
from vt.registry import wrap_value
from core.outcomes import BreakKind, unsupported
from core.sources import ImportedModuleSource


def _absolute_name(state, name: str, level: int):
    if not level:
        return name
    package = state.frame.code.globals.get("__package__") or ""
    try:
        return importlib.util.resolve_name("." * level + name, package)
    except (ImportError, ValueError):
        return None


@handles("IMPORT_NAME")
def import_name(state, ins):
    level = state.peek(2).constant_value()
    fromlist = state.peek(1).constant_value()
    full = _absolute_name(state, ins.argval, level)
    if full is None or full not in sys.modules:
        return unsupported(BreakKind.UNSUPPORTED_OPERATION, f"importing {ins.argval!r} for the first time runs module "
                           "code, which is not traced", "import it at the top of the file")
    # `import a.b` binds `a`; `from a.b import c` and `import a.b as x` (3.11: IMPORT_FROM) use `a.b`.
    bound = full if fromlist or not full.count(".") or level else full.split(".")[0]
    out = wrap_value(state, sys.modules[bound], ImportedModuleSource(bound), guard=False)
    if type(out) is not tuple:
        return out
    state, module = out
    return state.advance(pop=2, push=(module,))


@handles("IMPORT_FROM")
def import_from(state, ins):
    out = state.peek().getattr(state, ins.argval)
    if type(out) is not tuple:
        return out
    state, value = out
    return state.advance(push=(value,))
