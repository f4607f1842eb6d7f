"""Data-model corners: set.remove(a_set) retries with frozenset(a_set) (KeyError, not TypeError);
getattr() with a str-subclass name; __str__ returning a non-str must raise TypeError.
CPython tests: test_remove_keyerror_set, test_instance_dict_getattr_str_subclass,
testBadTypeReturned (3)."""
from _show import show


def remove_set_from_set():
    s = {1}
    try:
        s.remove({1})
    except KeyError as exc:
        return "KeyError", exc.args


class Foo:
    pass


class S(str):
    pass


foo = Foo()
foo.msg = "123"


def getattr_str_subclass():
    return getattr(foo, S("msg"))


class BadStr:
    def __str__(self):
        return None


def str_returns_none():
    try:
        str(BadStr())
    except TypeError:
        return "TypeError"
    return "no error"


show(remove_set_from_set)
# eager:     returns ('KeyError', ({1},))
# snaptrace: raises TypeError: unhashable type: 'set'
show(getattr_str_subclass)
# eager:     returns '123'
# snaptrace: raises TypeError: attribute name must be string
show(str_returns_none)
# eager:     returns 'TypeError'
# snaptrace: returns 'no error'
