"""`with` blocks against eager: torch grad mode, managers written in Python, contextlib managers."""
import contextlib

import pytest
import torch

from helpers import assert_raises_like_eager, assert_same_as_eager
from tracer import trace
from core.outcomes import BreakKind

LOG = []


def t(*shape, grad=False):
    return torch.randn(*shape, requires_grad=grad)


def grad_flags(values):
    return [v.requires_grad for v in values if isinstance(v, torch.Tensor)]


def same_with_grad_flags(fn, make_inputs):
    res = assert_same_as_eager(fn, make_inputs)
    args = make_inputs()
    assert grad_flags(res(*args)) == grad_flags(fn(*args))
    assert torch.is_grad_enabled()
    return res


def test_no_grad_block_is_a_graph_region_and_results_match_eager_requires_grad():
    def fn(x):
        with torch.no_grad():
            y = x * 2
        z = x * 3
        return y, z

    res = same_with_grad_flags(fn, lambda: (t(3, grad=True),))
    targets = [node.target for node in res.graphs[0].graph.nodes if node.op == "call_function"]
    assert targets.count(torch._C._set_grad_enabled) == 2
    assert res.graph_breaks == []


def test_enable_grad_inside_no_grad_and_set_grad_enabled_both_forms():
    def fn(x):
        with torch.no_grad():
            a = x + 1
            with torch.enable_grad():
                b = x + 2
            with torch.set_grad_enabled(True):
                c = x + 3
            d = x + 4
        torch.set_grad_enabled(False)
        e = x + 5
        torch.set_grad_enabled(True)
        return a, b, c, d, e

    same_with_grad_flags(fn, lambda: (t(3, grad=True),))


def test_capture_under_no_grad_is_guarded_on_the_global_grad_mode():
    def fn(x):
        return x * 2

    res = trace(fn, (t(2, grad=True),))
    with torch.no_grad():
        out = res(t(2, grad=True))
    assert not out.requires_grad
    assert res(t(2, grad=True)).requires_grad
    assert any("grad" in str(guard) for guard in res.guards)


def test_exception_inside_no_grad_restores_the_mode_and_is_caught():
    def fn(x):
        try:
            with torch.no_grad():
                y = x * 2
                raise ValueError("inside")
        except ValueError:
            z = x * 3
        return y, z

    same_with_grad_flags(fn, lambda: (t(3, grad=True),))


def test_exception_escaping_a_no_grad_block_leaves_grad_mode_on():
    def fn(x, items):
        with torch.no_grad():
            items.append(x * 2)
            raise KeyError("escapes")

    assert_raises_like_eager(fn, lambda: (t(2, grad=True), []))
    assert torch.is_grad_enabled()


def test_inference_mode_is_captured_with_a_return_inside_the_block():
    def fn(x):
        with torch.inference_mode():
            return x * 2

    res = trace(fn, (t(2),))
    assert res.graph_breaks == [] and len(res.graphs) == 1
    x = t(2)
    out = res(x)
    assert out.is_inference() and torch.equal(out, fn(x))


class Recorder:
    """A manager written in Python; suppresses the exception types it is given."""

    def __init__(self, suppress=()):
        self.suppress = suppress

    def __enter__(self):
        LOG.append("enter")
        return 10

    def __exit__(self, kind, value, traceback):
        LOG.append(("exit", None if kind is None else kind.__name__, value is None, traceback is None))
        return kind is not None and issubclass(kind, self.suppress)


PLAIN = Recorder()
SUPPRESSING = Recorder((KeyError,))


def test_python_manager_enter_value_and_exit_on_the_normal_path():
    def fn(x):
        with PLAIN as value:
            y = x + value
        return y

    LOG.clear()
    assert_same_as_eager(fn, lambda: (t(2),))
    assert LOG == ["enter", ("exit", None, True, True)] * 2


def test_python_manager_suppresses_or_lets_the_exception_through():
    def fn(x, log):
        with SUPPRESSING:
            log.append("body")
            raise KeyError("suppressed")
        log.append("after")
        try:
            with SUPPRESSING:
                raise ValueError("passes")
        except ValueError as e:
            log.append(e.args)
        return x + 1, log

    LOG.clear()
    assert_same_as_eager(fn, lambda: (t(2), []))
    assert LOG[:2] == ["enter", ("exit", "KeyError", False, False)]


def test_object_without_the_protocol_raises_type_error_like_eager():
    def fn(x):
        try:
            with 3:
                pass
        except TypeError as e:
            return x + 1, e.args

    assert_same_as_eager(fn, lambda: (t(2),))


@contextlib.contextmanager
def tagged(log, tag):
    log.append(("enter", tag))
    try:
        yield tag * 2
    except KeyError as e:
        log.append(("handled", e.args))
    finally:
        log.append(("exit", tag))


@contextlib.contextmanager
def scaled_no_grad(factor):
    with torch.no_grad():
        yield factor


def test_contextmanager_value_cleanup_and_suppression():
    def fn(x, log):
        with tagged(log, 3) as value:
            y = x + value
        with tagged(log, 4):
            raise KeyError("swallowed")
        try:
            with tagged(log, 5):
                raise ValueError("kept")
        except ValueError as e:
            log.append(e.args)
        return y, log

    res = assert_same_as_eager(fn, lambda: (t(2), []))
    assert res.graph_breaks == []


def test_contextmanager_wrapping_no_grad():
    def fn(x):
        with scaled_no_grad(2) as factor:
            y = x * factor
        return y, x * factor

    same_with_grad_flags(fn, lambda: (t(2, grad=True),))


def test_with_block_inside_an_inlined_callee_and_return_from_inside():
    def helper(x, log):
        with tagged(log, 1):
            return x * 2

    def fn(x, log):
        return helper(x, log) + 1, log

    assert_same_as_eager(fn, lambda: (t(2), []))


@torch.no_grad()
def doubled_without_grad(x):
    return x * 2


@torch.enable_grad()
def tripled_with_grad(x):
    return x * 3


def test_grad_mode_decorators_on_inlined_functions():
    def fn(x):
        with torch.no_grad():
            inner = tripled_with_grad(x)
        return doubled_without_grad(x), inner, x + 1

    res = same_with_grad_flags(fn, lambda: (t(2, grad=True),))
    assert res.graph_breaks == [] and len(res.graphs) == 1


def test_is_grad_enabled_follows_the_traced_grad_mode():
    def fn(x):
        with torch.no_grad():
            inside = torch.is_grad_enabled()
        return x + 1, inside, torch.is_grad_enabled()

    res = same_with_grad_flags(fn, lambda: (t(2, grad=True),))
    assert res.graph_breaks == []


@contextlib.contextmanager
def _plain_manager():
    yield


@contextlib.contextmanager
def _converting_manager():
    try:
        yield
    except RuntimeError:
        raise SyntaxError


def test_stop_iteration_raised_in_a_contextmanager_body_comes_back_itself():
    from helpers import assert_same_outcome

    def fn():
        stop = StopIteration("spam")
        try:
            with _plain_manager():
                raise stop
        except Exception as ex:
            return repr(ex), ex is stop

    assert_same_outcome(fn)


def test_contextmanager_exit_with_a_class_only_throws_an_instance():
    from helpers import assert_same_outcome

    def fn():
        ctx = _converting_manager()
        ctx.__enter__()
        try:
            ctx.__exit__(RuntimeError, None, None)
        except SyntaxError:
            return "SyntaxError"
        return "nothing raised"

    assert_same_outcome(fn)
