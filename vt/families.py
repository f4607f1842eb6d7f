"""Every family of VTs, imported once so that each registers its rules (vt/registry.py).

The order is the one-way order of the families: a module here imports only
modules above it in this list (and the protocol and registry).
"""
import vt.builtin  # noqa: F401
import vt.builtin_data  # noqa: F401
import vt.builtin_iter  # noqa: F401
import vt.builtin_operator  # noqa: F401
import vt.dataclasses_variables  # noqa: F401
import vt.exceptions  # noqa: F401
import vt.functools_variables  # noqa: F401
import vt.getattr_variable  # noqa: F401
import vt.object_protocol  # noqa: F401
import vt.container_ops  # noqa: F401
import vt.torch  # noqa: F401
import vt.user_classes  # noqa: F401
import vt.user_objects  # noqa: F401
import vt.dict_methods  # noqa: F401
import vt.list_methods  # noqa: F401
import vt.set_methods  # noqa: F401
import vt.builder  # noqa: F401
import vt.generators  # noqa: F401
