"""Random programs of set, list and dict operations, traced and compared with CPython.

Each seed builds a small function that changes one set (or one list and one
dict) step by step and records the contents after every step; the traced
function must give exactly eager's records, including set iteration order,
which depends on the whole history of the set (see vt/sets.py).
"""
import random

import pytest
import torch

from tracer import trace

SET_STEPS = [
    "s.add({v})", "s.discard({v})", "s.update({r})", "s.difference_update({r})", "s.intersection_update({r})",
    "s.symmetric_difference_update({small})", "s |= {{{v}, {w}}}", "s -= {{{v}}}", "s = s | {small}",
    "s = s - {small}", "s ^= {small}", "s = s.copy()", "s = s.union({r})",
    "if s: out.append(s.pop())", "if len(s) > 30: s.clear()",
]
LIST_STEPS = [
    "l.append({v})", "l.extend({seq})", "l.insert({i}, {v})", "if l: out.append(l.pop())", "l.reverse()",
    "if {v} in l: l.remove({v})", "l.sort()", "l.sort(key=abs, reverse=True)", "l[{i}:{j}] = {seq}",
    "del l[{i}:{j}:{k}]", "if -len(l) <= {i} < len(l): l[{i}] = {v}", "l += {seq}", "l *= {n}",
    "l = l + {seq}", "out.append(l.count({v}))", "out.append(l == {seq})", "out.append(l < {seq})",
    "d[{v}] = {w}", "d.pop({v}, None)", "d.setdefault({v}, {w})", "d |= {{{w}: {v}}}", "if d: d.popitem()",
    "out.append(list(d.items()))",
]


def _fill(step: str, rnd) -> str:
    start = rnd.randrange(0, 60)
    return step.format(
        v=rnd.randrange(-9, 70), w=rnd.randrange(-9, 70), i=rnd.randrange(-6, 6), j=rnd.randrange(-6, 6),
        k=rnd.choice([1, 2, -1, 3]), n=rnd.randrange(0, 3), r=f"range({start}, {start + rnd.randrange(0, 30)})",
        small="{%s}" % ", ".join(str(rnd.randrange(0, 80)) for _ in range(rnd.randrange(1, 5))),
        seq="[%s]" % ", ".join(str(rnd.randrange(-9, 9)) for _ in range(rnd.randrange(0, 4))))


def _program(seed: int, steps: list, start: str, record: str):
    rnd = random.Random(seed)
    lines = ["def fn(x):", "    out = []", f"    {start}"]
    for _ in range(rnd.randrange(1, 25)):
        lines += [f"    {_fill(rnd.choice(steps), rnd)}", f"    out.append({record})"]
    lines.append("    return out, x + 1")
    namespace = {}
    exec(compile("\n".join(lines), f"<program {seed}>", "exec"), namespace)
    return namespace["fn"], "\n".join(lines)


def _check(fn, source):
    x = torch.ones(1)
    res = trace(fn, (x,))
    assert res.graph_breaks == [], (res.graph_breaks, source)
    assert res(x)[0] == fn(x)[0], source


@pytest.mark.parametrize("seed", range(40))
def test_random_set_programs(seed):
    rnd = random.Random(-seed)
    start = "s = {%s}" % ", ".join(str(rnd.randrange(0, 50)) for _ in range(rnd.randrange(1, 6)))
    _check(*_program(seed, SET_STEPS, start, "tuple(s)"))


@pytest.mark.parametrize("seed", range(40))
def test_random_list_and_dict_programs(seed):
    _check(*_program(seed, LIST_STEPS, "l, d = [3, -1, 2], {}", "(list(l), list(d.items()))"))
