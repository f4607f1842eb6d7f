"""The data model's strict corners, as CPython runs them: a dunder set to None blocks the
operation, results of __bool__, __len__, __str__, __repr__, __hash__ are type-checked, rich
comparisons call the slots in CPython's order and number, a `__setattr__` assigned after the class
was made is used, next() on an object with __next__, a generator's final run is kept, error
messages name Python types (vt/objects/object_protocol.py, vt/objects/object_attributes.py)."""
import pytest

from helpers import assert_same_outcome


def _outcome_of(make, operation):
    def f():
        try:
            return operation(make())
        except (TypeError, ValueError, OverflowError) as exc:
            return type(exc).__name__, str(exc)
    return f


class _BoolNone:
    __bool__ = None


class _IaddNone:
    __iadd__ = None

    def __add__(self, other):
        return "added"


class _HashNone:
    __hash__ = None


def _iadd(x):
    x += 1
    return x


@pytest.mark.parametrize("make, operation", [(_BoolNone, bool), (_IaddNone, _iadd), (_HashNone, hash),
                                             (_BoolNone, lambda x: not x)])
def test_dunder_set_to_none_blocks_the_operation(make, operation):
    assert_same_outcome(_outcome_of(make, operation))


class _Bad:
    def __init__(self, value):
        self.value = value

    def __bool__(self):
        return self.value

    def __len__(self):
        return self.value

    def __str__(self):
        return self.value

    def __repr__(self):
        return self.value

    def __hash__(self):
        return self.value


@pytest.mark.parametrize("value", [None, 1, -1, 2 ** 70, "s", 1.5, True])
@pytest.mark.parametrize("operation", [bool, len, str, repr, hash])
def test_results_of_dunders_are_type_checked(value, operation):
    assert_same_outcome(_outcome_of(lambda: _Bad(value), operation))


class _LenOnly:
    def __init__(self, value):
        self.value = value

    def __len__(self):
        return self.value


def test_truth_through_len_tests_its_result_as_is():
    assert_same_outcome(_outcome_of(lambda: _LenOnly("text"), bool))
    assert_same_outcome(_outcome_of(lambda: _LenOnly(0), bool))


_calls = []


class _Eq:
    def __eq__(self, other):
        _calls.append(("eq", type(self).__name__))
        return NotImplemented


class _NeSub(_Eq):
    def __ne__(self, other):
        _calls.append(("ne", type(self).__name__))
        return NotImplemented


class _Lt:
    def __lt__(self, other):
        _calls.append(("lt", type(self).__name__))
        return NotImplemented


@pytest.mark.parametrize("expression", ["a != b", "b != a", "a == b", "b == a", "a < c", "c > a", "a < b"])
def test_rich_comparisons_call_the_slots_in_order(expression):
    def f():
        _calls.clear()
        a, b, c = _Eq(), _NeSub(), _Lt()
        try:
            result = eval(expression, {"a": a, "b": b, "c": c})
        except TypeError as exc:
            result = str(exc)
        return result, list(_calls)

    assert_same_outcome(f)


class _Late:
    pass


def test_setattr_assigned_after_the_class_was_made():
    def f():
        def setter(self, name, value):
            object.__setattr__(self, name, value * 2)
        _Late.__setattr__ = setter
        o = _Late()
        o.x = 2
        del _Late.__setattr__
        o.y = 2
        return o.x, o.y

    assert_same_outcome(f)


class _Iterator:
    def __init__(self):
        self.n = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.n += 1
        if self.n > 2:
            raise StopIteration
        return self.n


def test_next_on_an_object_with_next():
    assert_same_outcome(lambda: (lambda it: (next(it), next(it), next(it, "end")))(_Iterator()))
    assert_same_outcome(lambda: next(_Bad(1)))


_log = []


def _gen():
    yield 1
    _log.append("final run")


def test_the_final_run_of_a_generator_is_kept():
    def f():
        _log.clear()
        out = list(_gen()) + [x for x in _gen()]
        for _ in _gen():
            pass
        return out, list(_log)

    assert_same_outcome(f)


def test_messages_name_python_types():
    def f(obj):
        out = []
        for operation in (iter, len, lambda x: x[0], lambda x: -x, lambda x: x()):
            try:
                operation(obj)
            except TypeError as exc:
                out.append(str(exc))
        return out

    assert_same_outcome(f, lambda: (_Late(),))


class _Bare:
    pass


class _Sized:
    def __len__(self):
        return 1


@pytest.mark.parametrize("make", [_Bare, _Sized], ids=["bare", "sized"])
@pytest.mark.parametrize("operation", [
    lambda o: o[0], lambda o: o(), lambda o: list(o), lambda o: -o, lambda o: o + 1, lambda o: 1 + o,
    lambda o: o < 1, lambda o: len(o), lambda o: o.nope, lambda o: hash([o]), lambda o: 1 in o, lambda o: next(o),
    lambda o: int(o), lambda o: [1][o], lambda o: [*o], lambda o: dict(**o), lambda o: abs(o), lambda o: getattr(o, 5),
    lambda o: o.__delattr__("zz"),
], ids=["subscript", "call", "iterate", "negate", "add", "radd", "order", "len", "attribute", "hash-of-list", "in",
        "next", "int", "index", "star", "double-star", "abs", "getattr-int", "delattr"])
def test_errors_on_objects_carry_eagers_type_and_text_never_the_tracers_class_names(make, operation):
    def fn(o):
        return operation(o)

    traced = assert_same_outcome(fn, lambda: (make(),))
    for capture in traced.captures:
        assert not any("Variable" in b.reason for b in capture.graph_breaks)


def test_the_tracer_never_runs_an_objects_hash_or_eq_to_look_it_up():
    """Looking a value up in the trace-rules table (`allow_in_graph`, `disable` marks) must not call
    its class's Python __hash__ / __eq__ (Lib/test's test_class logs every dunder call, and a log that
    grew while being read made those tests run forever)."""
    import torch
    from tracer import compile

    calls = []

    class Hashy:
        def __hash__(self):
            calls.append("hash")
            return 1

        def __eq__(self, other):
            calls.append("eq")
            return self is other

        def method(self):
            return 2

    def fn(x, obj):
        return x + obj.method(), obj is obj

    traced = compile(fn)
    for _ in range(2):
        out = traced(torch.ones(1), Hashy())
        assert out[1] is True and float(out[0]) == 3.0
    assert calls == []
