"""Every family of VTs, imported once in the one-way order of the families, so that each
registers its rules (vt/registry.py) before anything asks for them.

The order is the layering inside vt/ (tests/test_layers.py checks it): the
protocol and its machinery first, then plain data and tensors (`vt.data`),
callables, objects of the user's classes, nn.Module trees, and last the
builtins that work across all of them and the rules that wrap real objects.
A module imports only modules above it in this list.
"""
import vt.protocol  # noqa: F401
import vt.guard_trail  # noqa: F401
import vt.registry  # noqa: F401
import vt.folding  # noqa: F401
import vt.iteration  # noqa: F401
import vt.data.constant  # noqa: F401
import vt.data.operators  # noqa: F401
import vt.data.symbolic  # noqa: F401
import vt.data.container_methods  # noqa: F401
import vt.data.object_keys  # noqa: F401
import vt.data.sorting  # noqa: F401
import vt.data.equality  # noqa: F401
import vt.data.lists  # noqa: F401
import vt.data.tensor_checks  # noqa: F401
import vt.data.fake_build  # noqa: F401
import vt.data.fake_memo  # noqa: F401
import vt.data.fake_mode  # noqa: F401
import vt.data.propagation  # noqa: F401
import vt.data.tensor  # noqa: F401
import vt.data.iterators  # noqa: F401
import vt.data.dicts  # noqa: F401
import vt.data.sets  # noqa: F401
import vt.data.list_methods  # noqa: F401
import vt.data.dict_methods  # noqa: F401
import vt.data.set_methods  # noqa: F401
import vt.data.itertools_iterators  # noqa: F401
import vt.data.container_ops  # noqa: F401
import vt.data.collections_mappings  # noqa: F401
import vt.data.deques  # noqa: F401
import vt.data.module_globals  # noqa: F401
import vt.callables.builtin  # noqa: F401
import vt.objects.getattr_variable  # noqa: F401
import vt.objects.attributes  # noqa: F401
import vt.callables.lazy  # noqa: F401
import vt.callables.functions  # noqa: F401
import vt.callables.nested_functions  # noqa: F401
import vt.callables.descriptors  # noqa: F401
import vt.callables.torch  # noqa: F401
import vt.callables.trace_rules  # noqa: F401
import vt.callables.subgraphs  # noqa: F401
import vt.callables.higher_order  # noqa: F401
import vt.callables.autograd_function  # noqa: F401
import vt.callables.functorch  # noqa: F401
import vt.callables.classes  # noqa: F401
import vt.callables.exceptions  # noqa: F401
import vt.callables.generators  # noqa: F401
import vt.objects.instance_dict  # noqa: F401
import vt.objects.object_attributes  # noqa: F401
import vt.objects.object_protocol  # noqa: F401
import vt.objects.object_operators  # noqa: F401
import vt.objects.user_objects  # noqa: F401
import vt.objects.dict_subclass  # noqa: F401
import vt.objects.counters  # noqa: F401
import vt.objects.list_subclass  # noqa: F401
import vt.objects.user_classes  # noqa: F401
import vt.objects.local_classes  # noqa: F401
import vt.objects.introspection  # noqa: F401
import vt.objects.records  # noqa: F401
import vt.objects.copying  # noqa: F401
import vt.objects.dataclasses_variables  # noqa: F401
import vt.objects.local_dataclasses  # noqa: F401
import vt.objects.contexts  # noqa: F401
import vt.objects.modes  # noqa: F401
import vt.callables.functools_variables  # noqa: F401
import vt.callables.key_wrappers  # noqa: F401
import vt.nn.nn_module_tree  # noqa: F401
import vt.nn.nn_modules  # noqa: F401
import vt.nn.functional_call  # noqa: F401
import vt.builtins.builtin_data  # noqa: F401
import vt.builtins.builtin_iter  # noqa: F401
import vt.builtins.builtin_operator  # noqa: F401
import vt.builtins.frames  # noqa: F401
import vt.builtins.tensor_inputs  # noqa: F401
import vt.builtins.builder  # noqa: F401
