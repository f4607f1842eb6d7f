"""Generating typed expressions over the variables in scope.

Programs are generated with a light static type discipline so that most of
them run to the end instead of failing on the first line: every variable has a
*kind* (`INT`, `FLOAT`, `BOOL`, `STR`, `LIST` of ints, `DICT` of str -> int,
`TENSOR` of the program's shape or 0-d, `BOX` an instance of the prelude's
class) and `Gen.expr(kind)` builds an expression of that kind.  Some
expressions may still raise (an index out of range, a missing key, an int
tensor asked for a mean): property 1 compares exceptions too.

Each choice is one hypothesis integer whose smallest value is the simplest
option (a literal, then a variable), so shrinking walks towards tiny programs.
"""
from __future__ import annotations

import ast

import hypothesis.strategies as st

from property_tests.ast_build import const, expr, name

INT, FLOAT, BOOL, STR, LIST, DICT, TENSOR, BOX = "int", "float", "bool", "str", "list", "dict", "tensor", "box"
KINDS = (INT, FLOAT, BOOL, STR, LIST, DICT, TENSOR, BOX)
MAX_DEPTH = 2

FLOATS = (0.5, 1.0, -1.25, 2.0, 0.0, -0.0, 3.5, 1e-3)
STRINGS = ("", "a", "ab", "xyz", "b")
KEYS = ("a", "b", "c")


class Gen:
    """Drawing state for one program: the hypothesis `draw`, the scope, the tags seen so far."""

    def __init__(self, draw, shape: tuple):
        self.draw = draw
        self.shape = shape
        self.scopes = [{}]  # name -> kind; inner blocks push a copy and pop it afterwards
        self.tags = set()
        self.counter = 0
        self.loop_depth = 0
        self.in_nested_def = False

    # -- scope ----------------------------------------------------------------------
    @property
    def scope(self) -> dict:
        return self.scopes[-1]

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def push(self):
        self.scopes.append(dict(self.scope))

    def pop(self):
        self.scopes.pop()

    def names_of(self, kind: str) -> list:
        return sorted(n for n, k in self.scope.items() if k == kind)

    def choice(self, n: int) -> int:
        return self.draw(st.integers(0, n - 1))

    def pick(self, options):
        return options[self.choice(len(options))]

    def tag(self, *tags):
        self.tags.update(tags)

    def span(self, build, *args):
        """Draw `build(*args)` as one nested hypothesis draw, so the shrinker sees a statement or an
        expression as a unit it can delete or simplify as a whole."""
        @st.composite
        def unit(draw):
            outer, self.draw = self.draw, draw
            try:
                return build(*args)
            finally:
                self.draw = outer
        return self.draw(unit())

    # -- expressions ------------------------------------------------------------------
    def expr(self, kind: str, depth: int = 0):
        """An expression of `kind`; past MAX_DEPTH only literals and variables."""
        leaf = depth >= MAX_DEPTH
        maker = getattr(self, f"_{kind}")
        return self.span(maker, depth + 1, leaf)

    def var_or(self, kind: str, fallback):
        names = self.names_of(kind)
        if names and self.choice(4) > 0:
            return name(self.pick(names))
        return fallback()

    def _int(self, d, leaf):
        literal = lambda: const(self.draw(st.integers(-3, 10)))  # noqa: E731
        if leaf:
            return self.var_or(INT, literal)
        pick = self.choice(16)
        e = lambda k=INT: self.expr(k, d)  # noqa: E731
        if pick == 0:
            return literal()
        if pick == 1:
            return self.var_or(INT, literal)
        self.tag("arith")
        if pick in (2, 3):
            return expr(f"_0 {self.pick(['+', '-', '*'])} _1", e(), e())
        if pick == 4:
            return expr(self.pick(["_0 // (abs(_1) + 1)", "_0 % (abs(_1) + 2)", "-_0", "_0 ** 2"]), e(), e())
        if pick == 5:
            return expr("len(_0)", e(LIST))
        if pick == 6:
            return expr(self.pick(["min(_0, _1)", "max(_0, _1)", "abs(_0)"]), e(), e())
        if pick == 7:
            return expr("sum(_0)", e(LIST))
        if pick == 8:
            return expr("_0.get(_1, 0)", e(DICT), const(self.pick(KEYS)))
        if pick == 9:
            return expr("int(_0)", e(BOOL))
        if pick == 10:
            self.tag("tensor_op")
            return expr(self.pick(["_0.dim()", "_0.numel()", "len(_0.shape)"]), e(TENSOR))
        if pick == 11:
            if not self.names_of(BOX):
                return literal()
            self.tag("class")
            return expr(self.pick(["_0.v", "_0.get()"]), name(self.pick(self.names_of(BOX))))
        if pick == 12:
            return expr("_0 if _1 else _2", e(), e(BOOL), e())
        if pick == 13:
            self.tag("closure")
            return expr("(lambda q: q * 2 + _0)(_1)", e(), e())
        if pick == 14:
            return expr("len(_0)", e(STR))
        return expr("_0[_1 % len(_0)] if _0 else _1", e(LIST), e())

    def _float(self, d, leaf):
        literal = lambda: const(self.pick(FLOATS))  # noqa: E731
        if leaf:
            return self.var_or(FLOAT, literal)
        pick = self.choice(8)
        e = lambda k=FLOAT: self.expr(k, d)  # noqa: E731
        if pick == 0:
            return literal()
        if pick == 1:
            return self.var_or(FLOAT, literal)
        self.tag("arith")
        if pick in (2, 3):
            return expr(f"_0 {self.pick(['+', '-', '*'])} _1", e(), e(self.pick([FLOAT, INT])))
        if pick == 4:
            return expr("_0 / (abs(_1) + 1.0)", e(), e())
        if pick == 5:
            return expr("float(_0)", e(INT))
        if pick == 6:
            return expr("round(_0, 2)", e())
        self.tag("tensor_op")
        return expr(self.pick(["_0.sum().item()", "float(_0.float().mean())"]), e(TENSOR))

    def _bool(self, d, leaf):
        literal = lambda: const(self.pick([True, False]))  # noqa: E731
        if leaf:
            return self.var_or(BOOL, literal)
        pick = self.choice(10)
        e = lambda k=BOOL: self.expr(k, d)  # noqa: E731
        if pick == 0:
            return literal()
        if pick == 1:
            return self.var_or(BOOL, literal)
        if pick in (2, 3):
            self.tag("compare")
            op = self.pick(["<", "<=", "==", "!=", ">", ">="])
            kind = self.pick([INT, INT, FLOAT, STR])
            return expr(f"_0 {op} _1", e(kind), e(kind))
        if pick == 4:
            self.tag("compare")
            return expr("_0 < _1 <= _2", e(INT), e(INT), e(INT))
        if pick == 5:
            return expr(self.pick(["not _0", "_0 and _1", "_0 or _1"]), e(), e())
        if pick == 6:
            self.tag("compare")
            return expr(self.pick(["_0 in _1", "_0 not in _1"]), e(INT), e(LIST))
        if pick == 7:
            self.tag("compare")
            return expr("_0 in _1", const(self.pick(KEYS)), e(DICT))
        if pick == 8:
            return expr(self.pick(["bool(_0)", "isinstance(_0, list)"]), e(LIST))
        self.tag("tensor_op")
        return expr(self.pick(["_0.is_floating_point()", "_0.dtype == torch.float32", "bool((_0 > 0).any())"]),
                    e(TENSOR))

    def _str(self, d, leaf):
        literal = lambda: const(self.pick(STRINGS))  # noqa: E731
        if leaf:
            return self.var_or(STR, literal)
        pick = self.choice(8)
        e = lambda k=STR: self.expr(k, d)  # noqa: E731
        if pick == 0:
            return literal()
        if pick == 1:
            return self.var_or(STR, literal)
        if pick == 2:
            return expr("_0 + _1", e(), e())
        if pick == 3:
            self.tag("container_methods")
            return expr(self.pick(["_0.upper()", "_0.strip('a')", "_0.replace('a', 'b')"]), e())
        if pick == 4:
            return expr("str(_0)", e(INT))
        if pick == 5:
            return expr("f'{_0}-{_1}'", e(INT), e())
        if pick == 6:
            return expr("_0 * (abs(_1) % 3)", e(), e(INT))
        self.tag("comprehension", "container_methods")
        return expr("','.join(str(q) for q in _0)", e(LIST))

    def _list(self, d, leaf):
        literal = lambda: ast_list([const(self.draw(st.integers(-2, 6))) for _ in range(self.choice(4))])  # noqa: E731
        if leaf:
            return self.var_or(LIST, literal)
        pick = self.choice(10)
        e = lambda k=LIST: self.expr(k, d)  # noqa: E731
        if pick == 0:
            return literal()
        if pick == 1:
            return self.var_or(LIST, literal)
        if pick == 2:
            return expr("_0 + _1", e(), e())
        if pick == 3:
            return expr(self.pick(["sorted(_0)", "sorted(_0, key=lambda q: -q)", "list(reversed(_0))"]), e())
        if pick == 4:
            return expr("_0[_1:_2]", e(), e(INT), e(INT))
        if pick == 5:
            return expr("list(range(abs(_0) % 5))", e(INT))
        if pick in (6, 7):
            self.tag("comprehension")
            self.push()
            var = self.fresh("q")
            self.scope[var] = INT
            body = self.expr(INT, d)
            cond = self.expr(BOOL, d)
            self.pop()
            return expr(f"[_0 for {var} in _1 if _2]", body, e(), cond)
        if pick == 8:
            self.tag("container_methods")
            return expr("list(_0.values())", e(DICT))
        return expr("_0 * (abs(_1) % 3)", e(), e(INT))

    def _dict(self, d, leaf):
        def literal():
            keys = [self.pick(KEYS) for _ in range(self.choice(3))]
            return ast.Dict([const(k) for k in keys], [const(self.draw(st.integers(-2, 9))) for _ in keys])
        if leaf:
            return self.var_or(DICT, literal)
        pick = self.choice(6)
        e = lambda k=DICT: self.expr(k, d)  # noqa: E731
        if pick == 0:
            return literal()
        if pick == 1:
            return self.var_or(DICT, literal)
        if pick == 2:
            self.tag("comprehension", "unpacking", "container_methods")
            return expr("{k: v + _1 for k, v in _0.items()}", e(), e(INT))
        if pick == 3:
            self.tag("unpacking")
            return expr("{**_0, _1: _2}", e(), const(self.pick(KEYS)), e(INT))
        if pick == 4:
            return expr("dict(zip(['a', 'b', 'c'], _0))", e(LIST))
        return expr("dict(_0)", e())

    def _tensor(self, d, leaf):
        def fallback():
            self.tag("tensor_op")
            return expr(f"torch.ones({self.shape!r})")
        if leaf or not self.names_of(TENSOR):
            return self.var_or(TENSOR, fallback)
        pick = self.choice(9)
        e = lambda k=TENSOR: self.expr(k, d)  # noqa: E731
        if pick == 0:
            return self.var_or(TENSOR, fallback)
        self.tag("tensor_op")
        if pick in (1, 2):
            return expr(f"_0 {self.pick(['+', '-', '*'])} _1", e(), e(self.pick([TENSOR, INT, FLOAT])))
        if pick == 3:
            return expr(self.pick(["torch.relu(_0)", "_0.sin()", "_0.abs()", "-_0", "_0.float()", "_0.clone()"]), e())
        if pick == 4:
            return expr(self.pick(["torch.where(_0 > 0, _0, _1)", "torch.maximum(_0, _1)"]), e(), e())
        if pick == 5:
            return expr(self.pick(["_0.sum()", "_0.float().mean()", "_0.amax()"]), e())
        if pick == 6:
            return expr("_0.clamp(min=_1)", e(), e(INT))
        if pick == 7:
            return expr("torch.zeros_like(_0) + _1", e(), e(FLOAT))
        return expr("_0 * 2 if _1 else _0", e(), e(BOOL))

    def _box(self, d, leaf):
        names = self.names_of(BOX)
        self.tag("class")
        if names and (leaf or self.choice(2)):
            return name(self.pick(names))
        return expr("Box(_0)", self.expr(INT, MAX_DEPTH))



def ast_list(items) -> ast.expr:
    return ast.List(list(items), ast.Load())
