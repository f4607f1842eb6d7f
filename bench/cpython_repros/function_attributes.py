"""Attributes of functions made inside the trace: an attribute written before a break is gone
afterwards, update_wrapper() does not change __name__, and __annotations__ of a nested function
are empty.  CPython tests: TestUpdateWrapper / TestWraps test_selective_update,
test_missing_attributes, test_builtin_update, test_no_update; TestSingleDispatch
test_annotations, test_union, test_union_None, test_union_conflict (register() reads
__annotations__) (11)."""
import functools

from _show import show


def attribute_survives():
    def f():
        pass
    f.attr = 1
    return getattr(f, "attr", "missing")


def update_wrapper_name():
    def wrapper():
        pass
    functools.update_wrapper(wrapper, max)
    return wrapper.__name__


def annotations():
    def g(arg: int):
        pass
    return g.__annotations__


show(attribute_survives)
# eager:     returns 1
# snaptrace: returns 'missing'
show(update_wrapper_name)
# eager:     returns 'max'
# snaptrace: returns 'wrapper'
show(annotations)
# eager:     returns {'arg': <class 'int'>}
# snaptrace: returns {}
