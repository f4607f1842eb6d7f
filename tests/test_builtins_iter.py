"""Iterator builtins, itertools, and builtins over VTs: traced without a break, identical to eager.

Iteration order, laziness (when a mapped function runs, how far a shared
iterator has moved) and error cases are compared with CPython on fresh inputs.
"""
import itertools
import operator
from itertools import chain, count, islice

import pytest
import torch

from helpers import all_ops, assert_raises_like_eager, assert_same_as_eager, clone_inputs, ops
from tracer import trace
from core.outcomes import BreakKind


def t(*shape):
    return torch.randn(*shape)


def tensors(*lengths):
    return tuple(t(n) for n in lengths)


def same(fn, make_inputs, graphs=None):
    """assert_same_as_eager with no break; `graphs` defaults to what the capture made (0 or 1)."""
    if graphs is None:
        graphs = len(trace(fn, tuple(make_inputs())).graphs)
    return assert_same_as_eager(fn, make_inputs, graphs=graphs, breaks=0)


def raise_kinds(fn, *args):
    """The breaks of a capture that raises like eager (checked on the same arguments)."""
    res = assert_raises_like_eager(fn, lambda: clone_inputs(args))
    return [brk.kind for brk in res.graph_breaks]


def break_kinds(fn, *args):
    res = trace(fn, args)
    return [brk.kind for brk in res.graph_breaks]


# -- zip, enumerate, map, filter with tensors ----------------------------------------------------

def test_zip_loop_over_tensors_then_stack():
    def fn(xs, ys):
        out = []
        for a, b in zip(xs, ys):
            out = out + [a * b]
        return torch.stack(out)

    res = same(fn, lambda: (tensors(2, 2, 2), tensors(2, 2)), graphs=1)
    assert ops(res.graphs[0]) == [operator.mul, operator.mul, torch.stack]


def test_enumerate_zip_loop_appending_tensors_then_stack():
    def fn(xs, ys):
        out = []
        for i, (a, b) in enumerate(zip(xs, ys)):
            out.append(a * i + b)
        for y in map(torch.tanh, ys):
            out.append(y)
        return torch.stack(out), len(out)

    res = same(fn, lambda: (tensors(3, 3, 3), tensors(3, 3, 3)), graphs=1)
    assert ops(res.graphs[0]).count(torch.tanh) == 3 and ops(res.graphs[0])[-1] is torch.stack


def test_zip_strict_and_empty_zip():
    def fn(xs, ys):
        return list(zip(xs, ys, strict=True)), list(zip()), list(zip(xs))

    same(fn, lambda: (tensors(1, 2), tensors(3, 4)))


def test_zip_strict_length_mismatch_breaks_as_python_exception():
    def fn(xs, ys):
        return list(zip(xs, ys, strict=True))

    # list() had already taken an item when zip raised: a builtin's partial work is not modelled, so
    # this breaks, and the eager run raises.
    for args in ((tensors(1, 2), tensors(3)), (tensors(1), tensors(3, 4))):
        assert break_kinds(fn, *args) == [BreakKind.PYTHON_EXCEPTION]
        res = trace(fn, args)
        try:
            res(*args)
        except ValueError as exc:
            assert "zip() argument" in str(exc)
        else:
            raise AssertionError("expected ValueError")


def test_enumerate_with_start_in_a_loop():
    def fn(xs):
        total = xs[0]
        for i, x in enumerate(xs, start=2):
            total = total + x * i
        return total, list(enumerate("ab")), list(enumerate(xs, 5))

    same(fn, lambda: (tensors(3, 3, 3),))


def test_map_with_torch_function_is_lazy():
    def fn(xs):
        mapped = map(torch.relu, xs)
        first = next(mapped)
        return first

    res = same(fn, lambda: (tensors(3, 3, 3),))
    assert ops(res.graphs[0]) == [torch.relu]


def test_map_over_two_iterables_stacks_results():
    def fn(xs, ys):
        return torch.stack(list(map(torch.add, xs, ys)))

    res = same(fn, lambda: (tensors(2, 2, 2), tensors(2, 2)))
    assert ops(res.graphs[0]) == [torch.add, torch.add, torch.stack]


def test_map_with_bound_tensor_method_and_builtin():
    def fn(x, ys):
        return tuple(map(x.add, ys)), list(map(len, ys)), list(map(str, (1, 2)))

    same(fn, lambda: (t(2), tensors(2, 2)))


def test_map_interleaves_with_the_consumer_like_eager():
    def fn(xs):
        total = 0
        for y in map(torch.sin, xs):
            total = total + y
        return total

    res = same(fn, lambda: (tensors(2, 2),))
    assert ops(res.graphs[0]) == [torch.sin, operator.add, torch.sin, operator.add]


def test_filter_none_and_with_builtin():
    def fn(x):
        return list(filter(None, [0, 1, 2, 0, 3])), list(filter(bool, ("", "a"))), \
            list(itertools.filterfalse(None, [0, 1, 0])), x + 1

    same(fn, lambda: (t(2),))


def test_filter_on_tensor_truth_breaks_as_data_dependent():
    def fn(xs):
        return list(filter(None, xs))

    assert break_kinds(fn, tensors(1, 1)) == [BreakKind.DATA_DEPENDENT]


# -- reversed, sorted, range, iter/next -----------------------------------------------------------

def test_reversed_list_tuple_range_and_tensor():
    def fn(x, xs):
        return list(reversed(list(xs))), tuple(reversed(xs)), list(reversed(range(x.shape[0]))), \
            reversed(x), list(reversed({"a": 1, "b": 2}))

    res = same(fn, lambda: (t(3, 2), tensors(1, 2)))
    assert ops(res.graphs[0]) == ["flip"]


def test_reversed_list_sees_the_list_shrink():
    def fn(x):
        items = [1, 2, 3, 4]
        it = reversed(items)
        first = next(it)
        items.pop()
        items.pop()
        return first, list(it), x

    same(fn, lambda: (t(1),))


def test_sorted_constants_and_tensors_by_key():
    def fn(xs):
        return sorted([3, 1, 2], reverse=True), sorted(xs, key=len), sorted("bca"), \
            sorted(xs, key=len, reverse=True)

    same(fn, lambda: (tensors(3, 1, 2, 1),))


def test_sorted_tensors_without_key_breaks_as_data_dependent():
    assert break_kinds(lambda xs: sorted(xs), tensors(1, 1)) == [BreakKind.DATA_DEPENDENT]


def test_range_from_tensor_shape():
    def fn(x):
        total = x[0]
        for i in range(1, x.shape[0], 2):
            total = total + x[i]
        return total, list(range(x.shape[1]))

    same(fn, lambda: (t(5, 3),))


def test_iter_and_next_with_default():
    def fn(xs):
        it = iter(xs)
        a = next(it)
        b = next(it, None)
        c = next(it, "done")
        return a, b, c, iter(it) is it

    same(fn, lambda: (tensors(1, 2),))


def test_next_on_exhausted_iterator_without_default_breaks():
    def fn(xs):
        it = iter(xs)
        next(it)
        return next(it)

    assert raise_kinds(fn, tensors(1)) == []


def test_shared_iterator_advances_like_cpython():
    def fn(xs):
        it = iter(xs)
        pairs = list(zip(it, it))
        return pairs, list(it)

    same(fn, lambda: (tensors(1, 2, 3, 4, 5),))


def test_zip_takes_from_earlier_iterators_before_noticing_the_end():
    def fn(xs, ys):
        it = iter(xs)
        pairs = list(zip(it, ys))
        return pairs, next(it, None), next(it, None)

    same(fn, lambda: (tensors(1, 2, 3, 4), tensors(5)))


def test_list_iterator_stays_exhausted_after_the_list_grows():
    def fn(x):
        items = [x]
        it = iter(items)
        first = list(it)
        items.append(x + 1)
        return first, list(it)

    same(fn, lambda: (t(2),))


def test_for_loop_over_zip_of_fresh_iterators_of_different_lengths():
    def fn(xs, ys):
        total = xs[0]
        for a, b in zip(xs, ys):
            total = total + a * b
        return total

    same(fn, lambda: (tensors(2, 2, 2), tensors(2, 2)), graphs=1)


# -- itertools --------------------------------------------------------------------------------------

def test_chain_and_from_iterable_by_module_attribute_and_import():
    def fn(xs, ys):
        return list(chain(xs, ys)), list(itertools.chain.from_iterable([xs, ys])), \
            list(chain.from_iterable(((1, 2), "ab"))), list(itertools.chain())

    same(fn, lambda: (tensors(1, 2), tensors(3)))


def test_chain_opens_each_iterable_only_when_reached():
    def fn(xs):
        it = iter(xs)
        chained = chain([0], it)
        first = next(chained)
        moved = next(it)  # chain has not touched `it` yet
        return first, moved, list(chained)

    same(fn, lambda: (tensors(1, 2, 3),))


def test_product_permutations_combinations():
    def fn(xs):
        return list(itertools.product(range(2), "ab")), list(itertools.product(xs, repeat=2)), \
            list(itertools.permutations(xs, 2)), list(itertools.permutations(range(3))), \
            list(itertools.combinations(range(4), 2)), list(itertools.combinations_with_replacement("ab", 2)), \
            list(itertools.product())

    same(fn, lambda: (tensors(1, 2),))


def test_islice_forms_and_laziness_over_count():
    def fn(xs):
        return list(islice(xs, 2)), list(islice(xs, 1, None, 2)), list(islice(count(), 5)), \
            list(islice(count(3, 2), 1, 4)), list(islice(xs, 0)), list(islice(xs, None))

    same(fn, lambda: (tensors(1, 2, 3, 4),))


def test_islice_leaves_a_shared_iterator_where_cpython_does():
    def fn(xs):
        it = iter(xs)
        head = list(islice(it, 1, 3))
        return head, list(it)

    same(fn, lambda: (tensors(1, 2, 3, 4, 5),))


def test_islice_bad_bounds_break_as_python_exception():
    assert raise_kinds(lambda xs: list(islice(xs, -1)), tensors(1)) == []


def test_accumulate_of_tensors_records_running_sums():
    def fn(xs):
        return list(itertools.accumulate(xs)), list(itertools.accumulate([1, 2, 3], operator.mul, initial=10))

    res = same(fn, lambda: (tensors(2, 2, 2),))
    assert ops(res.graphs[0]) == [operator.add, operator.add]


def test_repeat_count_cycle_zipped_with_finite_iterables():
    def fn(xs):
        return list(zip(itertools.repeat(2), xs)), list(itertools.repeat("a", 3)), \
            list(itertools.repeat(0, -1)), list(zip(count(10), xs)), list(zip(range(5), itertools.cycle(xs))), \
            list(zip(count(0.5, 0.25), "abc"))

    same(fn, lambda: (tensors(1, 2),))


def test_count_loop_with_break():
    def fn(x):
        for i in count(1):
            x = x * i
            if i >= 3:
                break
        return x

    res = same(fn, lambda: (t(2),))
    assert ops(res.graphs[0]) == [operator.mul] * 3


def test_zip_longest_fills_and_stops_with_the_last():
    def fn(xs, ys):
        return list(itertools.zip_longest(xs, ys, fillvalue=0)), list(itertools.zip_longest("ab", "c", "def")), \
            list(itertools.zip_longest())

    same(fn, lambda: (tensors(1, 2, 3), tensors(4)))


def test_pairwise_starmap_takewhile_dropwhile_compress():
    def fn(xs):
        return list(itertools.pairwise(xs)), list(itertools.starmap(torch.add, zip(xs, xs))), \
            list(itertools.takewhile(bool, [1, 2, 0, 3])), list(itertools.dropwhile(bool, [1, 0, 2, 0])), \
            list(itertools.compress("abcd", [1, 0, 1, 0])), list(itertools.pairwise("a"))

    same(fn, lambda: (tensors(1, 1, 1),))


def test_itertools_iterator_returned_breaks_at_return():
    res = trace(lambda xs: chain(xs), (tensors(1),))
    assert [brk.kind for brk in res.graph_breaks] == [BreakKind.UNSUPPORTED_VALUE]


# -- lambdas and user functions as callables ---------------------------------------------------------

def test_map_and_sorted_with_lambdas():
    def fn(xs):
        doubled = list(map(lambda v: v * 2, xs))
        ordered = sorted(xs, key=lambda v: -v.shape[0])
        kept = list(filter(lambda v: v.shape[0] > 1, xs))
        return doubled, ordered, kept, max(xs, key=lambda v: v.shape[0])

    same(fn, lambda: (tensors(1, 3, 2),))


def test_accumulate_and_takewhile_with_lambdas():
    def fn(xs, ys):
        return list(itertools.accumulate(xs, lambda a, b: a * b)), \
            list(itertools.takewhile(lambda v: v.shape[0] < 3, ys))

    same(fn, lambda: (tensors(2, 2, 2), tensors(1, 2, 3, 1)))


# -- builtins over VTs --------------------------------------------------------------------------------

def test_len_of_containers_strings_ranges():
    def fn(x, xs):
        return len([1, 2]), len({"a": 1}), len({1, 2, 3}), len(xs), len("abc"), len(range(10 ** 12)), len(x)

    same(fn, lambda: (t(4, 2), tensors(1, 2)))


def test_len_of_iterator_raises_like_eager():
    assert raise_kinds(lambda xs: len(iter(list(xs))), tensors(1)) == []


def test_min_max_constants_keys_and_defaults():
    def fn(xs):
        return min(3, 1, 2), max([1, 5, 2]), max((1, -7, 3), key=abs), min([], default="none"), \
            max("abc"), max(xs, key=len), min(xs, key=len)

    same(fn, lambda: (tensors(2, 3, 3, 1),))


def test_max_of_two_tensors_is_data_dependent():
    assert break_kinds(lambda x, y: max(x, y), t(1), t(1)) == [BreakKind.DATA_DEPENDENT]


def test_max_of_empty_sequence_breaks_as_python_exception():
    assert raise_kinds(lambda x: max([]), t(1)) == []


def test_sum_of_tensors_adds_from_zero_like_cpython():
    def fn(xs):
        return sum(xs)

    res = same(fn, lambda: (tensors(3, 3, 3),))
    nodes = [n for n in res.graphs[0].graph.nodes if n.op == "call_function"]
    assert [n.target for n in nodes] == [operator.add] * 3
    assert nodes[0].args[0] == 0


def test_sum_of_constants_and_with_start():
    def fn(x):
        return sum([1, 2, 3]), sum((0.1, 0.2, 0.3)), sum([[1], [2]], []), sum(range(5), 10), x

    same(fn, lambda: (t(1),))


def test_sum_of_map_interleaves_calls_and_adds():
    def fn(xs):
        return sum(map(torch.relu, xs), xs[0])

    res = same(fn, lambda: (tensors(2, 2),))
    assert ops(res.graphs[0]) == [torch.relu, operator.add, torch.relu, operator.add]


def test_any_all_short_circuit_before_a_tensor():
    def fn(x):
        return any([0, 1, x]), all([1, 0, x]), any([]), all([]), any(iter((0, "")))

    same(fn, lambda: (t(3),))


def test_any_all_reaching_a_tensor_breaks_as_data_dependent():
    assert break_kinds(lambda x: any([0, x]), t(3)) == [BreakKind.DATA_DEPENDENT]


def test_abs_round_divmod_pow():
    def fn(x):
        return abs(-2), round(2.567, 2), round(2.5), divmod(7, 2), pow(2, 5), pow(3, 2, 5), abs(x), pow(x, 2)

    res = same(fn, lambda: (t(3),))
    assert ops(res.graphs[0]) == [operator.abs, operator.pow]


def test_number_and_string_constructors():
    def fn(x):
        n = x.shape[0]
        return int("3"), int(2.7), float(n), bool(0), str(n), complex(1, n), repr("a"), int(True)

    same(fn, lambda: (t(3),))


@pytest.mark.parametrize("convert", [int, float, str, complex], ids=lambda f: f.__name__)
def test_converting_a_tensor_reads_its_values(convert):
    assert break_kinds(lambda x: convert(x), t(1)) == [BreakKind.DATA_DEPENDENT]


def test_container_constructors():
    def fn(x, xs):
        return list(iter((1, 2))), tuple([x, 1]), list(xs), tuple(range(3)), list("ab"), \
            dict([("a", 1), ("b", x)]), dict(a=1, b=x), dict({"a": 1}, c=2), dict(zip("ab", xs)), \
            sorted(set([3, 1, 2])), frozenset([1, 2]) == {1, 2}, list(), tuple(), dict()

    same(fn, lambda: (t(2), tensors(1, 2)))


def test_list_of_iterator_drains_it():
    def fn(xs):
        it = iter(xs)
        first = list(it)
        return first, list(it), list(map(torch.neg, xs))

    same(fn, lambda: (tensors(1, 2),))


def test_set_of_constants_keeps_cpython_order():
    def fn(x):
        return list(set(["b", "a", "c", "a"])), list(set(range(20, 0, -3))), x

    same(fn, lambda: (t(1),))


def test_isinstance_issubclass_with_tuples():
    def fn(x, n):
        return isinstance(x, (int, torch.Tensor)), isinstance(n, (float, str)), isinstance([1], list), \
            isinstance({}, dict), isinstance(iter([]), type(iter([]))), issubclass(bool, int), \
            issubclass(type(n), (str, int)), isinstance(zip(), zip)

    same(fn, lambda: (t(1), 3))


def test_type_of_values_compares_with_builtin_types():
    def fn(x, n):
        return type(n) == int, type(n) != float, type(x) == torch.Tensor, type(n).__name__, type([]) == list

    same(fn, lambda: (t(1), 3))


def test_type_is_builtin_type():
    same(lambda x, n: (type(n) is int, type(x) is torch.Tensor), lambda: (t(1), 3))


def test_getattr_hasattr_callable_hash():
    def fn(x):
        return getattr(x, "shape"), getattr(3, "nothing", "default"), getattr(3, "real"), hasattr(x, "shape"), \
            hasattr(3, "real"), hasattr("a", "nope"), callable(torch.relu), callable(x), callable(len), \
            callable(3), hash(5) == hash(5), hash((1, "a")) == hash((1, "a")), getattr(torch, "relu")(x)

    same(fn, lambda: (t(2),))


def test_id_breaks():
    assert break_kinds(lambda x: id(x), t(1)) == [BreakKind.UNSUPPORTED_CALL]


# -- the operator module --------------------------------------------------------------------------

def test_operator_functions_on_tensors_and_constants():
    def fn(x, y):
        return operator.add(x, y), operator.getitem(x, 0), operator.mul(2, 3), operator.neg(x), \
            operator.lt(1, 2), operator.truediv(x, 2), operator.not_(0), operator.getitem((1, 2), 1), \
            operator.matmul(x, y.T), operator.abs(-3), operator.truth(1)

    res = same(fn, lambda: (t(2, 3), t(2, 3)))
    assert operator.add in ops(res.graphs[0]) and operator.neg in ops(res.graphs[0])


def test_operator_itemgetter_attrgetter_methodcaller():
    def fn(x, pairs):
        first = operator.itemgetter(0)
        return list(map(first, pairs)), operator.itemgetter(0, 1)(x), operator.attrgetter("shape", "dtype")(x), \
            operator.methodcaller("sum", dim=0)(x), sorted(pairs, key=operator.itemgetter(1))

    same(fn, lambda: (t(2, 3), ((1, 3), (2, 1), (0, 2))))


def test_reduce_style_loop_with_operator_add():
    def fn(xs):
        total = xs[0]
        for x in xs[1:]:
            total = operator.add(total, x)
        return total

    res = same(fn, lambda: (tensors(2, 2, 2),))
    assert all_ops(res) == [operator.add, operator.add]


def test_functools_reduce_and_pure_operator_functions():
    import functools

    def fn(xs):
        return functools.reduce(operator.add, xs), functools.reduce(operator.mul, [1, 2, 3], 10), \
            functools.reduce(lambda a, b: a - b, xs), operator.contains((1, 2), 2), operator.index(3), \
            operator.countOf([1, 2, 1], 1)

    res = same(fn, lambda: (tensors(2, 2, 2),))
    assert ops(res.graphs[0]) == [operator.add, operator.add, operator.sub, operator.sub]


def test_reduce_of_empty_without_initial_breaks():
    import functools

    assert raise_kinds(lambda x: functools.reduce(operator.add, []), t(1)) == []


def test_for_loop_end_keeps_what_finding_the_end_changed():
    def fn(xs):
        it = iter(xs)
        total = xs[0]
        for a, b in zip(it, (1, 2)):  # the loop's last zip step takes xs[2] from `it` before seeing the end
            total = total + a * b
        return total, list(it)

    same(fn, lambda: (tensors(2, 2, 2, 2),))


def test_enumerate_over_a_generator_expression_in_a_loop():
    def fn(xs):
        out = xs[0]
        for i, v in enumerate(x * 2 for x in xs):
            out = out + v * i
        return out

    same(fn, lambda: (tensors(2, 2, 2),))
