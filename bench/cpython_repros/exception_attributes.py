"""Attributes of exceptions the trace raises or builds: AttributeError.name/.obj and NameError.name
are None, writing __suppress_context__ = False is ignored, assigning a non-traceback to
__traceback__ does not raise.  CPython tests: test_getattr_has_name_and_obj(_for_method),
test_name_error_has_name, testChainingDescriptors, testInvalidTraceback (5)."""
from _show import show


class A:
    pass


def attribute_error_fields():
    try:
        A().bluch
    except AttributeError as exc:
        return exc.name, type(exc.obj).__name__


def name_error_name():
    try:
        bluch  # noqa: F821
    except NameError as exc:
        return exc.name


def suppress_context_write():
    e = Exception()
    e.__cause__ = None            # sets __suppress_context__ = True
    e.__suppress_context__ = False
    return e.__suppress_context__


def bad_traceback():
    try:
        Exception().__traceback__ = 5
    except TypeError as exc:
        return str(exc)
    return "no exception"


show(attribute_error_fields)
# eager:     returns ('bluch', 'A')
# snaptrace: returns (None, 'NoneType')
show(name_error_name)
# eager:     returns 'bluch'
# snaptrace: returns None
show(suppress_context_write)
# eager:     returns False
# snaptrace: returns True
show(bad_traceback)
# eager:     returns '__traceback__ must be a traceback or None'
# snaptrace: returns 'no exception'
