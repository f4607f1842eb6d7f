"""The entry of a capture whose traced function raised: graph, effects, then the same exception.

A function that ends by raising is captured like one that returns: the value
the graph entry rebuilds is a *payload* holding everything about the exception
that is only known at run time (its args and attributes, for the exception and
every exception chained to it through `__cause__` and `__context__`), while the
classes and the shape of the chain are fixed by the trace and kept in a
recipe.  The entry runs the compiled graph, replays the effects, builds the
payload, then builds the exceptions from recipe + payload and raises, so the
caller sees eager's exception after eager's side effects.
"""
from __future__ import annotations

import attrs

from effects import heap
from graph.codegen import MISS
from vt.callables.exceptions import build_real
from vt.data.lists import TupleVariable


@attrs.frozen
class ExceptionRecipe:
    """How to rebuild one exception of the chain from its payload entry."""

    cls: type
    attribute_names: tuple
    kwarg_names: tuple
    cause: int | None  # index into the chain, None for no cause
    context: int | None
    suppress_context: bool


def _chain(state, exc) -> list:
    """Every exception reachable from `exc` through cause and context links, `exc` first."""
    order, seen, pending = [], set(), [exc]
    while pending:
        link = pending.pop(0)
        if link is None or link.oid in seen:
            continue
        seen.add(link.oid)
        current = heap.current(state, link)
        order.append(current)
        pending += [current.cause, current.context]
    return order


def payload_and_recipes(state, exc):
    """(payload VT, recipes): the run-time values of the chain as one tuple, and how to rebuild it."""
    chain = _chain(state, exc)
    position = {item.oid: index for index, item in enumerate(chain)}
    recipes, payload = [], []
    for item in chain:
        names = tuple(item.attributes.keys())
        recipes.append(ExceptionRecipe(item.cls, names, tuple(key for key, _ in item.kwargs),
                                       None if item.cause is None else position[item.cause.oid],
                                       None if item.context is None else position[item.context.oid],
                                       item.suppress_context))
        payload.append(TupleVariable((TupleVariable(tuple(item.args)),
                                      TupleVariable(tuple(item.attributes[name] for name in names)),
                                      TupleVariable(tuple(value for _, value in item.kwargs)))))
    return TupleVariable(tuple(payload)), tuple(recipes)


def build_exceptions(recipes: tuple, payload: tuple) -> BaseException:
    """The real exception chain from recipes and the payload the entry rebuilt; the first is raised."""
    made = [build_real(recipe.cls, args, dict(zip(recipe.kwarg_names, kwargs)),
                       dict(zip(recipe.attribute_names, attributes)))
            for recipe, (args, attributes, kwargs) in zip(recipes, payload)]
    for recipe, exc in zip(recipes, made):
        exc.__cause__ = None if recipe.cause is None else made[recipe.cause]
        exc.__context__ = None if recipe.context is None else made[recipe.context]
        exc.__suppress_context__ = recipe.suppress_context
    return made[0]


def raising_capture(fn, state, exc, graph_capture):
    """A capture for a traced function that raised `exc`: `graph_capture(fn, state, value)` builds
    the entry returning the payload; the returned capture's entry raises the exception instead."""
    payload, recipes = payload_and_recipes(state, exc)
    captured = graph_capture(fn, state, payload)
    if captured.graph_breaks:  # could not rebuild the payload: the eager entry raises by itself
        return captured
    entry = captured.entry

    def raising_entry(*args, **kwargs):
        out = entry(*args, **kwargs)
        if out is MISS:
            return out
        raise build_exceptions(recipes, out)

    raising_entry.__name__ = raising_entry.__qualname__ = fn.__qualname__
    raising_entry.__snaptrace_check__ = getattr(entry, "__snaptrace_check__", None)  # for `why` in the logs
    return attrs.evolve(captured, entry=raising_entry)
