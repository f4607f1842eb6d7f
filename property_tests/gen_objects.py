"""Statements about Python's object model, where CPython looks closely.

The forms here use the prelude's classes (`Vec`, `Odd`, `Reg`, `Bag`, `Lookup`, `Node`,
`Tracked`, see program.py): dunders (blocked and badly typed ones included), dict / list
subclasses and a `Mapping`, identity checks, attributes and annotations of functions, exception
attributes and chains, weak references, finalizers and deletion, and containers changed while
they are iterated.  Each binds its outcome to a fresh variable of a plain kind (so later
statements and the result use it), catching the exception eager raises where one is expected,
and adds its construct tag.
"""
from __future__ import annotations

import re

from property_tests.ast_build import const, stmts
from property_tests.gen_exprs import BOOL, DICT, INT, KEYS, LIST, STR, Gen

NODE = "node"
"""The kind of a variable holding a `Node`: only returned, never built by `expr`."""

OBJECT_CONSTRUCTS = ("dunder", "subclass", "identity", "fn_attrs", "exc_attrs", "weakref", "iter_mutation")


def _caught(body: str, result: str = "type(e).__name__", errors: str = "(TypeError, ValueError)") -> str:
    """`body` (which assigns `v`) under a try whose handler assigns `result` to `v`."""
    indented = body.replace("\n", "\n    ")
    return f"try:\n    {indented}\nexcept {errors} as e:\n    v = {result}"


class ObjectStmts(Gen):
    """The object-model statement forms; `StmtGen` mixes them into its choices."""

    def object_forms(self) -> list:
        return [self.s_dunder, self.s_odd, self.s_subclass, self.s_identity, self.s_fn_attrs, self.s_exc_attrs,
                self.s_weakref, self.s_iter_mutation]

    def _bind(self, kind: str, template: str, *parts) -> list:
        """`template` assigns `v`; the statements rename it to a fresh variable of `kind`."""
        var = self.fresh("v")
        code = re.sub(r"(?<![\w.])v(?!\w)", var, template)
        out = stmts(code, *parts)
        self.scope[var] = kind
        return out

    def s_dunder(self, depth):
        self.tag("dunder")
        a, b = self.expr(INT), self.expr(INT)
        pick = self.choice(6)
        if pick == 0:
            return self._bind(INT, "v = len(Vec(_0, _1) + Vec(_1))", a, b)
        if pick == 1:
            return self._bind(LIST, "v = list(_0 + Vec(_1))", a, b)
        if pick == 2:
            return self._bind(BOOL, "v = Vec(_0, _1) == Vec(_1, _0) or Vec(_0) != Vec(_1)", a, b)
        if pick == 3:
            return self._bind(BOOL, "v = bool(Vec()) or not Vec(_0)", a, b)
        if pick == 4:
            return self._bind(STR, "v = repr(Vec(_0, _1))", a, b)
        return self._bind(INT, "v = sum(Vec(_0, _1)) + len([q for q in Vec(_0)])", a, b)

    def s_odd(self, depth):
        self.tag("dunder")
        operation = self.pick(["bool(Odd(_0))", "len(Odd(_0))", "str(Odd(_0))", "hash(Odd(_0))",
                               "Odd(_0) and 1", "[].__class__(Odd(_0))"])
        if self.choice(4) == 0:
            return self._bind(STR, _caught("o = Odd(_0)\no += 1\nv = 'no error'"), self.expr(INT))
        return self._bind(STR, _caught(f"v = type({operation}).__name__"), self.expr(INT))

    def s_subclass(self, depth):
        self.tag("subclass", "container_methods")
        pick = self.choice(6)
        if pick == 0:
            return self._bind(INT, "r = Reg()\nr[_1] = _0\nr.update(_2)\nv = r.total() + len(r)",
                              self.expr(INT), const(self.pick(KEYS)), self.expr(DICT))
        if pick == 1:
            return self._bind(INT, "b = Bag(_1)\nb.append(_0)\nv = b.first() + len(b)", self.expr(INT), self.expr(LIST))
        if pick == 2:
            return self._bind(DICT, "v = dict(Lookup(_0))", self.expr(DICT))
        if pick == 3:
            return self._bind(DICT, "v = {**Lookup(_0), _1: _2}", self.expr(DICT), const(self.pick(KEYS)),
                              self.expr(INT))
        if pick == 4:
            targets = self.writable(DICT) + ["G_D"]
            target = self.pick(targets)
            self.note_target(target)
            return self._bind(INT, f"{target}.update(Lookup(_0))\nv = len({target})", self.expr(DICT))
        return self._bind(BOOL, "v = _1 in Lookup(_0) and len(Lookup(_0)) > 0", self.expr(DICT),
                          const(self.pick(KEYS)))

    def s_identity(self, depth):
        self.tag("identity", "compare")
        a, b = self.expr(INT), self.expr(LIST)
        pick = self.choice(4)
        if pick == 0:
            return self._bind(BOOL, "t = (_0, _1)\nu = t\nv = t is u and t == (_0, _1)", a, b)
        if pick == 1:
            return self._bind(BOOL, "o = Box(_0)\np = o\nv = o is p and o is not Box(_0)", a, b)
        if pick == 2:
            return self._bind(BOOL, "v = [_0] is [_0] or _1 is _1", a, b)
        return self._bind(BOOL, "t = (_1,)\nv = t[0] is _1", a, b)

    def s_fn_attrs(self, depth):
        self.tag("fn_attrs", "closure")
        pick = self.choice(5)
        fname = self.fresh("f")
        if pick == 0:
            return self._bind(INT, f"def {fname}():\n    return _0\n{fname}.attr = _1\nv = {fname}.attr + {fname}()",
                              self.expr(INT), self.expr(INT))
        if pick == 1:
            return self._bind(INT, f"def {fname}():\n    return 1\nv = getattr({fname}, 'missing', _0)",
                              self.expr(INT))
        if pick == 2:
            return self._bind(STR, f"@functools.wraps(Box.get)\ndef {fname}():\n    return 1\n"
                                   f"v = {fname}.__name__ + {fname}.__qualname__ + str({fname}.__wrapped__ is Box.get)")
        if pick == 3:
            return self._bind(STR, f"def {fname}(x: int, y: 'str' = 'a') -> list:\n    return []\n"
                                   f"v = ','.join(sorted({fname}.__annotations__))")
        return self._bind(STR, f"{fname} = lambda: _0\n{fname}.__name__ = 'renamed'\nv = {fname}.__name__",
                          self.expr(INT))

    def s_exc_attrs(self, depth):
        self.tag("exc_attrs", "try", "raise")
        pick = self.choice(4)
        if pick == 0:
            return self._bind(STR, _caught("v = str(Box(_0).missing)", "e.name + type(e.obj).__name__",
                                           "AttributeError"), self.expr(INT))
        if pick == 1:
            body = ("try:\n    raise KeyError(_0)\nexcept KeyError as e1:\n    raise ValueError('x') from e1")
            return self._bind(STR, _caught(body, "type(e.__cause__).__name__ + str(e.__suppress_context__) + "
                                           "type(e.__context__).__name__", "ValueError"), self.expr(INT))
        if pick == 2:
            return self._bind(STR, _caught("v = str(undefined_name)", "e.name", "NameError"))
        return self._bind(BOOL, "e = ValueError(_0)\ne.__cause__ = None\ne.__suppress_context__ = _1\n"
                                "v = e.__suppress_context__", self.expr(INT), self.expr(BOOL))

    def s_weakref(self, depth):
        self.tag("weakref")
        pick = self.choice(5)
        a = self.expr(INT)
        if pick == 0:
            return self._bind(BOOL, "n = Node(_0)\nr = weakref.ref(n)\nalive = r() is n\ndel n\nv = alive and r() is None", a)
        if pick == 1:
            return self._bind(BOOL, "n = Node(_0)\nm = Node(_0)\nn.other, m.other = m, n\nr = weakref.ref(n)\n"
                                    "del n, m\nv = r() is None", a)
        if pick == 2:
            self.tag("mutate_global")
            return self._bind(INT, "t = Tracked(_0)\ndel t\nv = len(G_LOG)", a)
        if pick == 3:
            self.tag("mutate_global")
            return self._bind(INT, "n = Node(_0)\nweakref.finalize(n, G_LOG.append, ('fin', _0))\nn = None\n"
                                   "v = len(G_LOG)", a)
        var = self.fresh("n")
        self.scope[var] = NODE
        return stmts(f"{var} = Node(_0)", a)

    def s_iter_mutation(self, depth):
        self.tag("iter_mutation", "for")
        pick = self.choice(4)
        if pick == 0:
            body = "d = dict(_0)\nfor k in d:\n    d[k + 'x'] = 1\nv = ''"
            return self._bind(STR, _caught(body, "str(e)", "RuntimeError"), self.expr(DICT))
        if pick == 1:
            body = "d = {_1: 1}\nfor k in d:\n    del d[k]\n    d[k] = 2\nv = ''"
            return self._bind(STR, _caught(body, "str(e)", "RuntimeError"), self.expr(DICT), const(self.pick(KEYS)))
        if pick == 2:
            body = "s = set(_0)\nfor q in s:\n    s.add(q + 100)\nv = ''"
            return self._bind(STR, _caught(body, "str(e)", "RuntimeError"), self.expr(LIST))
        return self._bind(LIST, "v = list(_0)\nfor q in v:\n    if len(v) < 6:\n        v.append(q + 1)", self.expr(LIST))
