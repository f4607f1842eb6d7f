"""Programs the fuzzer found (shrunk by hypothesis), kept as regression tests.

Open bugs are `xfail(strict=True)`: when the fix lands the test starts passing and
strict mode makes it fail, as a reminder to drop the marker.
"""
import torch

import tracer

G_N = 0


def global_store_then_failing_inplace_op(a0):
    global G_N
    G_N = G_N + 1
    a0.mul_(0.5)  # eager: RuntimeError, result type Float can't be cast to the desired output type Long
    return a0


def test_global_store_before_a_failing_inplace_op_is_kept():
    report = tracer.check(global_store_then_failing_inplace_op, (torch.tensor([5, -1, -7]),), against=("eager",))
    assert report.outcomes["eager"].exception[0] == "RuntimeError"
    assert report.ok, str(report)


G_D = {}


def global_update_then_inplace_op_by_a_symbolic_float(a1, a2):
    G_D.update({"a": 0})
    a1.mul_(0.5 + a2[0])  # an int64 tensor; with dynamic=True, a2[0] is a symbol: eager still raises
    return a1


def test_global_update_before_an_inplace_op_refused_for_a_symbolic_float_is_kept():
    def fresh():
        G_D.clear()
        return torch.tensor([5, -1, -7]), [1]

    try:
        global_update_then_inplace_op_by_a_symbolic_float(*fresh())
    except RuntimeError as exc:
        expected = str(exc)
    compiled = tracer.compile(global_update_then_inplace_op_by_a_symbolic_float, dynamic=True)
    for _ in range(2):
        args = fresh()
        try:
            compiled(*args)
            raise AssertionError("no RuntimeError")
        except RuntimeError as exc:
            assert str(exc) == expected
        assert G_D == {"a": 0} and args[0].tolist() == [5, -1, -7]


G_LOG = []


class _Ctx:
    def __enter__(self):
        G_LOG.append("enter")
        return self

    def __exit__(self, *exc):
        G_LOG.append("exit")
        return False


def log_then_failing_inplace_operator(a0):
    G_LOG.clear()
    with _Ctx():
        a0 *= 0.5  # an int64 tensor: eager raises after the appends of __enter__
    return a0


def log_then_integer_division_by_zero(a0, a1):
    G_LOG.append("before")
    return a0 // a1  # integer tensors, a1 holds a 0: eager raises after the append


def log_then_index_out_of_range(a0, index):
    G_LOG.append("before")
    return a0[index]


def _check(fn, inputs):
    G_LOG.clear()
    report = tracer.check(fn, inputs, against=("eager",))
    assert report.ok, str(report)
    return report


def test_effects_before_an_in_place_operator_that_fails_are_kept():
    report = _check(log_then_failing_inplace_operator, (torch.tensor([5, -1, -7]),))
    assert report.outcomes["eager"].exception[0] == "RuntimeError"


def test_effects_before_an_integer_division_by_zero_are_kept():
    report = _check(log_then_integer_division_by_zero, (torch.tensor([4, 2]), torch.tensor([2, 0])))
    assert report.outcomes["eager"].exception[0] == "RuntimeError"


def test_effects_before_an_index_out_of_range_are_kept():
    report = _check(log_then_index_out_of_range, (torch.arange(3), torch.tensor([0, 5])))
    assert report.outcomes["eager"].exception[0] == "IndexError"


def test_division_by_a_tensor_without_effects_stays_in_the_graph():
    traced = tracer.trace(lambda a, b: a // b, (torch.tensor([4, 2]), torch.tensor([2, 1])))
    assert traced.graph_breaks == [] and len(traced.graphs) == 1


def test_a_shape_guard_on_a_float_made_from_a_symbolic_int_holds_on_the_next_call():
    """Campaign seed 31012: `round(0.5, 2) > 2.0 + a1` with `a1` symbolic gave the shape guard
    `2.0 + torch.sym_float(a1) < 0.5`, whose `torch` the guard function did not define, so the
    guard failed on every call and each call captured again."""
    from tracer import compile

    def fn(x, n):
        if 0.5 > 2.0 + n:
            return x + 1
        return x - 1

    traced = compile(fn, dynamic=True)
    for n in (-2, -2, -3, 4):
        x = torch.randn(3)
        torch.testing.assert_close(traced(x, n), fn(x, n))
    assert len(traced.captures) == 2  # one per branch; a repeated call hits its capture
    assert any("sym_float" in str(guard) for guard in traced.captures[0].guards)
