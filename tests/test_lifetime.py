"""Objects live exactly as long under snaptrace as eagerly: identity guards hold weak references,
what generated code keeps is what eager keeps, values crossing a break are handed over (a box the
resume entry empties), and objects with finalizers are not modelled (graph/codegen.py,
core/guards.py, vt/builtins/builder.py)."""
import gc
import weakref

from helpers import assert_same_outcome
from tracer import compile, graph_break


class _Plain:
    pass


def test_weakref_dies_after_del_across_a_break():
    def f():
        obj = _Plain()
        ref = weakref.ref(obj)
        graph_break()
        del obj
        return ref() is None

    assert_same_outcome(f, calls=3)


def test_weakref_dies_without_gc_collect():
    def f():
        obj = _Plain()
        ref = weakref.ref(obj)
        obj = None
        return ref() is None

    assert_same_outcome(f, calls=3)


def test_reference_cycle_collected_inside_the_function():
    def f():
        a, b = _Plain(), _Plain()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        gc.collect()
        return ref() is None

    assert_same_outcome(f)


class _Counted:
    alive = 0

    def __init__(self):
        _Counted.alive += 1

    def __del__(self):
        _Counted.alive -= 1


def test_del_runs_when_eager_drops_the_object():
    def f():
        for _ in range(3):
            _Counted()
        during = _Counted.alive
        keep = _Counted()
        return during, _Counted.alive, keep is not None

    assert_same_outcome(f, calls=3)
    gc.collect()
    assert _Counted.alive == 0


def test_finalize_callback_runs_when_the_object_goes():
    log = []

    def f():
        obj = _Plain()
        weakref.finalize(obj, log.append, "gone")
        before = list(log)
        del obj
        return before, list(log)

    expected = f()
    log.clear()
    traced = compile(f)
    for _ in range(2):
        assert traced() == expected
        log.clear()


def test_a_compiled_function_does_not_keep_its_inputs_alive():
    def f(obj):
        obj.seen = True
        return obj

    traced = compile(f)
    obj = _Plain()
    assert traced(obj) is obj and obj.seen
    ref = weakref.ref(obj)
    del obj
    assert ref() is None
    other = _Plain()
    assert traced(other) is other  # the dead object's guard fails: a new capture, the right object


def test_inputs_reached_after_a_break_are_not_kept_alive():
    def f(obj):
        graph_break()
        return obj.value

    traced = compile(f)
    obj = _Plain()
    obj.value = 3
    assert traced(obj) == 3
    ref = weakref.ref(obj)
    del obj
    assert ref() is None


def test_effects_kept_for_reports_hold_no_objects():
    class Box:
        pass

    def f(box):
        box.item = _Plain()
        return 1

    traced = compile(f)
    box = Box()
    traced(box)
    item = weakref.ref(box.item)
    assert "box.item" in traced.side_effects[0].describe()
    del box
    assert item() is None


def test_objects_the_function_drops_before_a_break_are_freed_at_the_break():
    def f():
        obj = _Plain()
        ref = weakref.ref(obj)
        graph_break()
        obj = None
        graph_break()
        return ref()

    assert_same_outcome(f, calls=3)
