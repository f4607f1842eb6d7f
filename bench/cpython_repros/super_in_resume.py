"""Zero-argument super() in a method that breaks: the step function that runs super() for real has
no __class__ cell.  CPython tests: test_list/test_tuple test_len, test_truth, test_iadd, ... (10)."""
from _show import show


class Base:
    def f(self):
        return "base"


class C(Base):
    def f(self):
        return super().f()


show(C.f, C())
# eager:     returns 'base'
# snaptrace: raises RuntimeError: super(): __class__ cell not found
