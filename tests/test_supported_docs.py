"""docs/supported.md against the code: the opcode registry, the generated table, and what a stop looks like.

(a) every 3.11 opcode is handled or listed as unsupported with a reason, never both;
(b) the opcode table in docs/supported.md is exactly `render_opcode_table()`;
(c) reaching an unsupported opcode stops the capture with that opcode's reason, and the
    traced function still gives eager's answer (or raises eager's exception);
(d) a sample of rows of the constructs tables (captured, or the break kind the doc names).
"""
import os

os.environ["SNAPTRACE_STRICT"] = "1"  # tracer bugs raise instead of falling back; set before importing tracer

import dis  # noqa: E402
import math  # noqa: E402
import pathlib  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

import tracer  # noqa: E402
from tracer import trace  # noqa: E402
from tracer.registry import HANDLERS, UNSUPPORTED  # noqa: E402
from tools.supported_table import BEGIN, END, opcode_rows, render_opcode_table, table_in  # noqa: E402
from core.outcomes import BreakKind  # noqa: E402

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "supported.md"


# -- (a) the registry covers dis.opmap ------------------------------------------------------------

@pytest.mark.parametrize("opname", sorted(dis.opmap))
def test_every_opcode_is_handled_or_unsupported_with_a_reason(opname):
    handled, listed = opname in HANDLERS, opname in UNSUPPORTED
    assert handled != listed, f"{opname}: handled={handled}, listed as unsupported={listed}"
    if listed:
        assert isinstance(UNSUPPORTED[opname], str) and UNSUPPORTED[opname].strip()


def test_unsupported_lists_only_real_opcodes():
    assert sorted(set(UNSUPPORTED) - set(dis.opmap)) == []


def test_opcode_rows_follow_the_registry():
    rows = opcode_rows()
    assert [name for name, _, _ in rows] == sorted(dis.opmap)
    for name, status, note in rows:
        if status == "captured":
            assert name in HANDLERS and HANDLERS[name].__name__ in note
        else:
            assert status == "missing" and note == UNSUPPORTED[name]


# -- (b) the doc's table is the generated one -----------------------------------------------------

def test_docs_opcode_table_matches_registry():
    text = DOC.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert table_in(text) == render_opcode_table(), (
        "docs/supported.md is out of date: run `python -m tools.supported_table --write docs/supported.md`")


# -- (c) unsupported opcodes stop cleanly ---------------------------------------------------------

_GLOBAL_WRITTEN = 0


def stores_item(x):
    pair = [x, x]
    pair[0] = x + 1
    return pair


def formats(x):
    return x + 1, f"{x.shape[0]} rows"


def builds_set(x):
    return x, {x.shape[0], 1}


def imports(x):
    import math as m
    return x * m.pi


def star_unpacks(x):
    first, *rest = x.shape
    return x.sum(dim=0), first, rest



def calls_with_star(x):
    args = (x, 1)
    return torch.add(*args)


def defines_class(x):
    class Box:
        pass

    return x, Box.__name__


def handles_exception_groups(x):
    try:
        raise ExceptionGroup("group", [ValueError("inner")])
    except* ValueError:
        y = x + 1
    return y


def merges_dicts(x):
    return {**{"a": x}}


class _Holder:
    pass


_HOLDER = _Holder()


def stores_attr(x):
    _HOLDER.note = "seen"
    del _HOLDER.note
    return x * 2


UNSUPPORTED_CASES = [
    pytest.param(handles_exception_groups, "CHECK_EG_MATCH", id="except-star"),
]

# Opcodes that used to stop the capture and are now traced: each must give one graph or no graph
# (constants only) with no break, and eager's result.
NOW_CAPTURED_CASES = [
    pytest.param(stores_item, "STORE_SUBSCR", id="store-subscr"),
    pytest.param(stores_attr, "STORE_ATTR", id="store-attr"),
    pytest.param(imports, "IMPORT_NAME", id="import"),
    pytest.param(formats, "FORMAT_VALUE", id="f-string"),
    pytest.param(builds_set, "BUILD_SET", id="set"),
    pytest.param(star_unpacks, "UNPACK_EX", id="starred-unpack"),
    pytest.param(calls_with_star, "CALL_FUNCTION_EX", id="call-star-args"),
    pytest.param(merges_dicts, "DICT_UPDATE", id="dict-unpack"),
    pytest.param(defines_class, "LOAD_BUILD_CLASS", id="class"),
]


@pytest.mark.parametrize("fn, opname", NOW_CAPTURED_CASES)
def test_formerly_unsupported_opcode_is_captured(fn, opname):
    assert opname in {ins.opname for ins in dis.get_instructions(fn)}, f"{fn.__name__} does not use {opname}"
    assert opname in HANDLERS
    res = trace(fn, (torch.randn(3, 4),))
    assert res.graph_breaks == [], res.graph_breaks
    fresh = torch.randn(3, 4)
    _assert_same(_outcome(res, fresh), _outcome(fn, fresh.clone()))


def _outcome(fn, *args):
    """('ok', value) or ('raised', exception type, message)."""
    try:
        return "ok", fn(*args)
    except Exception as exc:  # the eager program's own exception
        return "raised", type(exc), str(exc)


def _assert_same(actual, expected):
    assert actual[0] == expected[0], f"traced {actual} but eager {expected}"
    if actual[0] == "raised":
        assert actual[1:] == expected[1:]
    else:
        _assert_same_value(actual[1], expected[1])


def _assert_same_value(actual, expected):
    """Same structure; tensors close; plain values equal; other objects of the same type."""
    assert type(actual) is type(expected), f"{type(actual).__name__} != {type(expected).__name__}"
    if isinstance(expected, torch.Tensor):
        torch.testing.assert_close(actual, expected)
    elif isinstance(expected, (tuple, list)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            _assert_same_value(a, e)
    elif isinstance(expected, dict):
        _assert_same_value(list(actual.items()), list(expected.items()))
    elif isinstance(expected, (int, float, str, bytes, type(None), torch.dtype, torch.device)):
        assert actual == expected


@pytest.mark.parametrize("fn, opname", UNSUPPORTED_CASES)
def test_unsupported_opcode_stops_and_runs_eagerly(fn, opname):
    assert opname in {ins.opname for ins in dis.get_instructions(fn)}, f"{fn.__name__} does not use {opname}"
    assert opname in UNSUPPORTED
    x = torch.randn(3, 4)
    res = trace(fn, (x,))
    assert len(res.graph_breaks) == 1, res.graph_breaks
    fresh = torch.randn(3, 4)
    _assert_same(_outcome(res, fresh), _outcome(fn, fresh.clone()))


REASON_CASES = UNSUPPORTED_CASES


@pytest.mark.parametrize("fn, opname", REASON_CASES)
def test_unsupported_opcode_break_carries_its_reason(fn, opname):
    res = trace(fn, (torch.randn(3, 4),))
    (brk,) = res.graph_breaks
    assert brk.kind is BreakKind.UNSUPPORTED_OPCODE
    assert brk.instruction == opname
    assert UNSUPPORTED[opname] in brk.reason
    assert brk.reason.startswith(opname)
    assert brk.filename == fn.__code__.co_filename and brk.lineno >= fn.__code__.co_firstlineno


# -- (d) rows of the constructs tables ------------------------------------------------------------

GLOBAL_WEIGHT = torch.randn(4)
GLOBAL_MODULE = torch.nn.Linear(4, 4)


def _helper(t):
    return t + 1


def _unpacks_tensor(x):
    a, b, c = x
    return a


def _inplace_operator(x):
    x += 1
    return x


CAPTURED = None
CONSTRUCT_CASES = [
    # (id, fn, extra inputs after x, expected break kind or CAPTURED)
    ("tensor-arithmetic", lambda x: (x * 2 + 1) @ x.T - x.mean(), (), CAPTURED),
    ("inplace-operator", _inplace_operator, (), CAPTURED),
    ("chained-compare-known", lambda x: 1 < x.shape[0] < 5, (), CAPTURED),
    ("compare-built-tuple", lambda x, n: x.shape == (n, 4), (3,), CAPTURED),
    ("not-tensor", lambda x: not x, (), BreakKind.DATA_DEPENDENT),
    ("is-none", lambda x, y: x if y is None else x + y, (None,), CAPTURED),
    ("in-constants", lambda x: (2 in [1, 2], "a" in ("a", "b"), 3 in range(5)), (), CAPTURED),
    ("in-tensor", lambda x: x in (x, 1), (), CAPTURED),
    ("branch-on-shape", lambda x: x + 1 if x.shape[0] > 2 else x - 1, (), CAPTURED),
    ("branch-on-values", lambda x: x + 1 if x.sum() > 0 else x - 1, (), BreakKind.DATA_DEPENDENT),
    ("displays", lambda x: ([x, 1], {"k": x + 1}, (*x.shape, *x.shape)), (), CAPTURED),
    ("starred-then-plain", lambda x: [*x.shape, 1], (), CAPTURED),
    ("dict-tensor-key", lambda x: {x: 1}, (), BreakKind.UNSUPPORTED_OPERATION),
    ("unpack-tensor", _unpacks_tensor, (), CAPTURED),
    ("iterate-tensor", lambda x: [row * 2 for row in x], (), CAPTURED),
    ("tensor-indexing", lambda x: (x[0, 1:3], x[:, None], x[..., -1]), (), CAPTURED),
    ("bool-mask", lambda x: x[x > 0], (), BreakKind.DATA_DEPENDENT),
    ("tuple-index-error", lambda x: (x, x)[5], (), CAPTURED),
    ("user-function", lambda x: _helper(x), (), CAPTURED),
    ("global-tensor", lambda x: x + GLOBAL_WEIGHT, (), CAPTURED),
    ("global-module", lambda x: GLOBAL_MODULE(x), (), CAPTURED),
    ("len-isinstance", lambda x, n: (len(x), isinstance(x, torch.Tensor), isinstance(n, (int, float))), (3,),
     CAPTURED),
    ("len-0d", lambda x: len(x.sum()), (), CAPTURED),
    ("abs-pow", lambda x: abs(x) + pow(x, 2), (), CAPTURED),
    ("pure-builtins-folded", lambda x: (x, max(1, 2), round(2.5), sum((1, 2)), divmod(7, 2)), (), CAPTURED),
    ("builtin-on-tensor", lambda x: max(x, 1), (), BreakKind.DATA_DEPENDENT),
    ("bool-tensor", lambda x: bool(x), (), BreakKind.DATA_DEPENDENT),
    ("sorted-returns-list", lambda x: sorted((3, 1)), (), CAPTURED),
    ("print", lambda x: print(x), (), BreakKind.UNSUPPORTED_CALL),
    ("zip-returned", lambda x: zip((1,), (2,)), (), BreakKind.UNSUPPORTED_VALUE),
    ("zip-consumed", lambda x: list(zip((1,), (x,))), (), CAPTURED),
    ("math-folded", lambda x: x * math.sqrt(4.0) * math.pi, (), CAPTURED),
    ("torch-namespaces", lambda x: (torch.nn.functional.gelu(x), torch.special.expit(x), torch.linalg.norm(x)),
     (), CAPTURED),
    ("metadata-folds", lambda x: (x.shape, x.dtype, x.size(0), x.dim(), torch.numel(x)), (), CAPTURED),
    ("manual-seed", lambda x: torch.manual_seed(0), (), BreakKind.UNSUPPORTED_CALL),
    ("graph-attributes", lambda x: (x.T, x.mT), (), CAPTURED),
    ("tensor-grad", lambda x: x.grad, (), BreakKind.UNSUPPORTED_OPERATION),
    ("inplace-method", lambda x: x.add_(1), (), CAPTURED),
    ("inplace-metadata", lambda x: (x + 1).t_(), (), BreakKind.TENSOR_MUTATION),
    ("out-keyword", lambda x: torch.add(x, 1, out=x), (), BreakKind.TENSOR_MUTATION),
    ("item", lambda x: x.sum().item(), (), BreakKind.DATA_DEPENDENT),
    ("nonzero", lambda x: x.nonzero(), (), BreakKind.DATA_DEPENDENT),
    ("fake-raises", lambda x: x @ x, (), BreakKind.PYTHON_EXCEPTION),
    ("no-grad-returned", lambda x: torch.no_grad(), (), BreakKind.UNSUPPORTED_VALUE),
    ("graph-break-marker", lambda x: (tracer.graph_break(), x)[1], (), BreakKind.USER_GRAPH_BREAK),
    ("list-argument", lambda x, items: x * items[0], ([2],), CAPTURED),
    ("module-argument", lambda x, m: m(x), (torch.nn.ReLU(),), CAPTURED),
    ("tuple-argument", lambda x, pair: x * pair[0] + pair[1], ((2, torch.ones(4)),), CAPTURED),
    ("return-method", lambda x: "a".upper, (), BreakKind.UNSUPPORTED_VALUE),
    ("return-named-tuple", lambda x: x.max(dim=0), (), CAPTURED),
]


def _construct_params():
    for name, fn, extra, expected in CONSTRUCT_CASES:
        yield pytest.param(fn, extra, expected, id=name)


@pytest.mark.parametrize("fn, extra, expected", list(_construct_params()))
def test_constructs_table_rows(fn, extra, expected):
    x = torch.randn(3, 4)
    res = trace(fn, (x, *extra))
    if expected is CAPTURED:
        assert res.graph_breaks == [], res.graph_breaks
    else:
        assert [brk.kind for brk in res.graph_breaks] == [expected], res.graph_breaks
    eager_x = x.clone()
    eager_extra = tuple(eager_x if item is x else item for item in extra)
    traced, eager = _outcome(res, x, *extra), _outcome(fn, eager_x, *eager_extra)
    _assert_same(traced, eager)


def test_substring_test_matches_eager():
    def fn(x, s):
        return x + 1 if "ab" in s else x - 1

    x = torch.zeros(2)
    res = trace(fn, (x, "xabc"))
    torch.testing.assert_close(res(x, "xabc"), fn(x, "xabc"))
