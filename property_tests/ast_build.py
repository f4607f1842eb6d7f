"""Small helpers to build Python ASTs from templates.

A template is Python source whose placeholders are the names `_0`, `_1`, ...
(expressions) and statements `BODY0`, `BODY1`, ... (statement lists).  `expr`
and `stmts` parse the template once (cached per template text) and return a fresh
tree with the placeholders replaced, so generators read like the code they emit.
"""
from __future__ import annotations

import ast
import copy
import functools


@functools.lru_cache(maxsize=None)
def _parse_expr(template: str) -> ast.expr:
    return ast.parse(template, mode="eval").body


@functools.lru_cache(maxsize=None)
def _parse_stmts(template: str) -> tuple:
    return tuple(ast.parse(template).body)


class _Fill(ast.NodeTransformer):
    """Replace `_k` names by expressions and `BODYk` statements by statement lists."""

    def __init__(self, exprs, bodies):
        self.exprs = exprs
        self.bodies = bodies

    def visit_Name(self, node):
        if node.id.startswith("_") and node.id[1:].isdigit():
            replacement = copy.deepcopy(self.exprs[int(node.id[1:])])
            if isinstance(node.ctx, ast.Store):  # a placeholder used as an assignment target
                replacement = _as_store(replacement)
            return replacement
        return node

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Name) and node.value.id.startswith("BODY"):
            body = self.bodies[int(node.value.id[4:])]
            return [copy.deepcopy(statement) for statement in body] or [ast.Pass()]
        return self.generic_visit(node)


def _as_store(node):
    node = copy.deepcopy(node)
    for sub in ast.walk(node):
        if hasattr(sub, "ctx"):
            sub.ctx = ast.Store()
    return node


def expr(template: str, *parts) -> ast.expr:
    """The expression `template` with `_0`, `_1`, ... replaced by `parts`."""
    tree = copy.deepcopy(_parse_expr(template))
    return _Fill(parts, ()).visit(ast.Expression(tree)).body


def stmts(template: str, *parts, bodies=()) -> list:
    """The statements of `template` with expression and `BODYk` placeholders filled in."""
    module = ast.Module(body=[copy.deepcopy(node) for node in _parse_stmts(template)], type_ignores=[])
    return _Fill(parts, bodies).visit(module).body


def const(value) -> ast.expr:
    """A literal; negative numbers become unary minus, as the parser would write them."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and (value < 0 or str(value).startswith("-")):
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def name(identifier: str) -> ast.expr:
    return ast.Name(identifier, ast.Load())
