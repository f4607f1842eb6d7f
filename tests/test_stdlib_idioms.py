"""Standard-library idioms of model code, each against eager with no graph break: the `collections`
containers made inside the traced function or passed in, `super().__init__` into C base classes,
`globals()`, and the attributes of functions and methods.

Every check runs the traced function twice on fresh inputs (new tensor values each time) against
eager on copies of the same inputs, and compares results and inputs afterwards, deeply and by type:
an OrderedDict must come back an OrderedDict with the same key order, a deque with its maxlen, a
defaultdict with its factory, a list subclass's object with its attributes.
"""
import collections
import copy
import enum
import functools
import operator
import types
from collections import ChainMap, Counter, OrderedDict, defaultdict, deque

import pytest
import torch

import tracer
from tests.helpers import outcome


# -- checking against eager ---------------------------------------------------------------------------

def same(got, want, path="result"):
    """Deep equality that also requires the same types, key order, maxlen, factory and attributes."""
    assert type(got) is type(want), f"{path}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, torch.Tensor):
        torch.testing.assert_close(got, want, msg=lambda m: f"{path}: {m}")
    elif isinstance(want, dict):
        assert list(got) == list(want), f"{path}: keys {list(got)} != {list(want)}"
        for key in want:
            same(got[key], want[key], f"{path}[{key!r}]")
        if isinstance(want, defaultdict):
            same_callable(got.default_factory, want.default_factory, f"{path}.default_factory")
    elif isinstance(want, deque):
        assert got.maxlen == want.maxlen, f"{path}: maxlen {got.maxlen} != {want.maxlen}"
        same(list(got), list(want), path)
    elif isinstance(want, ChainMap):
        same(got.maps, want.maps, f"{path}.maps")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), f"{path}: length {len(got)} != {len(want)}"
        for index, (a, b) in enumerate(zip(got, want)):
            same(a, b, f"{path}[{index}]")
    elif isinstance(want, BaseException):
        same(got.args, want.args, f"{path}.args")
    elif callable(want):
        same_callable(got, want, path)
        return
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"
    if hasattr(want, "__dict__") and not isinstance(want, (type, torch.Tensor)):
        same(vars(got), vars(want), f"{path}.__dict__")


def same_callable(got, want, path):
    """The same callable, or functions over the same code (a lambda made anew by each run)."""
    if got is want:
        return
    assert isinstance(want, types.FunctionType) and type(got) is type(want), f"{path}: {got!r} != {want!r}"
    assert got.__code__ is want.__code__, f"{path}: {got!r} != {want!r}"


def copies(values):
    return copy.deepcopy(values)


def check(fn, make_inputs=lambda: (torch.randn(3),), calls=2):
    """fn traced and eager on fresh inputs: same results, same inputs afterwards, no graph break."""
    res = tracer.compile(fn)
    for _ in range(calls):
        fresh = make_inputs()
        eager_inputs = copies(fresh)
        want = fn(*eager_inputs)
        got = res(*fresh)
        same(got, want)
        same(list(fresh), list(eager_inputs), "inputs")
        for mine, theirs in zip(fresh, eager_inputs):  # returning an input gives the caller's own object
            assert (got is mine) == (want is theirs)
    assert res.graph_breaks == [], res.graph_breaks
    return res


# -- OrderedDict ----------------------------------------------------------------------------------------

def test_ordered_dict_made_inside_with_its_methods():
    def fn(x):
        c = x * 2
        d = OrderedDict(a=x, b=2)
        d.update([("c", c)], z=0)
        d.move_to_end("a")
        d.move_to_end("z", last=False)
        first = d.popitem(last=False)
        last = d.popitem()
        e = OrderedDict([("b", 2), ("c", c)])
        reordered = OrderedDict([("c", c), ("b", 2)])
        flags = (d == e, e == reordered, e == {"c": c, "b": 2}, dict(e) == dict(reordered), e != reordered)
        return d, first, last, flags, list(d), d.copy(), d | {"q": 1}, {"q": 1} | d, OrderedDict.fromkeys("ab")

    check(fn)


def test_ordered_dict_passed_in_is_changed_in_place_and_returned():
    def fn(d, x):
        d["new"] = x
        d.move_to_end("a")
        d.setdefault("b", 5)
        return d

    check(fn, lambda: (OrderedDict(a=torch.randn(2), b=1), torch.randn(2)))


ORDER = OrderedDict(first=1)


def test_ordered_dict_global_changed_in_the_trace_is_replayed():
    def fn(x):
        ORDER["second"] = 2
        ORDER.move_to_end("first")
        return x + len(ORDER)

    res = tracer.trace(fn, (torch.ones(2),))
    ORDER.clear()
    ORDER["first"] = 1
    res(torch.ones(2))
    assert list(ORDER.items()) == [("second", 2), ("first", 1)] and res.graph_breaks == []


# -- defaultdict ---------------------------------------------------------------------------------------

def make_pair():
    return [0, 0]


def test_defaultdict_factories_and_what_does_not_call_them():
    def fn(x):
        groups = defaultdict(list)
        for key, value in (("a", x), ("b", 1), ("a", 2)):
            groups[key].append(value)
        counts = defaultdict(int)
        for word in "abcab":
            counts[word] += 1
        lazy = defaultdict(lambda: x * 0)
        seen = (lazy.get("k"), "k" in lazy, lazy.pop("k", None), len(lazy))
        made = lazy["k"] + 1
        pairs = defaultdict(make_pair, {"p": [1, 1]})
        pairs["q"][0] = 5

        def scaled():
            return x * 3
        nested = defaultdict(scaled)
        return groups, counts, lazy, seen, made, pairs, nested["t"], nested, groups.default_factory, counts.copy()

    check(fn)


def test_defaultdict_passed_in_is_changed_in_place():
    def fn(d, x):
        d["old"].append(x)
        d["new"].append(1)
        return len(d)

    check(fn, lambda: (defaultdict(list, {"old": [torch.randn(1)]}), torch.randn(2)))


def test_defaultdict_without_factory_raises_key_error_like_eager():
    def fn(x):
        d = defaultdict(None, a=1)
        try:
            return d["missing"]
        except KeyError as error:
            return x + d["a"], error.args

    check(fn)


def test_defaultdict_factory_is_guarded():
    def fn(d):
        return d["k"]

    res = tracer.compile(fn)
    assert res(defaultdict(list)) == []
    assert res(defaultdict(int)) == 0  # another factory: recaptured, not the list's graph
    assert res.graph_breaks == []


# -- deque ---------------------------------------------------------------------------------------------

def test_deque_methods_maxlen_and_indexing():
    def fn(x):
        d = deque([1, 2, 3], maxlen=4)
        d.append(x)
        d.append(5)  # full: drops 1 from the left
        d.appendleft(0)  # drops from the right
        d.extend([6])
        d.extendleft([7, 8])
        d.rotate(-1)
        popped = (d.pop(), d.popleft())
        d.insert(1, 9)
        d[0] = 10
        del d[-1]
        e = deque()
        for value in (x, x * 2, x * 3):
            e.append(value)
        total = sum(e)
        return (d, popped, d[0], d[-1], len(d), d.maxlen, list(reversed(d)), 9 in d, d.count(9), d.index(9), total,
                e, e.popleft(), [item * 2 for item in e], d == deque(list(d)), d + deque([1]), d * 2, d < deque([11]))

    check(fn)


def test_deque_passed_in_is_changed_in_place_and_returned():
    def fn(d, x):
        d.append(x)
        d.popleft()
        d.rotate(1)
        return d

    check(fn, lambda: (deque([torch.randn(2), 1, 2], maxlen=3), torch.randn(2)))


def test_deque_errors_raise_like_eager():
    def fn(x):
        messages = []
        for action in (lambda: deque().pop(), lambda: deque([1]).remove(5), lambda: deque([1])[3],
                       lambda: deque([1], maxlen=1).insert(0, 2), lambda: deque([1]) + [2]):
            try:
                action()
            except (IndexError, ValueError, TypeError) as error:
                messages.append((type(error).__name__, str(error)))
        return x, messages

    check(fn)


def test_deque_changed_while_iterating_breaks_and_raises_like_eager():
    def fn(x):
        d = deque([x, x])
        for item in d:
            d.append(item)
        return d

    res = tracer.trace(fn, (torch.ones(1),))
    assert any("deque" in brk.reason for brk in res.graph_breaks)
    assert outcome(res, (torch.ones(1),))[:2] == outcome(fn, (torch.ones(1),))[:2] == ("raised", RuntimeError)


# -- Counter -------------------------------------------------------------------------------------------

def test_counter_construction_most_common_and_arithmetic():
    def fn(x):
        c = Counter("abracadabra")
        d = Counter(["x", "y", "x"])
        e = Counter({"a": 2, "z": 1}, q=3)
        missing = c["nope"]
        c.update("aab")
        c.update({"z": 4})
        c.subtract("r")
        ties = Counter("cbacba").most_common()  # equal counts keep first-seen order
        return (x * c["a"] + missing, "nope" in c, c, d, e, c.most_common(), c.most_common(2), ties,
                c + d, c - e, sorted(c.elements()), c.total(), dict(d), len(c), c == Counter(c))

    check(fn)


def test_counter_passed_in_is_updated_in_place():
    def fn(c, x):
        c["new"] += 1
        c.update("xyx")
        return x * c["x"], c.most_common(1)

    check(fn, lambda: (Counter("xxy"), torch.randn(2)))


# -- ChainMap ------------------------------------------------------------------------------------------

def test_chain_map_lookup_writes_children_and_parents():
    def fn(x):
        base = {"a": 1, "b": x}
        chain = ChainMap({"a": 10}, base)
        chain["c"] = 3  # writes go to the first map
        child = chain.new_child({"d": 4})
        child["a"] = 0
        return (chain["a"] + chain["b"], chain.get("zz", 7), "b" in chain, len(chain), sorted(chain), chain,
                child.parents.maps == chain.maps, child.maps[0], dict(child))

    check(fn)


def test_chain_map_passed_in_writes_to_its_first_map():
    def fn(chain, x):
        chain["new"] = x
        del chain["old"]
        return chain["shared"] * x

    check(fn, lambda: (ChainMap({"old": 1}, {"shared": 2.0}), torch.randn(2)))


# -- super().__init__ into C base classes ---------------------------------------------------------------

class Batch(list):
    def __init__(self, items, tag="batch"):
        super().__init__(items)
        self.tag = tag

    def total(self):
        return sum(self)


class Bag(list):
    pass


def test_list_subclass_made_inside_with_list_methods():
    def fn(x):
        batch = Batch([x, 1])
        batch.append(2)
        batch.extend([3])
        batch.insert(0, x * 2)
        last = batch.pop()
        bag = Bag([3, 1, 2])
        bag.sort()
        bag += [4]
        doubled = [item * 2 for item in bag]
        return (batch, last, batch[1], batch[1:3], len(batch), batch.tag, batch.total(), bag, doubled,
                bag == [1, 2, 3, 4], bag + [5], bag * 2, 2 in bag, isinstance(batch, list), list(reversed(bag)),
                bool(Bag()), bag.index(3), list.append(bag, 7), bag)

    check(fn)


def test_list_subclass_passed_in_is_changed_in_place():
    def fn(batch, x):
        batch.append(x)
        batch[0] = 7
        batch.tag = "seen"
        return batch

    check(fn, lambda: (Batch([1, 2], "in"), torch.randn(2)))


class Record(dict):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.size = len(self)


class Registry(OrderedDict):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.frozen = False


def test_dict_subclasses_init_through_super():
    def fn(x):
        record = Record({"a": x}, b=2)
        pairs = Record([("z", 1)])
        registry = Registry(first=x, second=2)
        return record, record.size, pairs, record == {"a": x, "b": 2}, pairs != {"z": 1}, registry, dict.get(record, "b")

    check(fn)


class ModelError(ValueError):
    def __init__(self, message, code):
        super().__init__(f"model: {message}")
        self.code = code


def test_exception_subclass_init_through_super():
    def fn(x):
        try:
            raise ModelError("bad shape", 3)
        except ValueError as error:
            return x + error.code, str(error), error.args, isinstance(error, ModelError)

    check(fn)

    def raising(x):
        raise ModelError("raised", x.shape[0])

    res = tracer.trace(raising, (torch.ones(2),))
    assert res.graph_breaks == []
    got, want = outcome(res, (torch.ones(2),)), outcome(raising, (torch.ones(2),))
    assert got == want and got[1] is ModelError


# -- globals() -----------------------------------------------------------------------------------------

SCALE = 3.0


def test_globals_reads_writes_and_membership():
    def fn(x):
        namespace = globals()
        scale = namespace["SCALE"] + namespace.get("NOT_DEFINED_ANYWHERE", 1.0)
        flags = ("SCALE" in namespace, "NOT_DEFINED_ANYWHERE" in globals(), namespace is globals())
        globals()["SNAPTRACE_WRITTEN"] = x * scale
        return namespace["SNAPTRACE_WRITTEN"] + 1, flags, isinstance(namespace, dict)

    res = tracer.compile(fn)
    x = torch.randn(3)
    got = res(x)
    traced_global = globals().pop("SNAPTRACE_WRITTEN")
    want = fn(x)
    same(got, want)
    same(traced_global, globals().pop("SNAPTRACE_WRITTEN"))
    assert res.graph_breaks == []


def test_globals_missing_name_is_guarded():
    def fn(x):
        try:
            return x + globals()["SNAPTRACE_LATE"]
        except KeyError:
            return x

    res = tracer.compile(fn)
    x = torch.ones(2)
    same(res(x), x)
    globals()["SNAPTRACE_LATE"] = 5
    try:
        same(res(x), x + 5)  # the name now exists: recaptured
    finally:
        del globals()["SNAPTRACE_LATE"]
    assert res.graph_breaks == [] and len(res.captures) == 2


def test_whole_namespace_of_globals_breaks_with_a_reason():
    def fn(x):
        return x + len(globals().keys())

    res = tracer.trace(fn, (torch.ones(1),))
    assert res.graph_breaks and "whole module namespace" in res.graph_breaks[0].reason
    same(res(torch.ones(1)), fn(torch.ones(1)))


# -- function and method attributes --------------------------------------------------------------------

def module_function(a, b=2, *, c=3):
    "module doc"
    return a + b + c


module_function.marker = "m"


def decorator(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


@decorator
def decorated(x):
    "decorated doc"
    return x + 1


class Layer:
    def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        "forward doc"
        return x * scale


LAYER = Layer()
LAMBDA = lambda y: y  # noqa: E731

NAMES = ("__name__", "__qualname__", "__module__", "__defaults__", "__kwdefaults__", "__doc__")


@pytest.mark.parametrize("subject", [module_function, decorated, LAYER.forward, LAMBDA, Layer.forward, len],
                         ids=["module", "wrapped", "bound", "lambda", "class", "builtin"])
def test_function_and_method_attributes(subject):
    def fn(x):
        values = [getattr(subject, name, "absent") for name in NAMES]
        extra = [getattr(subject, name, None) for name in ("__closure__", "__annotations__", "__dict__")]
        wrapped = getattr(subject, "__wrapped__", None)
        code = getattr(subject, "__code__", None)
        shape = None if code is None else (code.co_name, code.co_argcount, code.co_varnames)
        return x, values, extra, wrapped, shape

    check(fn)


def test_attributes_of_functions_made_inside_the_trace():
    def fn(x):
        offset = 5

        def inner(p, q=4):
            "inner doc"
            return p + offset + q

        square = lambda v: v * v  # noqa: E731
        cells = inner.__closure__
        return (inner(x), inner.__name__, inner.__qualname__, inner.__module__, inner.__doc__,
                inner.__defaults__, inner.__kwdefaults__, cells[0].cell_contents, inner.__code__.co_argcount,
                inner.__code__.co_varnames, inner.__globals__ is globals(), square.__name__, square.__defaults__,
                square.__closure__, getattr(inner, "__wrapped__", "none"))

    check(fn)


def test_mutable_attributes_of_functions_made_inside_break_with_a_reason():
    def fn(x):
        def inner(p):
            return p
        return x + len(inner.__dict__)

    res = tracer.trace(fn, (torch.ones(1),))
    assert res.graph_breaks and "__dict__" in res.graph_breaks[0].reason
    same(res(torch.ones(1)), fn(torch.ones(1)))


class Node:
    def __init__(self, value, child=None):
        self.value = value
        self.child = child

    def scaled(self, k):
        return self.value * k


def test_operator_methodcaller_and_dotted_attrgetter():
    tree = Node(2, Node(3, Node(4)))

    def fn(x):
        deep = operator.attrgetter("child.child.value")
        several = operator.attrgetter("value", "child.value")
        call = operator.methodcaller("scaled", 5)
        add = operator.methodcaller("add", 1, alpha=2)
        return x * deep(tree), several(tree), call(tree), add(x), operator.itemgetter(1, 0)([x, 2])

    check(fn)


def test_builtin_collections_classes_are_reached_through_the_module():
    def fn(x):
        kinds = (collections.OrderedDict, collections.defaultdict, collections.deque, collections.Counter)
        made = [kind() for kind in kinds]
        return x, made, [type(value).__name__ for value in made], isinstance(made[0], dict)

    check(fn)


def test_copies_keep_the_collection_kind():
    def fn(x):
        ordered, counts, window = OrderedDict(a=x), defaultdict(list, b=[1]), deque([x, [2]], maxlen=3)
        shallow = (copy.copy(ordered), copy.copy(counts), copy.copy(window))
        plain = (OrderedDict(z=[1], a=2), defaultdict(list, b=[1]), deque([1, [2]], maxlen=3))
        deep = tuple(copy.deepcopy(value) for value in plain)  # (deepcopy of tensors is not modelled)
        deep[2][1].append(3)  # a deep copy's list is its own
        return shallow, deep, plain, window, shallow[1]["new"]

    check(fn)


WINDOW = deque([1, 2], maxlen=2)
SHARED = ChainMap({}, {"base": 1})


def test_collections_in_globals_changed_in_the_trace_are_replayed():
    def fn(x):
        WINDOW.append(3)
        SHARED["top"] = 2
        return x + WINDOW[0] + SHARED["base"]

    res = tracer.trace(fn, (torch.ones(1),))
    for _ in range(2):
        WINDOW.clear(), WINDOW.extend([1, 2]), SHARED.maps[0].clear()
        same(res(torch.ones(1)), torch.ones(1) + 3)
        assert list(WINDOW) == [2, 3] and SHARED.maps[0] == {"top": 2}
    assert res.graph_breaks == []


class Tags(set):
    pass


def test_comparing_an_object_whose_eq_is_a_c_base_without_a_rule_breaks():
    def fn(tags, x):
        return x + (tags == {1, 2})

    res = tracer.trace(fn, (Tags({1, 2}), torch.ones(1)))
    assert res.graph_breaks and "__eq__ of a C base class" in res.graph_breaks[0].reason
    same(res(Tags({1, 2}), torch.ones(1)), torch.ones(1) + 1)  # not `is`: eager's True

    def against_none(tags, x):
        return x + (tags == None) + (tags != "a")  # noqa: E711 - a set's __eq__ gives NotImplemented here

    check(against_none, lambda: (Tags({1}), torch.randn(1)))


def test_dict_dunders_called_by_name_follow_the_collection():
    def fn(x):
        counts = defaultdict(int)
        counts.__setitem__("a", counts.__getitem__("a") + 1)  # __getitem__ calls the factory
        plain = {"b": x}
        plain.__setitem__("c", 2)
        order = sorted(["c", "b"], key={"b": 0, "c": 1}.__getitem__)
        return counts, plain, plain.__contains__("c"), plain.__len__(), order, list(plain.__iter__())

    check(fn)


class Mode(str, enum.Enum):
    TRAIN = "train"
    EVAL = "eval"


class Level(enum.IntEnum):
    LOW = 1


MODE = Mode.TRAIN


def test_enum_members_with_c_base_eq_compare_as_eager():
    def fn(x):
        return x, MODE == "train", MODE == Mode.EVAL, MODE != Mode.TRAIN, Level.LOW == 1, MODE == "eval"

    check(fn)


@pytest.mark.parametrize("make", [lambda x: OrderedDict(a=x), lambda x: defaultdict(list, k=[x]),
                                  lambda x: deque([x], maxlen=2), lambda x: Counter("aab"), lambda x: Batch([x]),
                                  lambda x: ChainMap({"a": x}, {}), lambda x: globals()],
                         ids=["OrderedDict", "defaultdict", "deque", "Counter", "list subclass", "ChainMap", "globals"])
def test_values_crossing_a_graph_break_are_captured_once(make):
    def fn(x):
        value = make(x)
        tracer.graph_break()
        return value, x + 1

    res = tracer.compile(fn)
    for _ in range(3):
        x = torch.randn(2)
        got, want = res(x), fn(x)
        if want[0] is globals():
            assert got[0] is want[0]
        else:
            same(got, want)
    resume = res.captures[0].resumes[0]
    assert len(res.captures) == 1 and len(resume.captures) == 1  # no recapture: guarded by type, not identity
