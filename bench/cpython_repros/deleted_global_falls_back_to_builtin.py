"""After `del` of a global that shadowed a builtin, the name is the builtin again; the trace says
NameError.  CPython test: test_assert_shadowing (global AssertionError = TypeError; del) (1)."""
from _show import show


def shadow_and_delete():
    global len
    len = None
    del len
    return len("abc")


show(shadow_and_delete)
# eager:     returns 3
# snaptrace: raises NameError: name 'len' is not defined
