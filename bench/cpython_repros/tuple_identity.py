"""A tuple that holds a non-constant (a list, an object) is rebuilt each time it crosses into a
step or resume function, so `t is u` for one tuple is False after a break (`is` between such
tuples is itself a break).  CPython tests: TestCopyingTuple/TestCopyingNested test_copy,
TestPartial*.test_copy (`f_copy.args is f.args`) (6)."""
from _show import show


def same_tuple():
    lst = [1]
    t = (lst,)
    u = t
    return t is u


show(same_tuple)
# eager:     returns True
# snaptrace: returns False
