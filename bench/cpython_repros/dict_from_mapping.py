"""dict(m) / dict.update(m) of a Mapping that is not a dict (Counter, ChainMap, os.environ, user
Mappings) iterates it as a sequence of pairs instead of using keys() and m[k].
CPython tests: TestCounter.test_conversions, TestChainMap.test_dict_coercion, OrderedDict
test_equality, three test_exceptions tests through script_helper's dict(os.environ) (9)."""
import collections
import os

from _show import show


def from_counter():
    return dict(collections.Counter("aab"))


def from_environ():
    return len(dict(os.environ)) == len(os.environ)


show(from_counter)
# eager:     returns {'a': 2, 'b': 1}
# snaptrace: raises ValueError: dictionary update sequence element #0 has length 1; 2 is required
show(from_environ)
# eager:     returns True
# snaptrace: raises ValueError: dictionary update sequence element #0 has length 10; 2 is required
