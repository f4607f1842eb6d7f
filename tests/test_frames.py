"""Code that runs at or after a graph break sees the user's frame, as eager does: the same local
names (and only those), eval/exec without namespaces, zero-argument super(), the function's name
and lines in frames and tracebacks, the module seen from the caller's frame, the exception an
`except` block handles (graph/resume.py, graph/resume_code.py, vt/builtins/frames.py)."""
import collections
import sys
import traceback
import types

from helpers import assert_same_outcome
from tracer import compile, graph_break


def test_locals_at_a_break_are_the_users():
    def f(w, unused=None):
        x = w + 1
        del unused
        return sorted(locals().items())

    traced = assert_same_outcome(f, lambda: (41,))
    assert any(b.needs_frame for b in traced.graph_breaks)


def test_locals_after_a_break_in_a_resume_function():
    def f(w):
        y = w * 2
        graph_break()
        z = y + 1
        return sorted(locals())

    assert_same_outcome(f, lambda: (3,))


def test_locals_show_cell_contents():
    def f(w):
        c = w + 1
        g = lambda: c  # noqa: E731  (c is a cell)
        return sorted((k, v) for k, v in locals().items() if k != "g"), g()

    assert_same_outcome(f, lambda: (1,))


def test_eval_and_exec_without_namespaces_see_the_locals():
    def f():
        x = 41
        out = eval("x + 1")
        exec("assert x == 41")
        return out

    assert_same_outcome(f)


def test_function_name_and_line_from_inside():
    def frame_name():
        frame, line = sys._getframe(), sys._getframe().f_lineno
        return frame.f_code.co_name, frame.f_code.co_qualname, line - frame.f_code.co_firstlineno

    assert_same_outcome(frame_name)


def test_function_name_after_a_break():
    def f():
        graph_break()
        return sys._getframe().f_code.co_name

    assert_same_outcome(f)


class _Base:
    def f(self):
        return "base"


class _Child(_Base):
    def f(self):
        graph_break()
        return "child+" + super().f()

    def g(self, n):
        values = [n]
        return super().__repr__() is not None, values  # super() of a plain object: a break


def test_zero_argument_super_after_a_break():
    assert_same_outcome(lambda: compile(_Child.f)(_Child()))
    assert compile(_Child.f)(_Child()) == "child+base"


def test_zero_argument_super_at_the_break():
    assert compile(_Child.g)(_Child(), 3) == _Child().g(3)


_module = types.ModuleType("frames_test_module")
exec("import collections\n"
     "def make():\n"
     "    return collections.namedtuple('P', 'x').__module__\n", _module.__dict__)


def test_namedtuple_module_is_the_callers():
    assert compile(_module.make)() == "frames_test_module"


def test_exc_info_in_a_handler_that_breaks():
    def f():
        try:
            raise ValueError("x")
        except ValueError:
            return sys.exc_info()[0], sys.exc_info()[1].args

    assert_same_outcome(f)
    assert sys.exc_info() == (None, None, None)


def test_bare_raise_after_a_break_in_a_handler():
    def f():
        try:
            raise ValueError("x")
        except ValueError:
            graph_break()
            raise

    assert_same_outcome(f)
    assert sys.exc_info() == (None, None, None)


def test_new_exception_after_a_break_in_a_handler_chains_to_the_handled_one():
    def f():
        try:
            raise ValueError("x")
        except ValueError:
            graph_break()
            try:
                raise KeyError(1)
            except KeyError as e:
                return repr(e.__context__)

    assert_same_outcome(f)


def test_handled_exception_is_restored_after_the_call():
    def f():
        try:
            raise ValueError("inner")
        except ValueError:
            graph_break()
        return sys.exc_info()[0]

    traced = compile(f)
    try:
        raise KeyError("outer")
    except KeyError:
        assert traced() is f() is KeyError
        assert sys.exc_info()[0] is KeyError


def _raise_here():
    sys._getframe()  # runs for real, called from the step function
    raise ValueError("deep")


def test_traceback_shows_the_users_function_and_line():
    def f():
        graph_break()
        _raise_here()

    def frames(call):
        try:
            call()
        except ValueError as exc:
            return [(fr.name, fr.line) for fr in traceback.extract_tb(exc.__traceback__)
                    if "snaptrace" not in fr.filename and "/tracer/" not in fr.filename]

    eager, traced = frames(f), frames(compile(f))
    assert traced[-2:] == eager[-2:] == [("f", "_raise_here()"), ("_raise_here", 'raise ValueError("deep")')]
    assert all(name in ("f", "_raise_here", "frames") for name, _ in traced)


def test_locals_of_a_comprehension_at_a_break():
    def f(n):
        return [sorted(locals()) for i in range(n)]

    assert_same_outcome(f, lambda: (2,))


def test_frame_of_caller_is_not_a_compiled_entry():
    def who_called():
        graph_break()
        return sys._getframe(1).f_code.co_name

    def f():
        return who_called()

    assert_same_outcome(f)


def test_namedtuple_made_at_a_break():
    def f():
        P = collections.namedtuple("P", "x y")
        graph_break()
        return P(1, 2).x, P.__module__

    assert_same_outcome(f)
