"""dict.clear(od) / dict.pop(od, k) / dict.setdefault(od, ...) called through the class on an
OrderedDict (subclass) instance: the modelled call loses its `self` argument.
CPython tests: OrderedDict test_dict_clear, test_dict_pop, test_dict_popitem, test_dict_setdefault,
test_dict_delitem (7)."""
import collections

from _show import show


class OD(collections.OrderedDict):
    pass


def clear_through_dict():
    od = OD()
    od["spam"] = 1
    dict.clear(od)
    return repr(od)


show(clear_through_dict)
# eager:     returns 'OD()'
# snaptrace: raises TypeError: descriptor 'clear' of 'dict' object needs an argument
