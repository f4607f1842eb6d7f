"""The layers are one-way: a module imports only modules below it, at module level or inside a function.

The layers, bottom to top (docs/architecture.md): the vocabulary (`core`), the side-effect story
(`effects`), the values (`vt`, itself ordered: the protocol and its machinery, then `vt.data`,
`vt.callables`, `vt.objects`, `vt.nn`, `vt.builtins`, in the order `vt/families.py` imports them),
the interpreter (`tracer.ops` and the step loop), the interpretations of the final state (`graph`),
the driver and public API (the rest of `tracer`), and the tools (`tools`, `property_tests`).
Inside an unordered layer modules may import each other, without cycles.  Imports placed inside
functions are allowed only from `LAZY_IMPORTS`, each with its reason.
"""
from __future__ import annotations

import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("core", "effects", "vt", "tracer", "graph", "tools", "property_tests")

LAYERS = ["core", "effects", "vt", "interpreter", "graph", "api", "tools"]
INTERPRETER = ("tracer.registry", "tracer.step", "tracer.unwind", "tracer.ops")
API_ORDER = ("tracer.report", "tracer.rules", "tracer.continuations", "tracer.capture", "tracer.api", "tracer.check", "tracer")

LAZY_IMPORTS = {
    # (importing module, imported module): why the import waits until the function runs
    ("tools.cli", "tools.demo"): "lazy CLI start-up: the demo imports torch and builds models",
    ("tools.cli", "tracer"): "lazy CLI start-up: `python -m tracer --help` should not import torch",
    ("tools.cli", "property_tests.profiles"): "hypothesis is a dev dependency; only `fuzz` needs it",
    ("tools.cli", "tools.fuzz"): "hypothesis is a dev dependency; only `fuzz` needs it",
}


def _modules() -> dict:
    found = {}
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                    found[module[:-len(".__init__")] if module.endswith(".__init__") else module] = path
    return found


MODULES = _modules()


def _vt_order() -> list:
    """The one-way order of vt's modules: the order vt/families.py imports them in."""
    text = open(os.path.join(ROOT, "vt", "families.py")).read()
    return re.findall(r"^import (vt\.[\w.]+)", text, flags=re.M)


VT_ORDER = _vt_order()


def layer(module: str) -> int:
    top = module.split(".")[0]
    if top in ("core", "effects"):
        return LAYERS.index(top)
    if top == "vt":
        return LAYERS.index("vt")
    if module.startswith(INTERPRETER):
        return LAYERS.index("interpreter")
    if top == "graph":
        return LAYERS.index("graph")
    if top in ("tools", "property_tests") or module == "tracer.__main__":
        return LAYERS.index("tools")
    return LAYERS.index("api")


def rank(module: str) -> tuple:
    """A module's place: its layer, then its place inside the layer where the layer is ordered."""
    inner = 0
    if module.startswith("vt.") and module in VT_ORDER:
        inner = VT_ORDER.index(module) + 1
    elif module in API_ORDER:
        inner = API_ORDER.index(module) + 1
    return layer(module), inner


def _resolve(name: str):
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def project_imports(module: str):
    """(imported module, line, inside a function) for every project import in `module`."""
    tree = ast.parse(open(MODULES[module]).read())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        targets = {_resolve(name) for name in names if name.split(".")[0] in PACKAGES} - {None, module}
        inside, up = False, node
        while up in parents:
            up = parents[up]
            if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inside = True
                break
        for target in targets:
            if target == module.rpartition(".")[0] and target not in ("tracer",):
                continue  # a package's own __init__ (docstring only)
            yield target, node.lineno, inside


def test_every_vt_module_is_in_the_family_order():
    vt_modules = {m for m in MODULES if m.startswith("vt.") and MODULES[m].endswith(".py")
                  and not MODULES[m].endswith("__init__.py") and m != "vt.families"}
    assert vt_modules == set(VT_ORDER), "add the module to vt/families.py at its place in the order"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down(module):
    for target, line, _ in project_imports(module):
        if module == "tracer.__main__" or (module, target) in LAZY_IMPORTS:
            continue
        ordered = rank(module)[1] and rank(target)[1]  # both in an ordered layer: strictly below
        below = rank(target) < rank(module) if ordered else layer(target) <= layer(module)
        assert below, (
            f"{module} (line {line}) imports {target}, which is not below it: move the shared piece down, "
            "register a rule, or pass a hook in")


def test_function_level_imports_are_the_listed_ones():
    found = {(module, target) for module in MODULES for target, _, inside in project_imports(module) if inside}
    assert found == set(LAZY_IMPORTS)
    assert len(LAZY_IMPORTS) <= 20


def test_no_import_cycles():
    graph = {module: {target for target, _, _ in project_imports(module)} for module in MODULES}
    state = {}

    def visit(module, path):
        state[module] = "open"
        for target in graph[module]:
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])


def test_no_family_strings():
    """Dispatch between value kinds goes through methods and registered rules, never through names."""
    offenders = []
    for module, path in MODULES.items():
        if module.split(".")[0] in ("vt", "tracer", "graph", "effects", "core"):
            for number, text in enumerate(open(path), 1):
                if re.search(r"\.family\b|\bfamily\s*=", text):
                    offenders.append(f"{path}:{number}")
    assert offenders == []
