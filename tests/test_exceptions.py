"""Exceptions as values: raised, caught, chained and escaping, each compared with eager on fresh inputs.

None of these programs may cost a graph break: the exception is modelled, not run for real.
"""
import pytest
import torch

from helpers import assert_raises_like_eager, assert_same_as_eager, ops
from tracer import trace

LOG = []


def t(*shape):
    return torch.randn(*shape)


class AppError(Exception):
    pass


class CodedError(AppError):
    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


class ShoutingError(ValueError):
    def __init__(self, message):
        super().__init__(message.upper())


def failing_helper(x, items):
    items.append("helper ran")
    y = x * 2
    if y.dim() == 1:
        raise AppError("from the helper", 3)
    return y


def test_builtin_key_error_caught_in_the_same_function():
    def fn(x, d):
        try:
            y = d["missing"]
        except KeyError as e:
            y = x + len(e.args)
        return y

    res = assert_same_as_eager(fn, lambda: (t(3), {"a": 1}))
    assert res.graph_breaks == []


@pytest.mark.parametrize("body, caught", [
    ("[1, 2][5]", "IndexError"),
    ("1 / (len(x) - len(x))", "ZeroDivisionError"),
    ("'a' + 1", "TypeError"),
    ("int('nope')", "ValueError"),
    ("[].nope", "AttributeError"),
    ("next(iter([]))", "StopIteration"),
    ("{}.pop('k')", "KeyError"),
    ("[].pop()", "IndexError"),
    ("(1, 2).index(3)", "ValueError"),
], ids=["index", "zero-division", "type", "value", "attribute", "stop-iteration", "dict-pop", "list-pop",
        "tuple-index"])
def test_builtin_errors_caught_give_eager_type_and_message(body, caught):
    namespace = {}
    exec(f"def fn(x):\n"
         f"    try:\n"
         f"        {body}\n"
         f"    except {caught} as e:\n"
         f"        return x + 1, type(e).__name__, e.args, str(e)\n"
         f"    return x\n", namespace)
    res = assert_same_as_eager(namespace["fn"], lambda: (t(3),))
    assert res.graph_breaks == []


def test_raise_and_catch_by_tuple_of_classes_with_else_and_finally():
    def fn(x, log):
        try:
            log.append("try")
            raise ValueError("bad", 3)
        except (TypeError, ValueError) as e:
            log.append(("except", e.args))
            x = x * e.args[1]
        else:
            log.append("else")
        finally:
            log.append("finally")
        try:
            log.append("second try")
        except ValueError:
            log.append("never")
        else:
            log.append("else")
        return x

    res = assert_same_as_eager(fn, lambda: (t(3), []))
    assert len(ops(res.graphs[0])) == 1


def test_exception_raised_in_inlined_callee_is_caught_by_the_caller():
    def fn(x, items):
        try:
            return failing_helper(x, items)
        except AppError as e:
            items.append(e.args)
            return x - e.args[1]

    res = assert_same_as_eager(fn, lambda: (t(3), []))
    assert res.graph_breaks == []


def test_nested_try_finally_orders_effects_like_eager():
    def fn(x, log):
        try:
            try:
                try:
                    log.append(1)
                    x = x + 1
                    raise KeyError("k")
                finally:
                    log.append(2)
            except IndexError:
                log.append("wrong handler")
            finally:
                log.append(3)
        except KeyError as e:
            log.append(("caught", e.args))
        finally:
            log.append(4)
        return x

    assert_same_as_eager(fn, lambda: (t(3), []))


def test_bare_raise_reraises_the_handled_exception():
    def fn(x, log):
        try:
            try:
                raise ValueError("first")
            except ValueError:
                log.append("inner")
                raise
        except ValueError as e:
            return x + 1, e.args

    assert_same_as_eager(fn, lambda: (t(2), []))


def test_raise_from_sets_cause_and_context():
    def fn(x):
        try:
            try:
                {}["k"]
            except KeyError as e:
                raise ValueError("wrapped") from e
        except ValueError as e:
            return x, type(e.__cause__).__name__, e.__cause__.args, e.__context__ is e.__cause__, \
                e.__suppress_context__

    assert_same_as_eager(fn, lambda: (t(2),), graphs=0)


def test_implicit_context_and_from_none():
    def fn(x):
        try:
            try:
                [][0]
            except IndexError:
                raise TypeError("while handling")
        except TypeError as e:
            first = (e.args, type(e.__context__).__name__, e.__cause__, e.__suppress_context__)
        try:
            try:
                [][0]
            except IndexError:
                raise TypeError("quiet") from None
        except TypeError as e:
            second = (e.__cause__, e.__suppress_context__, type(e.__context__).__name__)
        return x, first, second

    assert_same_as_eager(fn, lambda: (t(2),), graphs=0)


def test_raising_a_class_instantiates_it():
    def fn(x):
        try:
            raise KeyError
        except LookupError as e:
            return x + 1, e.args, isinstance(e, KeyError), type(e) is KeyError

    assert_same_as_eager(fn, lambda: (t(2),))


def test_user_exception_classes_with_and_without_python_init():
    def fn(x):
        out = []
        try:
            raise AppError("plain", 1)
        except AppError as e:
            out.append((type(e).__name__, e.args, str(e)))
        try:
            raise CodedError("coded", 42)
        except AppError as e:  # caught through its base class
            out.append((type(e).__name__, e.args, e.code, str(e), repr(e)))
        try:
            raise ShoutingError("quiet")
        except ValueError as e:
            out.append((e.args, f"{e}"))
        return x * len(out), out

    res = assert_same_as_eager(fn, lambda: (t(2),))
    assert res.graph_breaks == []


def _unrewritten(source: str):
    """`fn` compiled here, so pytest's assert rewriting leaves its asserts alone."""
    namespace = {}
    exec(compile(source, __file__, "exec"), namespace)
    return namespace["fn"]


def test_assert_statement_passes_and_fails_like_eager():
    fn = _unrewritten("def fn(x, n):\n"
                      "    assert n > 0\n"
                      "    try:\n"
                      "        assert n > 10, f'n is only {n}'\n"
                      "    except AssertionError as e:\n"
                      "        return x + n, e.args\n"
                      "    return x\n")
    assert_same_as_eager(fn, lambda: (t(2), 3))
    assert_raises_like_eager(fn, lambda: (t(2), -1))


def test_exception_escaping_applies_effects_before_it():
    def fn(x, items, mapping):
        items.append(x + 1)
        mapping["k"] = 2
        LOG.append("global effect")
        y = torch.relu(x)
        mapping["y"] = y
        raise CodedError("escaped", 7)

    LOG.clear()
    res = assert_raises_like_eager(fn, lambda: (t(3), [0], {"a": 1}), graphs=1)
    assert LOG == ["global effect", "global effect"]  # the traced call and the eager call, nothing at capture
    with pytest.raises(CodedError) as info:
        res(t(3), [], {})
    assert info.value.code == 7 and info.value.args == ("escaped",)


def test_escaping_exception_from_an_inlined_callee_with_chained_cause():
    def fn(x, items):
        try:
            failing_helper(x, items)
        except AppError as e:
            raise KeyError("outer") from e

    assert_raises_like_eager(fn, lambda: (t(3), []))
    res = trace(fn, (t(3), []))
    with pytest.raises(KeyError) as info:
        res(t(3), [])
    cause = info.value.__cause__
    assert type(cause) is AppError and cause.args == ("from the helper", 3)
    assert info.value.__context__ is cause and info.value.__suppress_context__


def test_escaping_builtin_error_and_uncaught_type():
    def fn(x, d):
        d["before"] = 1
        try:
            return d["missing"]
        except IndexError:
            return x

    assert_raises_like_eager(fn, lambda: (t(2), {}))


def test_exception_escaping_keeps_later_calls_guarded():
    def fn(x, n):
        if n > 0:
            raise ValueError(n)
        return x + n

    res = trace(fn, (t(2), 1))
    with pytest.raises(ValueError):
        res(t(2), 5)
    x = t(2)
    assert torch.equal(res(x, 0), x)
    assert res.graph_breaks == []


def test_except_with_a_non_class_raises_type_error_like_eager():
    def fn(x):
        try:
            raise ValueError("v")
        except 3:
            return x

    assert_raises_like_eager(fn, lambda: (t(2),))


def test_bad_call_of_inlined_function_is_catchable():
    def takes_one(a):
        return a

    def fn(x):
        try:
            takes_one(x, 2)
        except TypeError as e:
            return x + 1, e.args

    assert_same_as_eager(fn, lambda: (t(2),))


def test_getattr_default_and_hasattr_catch_attribute_errors_of_modelled_values():
    def fn(x):
        err = CodedError("m", x + 1)
        return getattr(err, "missing", 5), hasattr(err, "missing"), hasattr(err, "code"), \
            getattr([], "nope", "default"), hasattr({}, "nope")

    res = assert_same_as_eager(fn, lambda: (t(2),), graphs=0)  # `x + 1` is never read: nothing to compute
    assert res.graph_breaks == []


def test_exception_table_is_decoded_in_instruction_indices():
    import dis

    from core.code import decode

    def fn(x):
        try:
            return x + 1
        except KeyError:
            return x

    info = decode(fn.__code__, globals())
    raw = list(dis._parse_exception_table(fn.__code__))
    assert len(info.exception_table) == len(raw)
    offsets = [ins.offset for ins in info.instructions]
    for entry, row in zip(info.exception_table, raw):
        assert offsets[entry.start] == row.start and offsets[entry.target] == row.target
        assert (entry.depth, entry.lasti) == (row.depth, row.lasti)
    assert info.handler_at(len(info.instructions) + 5) is None


def test_raising_a_non_exception_is_a_type_error_and_an_existing_exception_object_breaks():
    def raises_number(x):
        try:
            raise 3
        except TypeError as e:
            return x + 1, e.args

    assert_same_as_eager(raises_number, lambda: (t(2),))

    existing = AppError("made outside")

    def raises_existing(x):
        raise existing

    res = trace(raises_existing, (t(2),))
    assert len(res.graph_breaks) == 1 and "existed before the call" in res.graph_breaks[0].reason
    with pytest.raises(AppError):
        res(t(2))


def level_two(x, log):
    try:
        log.append("level two")
        return {"a": x}["b"]
    finally:
        log.append("level two finally")


def level_one(x, log):
    try:
        return level_two(x * 2, log)
    finally:
        log.append("level one finally")


def test_exception_crosses_two_inlined_frames_running_their_finally_blocks_in_order():
    def fn(x, log):
        try:
            level_one(x, log)
        except KeyError as e:
            log.append(("caught", e.args))
        return x + 1, log

    res = assert_same_as_eager(fn, lambda: (t(2), []))
    assert res.graph_breaks == []


def test_exception_raised_inside_a_comprehension_is_caught_outside():
    def fn(x, items):
        try:
            return [x * (10 // k) for k in items]
        except ZeroDivisionError as e:
            return [x], e.args

    assert_same_as_eager(fn, lambda: (t(2), [1, 2, 0, 3]), graphs=0)  # products computed, then dropped
    assert_same_as_eager(fn, lambda: (t(2), [1, 2]))


def test_stop_iteration_from_next_escapes_like_eager():
    def fn(x, items):
        it = iter(items)
        next(it)
        items.append(x)
        return next(iter([])), x

    assert_raises_like_eager(fn, lambda: (t(2), [1]))


def gives_one_then_raises():
    yield 1
    raise KeyError("part-way")


def test_builtin_consuming_an_iterator_that_raises_part_way_stays_correct():
    def fn(x, items, mapping):
        try:
            items.extend(gives_one_then_raises())
        except KeyError:
            items.append("caught")
        try:
            mapping.update([("a", 1), (1, 2, 3)])
        except ValueError:
            mapping["caught"] = True
        return x + 1, items, mapping

    res = trace(fn, (t(2), [], {}))
    x, items, mapping = t(2), [], {}
    expected_items, expected_mapping = [], {}
    out = res(x, items, mapping)
    fn(x, expected_items, expected_mapping)
    assert items == expected_items == [1, "caught"] and mapping == expected_mapping
    assert torch.equal(out[0], x + 1)
