"""A bound method that is not reachable as getattr(obj, fn.__name__) (types.MethodType(lambda, obj)
stored under another name; partialmethod over a partial) is rebuilt by the generated entry code as
getattr(obj, fn.__name__): AttributeError at run time, from snaptrace's generated code.
CPython tests: test_fstring test__format__lookup, TestPartialMethod.test_bound_method_introspection (2)."""
import types

from _show import show
from tracer import graph_break


class X:
    pass


def method_under_other_name():
    y = X()
    y.m = types.MethodType(lambda self: "instance", y)
    graph_break()
    return y.m()


show(method_under_other_name)
# eager:     returns 'instance'
# snaptrace: raises AttributeError: 'X' object has no attribute '<lambda>'
