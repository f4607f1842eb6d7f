"""Guards: what makes a capture reusable, what forces a recapture, and the recapture limit."""
import builtins
import math
import re
import warnings

import pytest
import torch

from tracer import RecaptureLimitWarning, compile, trace


def t(*shape, **kw):
    return torch.randn(*shape, **kw)


def check(res, fn, *args):
    """res(*args) equals fn(*args); returns the traced result."""
    out = res(*args)
    expected = fn(*args)
    if isinstance(expected, torch.Tensor):
        torch.testing.assert_close(out, expected, equal_nan=True)
    else:
        assert out == expected and type(out) is type(expected)
    return out


def tensor_fn(x, y):
    return x * 2 + y


def test_same_shapes_and_dtypes_hit_the_cache():
    res = compile(tensor_fn)
    for _ in range(3):
        check(res, tensor_fn, t(2, 3), t(2, 3))
    assert len(res.captures) == 1
    assert len(res.graphs) == 1


def test_broadcasting_shapes_are_guarded_separately():
    res = compile(tensor_fn)
    check(res, tensor_fn, t(2, 3), t(3))
    check(res, tensor_fn, t(2, 3), t(2, 3))
    check(res, tensor_fn, t(2, 3), t(3))
    assert len(res.captures) == 2


@pytest.mark.parametrize("second", [
    lambda: (t(4, 3), t(4, 3)),                                   # new shape
    lambda: (t(2, 3, dtype=torch.float64), t(2, 3)),              # new dtype
    lambda: (t(2, 3).requires_grad_(), t(2, 3)),                  # requires_grad
    lambda: (t(3, 2).t(), t(2, 3)),                               # same shape, other strides
    lambda: (torch.nn.Parameter(t(2, 3)), t(2, 3)),               # tensor subclass
    lambda: (t(7)[1:].view(2, 3), t(2, 3)),                       # storage offset
    lambda: (t(2, 3), t(2, 3)[None]),                             # rank
    lambda: (t(2, 3), t(2, 3).to_sparse()),                       # layout
])
def test_tensor_property_change_recaptures(second):
    res = compile(tensor_fn)
    check(res, tensor_fn, t(2, 3), t(2, 3))
    args = second()
    out = res(*args)
    torch.testing.assert_close(out, tensor_fn(*args))
    assert out.requires_grad == tensor_fn(*args).requires_grad
    assert len(res.captures) == 2
    check(res, tensor_fn, t(2, 3), t(2, 3))  # the first capture still serves the first kind
    assert len(res.captures) == 2


def scalar_fn(x, s):
    if s is None:
        return x
    return x * s


@pytest.mark.parametrize("first, other", [
    (2, 3),          # int value
    (2.0, 2.5),      # float value
    (2, 2.0),        # int vs float of equal value
    (1, True),       # int vs bool of equal value
    (None, 3),       # None vs a value
    (3, None),       # a value vs None
    (float("nan"), 1.0),
])
def test_scalar_value_change_recaptures(first, other):
    res = compile(scalar_fn)
    x = t(3)
    check(res, scalar_fn, x, first)
    check(res, scalar_fn, x, first)
    assert len(res.captures) == 1
    check(res, scalar_fn, x, other)
    assert len(res.captures) == 2
    check(res, scalar_fn, x, first)
    assert len(res.captures) == 2


def test_nan_guard_matches_nan():
    res = compile(scalar_fn)
    x = t(2)
    check(res, scalar_fn, x, float("nan"))
    res(x, float("nan"))
    assert len(res.captures) == 1


def str_fn(x, mode):
    return x.relu() if mode == "relu" else x.tanh()


def test_string_value_change_recaptures():
    res = compile(str_fn)
    x = t(3)
    check(res, str_fn, x, "relu")
    check(res, str_fn, x, "relu")
    assert len(res.captures) == 1
    check(res, str_fn, x, "tanh")
    assert len(res.captures) == 2
    assert [n.target for gm in res.graphs for n in gm.graph.nodes if n.op == "call_method"] == ["relu", "tanh"]


def test_negative_zero_is_not_reused_for_positive_zero():
    def fn(a):
        return math.copysign(1.0, a)

    res = compile(fn)
    check(res, fn, 0.0)
    check(res, fn, -0.0)


def test_tuple_constant_item_types_are_guarded():
    def fn(pair):
        return pair[0] // 1

    res = compile(fn)
    check(res, fn, (2, 3))
    check(res, fn, (2.0, 3))
    check(res, fn, (True, 3))


def test_is_between_equal_constants_that_are_distinct_objects():
    def fn(a, b):
        return a is b

    first, second = float("1.5"), float("1.5")
    res = compile(fn)
    check(res, fn, first, second)
    check(res, fn, first, first)


def test_grad_mode_is_guarded():
    res = compile(tensor_fn)
    x, y = t(2, requires_grad=True), t(2)
    assert res(x, y).requires_grad
    with torch.no_grad():
        out = res(x, y)
    assert not out.requires_grad
    assert len(res.captures) == 2


def test_default_dtype_is_guarded():
    def fn(x):
        return x + torch.ones(2)

    res = compile(fn)
    x = t(2, dtype=torch.float64)
    check(res, fn, x)
    old = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)
        out = check(res, fn, x)
        assert out.dtype == torch.float64
    finally:
        torch.set_default_dtype(old)
    assert len(res.captures) == 2


def test_storage_offset_folded_at_capture_is_guarded():
    def fn(x):
        return x.storage_offset()

    base = t(5)
    res = compile(fn)
    check(res, fn, base[0:3])
    check(res, fn, base[1:4])


def test_is_leaf_folded_at_capture_is_guarded():
    def fn(x):
        return x.is_leaf

    res = compile(fn)
    check(res, fn, t(3, requires_grad=True))
    check(res, fn, t(3, requires_grad=True) * 2)


def test_a_leaf_and_a_non_leaf_that_both_require_grad_are_told_apart():
    res = compile(tensor_fn)
    leaf = t(2, 3, requires_grad=True)
    check(res, tensor_fn, leaf, t(2, 3))
    check(res, tensor_fn, leaf * 2, t(2, 3))
    assert len(res.captures) == 2


def test_global_torch_settings_read_while_tracing_are_guarded():
    def fn(x):
        return x + torch.are_deterministic_algorithms_enabled()

    res = compile(fn)
    x = torch.zeros(2)
    check(res, fn, x)
    old = torch.are_deterministic_algorithms_enabled()
    try:
        torch.use_deterministic_algorithms(not old)
        check(res, fn, x)
    finally:
        torch.use_deterministic_algorithms(old)


def test_each_guard_has_a_readable_str():
    def fn(x, n, s, flag, opt, pair):
        if flag and opt is None:
            return x * n + len(s) + pair[0]
        return x

    res = trace(fn, (t(2, 3), 4, "ab", True, None, (1.5, "z")))
    text = [str(g) for g in res.guards]
    assert len(text) == len(res.guards) >= 6
    for line in text:
        assert line and "\n" not in line
        assert "object at 0x" not in line and "<" not in line, line
    joined = "\n".join(text)
    assert re.search(r"^x: Tensor\(dtype=torch.float32, device=cpu, shape=\(2, 3\)", joined, re.M)
    assert "requires_grad=False" in joined
    assert "n: int == 4" in text
    assert "s: str == 'ab'" in text
    assert any(line.startswith("flag") and "True" in line for line in text)
    assert any(line.startswith("opt") and "None" in line for line in text)
    assert any(line.startswith("pair") for line in text)
    assert any("grad" in line and "dtype" in line for line in text)  # the global-state guard


def test_guard_source_is_python_that_mentions_every_argument_read():
    def fn(x, n):
        return x + n

    res = trace(fn, (t(2), 1))
    (capture,) = res.captures
    assert capture.guard_source.startswith("def ")
    builtins.compile(capture.guard_source, "<guards>", "exec")  # valid Python
    assert "x" in capture.guard_source and "n" in capture.guard_source


def test_unread_argument_has_no_guard_and_never_recaptures():
    def fn(x, ignored):
        return x + 1

    res = compile(fn)
    x = t(2)
    for value in (1, "a", None, t(5), [1]):
        check(res, fn, x, value)
    assert len(res.captures) == 1


def test_recapture_limit():
    def fn(x, n):
        return x + n

    res = compile(fn, dynamic=False)  # every int its own capture
    x = t(3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(9):
            check(res, fn, x, n)
        assert len(res.captures) == 8
        limit = [w for w in caught if issubclass(w.category, RecaptureLimitWarning)]
        assert len(limit) == 1
        assert "fn" in str(limit[0].message) and "8" in str(limit[0].message)
        for n in range(9, 14):  # further misses run eagerly, without another warning
            check(res, fn, x, n)
        for n in range(8):  # captured values still hit their captures
            check(res, fn, x, n)
    assert len([w for w in caught if issubclass(w.category, RecaptureLimitWarning)]) == 1
    assert len(res.captures) == 8


def test_recapture_limit_warning_points_at_the_caller():
    def fn(n):
        return n + 1

    res = compile(fn, dynamic=False)
    for n in range(8):
        res(n)
    with pytest.warns(RecaptureLimitWarning) as record:
        assert res(100) == 101
    assert record[0].filename == __file__


class _Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([torch.nn.Linear(3, 3) for _ in range(3)])
        self.scale = 2.0

    def forward(self, x, extra):
        for layer in self.layers:
            x = layer(x) * self.scale
        return x + extra["bias"]


def test_guards_read_each_shared_input_once_and_still_tell_every_change():
    block = _Block()
    res = compile(block)
    x, extra = t(2, 3), {"bias": t(3)}
    check(res, block, x, extra)
    check(res, block, x, extra)
    assert len(res.captures) == 1
    src = res.captures[0].guard_source
    assert src.count(".layers") == 1  # the ModuleList is read into a local once, not per guard
    assert src.count("__snaptrace_s") > 3
    check(res, block, x, {"bias": t(3), "other": 1})  # keys differ: a later guard on a shared local fails
    assert len(res.captures) == 2
    block.layers[1] = torch.nn.Linear(3, 3)  # a child replaced: the guard through the shared local sees it
    check(res, block, x, extra)
    assert len(res.captures) == 3
    block.scale = 3.0
    check(res, block, x, extra)
    assert len(res.captures) == 4
    del block.layers  # reading the shared local raises: a miss, not an error
    with pytest.raises(AttributeError):
        res(x, extra)


def test_input_containers_of_a_kind_are_checked_distinct_in_one_guard():
    """Three input lists and two input dicts: the heap models them as five objects, so one call
    passing one list twice (and writing through it) recaptures; each kind is one AllDistinct guard
    (core/guards.py distinct_groups), not a guard per pair."""
    from core.identity_guards import AllDistinct, DistinctObjects

    def fn(a, b, c, d, e, x):
        a.append(x)
        d["k"] = x + 1
        return x + len(a) + len(b) + len(c) + len(d) + len(e)

    res = compile(fn)
    lists, dicts = ([1], [2], [3]), ({}, {})
    def fresh():
        return [list(v) for v in lists] + [dict(v) for v in dicts] + [torch.ones(2)]

    torch.testing.assert_close(res(*fresh()), fn(*fresh()))
    guards = res.captures[0].guards
    assert not any(type(g) is DistinctObjects for g in guards)
    assert sorted((g.kind, len(g.sources)) for g in guards if type(g) is AllDistinct) == [
        ("DictVariable", 2), ("ListVariable", 3)]
    shared, other = [1], {}
    mine, theirs = [shared, shared, [3], other, {}], [[1], [1], [3], {}, {}]
    theirs[1] = theirs[0]
    out = res(*mine, torch.ones(2))
    torch.testing.assert_close(out, fn(*theirs, torch.ones(2)))
    assert len(mine[0]) == len(theirs[0]) == 2 and len(res.captures) == 2
    shared_dict = {}
    mine, theirs = [[1], [2], [3], shared_dict, shared_dict], [[1], [2], [3], {}, {}]
    theirs[4] = theirs[3]
    torch.testing.assert_close(res(*mine, torch.ones(2)), fn(*theirs, torch.ones(2)))
    assert list(mine[3]) == list(theirs[3]) == ["k"] and len(res.captures) == 3


def test_distinct_inputs_naming_one_object_are_one_group():
    """Two DistinctInputs for one object (reached first through different sources in two
    speculations) are one group: the joined guard asks them to stay one object."""
    from core.identity_guards import AllDistinct, DistinctInput, distinct_groups
    from core.sources import LocalSource

    a, b, c = LocalSource("a"), LocalSource("b"), LocalSource("c")
    joined = distinct_groups((DistinctInput(a, "ListVariable", 1), DistinctInput(b, "ListVariable", 1),
                              DistinctInput(c, "ListVariable", 2)))
    assert joined == (AllDistinct("ListVariable", (a, b, c), (1, 1, 2)),)
    shared = [0]
    scope = {}
    from core.guards import _Namespace
    ns = _Namespace(("a", "b", "c"))
    exec(f"def check(a, b, c):\n    return {joined[0].expr(ns)}", dict(ns.values, **{ns.g: {}, ns.b: vars(builtins)}), scope)
    assert scope["check"](shared, shared, [1]) and not scope["check"](shared, [0], [1])
    assert not scope["check"](shared, shared, shared)


def test_sources_on_a_base_compare_by_value_and_class():
    from core.sources import AttrSource, DictValueSource, ItemSource, LocalSource, TensorPropertySource

    def chain(name):
        return ItemSource(AttrSource(AttrSource(LocalSource("obj"), "__class__"), "__mro__"), 2), name

    (a, name), (b, _) = chain("f"), chain("f")
    assert AttrSource(a, name) == AttrSource(b, name) and not AttrSource(a, name) != AttrSource(b, name)
    assert hash(AttrSource(a, name)) == hash(AttrSource(b, name))
    assert AttrSource(a, "f") != AttrSource(b, "g") and ItemSource(a, 1) != ItemSource(b, 2)
    assert AttrSource(a, "f") != ItemSource(a, "f")  # another kind of read: never equal
    assert ItemSource(AttrSource(LocalSource("x"), "y"), 0) != ItemSource(AttrSource(LocalSource("z"), "y"), 0)
    assert DictValueSource(a, 0) == DictValueSource(b, 0) != DictValueSource(b, 1)
    assert TensorPropertySource(a, "size", 0) == TensorPropertySource(b, "size", 0) != TensorPropertySource(b, "stride", 0)
    assert len({AttrSource(a, "f"), AttrSource(b, "f"), AttrSource(a, "g")}) == 2
