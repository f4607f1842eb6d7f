"""Deleting and re-adding a key while iterating a dict raises RuntimeError eagerly ("dictionary keys
changed during iteration": CPython checks the version, not only the size); the trace iterates on.
CPython tests: test_mutating_iteration_delete, ..._over_values, ..._over_items (3)."""
from _show import show


def delete_and_readd():
    d = {0: 0}
    try:
        for i in d:
            del d[0]
            d[0] = 0
    except RuntimeError as exc:
        return f"RuntimeError: {exc}"
    return "no error"


show(delete_and_readd)
# eager:     returns 'RuntimeError: dictionary keys changed during iteration'
# snaptrace: returns 'no error'
