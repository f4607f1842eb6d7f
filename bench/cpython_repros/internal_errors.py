"""snaptrace's own code raising (seen with SNAPTRACE_STRICT=1; the default mode turns each into an
"internal tracer error" break and runs the function eagerly, so the user sees eager's answer):

* vt/builder.py:134 wrap_value: a wrapper_descriptor (dict.__setitem__ as a default argument, as
  in the pure-Python OrderedDict) passes is_rule_callable but has no __module__ (40 methods of
  test_ordered_dict);
* vt/container_ops.py:265 _sequence_mul: [0] * (sys.maxsize // 2) is computed at trace time
  -> MemoryError (test_list test_overflow, test_list_resize_overflow);
* tracer/state.py:309 current: repr() of a list that contains itself recurses without end
  -> RecursionError (test_list/test_dict test_repr);
* vt/object_attributes.py:162 plain_read: reads obj.__dict__ of an input object with __slots__
  (TestCachedProperty.test_object_with_slots);
* vt/functions.py:73 getattr: f.__wrapped__ of a function without one is read with getattr()
  and the AttributeError escapes (TestUpdateWrapper.test_no_update);
* vt/user_classes.py:58 getattr: see user_code_run_while_tracing.py.
"""
import functools
import sys

from _show import show


def put(d, k, v, dict_setitem=dict.__setitem__):
    dict_setitem(d, k, v)
    return d


def wrapper_descriptor_default():
    return put({}, 1, 2)


def huge_repeat():
    try:
        [0] * (sys.maxsize // 2)
    except MemoryError:
        return "MemoryError"


def recursive_repr():
    l = [1]
    l.append(l)
    return repr(l)


class Slots:
    __slots__ = ("_cost",)

    @functools.cached_property
    def cost(self):
        return 5


def slots_cached_property(item):
    try:
        return item.cost
    except TypeError:
        return "TypeError"


def plain():
    pass


def missing_wrapped():
    try:
        return plain.__wrapped__
    except AttributeError:
        return "AttributeError"


for fn, args in ((wrapper_descriptor_default, ()), (huge_repeat, ()), (recursive_repr, ()),
                 (slots_cached_property, (Slots(),)), (missing_wrapped, ())):
    show(fn, *args, strict=True, breaks=False)
# wrapper_descriptor_default  strict: raises AttributeError: 'wrapper_descriptor' object has no attribute '__module__'
# huge_repeat                 strict: raises MemoryError
# recursive_repr              strict: raises RecursionError: maximum recursion depth exceeded ...
# slots_cached_property       strict: raises AttributeError: 'Slots' object has no attribute '__dict__'
# missing_wrapped             strict: raises AttributeError: 'function' object has no attribute '__wrapped__'
