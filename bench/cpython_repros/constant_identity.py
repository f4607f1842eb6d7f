"""Equal immutable values made by the trace become one constant object when passed on after a
break, so id()/`is` see one object where eager has two.
CPython tests: test_frozen_as_dictkey (id(key1) != id(key2)), testSetattrWrapperNameIntern
(a str built from bytes `is not` the literal) (2)."""
from _show import show


def two_frozensets():
    k1 = frozenset([1, 2])
    k2 = frozenset([2, 1])
    return id(k1) == id(k2)


LITERAL = "__add__"


def str_not_interned():
    name = str(b"__add__", "ascii")
    return name is LITERAL


show(two_frozensets)
# eager:     returns False
# snaptrace: returns True
show(str_not_interned)
# eager:     returns False
# snaptrace: returns True
