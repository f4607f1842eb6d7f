"""The tracer runs user code for real while tracing or guarding: a dict subclass input's
__getitem__ is called for every key (side effects twice per key), and a cached_property on a
metaclass is evaluated by a real getattr() in vt/user_classes.py:58 (its TypeError escapes in
strict mode; the default mode falls back).
CPython tests: CSimpleLRUCacheTests test_add_after_full, test_change_order_on_get (the 'get'
counter), TestCachedProperty.test_immutable_dict (strict) (2 + 1)."""
import functools

from _show import show

calls = []


class D(dict):
    def __getitem__(self, k):
        calls.append(k)
        return super().__getitem__(k)


def keys_only(d):
    r = list(d)
    return r, list(calls)


class MyMeta(type):
    @functools.cached_property
    def prop(self):
        return True


class MyClass(metaclass=MyMeta):
    pass


def cached_property_on_class():
    try:
        return MyClass.prop
    except TypeError:
        return "TypeError"


show(keys_only, D(a=1, b=2))
# eager:     returns (['a', 'b'], [])
# snaptrace: returns (['a', 'b'], ['a', 'a', 'b', 'b'])
show(cached_property_on_class, strict=True)
# eager:     returns 'TypeError'
# snaptrace: returns 'TypeError'   (break: internal tracer error TypeError ...)
# strict:    raises TypeError: The '__dict__' attribute on 'MyMeta' instance does not support item assignment ...
