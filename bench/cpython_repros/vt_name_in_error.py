"""A modelled TypeError names a tracer class: "'UserDefinedObjectVariable' object is not an
iterator", for two `with open(...)` blocks after a break (here tempfile.mktemp() breaks), the
second one left by an exception.  CPython test: FileContextTestCase.testWithOpen (1)."""
import os
import tempfile

from _show import show


def two_with_open():
    tfn = tempfile.mktemp()
    with open(tfn, "w") as f:
        pass
    try:
        with open(tfn) as f:
            1 / 0
    except ZeroDivisionError:
        pass
    os.remove(tfn)
    return f.closed


show(two_with_open, breaks=False)
# eager:     returns True
# snaptrace: raises TypeError: 'UserDefinedObjectVariable' object is not an iterator
