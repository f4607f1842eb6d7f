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
