"""Code that looks at its own frame after a break sees the resume/step function's frame: locals()
holds `__local_x`/`__stack0` names, eval()/exec() without namespaces cannot see the locals,
co_name is `f_resume_at_NN`, and sys._getframe(1) is snaptrace's entry (namedtuple's __module__
becomes '__main__').  CPython tests: test_issubset (eval(..., locals())), test_patma_204..209
(locals()), test_repr (eval(repr(od))), testClassAndGlobal (exec), test_ast, test_many_expressions,
test_factory (namedtuple), testSettingException, test_exit_exception_traceback (21).
Found while minimizing (no differing CPython test needs it): sys.exc_info() inside an `except`
block is (None, None, None) once the handler breaks."""
import collections
import sys
import types

from _show import show


def locals_names(w):
    return sorted(locals())


def eval_sees_locals():
    x = 41
    return eval("x + 1")


def frame_name():
    return sys._getframe().f_code.co_name


def exc_info_in_handler():
    try:
        raise ValueError
    except ValueError:
        return sys.exc_info()[0]


mod = types.ModuleType("mymod")
exec("import collections\ndef namedtuple_module():\n    return collections.namedtuple('P', 'x').__module__\n",
     mod.__dict__)

show(locals_names, 42)
# eager:     returns ['w']
# snaptrace: returns ['__local_w', '__stack1', '__stack3']
show(eval_sees_locals)
# eager:     returns 42
# snaptrace: raises NameError: name 'x' is not defined
show(frame_name)
# eager:     returns 'frame_name'
# snaptrace: returns 'frame_name_resume_at_24'
show(mod.namedtuple_module)
# eager:     returns 'mymod'
# snaptrace: returns '__main__'
show(exc_info_in_handler)
# eager:     returns <class 'ValueError'>
# snaptrace: returns None
