"""The last five Lib/test methods that differed (bench/CPYTHON_BASELINE.md), reduced.
CPython tests: TestCachedProperty.test_set_name_not_called, TestPartialC.test_nested_optimization,
test_namedtuple_subclass_issue_24931, CPythonOrderedDictSubclassTests.test_iterators,
CPythonOrderedDictTests.test_copying.  All five now match eager (tests/test_lib_test_corners.py)."""
import collections
import copy
import functools

from _show import compile, show


def cached_property_stored_later():
    # The class is made again at a break with cp in its namespace: type() called __set_name__;
    # and a descriptor stored on a class made in the call was read as plain data.
    cp = functools.cached_property(lambda self: None)

    class Foo:
        pass
    Foo.cp = cp
    try:
        Foo().cp
    except TypeError as exc:
        return str(exc)


def _sig(part):
    return part.func, part.args, part.keywords


def call_partial(inner):
    return inner()


def nested_partial_after_a_traced_call():
    # Passing `inner` in read its __dict__ (inspect.getattr_static), which made one: CPython then
    # no longer flattens partial(inner, ...), even eagerly afterwards.
    inner = functools.partial(tuple, "ab")
    compile(call_partial)(inner)
    return functools.partial(inner, bar=True)


class Point(collections.namedtuple("_Point", ["x", "y"])):
    pass


def namedtuple_subclass_dict():
    # The object was rebuilt once per reference at the attribute-write break: the attribute was set
    # on a copy.
    a = Point(3, 4)
    a.w = 5
    return a.__dict__


class OD(collections.OrderedDict):
    pass


def reversed_ordered_dict_subclass():
    # reversed() fell back to od[len - 1], od[len - 2], ...: KeyError.
    return list(reversed(OD([("c", 1), ("b", 2)])))


def ordered_dict_attributes():
    # od.x read as "no attribute" after the break that set it; copy.copy dropped it.
    od = collections.OrderedDict([("c", 1)])
    od.x = ["x"]
    return od.x, copy.copy(od).x is od.x


show(cached_property_stored_later)
# eager:     returns 'Cannot use cached_property instance without calling __set_name__ on it.'
# before:    returns None
print("--- nested_partial_after_a_traced_call:", _sig(nested_partial_after_a_traced_call()))
# now:       (<class 'tuple'>, ('ab',), {'bar': True})
# before:    (functools.partial(<class 'tuple'>, 'ab'), (), {'bar': True})
show(namedtuple_subclass_dict)
# eager:     returns {'w': 5}
# before:    returns {}
show(reversed_ordered_dict_subclass)
# eager:     returns ['b', 'c']
# before:    raises KeyError: 1
show(ordered_dict_attributes)
# eager:     returns (['x'], True)
# before:    raises AttributeError: 'OrderedDict' object has no attribute 'x'
