"""Generating statements and whole function bodies.

`StmtGen` extends the expression generator with every statement form the
fuzzer covers.  Each form adds its construct tags (see `CONSTRUCTS`), which
the coverage report counts.  Rules that keep programs finite and mostly valid:

* loops are bounded: `for` runs over `range(min(abs(n), 4))` or a slice copy of
  at most 6 items, `while` has a hidden counter that the body cannot touch;
* a variable keeps its kind for its whole life; names first bound inside a
  block are forgotten after the block (Python would keep them, possibly unbound);
* module globals (`G_N`, `G_L`, `G_D`) are only written by the global-mutation
  statement, so no other assignment turns them into locals.
"""
from __future__ import annotations

import ast

from property_tests.ast_build import const, name, stmts
from property_tests.gen_exprs import BOOL, BOX, DICT, FLOAT, INT, KEYS, LIST, STR, TENSOR
from property_tests.gen_objects import OBJECT_CONSTRUCTS, ObjectStmts

CONSTRUCTS = (
    "arith", "compare", "if", "while", "for", "break", "continue", "container_methods", "comprehension",
    "unpacking", "closure", "class", "attr_write", "try", "with", "raise", "tensor_op", "mutate_input",
    "mutate_global",
) + OBJECT_CONSTRUCTS
"""Every construct the generator tags; the coverage report lists each one."""

GLOBALS = {"G_N": INT, "G_L": LIST, "G_D": DICT}
MAX_BLOCK_DEPTH = 2


class StmtGen(ObjectStmts):
    """Statements, blocks and the function body, on top of `Gen`'s expressions."""

    def __init__(self, draw, shape, params: dict):
        super().__init__(draw, shape)
        self.params = set(params)
        self.scope.update(GLOBALS)
        self.scope.update(params)
        self.writes_global_name = False

    # -- helpers ------------------------------------------------------------------------
    def note_target(self, target: str):
        """Tag a mutation of `target` as a change to an input or a module global."""
        if target in self.params:
            self.tag("mutate_input")
        elif target in GLOBALS:
            self.tag("mutate_global")

    def writable(self, kind: str) -> list:
        """Variables of `kind` that may be rebound (not the module globals)."""
        return [n for n in self.names_of(kind) if n not in GLOBALS]

    def block(self, depth: int, size: int = 3) -> list:
        self.push()
        body = []
        for _ in range(1 + self.choice(size)):
            body += self.stmt(depth + 1)
        self.pop()
        return body

    def result_tuple(self) -> ast.expr:
        """Some variables in scope; computed tensors always, so tensor work is not dead code."""
        candidates = sorted(n for n in self.scope if n not in GLOBALS)
        picked = [n for n in candidates if self.scope[n] == TENSOR and n not in self.params][:3]
        for _ in range(1 + self.choice(4)):
            if candidates:
                picked.append(self.pick(candidates))
        return ast.Tuple([name(n) for n in picked], ast.Load())

    # -- statements -------------------------------------------------------------------------
    def stmt(self, depth: int) -> list:
        return self.span(self._stmt, depth)

    def _stmt(self, depth: int) -> list:
        forms = [self.s_assign, self.s_reassign, self.s_if, self.s_for_range, self.s_for_items, self.s_while,
                 self.s_loop_exit, self.s_container, self.s_unpack, self.s_closure, self.s_nonlocal, self.s_box,
                 self.s_try, self.s_with, self.s_tensor_inplace, self.s_global, self.s_early_return, self.s_raise]
        forms += self.object_forms()
        form = forms[self.choice(len(forms))]
        if depth >= MAX_BLOCK_DEPTH and form in (self.s_if, self.s_for_range, self.s_for_items, self.s_while,
                                                  self.s_try, self.s_with):
            form = self.s_assign
        return form(depth)

    def s_assign(self, depth):
        kind = self.pick([INT, TENSOR, LIST, TENSOR, FLOAT, STR, DICT, BOOL, BOX, TENSOR])
        value = self.expr(kind)
        var = self.fresh("v")
        self.scope[var] = kind
        return stmts(f"{var} = _0", value)

    def s_reassign(self, depth):
        kind = self.pick([INT, TENSOR, LIST, FLOAT, STR])
        targets = self.writable(kind)
        if not targets:
            return self.s_assign(depth)
        target = self.pick(targets)
        self.tag("arith")
        if kind == LIST:
            self.note_target(target)  # `l += other` extends the list in place
            return stmts(f"{target} += _0", self.expr(LIST))
        if kind == TENSOR:
            self.note_target(target)  # `x += y` is an in-place add on the tensor
            self.tag("tensor_op")
        op = self.pick(["+=", "-=", "*="]) if kind != STR else "+="
        value_kind = kind if kind != TENSOR else self.pick([INT, FLOAT, TENSOR])
        return stmts(f"{target} {op} _0", self.expr(value_kind))

    def s_if(self, depth):
        self.tag("if")
        cond = self.expr(BOOL)
        then = self.block(depth)
        if self.choice(2):
            return stmts("if _0:\n    BODY0\nelse:\n    BODY1", cond, bodies=(then, self.block(depth)))
        return stmts("if _0:\n    BODY0", cond, bodies=(then,))

    def _loop_body(self, depth, var=None, kind=INT):
        self.loop_depth += 1
        self.push()
        if var:
            self.scope[var] = kind
        body = self.block(depth)
        if self.choice(2):  # loops often leave early: make break/continue common enough to cover
            body = self.s_loop_exit(depth) + body
        self.pop()
        self.loop_depth -= 1
        return body

    def s_for_range(self, depth):
        self.tag("for")
        var = self.fresh("i")
        bound = self.expr(INT)
        return stmts(f"for {var} in range(min(abs(_0), 4)):\n    BODY0", bound, bodies=(self._loop_body(depth, var),))

    def s_for_items(self, depth):
        self.tag("for")
        if self.choice(2):
            var = self.fresh("i")
            return stmts(f"for {var} in _0[:6]:\n    BODY0", self.expr(LIST), bodies=(self._loop_body(depth, var),))
        self.tag("unpacking", "container_methods")
        key, value = self.fresh("k"), self.fresh("i")
        source = self.expr(DICT)
        self.loop_depth += 1
        self.push()
        self.scope[key], self.scope[value] = STR, INT
        body = self.block(depth)
        self.pop()
        self.loop_depth -= 1
        return stmts(f"for {key}, {value} in list(_0.items()):\n    BODY0", source, bodies=(body,))

    def s_while(self, depth):
        self.tag("while")
        counter = self.fresh("w")  # not in scope: the body cannot rebind it
        cond = self.expr(BOOL)
        body = self._loop_body(depth)
        return stmts(f"{counter} = 0\nwhile {counter} < 4 and _0:\n    {counter} += 1\n    BODY0", cond, bodies=(body,))

    def s_loop_exit(self, depth):
        if not self.loop_depth:
            return self.s_assign(depth)
        word = self.pick(["break", "continue"])
        self.tag(word, "if")
        return stmts(f"if _0:\n    {word}", self.expr(BOOL))

    def s_container(self, depth):
        self.tag("container_methods")
        if self.choice(2):
            targets = self.writable(LIST) + ["G_L"]
            target = self.pick(targets)
            self.note_target(target)
            template = self.pick([
                "T.append(_0)", "T.extend(_1)", "T.insert(_0, _0)", "if T:\n    T.pop()", "T.sort()", "T.reverse()",
                "T[_0] = _0", "if T:\n    del T[0]", "T.clear()", "T.remove(_0)",
            ])
            return stmts(template.replace("T", target), self.expr(INT), self.expr(LIST))
        targets = self.writable(DICT) + ["G_D"]
        target = self.pick(targets)
        self.note_target(target)
        templates = ["T[_1] = _0", "T.pop(_1, None)", "T.update(_2)", "T.setdefault(_1, _0)", "del T[_1]", "T |= _2"]
        if target in GLOBALS:  # `G_D |= ...` would make G_D a local of fn
            templates[-1] = "T.update(_2)"
        template = self.pick(templates)
        return stmts(template.replace("T", target), self.expr(INT), const(self.pick(KEYS)), self.expr(DICT))

    def s_unpack(self, depth):
        self.tag("unpacking")
        pick = self.choice(4)
        a, b = self.fresh("v"), self.fresh("v")
        if pick == 0:
            kinds = (self.pick([INT, STR, TENSOR, FLOAT]), self.pick([INT, LIST, BOOL]))
            values = (self.expr(kinds[0]), self.expr(kinds[1]))
            self.scope[a], self.scope[b] = kinds
            return stmts(f"{a}, {b} = _0, _1", *values)
        if pick == 1:
            value = self.expr(LIST)
            self.scope[a], self.scope[b] = INT, LIST
            return stmts(f"{a}, *{b} = _0 + [0]", value)
        if pick == 2:
            value, divisor = self.expr(INT), self.expr(INT)
            self.scope[a], self.scope[b] = INT, INT
            return stmts(f"{a}, {b} = divmod(_0, abs(_1) + 1)", value, divisor)
        ints = self.writable(INT)
        if len(ints) < 2:
            return self.s_unpack_star_call()
        x, y = self.pick(ints), self.pick(ints)
        return stmts(f"{x}, {y} = {y}, {x}")

    def s_unpack_star_call(self):
        var = self.fresh("v")
        value = self.expr(LIST)
        self.scope[var] = INT
        return stmts(f"{var} = max(*_0, 0)", value)

    def s_closure(self, depth):
        self.tag("closure")
        fname, var, param = self.fresh("f"), self.fresh("v"), self.fresh("p")
        self.push()
        self.scope[param] = INT
        saved, self.loop_depth = self.loop_depth, 0
        result = self.expr(INT)
        self.loop_depth = saved
        self.pop()
        arg = self.expr(INT)
        self.scope[var] = INT
        return stmts(f"def {fname}({param}, scale=2):\n    return _0 * scale\n{var} = {fname}(_1)", result, arg)

    def s_nonlocal(self, depth):
        targets = [n for n in self.writable(INT) if n not in self.params]
        if not targets:
            return self.s_closure(depth)
        self.tag("closure")
        target, fname, var = self.pick(targets), self.fresh("f"), self.fresh("v")
        step = self.expr(INT)
        self.scope[var] = INT
        return stmts(f"def {fname}():\n    nonlocal {target}\n    {target} = {target} + _0\n    return {target}\n"
                     f"{var} = {fname}()", step)

    def s_box(self, depth):
        self.tag("class")
        boxes = self.names_of(BOX)
        if not boxes:
            var = self.fresh("o")
            value = self.expr(INT)
            self.scope[var] = BOX
            if self.choice(2):
                return stmts(f"{var} = Box(_0)", value)
            self.tag("attr_write")
            return stmts(f"{var} = Box(_0)\n{var}.v = {var}.v * 2", value)
        box = self.pick(boxes)
        self.tag("attr_write")
        if self.choice(2):
            return stmts(f"{box}.v = _0", self.expr(INT))
        var = self.fresh("v")
        value = self.expr(INT)
        self.scope[var] = INT
        return stmts(f"{var} = {box}.bump(_0)", value)

    def s_try(self, depth):
        self.tag("try")
        self.push()
        var = self.fresh("v")
        risky = self.pick(["_0[_1]", "_2[_3]", "_1 // _1", "int(_4)"])
        risky_stmt = stmts(f"{var} = {risky}", self.expr(LIST), self.expr(INT), self.expr(DICT),
                           const(self.pick(KEYS + ("z",))), self.expr(STR))
        self.scope[var] = INT
        body = risky_stmt + self.block(depth, 2)
        self.pop()
        err, message = self.fresh("e"), self.fresh("v")
        self.push()
        self.scope[message] = STR
        handler = stmts(f"{message} = type({err}).__name__ + str({err})") + self.block(depth, 2)
        self.pop()
        final = self.block(depth, 2) if self.choice(2) else []
        if final:
            return stmts(f"try:\n    BODY0\nexcept (IndexError, KeyError, ZeroDivisionError, ValueError) as {err}:\n"
                         "    BODY1\nfinally:\n    BODY2", bodies=(body, handler, final))
        return stmts(f"try:\n    BODY0\nexcept (IndexError, KeyError, ZeroDivisionError, ValueError) as {err}:\n"
                     "    BODY1\nelse:\n    BODY2", bodies=(body, handler, self.block(depth, 2)))

    def s_with(self, depth):
        self.tag("with")
        pick = self.choice(3)
        if pick == 0:
            self.tag("tensor_op")
            return stmts("with torch.no_grad():\n    BODY0", bodies=(self.block(depth),))
        var = self.fresh("v")
        tag_value = self.expr(INT)
        self.push()
        self.scope[var] = INT
        body = self.block(depth)
        if pick == 2:  # a context manager that swallows what the body raises
            self.tag("raise")
            body = body + stmts("if _0:\n    raise ValueError('in with')", self.expr(BOOL))
        self.pop()
        swallow = "True" if pick == 2 else "False"
        return stmts(f"with Ctx(_0, {swallow}) as {var}:\n    BODY0", tag_value, bodies=(body,))

    def s_tensor_inplace(self, depth):
        targets = self.writable(TENSOR)
        if not targets:
            return self.s_assign(depth)
        self.tag("tensor_op")
        target = self.pick(targets)
        self.note_target(target)
        template = self.pick(["T.add_(_0)", "T.mul_(_1)", "T.zero_()", "T.clamp_(min=_0)", "T[...] = _1"])
        return stmts(template.replace("T", target), self.expr(INT), self.expr(FLOAT))

    def s_global(self, depth):
        self.tag("mutate_global")
        pick = self.choice(3)
        if pick == 0:
            self.writes_global_name = True
            return stmts("G_N = G_N + _0", self.expr(INT))
        if pick == 1:
            return stmts("G_L.append(_0)", self.expr(INT))
        return stmts("G_D[_1] = _0", self.expr(INT), const(self.pick(KEYS)))

    def s_early_return(self, depth):
        self.tag("if")
        return stmts("if _0:\n    return _1", self.expr(BOOL), self.result_tuple())

    def s_raise(self, depth):
        self.tag("raise", "if")
        return stmts("if _0:\n    raise ValueError(_1)", self.expr(BOOL), self.expr(STR))

    # -- the function --------------------------------------------------------------------------
    def function(self, fn_name: str, n_statements: int) -> ast.FunctionDef:
        body = []
        for _ in range(n_statements):
            body += self.stmt(0)
        for _ in range(self.choice(3) if self.names_of(TENSOR) else 0):  # tensor work that reaches the result
            var = self.fresh("t")
            body += stmts(f"{var} = _0", self.expr(TENSOR))
            self.scope[var] = TENSOR
        body += stmts("return _0", self.result_tuple())
        if self.writes_global_name:
            body = [ast.Global(["G_N"])] + body
        args = ast.arguments([], [ast.arg(p) for p in sorted(self.params, key=_param_order)], None, [], [], None, [])
        return ast.FunctionDef(fn_name, args, body, [], None, None)


def _param_order(param: str) -> int:
    return int(param[1:])


__all__ = ["StmtGen", "CONSTRUCTS", "GLOBALS", "BOOL", "BOX", "DICT", "FLOAT", "INT", "LIST", "STR", "TENSOR"]
