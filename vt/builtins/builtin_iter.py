"""Rules for the builtins and `itertools` functions that make or consume iterators.

Each rule takes `(state, args, kwargs)` of VTs and returns an outcome, or
None to let `BuiltinVariable.call` fall back to folding plain data.  Arguments
are bound against a stub with CPython's signature, so a wrong call breaks as
the `TypeError` eager raises.  Lazy builtins return iterator records (see
vt/iterators.py) and do nothing until asked for an item; consuming ones pull
items one `next` at a time, as CPython's loops do.
"""
from __future__ import annotations

import itertools
import operator

from effects import heap
from vt.folding import bind, given
from vt.protocol import NOT_CONSTANT, raises
from vt.objects.object_protocol import call_dunder
from vt.data.constant import ConstantVariable, is_constant_value
from vt.data.dicts import new_dict_from_entries
from vt.data.iterators import (EnumerateIteratorVariable, FilterIteratorVariable, MapIteratorVariable,
    ZipIteratorVariable, items_of, open_iterators)
from vt.iteration import IteratorVariable, ReversedListIteratorVariable, iterate_items, new_iterator, next_value
from vt.data.constant import RangeIteratorVariable
from core.stops import Exhausted
from vt.callables.generators import next_or_stop
from vt.data.itertools_iterators import (AccumulateIteratorVariable, ChainIteratorVariable,
    CombinatoricIteratorVariable, CompressIteratorVariable, CountIteratorVariable, CycleIteratorVariable,
    IsliceIteratorVariable, PairwiseIteratorVariable, ProductIteratorVariable, RepeatIteratorVariable,
    StarmapIteratorVariable, WhileIteratorVariable, ZipLongestIteratorVariable)
from vt.data.lists import made_tuple, ListVariable, new_list
from core.outcomes import BreakKind, unsupported, raise_error, raised
from vt.data.sets import SetVariable, new_set
from vt.data.sorting import sort_values
from vt.data.symbolic import is_symbolic_int
from vt.data.tensor import TensorVariable, record_op
from vt import registry
from vt.data.dict_methods import update_pairs


def int_argument(value, what):
    """A constant int argument (bools count, as in CPython), or the TypeError."""
    number = value.specialized()
    if number is NOT_CONSTANT:
        return unsupported(BreakKind.UNSUPPORTED_CALL, f"{what} must be known while tracing, got {value.describe()}")
    try:
        return operator.index(number)
    except TypeError as exc:
        return raise_error(TypeError, f"{what}: {exc}")


def _iterators_of(state, values, make):
    """Open an iterator over each value and allocate `make(oid, handles)`."""
    out = open_iterators(state, values)
    if type(out) is not tuple:
        return out
    state, handles = out
    return new_iterator(state, lambda oid: make(oid, handles))


# -- builtins ----------------------------------------------------------------------------------------

def _iter(state, args, kwargs):
    if len(args) == 2 and not kwargs:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "iter(callable, sentinel) is not modelled")
    if len(args) != 1 or kwargs:
        return None
    return args[0].iterate(state)


def _next(state, args, kwargs):
    if kwargs or not 1 <= len(args) <= 2:
        return None
    iterator = args[0]
    if iterator.dunder_dispatch:  # an object of a Python class: its __next__
        out = call_dunder(state, iterator, "__next__", [], {}, f"'{iterator.type_name()}' object is not an iterator")
        if len(args) == 2 and raises(state, out, StopIteration):
            return out.state or state, args[1]
        return out
    if not isinstance(iterator, IteratorVariable):
        return raise_error(TypeError, f"'{iterator.type_name()}' object is not an iterator")
    out = next_value(state, iterator)
    if type(out) is not Exhausted:
        return out
    if len(args) == 2:
        return out.state, args[1]
    return next_or_stop(out)  # StopIteration(the generator's return value), after its final run


def _zip(state, args, kwargs):
    def stub(*iterables, strict=None):
        pass

    bound = bind(stub, args, kwargs, "zip()")
    if type(bound) is not dict:
        return bound
    strict = given(bound["strict"])
    strict = False if strict is None else strict.truth(state)
    if type(strict) is not bool:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "zip(strict=...) must be known while tracing")
    return _iterators_of(state, bound["iterables"],
                         lambda oid, its: ZipIteratorVariable(oid, its, strict))


def _enumerate(state, args, kwargs):
    def stub(iterable, start=None):
        pass

    bound = bind(stub, args, kwargs, "enumerate()")
    if type(bound) is not dict:
        return bound
    start = bound["start"]
    if start is None:
        start = 0
    elif not is_symbolic_int(start):  # a symbolic start stays symbolic (a loop continued by a resume function)
        start = int_argument(start, "enumerate() start")
        if not isinstance(start, int):
            return start
    return _iterators_of(state, (bound["iterable"],),
                         lambda oid, its: EnumerateIteratorVariable(oid, its[0], start))


def _map(state, args, kwargs):
    if kwargs:
        return raise_error(TypeError, "map() takes no keyword arguments")
    if len(args) < 2:
        return raise_error(TypeError, "map() must have at least two arguments.")
    fn = args[0]
    return _iterators_of(state, args[1:], lambda oid, its: MapIteratorVariable(oid, fn, its))


def _filter_like(keep, name):
    def rule(state, args, kwargs):
        if kwargs or len(args) != 2:
            return raise_error(TypeError, f"{name}() expects 2 positional arguments")
        fn = given(args[0])
        return _iterators_of(state, args[1:], lambda oid, its:
                             FilterIteratorVariable(oid, fn, its[0], keep))
    return rule


def _reversed(state, args, kwargs):
    if kwargs or len(args) != 1:
        return None
    (value,) = args
    if isinstance(value, ListVariable):
        length = len(heap.current(state, value).items)
        return new_iterator(state, lambda oid: ReversedListIteratorVariable(oid, value.oid, length - 1))
    if isinstance(value, TensorVariable):  # Tensor.__reversed__: flip along dim 0 (a 0-d tensor is returned as is)
        if value.fake.dim() == 0:
            return state, value
        return record_op(state, "call_method", "flip", (value, ConstantVariable(0)), {}, "reversed()")
    if isinstance(value, (IteratorVariable, SetVariable)):
        return raise_error(TypeError, f"'{value.type_name()}' object is not reversible")
    if type(value.constant_value()) is range:
        values = value.constant_value()[::-1]
        return new_iterator(state, lambda oid: RangeIteratorVariable(oid, values, 0))
    items = value.unpack(state, None)
    if items is None:
        return None
    return iterate_items(state, tuple(reversed(items)))


def _sorted(state, args, kwargs):
    def stub(iterable, /, *, key=None, reverse=None):
        pass

    bound = bind(stub, args, kwargs, "sorted()")
    if type(bound) is not dict:
        return bound
    reverse = False if bound["reverse"] is None else bound["reverse"].truth(state)
    if type(reverse) is not bool:
        return unsupported(BreakKind.UNSUPPORTED_CALL, "sorted(reverse=...) must be known while tracing")
    out = items_of(state, bound["iterable"])
    if type(out) is not tuple:
        return out
    state, items = out
    key = given(bound["key"])
    keys = []
    for item in items:  # CPython computes every key first, in order, then sorts
        if key is not None:
            out = key.call(state, [item], {})
            if type(out) is not tuple:
                return out
            state, item = out
        keys.append(item)
    return sort_by_keys(state, items, keys, reverse)


def sort_by_keys(state, items, keys, reverse):
    """A new list of `items` ordered by `keys` (VTs) as CPython's sort orders them: stable, exact,
    objects compared by their own `__lt__` (vt/data/sorting.py)."""
    for key in keys:
        if isinstance(key, TensorVariable) and len(keys) > 1:
            return unsupported(BreakKind.DATA_DEPENDENT, f"sorting by {key.describe()} needs its value while tracing",
                               "sort by something known while tracing, e.g. key=lambda t: t.shape[0]")
    state, order, stop = sort_values(state, keys, reverse)
    if stop is not None:
        return stop  # the new list is dropped: nothing to keep of the partial order
    return new_list(state, tuple(items[index] for index in order))


def _collection(kind):
    """list(x), tuple(x), set(x), frozenset(x): the items iteration gives (iterators are drained)."""
    def rule(state, args, kwargs):
        if kwargs or len(args) > 1:
            return None
        if args and kind in (tuple, frozenset) and args[0].runtime_type() is kind:
            return state, args[0]  # tuple(t), frozenset(f) of an exact one: CPython returns it
        out = items_of(state, args[0]) if args else (state, ())
        if type(out) is not tuple:
            return out
        state, items = out
        if kind is list:
            return new_list(state, items)
        if kind is tuple:
            return made_tuple(state, items)
        values = tuple(item.as_python(state) for item in items)
        if any(value is NOT_CONSTANT for value in values):
            return unsupported(BreakKind.UNSUPPORTED_OPERATION,
                               f"{kind.__name__}() of items not known while tracing is not modelled")
        try:
            real = kind(values)
        except TypeError as exc:
            return raised(exc)
        if not all(is_constant_value(value) for value in real):
            return None
        return (state, ConstantVariable(real)) if kind is frozenset else new_set(state, values)
    return rule


def _dict(state, args, kwargs):
    """dict(), dict(mapping), dict(pairs), each with **kwargs after; keys must be constants."""
    if len(args) > 1:
        return raise_error(TypeError, f"dict expected at most 1 argument, got {len(args)}")
    entries = {}
    if args:
        out = update_pairs(state, args[0])
        if type(out) is not tuple:
            return out
        state, pairs = out
        entries.update(pairs)
    entries.update(kwargs)
    return new_dict_from_entries(state, tuple(entries.items()))


# -- itertools ---------------------------------------------------------------------------------------

def _chain(state, args, kwargs):
    if kwargs:
        return raise_error(TypeError, "chain() takes no keyword arguments")
    state, source = iterate_items(state, args)
    return new_iterator(state, lambda oid: ChainIteratorVariable(oid, source, None))


def _chain_from_iterable(state, args, kwargs):
    if kwargs or len(args) != 1:
        return None
    return _iterators_of(state, args, lambda oid, its: ChainIteratorVariable(oid, its[0], None))


def _product(state, args, kwargs):
    def stub(*iterables, repeat=None):
        pass

    bound = bind(stub, args, kwargs, "product()")
    if type(bound) is not dict:
        return bound
    repeat = 1 if bound["repeat"] is None else int_argument(bound["repeat"], "product() repeat")
    if not isinstance(repeat, int):
        return repeat
    if repeat < 0:
        return raise_error(ValueError, "repeat argument cannot be negative")
    pools = []
    for iterable in bound["iterables"]:  # product reads every input in full when it is made
        out = items_of(state, iterable)
        if type(out) is not tuple:
            return out
        state, items = out
        pools.append(items)
    pools = tuple(pools) * repeat
    return new_iterator(state, lambda oid: ProductIteratorVariable(oid, pools, 0))


def _combinatoric(kind):
    def rule(state, args, kwargs):
        def stub(iterable, r=None):
            pass

        bound = bind(stub, args, kwargs, f"{kind.__name__}()")
        if type(bound) is not dict:
            return bound
        r = None if given(bound["r"]) is None else int_argument(bound["r"], f"{kind.__name__}() r")
        if r is None and kind is not itertools.permutations:
            return raise_error(TypeError, f"{kind.__name__}() missing required argument 'r'")
        if r is not None and not isinstance(r, int):
            return r
        if r is not None and r < 0:
            return raise_error(ValueError, "r must be non-negative")
        out = items_of(state, bound["iterable"])
        if type(out) is not tuple:
            return out
        state, pool = out
        return new_iterator(state, lambda oid: CombinatoricIteratorVariable(oid, kind, pool, r, 0))
    return rule


def _islice(state, args, kwargs):
    if kwargs or not 2 <= len(args) <= 4:
        return raise_error(TypeError, "islice() takes 2 to 4 positional arguments")
    bounds = [arg.specialized() for arg in args[1:]]
    if any(bound is NOT_CONSTANT for bound in bounds):
        return unsupported(BreakKind.UNSUPPORTED_CALL, "islice() bounds must be known while tracing")
    try:  # the real islice checks the bounds and gives CPython's errors
        itertools.islice((), *bounds)
    except (TypeError, ValueError) as exc:
        return raised(exc)
    piece = slice(*bounds)
    start, stride = piece.start or 0, piece.step or 1
    stop = None if piece.stop is None else operator.index(piece.stop)
    return _iterators_of(state, args[:1], lambda oid, its: IsliceIteratorVariable(
        oid, its[0], operator.index(start), stop, operator.index(stride), 0))


def _accumulate(state, args, kwargs):
    def stub(iterable, func=None, *, initial=None):
        pass

    bound = bind(stub, args, kwargs, "accumulate()")
    if type(bound) is not dict:
        return bound
    fn, initial = given(bound["func"]), given(bound["initial"])
    return _iterators_of(state, (bound["iterable"],), lambda oid, its: AccumulateIteratorVariable(
        oid, its[0], fn, None, initial))


def _repeat(state, args, kwargs):
    def stub(object, times=None):
        pass

    bound = bind(stub, args, kwargs, "repeat()")
    if type(bound) is not dict:
        return bound
    times = None if bound["times"] is None else int_argument(bound["times"], "repeat() times")
    if times is not None and not isinstance(times, int):
        return times
    value = bound["object"]
    return new_iterator(state, lambda oid: RepeatIteratorVariable(oid, value, times))


def _count(state, args, kwargs):
    def stub(start=None, step=None):
        pass

    bound = bind(stub, args, kwargs, "count()")
    if type(bound) is not dict:
        return bound
    start = bound["start"] or ConstantVariable(0)
    stride = bound["step"] or ConstantVariable(1)
    for value in (start, stride):
        if isinstance(value, ConstantVariable) and not isinstance(value.constant_value(), (int, float, complex)):
            return raise_error(TypeError, "a number is required")
    return new_iterator(state, lambda oid: CountIteratorVariable(oid, start, stride))


def _zip_longest(state, args, kwargs):
    def stub(*iterables, fillvalue=None):
        pass

    bound = bind(stub, args, kwargs, "zip_longest()")
    if type(bound) is not dict:
        return bound
    fill = bound["fillvalue"] or ConstantVariable(None)
    return _iterators_of(state, bound["iterables"], lambda oid, its: ZipLongestIteratorVariable(
        oid, its, fill, len(its)))


def _one_input(make, name, with_fn=False):
    """A rule for itertools functions taking (iterable) or (fn, iterable) positionally."""
    count = 2 if with_fn else 1

    def rule(state, args, kwargs):
        if kwargs or len(args) != count:
            return raise_error(TypeError, f"{name}() expects {count} positional "
                               f"argument{'s' if count > 1 else ''}")
        fn = args[0] if with_fn else None
        return _iterators_of(state, args[count - 1:], lambda oid, its: make(oid, fn, its[0]))
    return rule


def _compress(state, args, kwargs):
    def stub(data, selectors):
        pass

    bound = bind(stub, args, kwargs, "compress()")
    if type(bound) is not dict:
        return bound
    return _iterators_of(state, (bound["data"], bound["selectors"]), lambda oid, its:
                         CompressIteratorVariable(oid, its[0], its[1]))


ITER_RULES = {
    iter: _iter, next: _next, zip: _zip, enumerate: _enumerate, map: _map,
    filter: _filter_like(True, "filter"), reversed: _reversed, sorted: _sorted,
    list: _collection(list), tuple: _collection(tuple), set: _collection(set), frozenset: _collection(frozenset),
    dict: _dict,
    itertools.chain: _chain, itertools.chain.from_iterable: _chain_from_iterable, itertools.product: _product,
    itertools.islice: _islice, itertools.accumulate: _accumulate, itertools.repeat: _repeat,
    itertools.count: _count, itertools.zip_longest: _zip_longest,
    itertools.filterfalse: _filter_like(False, "filterfalse"),
    itertools.cycle: _one_input(lambda oid, fn, it: CycleIteratorVariable(oid, it), "cycle"),
    itertools.pairwise: _one_input(lambda oid, fn, it: PairwiseIteratorVariable(oid, it),
                                   "pairwise"),
    itertools.starmap: _one_input(lambda oid, fn, it: StarmapIteratorVariable(oid, fn, it),
                                  "starmap", with_fn=True),
    itertools.takewhile: _one_input(lambda oid, fn, it: WhileIteratorVariable(oid, fn, it, True),
                                    "takewhile", with_fn=True),
    itertools.dropwhile: _one_input(lambda oid, fn, it: WhileIteratorVariable(oid, fn, it, False),
                                    "dropwhile", with_fn=True),
    itertools.compress: _compress,
    itertools.permutations: _combinatoric(itertools.permutations),
    itertools.combinations: _combinatoric(itertools.combinations),
    itertools.combinations_with_replacement: _combinatoric(itertools.combinations_with_replacement),
}
registry.register_builtin_rules(ITER_RULES)
