"""Methods that hit the 60 s limit under snaptrace.  (1) A large tuple/list input is wrapped item
by item (a VT and guard per element; vt/builder.py wrap_items): (0,) * 10**6 takes minutes.
(2) An exception whose __context__ chain has a cycle makes tracer/unwind.py:_chain_context loop
forever (CPython breaks the cycle with Floyd's algorithm).
CPython tests: test_list/test_tuple test_repr_large, test_no_hang_on_context_chain_cycle1/3 (4).
This script uses an alarm: each case stops after 20 s."""
import signal
import time

from _show import outcome
from tracer import compile


class StillRunning(BaseException):  # not an Exception: capture() would turn it into an eager fallback
    pass


def alarm(signum, frame):
    raise StillRunning("still running after 20 s")


signal.signal(signal.SIGALRM, alarm)


def repr_large(l):
    return len(repr(l))


def cycle():
    try:
        raise ValueError(1)
    except ValueError as ex:
        ex.__context__ = ex
        raise TypeError(2)


def context_cycle():
    try:
        cycle()
    except Exception as e:
        return type(e.__context__).__name__


for fn, args in ((repr_large, ((0,) * 10**6,)), (context_cycle, ())):
    print(f"--- {fn.__name__}")
    start = time.perf_counter()
    print("  eager:    ", outcome(fn, args), f"({time.perf_counter() - start:.2f}s)")
    start = time.perf_counter()
    signal.alarm(20)
    try:
        print("  snaptrace:", outcome(compile(fn), args), f"({time.perf_counter() - start:.2f}s)")
    except StillRunning as exc:
        print("  snaptrace: raises StillRunning:", exc)
    finally:
        signal.alarm(0)
# eager:     returns 3000000 (0.01s)
# snaptrace: raises StillRunning: still running after 20 s
# eager:     returns 'ValueError' (0.00s)
# snaptrace: raises StillRunning: still running after 20 s
