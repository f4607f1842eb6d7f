"""The argument layout of a code object, and functions assembled with it.

Generated functions (entries, step and resume functions, binders) carry the
user's own signature, so CPython binds their arguments and raises its usual
TypeError word for word; `binder` is the smallest such function, whose body
only returns what was bound.
"""
from __future__ import annotations

import builtins
import inspect
import types

import attrs

from core.assembler import Instr, assemble_code
from core.code import compiled


@attrs.frozen
class Signature:
    """The argument layout of a code object, copied onto generated code."""

    argcount: int
    posonlyargcount: int
    kwonlyargcount: int
    argnames: tuple
    varargs: str | None
    varkw: str | None
    name: str
    qualname: str
    filename: str
    firstlineno: int

    @classmethod
    def of(cls, code: types.CodeType) -> "Signature":
        count = code.co_argcount + code.co_kwonlyargcount
        varargs = varkw = None
        if code.co_flags & inspect.CO_VARARGS:
            varargs = code.co_varnames[count]
            count += 1
        if code.co_flags & inspect.CO_VARKEYWORDS:
            varkw = code.co_varnames[count]
            count += 1
        return cls(code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount,
                   tuple(code.co_varnames[:count]), varargs, varkw, code.co_name, code.co_qualname,
                   code.co_filename, code.co_firstlineno)

    @property
    def positional(self) -> tuple:
        return self.argnames[:self.argcount]

    @property
    def keyword_only(self) -> tuple:
        return self.argnames[self.argcount:self.argcount + self.kwonlyargcount]


_MODULE_KEYS = ("__name__", "__package__", "__spec__", "__loader__", "__file__")


def assemble(signature: Signature, body: list, namespace: dict, fn) -> types.FunctionType:
    """A function with `signature` whose code is `body`, globals `namespace`, defaults of `fn`."""
    return _function(signature, _code(signature, body), namespace, fn)


def _function(signature: Signature, code: types.CodeType, namespace: dict, fn) -> types.FunctionType:
    # The module's identity, for code that reads it off the caller's frame: a step function's
    # caller is this entry (`sys._getframe(1).f_globals['__name__']`, as namedtuple and enum do).
    module_globals = getattr(fn, "__globals__", {})
    module = {key: module_globals[key] for key in _MODULE_KEYS if key in module_globals}
    namespace = dict(namespace, **module, __builtins__=builtins)
    out = types.FunctionType(code, namespace, signature.name, fn.__defaults__)
    out.__kwdefaults__ = fn.__kwdefaults__
    out.__qualname__ = signature.qualname
    return out


def _code(signature: Signature, body: list) -> types.CodeType:
    return assemble_code([_RESUME, *body], argcount=signature.argcount,
                         posonlyargcount=signature.posonlyargcount, kwonlyargcount=signature.kwonlyargcount,
                         argnames=signature.argnames, varargs=bool(signature.varargs), varkw=bool(signature.varkw),
                         name=signature.name, qualname=signature.qualname,
                         filename=f"<snaptrace entry for {signature.filename}>", firstlineno=signature.firstlineno)


_RESUME = Instr("RESUME", 0)


def binder(fn) -> types.FunctionType:
    """A function with fn's signature returning its bound arguments as a tuple, in argnames order.
    Its code depends on fn's code alone and is kept in the compile cache (core/code.py)."""
    signature = Signature.of(fn.__code__)
    return _function(signature, compiled(fn.__code__, "binder", _binder_code), {}, fn)


def _binder_code(code: types.CodeType) -> types.CodeType:
    signature = Signature.of(code)
    body = [Instr("LOAD_FAST", name) for name in signature.argnames]
    body += [Instr("BUILD_TUPLE", len(signature.argnames)), Instr("RETURN_VALUE")]
    return _code(signature, body)
