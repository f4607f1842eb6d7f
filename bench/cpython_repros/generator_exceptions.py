"""Exceptions thrown into generators: a StopIteration raised in a @contextmanager `with` body comes
back as RuntimeError('generator raised StopIteration') instead of the StopIteration itself
(contextmanager.__exit__ recognises its own exception), and __exit__(RuntimeError, None, None)
does not run the generator's `except RuntimeError` (gen.throw(type) with no value).
CPython tests: test_contextmanager_except_pep479, test_contextmanager_non_normalised (2)."""
from contextlib import contextmanager

from _show import show


@contextmanager
def plain():
    yield


def stop_iteration_through_with():
    stop_exc = StopIteration("spam")
    try:
        with plain():
            raise stop_exc
    except Exception as ex:
        return repr(ex), ex is stop_exc


@contextmanager
def converts():
    try:
        yield
    except RuntimeError:
        raise SyntaxError


def exit_with_class_only():
    ctx = converts()
    ctx.__enter__()
    try:
        ctx.__exit__(RuntimeError, None, None)
    except SyntaxError:
        return "SyntaxError"
    return "nothing raised"


show(stop_iteration_through_with)
# eager:     returns ("StopIteration('spam')", True)
# snaptrace: returns ("RuntimeError('generator raised StopIteration')", False)
show(exit_with_class_only)
# eager:     returns 'SyntaxError'
# snaptrace: returns 'nothing raised'
