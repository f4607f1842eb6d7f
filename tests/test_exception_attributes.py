"""Exception attributes and chains as CPython sets them: AttributeError.name/.obj and NameError.name,
writes of __suppress_context__, __cause__ / __context__ / __traceback__ type checks, context
chains with cycles, a deleted global that falls back to the builtin (vt/callables/exceptions.py,
tracer/unwind.py, tracer/ops/loads_stores.py)."""
from helpers import assert_same_outcome


class _A:
    blech = None

    def method(self):
        return 1


def test_attribute_error_has_name_and_obj():
    def f(obj):
        try:
            obj.bluch
        except AttributeError as exc:
            first = exc.name, exc.obj is obj
        try:
            obj.bluch()
        except AttributeError as exc:
            second = exc.name, exc.obj is obj
        try:
            getattr(obj, "bluch")
        except AttributeError as exc:
            return first, second, (exc.name, exc.obj is obj)

    assert_same_outcome(f, lambda: (_A(),))


class _Custom:
    def __getattr__(self, name):
        raise AttributeError(f"custom {name}")


def test_attribute_error_from_getattr_gets_the_context():
    def f(obj):
        try:
            obj.missing
        except AttributeError as exc:
            return str(exc), exc.name, exc.obj is obj

    assert_same_outcome(f, lambda: (_Custom(),))


def test_name_error_has_name():
    def f():
        try:
            bluch  # noqa: F821
        except NameError as exc:
            return exc.name, str(exc)

    assert_same_outcome(f)


def test_escaping_attribute_error_keeps_name():
    def f(obj):
        return obj.nothing_here

    traced = assert_same_outcome(f, lambda: (_A(),))
    try:
        traced(_A())
    except AttributeError as exc:
        assert exc.name == "nothing_here" and isinstance(exc.obj, _A)


def test_suppress_context_and_cause_writes():
    def f():
        e = Exception()
        e.__context__ = NameError()
        e.__cause__ = None
        first = e.__suppress_context__
        e.__suppress_context__ = False
        return first, e.__suppress_context__, type(e.__context__).__name__

    assert_same_outcome(f)


def test_invalid_links_and_traceback_raise():
    def f():
        out = []
        for name, value in (("__traceback__", 5), ("__cause__", 5), ("__context__", "x")):
            try:
                setattr(Exception(), name, value)
            except TypeError as exc:
                out.append(str(exc))
        return out

    assert_same_outcome(f)


def test_deleted_global_falls_back_to_the_builtin():
    namespace = {}
    exec("def f():\n"
         "    global len\n"
         "    len = None\n"
         "    del len\n"
         "    return len([1, 2, 3])\n", namespace)
    assert_same_outcome(namespace["f"])


class _WithBlech:
    blech = None


def test_attribute_error_name_and_obj_through_every_lookup():
    """Lib/test's test_getattr_has_name_and_obj: `obj.x`, `object.__getattribute__(obj, "x")` and
    `getattr(obj, "x")` all give the AttributeError its name and object, for an object made inside
    the call (of a class made there too) and one passed in."""
    def fn(outside):
        class Local:
            blech = None

        out = []
        for obj in (Local(), outside):
            for how in (lambda o: o.bluch, lambda o: object.__getattribute__(o, "bluch"),
                        lambda o: getattr(o, "bluch")):
                try:
                    how(obj)
                except AttributeError as exc:
                    out.append((exc.name, exc.obj is obj))
        return out

    from helpers import assert_same_outcome
    assert_same_outcome(fn, lambda: (_WithBlech(),))
