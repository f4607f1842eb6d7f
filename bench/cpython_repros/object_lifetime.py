"""Object lifetime differs from eager.  (1) An object a resume function is entered with is held by
that capture (its IdMatch guard keeps the object and the generated guard function's namespace
refers to it), so `del obj` + gc does not free it: weakrefs stay alive, __del__ does not run.
(2) Objects the trace creates and drops never exist for real, so their __del__ never runs.
CPython tests: test_free_after_iterating, test_container_iterator, test_weakref,
test_lru_cache_weakrefable, test_reference_loop, test_highly_nested_subclass, testDel, testLeaks,
testExceptionCleanupState, test_3114, test_oob_indexing_dictiter_iternextitem (35)."""
import gc
import weakref

from _show import show
from tracer import graph_break


class C:
    pass


def weakref_dies():
    obj = C()
    ref = weakref.ref(obj)
    graph_break()          # any break: here weakref.ref() itself is one
    del obj
    gc.collect()
    return ref() is None


class Counted:
    alive = 0

    def __init__(self):
        Counted.alive += 1

    def __del__(self):
        Counted.alive -= 1


def make_and_drop():
    for _ in range(3):
        Counted()
    return Counted.alive


show(weakref_dies)
# eager:     returns True
# snaptrace: returns False
show(make_and_drop)
# eager:     returns 0
# snaptrace: returns 3      (Counted.alive += 1 is replayed, __del__ never runs)
