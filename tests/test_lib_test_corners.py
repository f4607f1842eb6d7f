"""Corners of the data model found by CPython's own Lib/test suites (bench/CPYTHON_BASELINE.md) where
the traced function answered differently from eager.  Every case compares with eager."""
import collections
import copy
import functools
from functools import cached_property

import tracer
from tests.helpers import assert_same_outcome


class _Descriptor:
    def __get__(self, obj, owner=None):
        return ("got", obj is None, owner.__name__)


class _DataDescriptor:
    def __get__(self, obj, owner=None):
        return self if obj is None else obj.__dict__.get("_stored", "unset")

    def __set__(self, obj, value):
        obj.__dict__["_stored"] = value * 10


_SHARED = _Descriptor()


def descriptor_in_a_class_body():
    class Local:
        attr = _Descriptor()
    return Local().attr, Local.attr


def descriptor_stored_on_a_class_later():
    class Local:
        pass
    Local.attr = _Descriptor()
    Local.shared = _SHARED
    return Local().attr, Local.attr, Local().shared


def data_descriptor_over_the_instance_dict():
    class Local:
        pass
    Local.attr = _DataDescriptor()
    obj = Local()
    obj.__dict__["attr"] = "in the dict"
    before = obj.attr
    obj.attr = 2
    return before, obj.attr, obj._stored


def cached_property_without_set_name():
    prop = cached_property(lambda self: None)

    class Local:
        pass
    Local.prop = prop  # no __set_name__: only type() calls it
    try:
        Local().prop
    except TypeError as exc:
        return "TypeError", str(exc), prop.attrname
    return "no error", prop.attrname


def test_descriptors_stored_on_classes_made_in_the_call_run_their_get_and_set():
    for fn in (descriptor_in_a_class_body, descriptor_stored_on_a_class_later, data_descriptor_over_the_instance_dict):
        traced = assert_same_outcome(fn)
        assert traced.graph_breaks == [], [b.reason for b in traced.graph_breaks]


def test_a_cached_property_stored_after_the_class_is_made_gets_no_set_name():
    # Lib/test test_functools TestCachedProperty.test_set_name_not_called
    assert_same_outcome(cached_property_without_set_name)


class _Named:
    def __init__(self):
        self.names = []

    def __set_name__(self, owner, name):
        self.names.append(name)


def set_name_attribute_stored_later_crosses_a_break():
    named = _Named()

    class Local:
        pass
    Local.named = named
    tracer.graph_break()  # Local is made again for the resume function
    return named.names, Local.named is named, Local().named is named


def test_a_class_made_again_at_a_break_calls_no_set_name_on_attributes_stored_later():
    traced = assert_same_outcome(set_name_attribute_stored_later_crosses_a_break)
    assert len(traced.graph_breaks) == 1


def _capture(*args, **kwargs):
    return args, kwargs


class _PartialSubclass(functools.partial):
    pass


def call_a_partial(part):
    return part("more")


def partial_of_a_partial(inner):
    nested = functools.partial(inner, bar=True)
    return nested.args, nested.keywords, nested.func is inner


def test_passing_a_partial_in_does_not_make_its_dict():
    # Lib/test test_functools TestPartialC.test_nested_optimization: a C partial flattens a partial
    # of a partial only while the inner one has no __dict__; reading one for a mark made it
    inner = functools.partial(_capture, "x")
    traced = tracer.compile(call_a_partial)
    assert traced(inner) == call_a_partial(inner)
    assert functools.partial(inner, bar=True).func is _capture  # still flattened: no __dict__ made


def test_a_partial_of_a_partial_that_existed_or_of_a_subclass_flattens_as_in_eager():
    with_dict = functools.partial(_capture, "x")
    with_dict.note = 1  # has a __dict__: not flattened
    for make in (lambda: functools.partial(_capture, "x"), lambda: _PartialSubclass(_capture, "x"),
                 lambda: with_dict):
        assert_same_outcome(partial_of_a_partial, lambda: (make(),))


_Pair = collections.namedtuple("_Pair", ["x", "y"])


class _PairWithDict(_Pair):  # no __slots__: its objects have a __dict__
    pass


def namedtuple_subclass_attribute():
    # Lib/test test_collections test_namedtuple_subclass_issue_24931
    pair = _PairWithDict(3, 4)
    as_dict = pair._asdict()
    pair.w = 5  # a break: the object is made for real, once for every reference to it
    return as_dict, pair.__dict__, pair.w, pair._replace(x=1).__dict__


def test_an_attribute_set_on_a_namedtuple_subclass_object_made_in_the_call_is_kept():
    assert_same_outcome(namedtuple_subclass_attribute)


class _OrderedSubclass(collections.OrderedDict):
    pass


class _DictSubclass(dict):
    pass


def reversed_mapping_subclasses():
    # Lib/test test_ordered_dict CPythonOrderedDictSubclassTests.test_iterators: reversed() took the
    # sequence protocol (od[len - 1], ...) instead of the mapping's own __reversed__
    ordered = _OrderedSubclass([("c", 1), ("b", 2), ("a", 3)])
    plain = _DictSubclass(c=1, b=2)
    return list(reversed(ordered)), list(reversed(ordered.items())), list(reversed(plain))


def test_reversed_of_a_dict_or_ordered_dict_subclass_object_walks_its_keys():
    traced = assert_same_outcome(reversed_mapping_subclasses)
    assert traced.graph_breaks == []


def ordered_dict_attributes():
    # Lib/test test_ordered_dict CPythonOrderedDictTests.test_copying: an OrderedDict has a __dict__
    ordered = collections.OrderedDict([("c", 1), ("b", 2)])
    ordered.x = ["x"]  # a break: the rest reads the real object
    dup = copy.copy(ordered)
    deep = copy.deepcopy(ordered)
    return ordered.x, ordered.__dict__, dup.x is ordered.x, deep.x == ordered.x, deep.x is not ordered.x, dup


def read_ordered_dict_attribute(ordered):
    return ordered.note, ordered.double(4), hasattr(ordered, "missing")


def copy_of_a_named_tuple():
    pair = _Pair(1, 2)
    dup = copy.copy(pair)  # a named tuple is copied through __reduce_ex__: a new object
    return dup is pair, dup == pair, copy.copy((1, 2)) == (1, 2)


def test_attributes_of_ordered_dicts_are_read_and_copied_as_in_eager():
    assert_same_outcome(ordered_dict_attributes)

    def make():
        ordered = collections.OrderedDict(a=1)
        ordered.note = "n"
        ordered.double = lambda value: value * 2
        return (ordered,)
    assert_same_outcome(read_ordered_dict_attribute, make)


def test_copy_of_a_named_tuple_is_a_new_object():
    assert_same_outcome(copy_of_a_named_tuple)
