"""Command line: `python -m tracer demo | explain FILE.py:FUNC SHAPE... | fuzz`.

`main(argv)` returns the exit status: 0 on success, 2 for a usage error (bad
arguments, a missing file or function, a malformed shape), 1 when the traced
function itself fails.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from core.errors import NotTraceableError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

ARG_HELP = """\
argument syntax (one per positional parameter of FUNC):
  8x64        a random float32 tensor of shape (8, 64) (torch.randn)
  64          a random 1-D float32 tensor of 64 elements
  scalar      a random 0-dimensional float32 tensor
  int:3       the Python int 3
  float:0.5   the Python float 0.5
  bool:true   the Python bool True (also false, 1, 0)
"""

EXPLAIN_EPILOG = ARG_HELP + """
examples:
  python -m tracer explain model.py:mlp 8x64 64x64 64
  python -m tracer explain ops.py:scale 4x4 float:0.5
"""


class UsageError(Exception):
    """A problem with what the user typed; reported as `error: ...` with exit status 2."""


def parse_arg(text: str, generator=None):
    """One command-line argument spec -> a tensor or Python scalar (see ARG_HELP)."""
    import torch

    spec = text.strip()
    kind, sep, value = spec.partition(":")
    if sep:
        kind = kind.strip().lower()
        value = value.strip()
        try:
            if kind == "int":
                return int(value, 0)
            if kind == "float":
                return float(value)
        except ValueError:
            raise UsageError(f"bad argument {text!r}: {value!r} is not a valid {kind}") from None
        if kind == "bool":
            lowered = value.lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise UsageError(f"bad argument {text!r}: {value!r} is not a bool (use true or false)")
        raise UsageError(f"bad argument {text!r}: unknown kind {kind!r} (use int:, float: or bool:, "
                         "or a shape such as 8x64)")
    if spec.lower() == "scalar":
        return torch.randn((), generator=generator)
    parts = spec.lower().split("x")
    if not spec or not all(part.isdigit() for part in parts):
        raise UsageError(f"bad shape {text!r}: expected sizes separated by 'x' such as 8x64 "
                         "(or int:3, float:0.5, bool:true, scalar)")
    return torch.randn(*(int(part) for part in parts), generator=generator)


def load_function(target: str):
    """`path/to/file.py:func` -> the function object, importing the file as a fresh module."""
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise UsageError(f"bad target {target!r}: expected FILE.py:FUNC, e.g. model.py:forward")
    if not os.path.exists(path):
        raise UsageError(f"no such file: {path}")
    if not os.path.isfile(path):
        raise UsageError(f"not a file: {path}")
    module_name = "_snaptrace_cli_" + "".join(c if c.isalnum() else "_"
                                              for c in os.path.splitext(os.path.basename(path))[0])
    spec = importlib.util.spec_from_file_location(module_name, os.path.abspath(path))
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path}: not a Python source file (expected a .py file)")
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)  # so the file can import its neighbours
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise UsageError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        if sys.path and sys.path[0] == folder:
            del sys.path[0]
    obj = module
    for part in name.split("."):
        if not hasattr(obj, part):
            functions = sorted(key for key, value in vars(module).items()
                               if callable(value) and not key.startswith("_")
                               and getattr(value, "__module__", None) == module_name)
            listing = ", ".join(functions) if functions else "none"
            raise UsageError(f"{path} has no function {name!r} (functions defined there: {listing})")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UsageError(f"{path}:{name} is a {type(obj).__name__}, not a function")
    return obj


def cmd_demo(args) -> int:
    from tools.demo import run_demo

    return EXIT_OK if run_demo() else EXIT_FAILED


def cmd_explain(args) -> int:
    import torch

    from tracer import explain

    fn = load_function(args.target)
    generator = torch.Generator().manual_seed(args.seed)
    values = [parse_arg(spec, generator) for spec in args.args]
    try:
        report = explain(fn, *values)
    except NotTraceableError as exc:
        raise UsageError(str(exc)) from exc
    except TypeError as exc:  # the arguments do not bind to the function's parameters
        raise UsageError(f"cannot call {args.target} with {len(values)} argument(s): {exc}") from exc
    print(report)
    return EXIT_OK


def cmd_fuzz(args) -> int:
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        raise UsageError("fuzzing needs hypothesis: pip install 'snaptrace[dev]' (or pip install hypothesis)") from None
    if args.examples < 1 or args.jobs < 1:
        raise UsageError("--examples and --jobs must be at least 1")
    from property_tests.profiles import load_default
    from tools.fuzz import run_campaign, summary

    load_default()
    total, failures, coverage = run_campaign(args.examples, args.seed, args.against, args.out, args.jobs,
                                             show_progress=not args.quiet, shrink_seconds=args.shrink_seconds)
    print(coverage.table())
    missing = coverage.missing()
    if missing:
        print(f"constructs in fewer than 5% of the programs: {', '.join(missing)}")
    print(summary(total, failures, args.against))
    if failures and args.out:
        print(f"reproducers written to {args.out}/ (run one with: python FILE.py)")
    return EXIT_FAILED if failures else EXIT_OK


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="snaptrace: capture PyTorch functions into torch.fx graphs by tracing their "
                    "CPython 3.11 bytecode.",
        epilog="run '%(prog)s COMMAND --help' for the options of one command",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    demo = commands.add_parser(
        "demo", help="trace the bundled examples and print graphs, guards and breaks",
        description="Trace the bundled example functions (an MLP, causal attention, an unrolled loop "
                    "and one deliberate graph break); print each function's source, captured graph "
                    "code, guards and breaks, and check the traced result against eager PyTorch.")
    demo.set_defaults(handler=cmd_demo)

    explain = commands.add_parser(
        "explain", help="trace FUNC from FILE.py on random inputs and print the explain() report",
        description="Import FILE.py, build one argument per SHAPE (random float32 tensors or Python\n"
                    "scalars), trace FUNC on them and print the explain() report: graphs, guards and\n"
                    "graph breaks with source lines.",
        epilog=EXPLAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    explain.add_argument("target", metavar="FILE.py:FUNC", help="the file and the function in it to trace")
    explain.add_argument("args", metavar="SHAPE", nargs="*",
                         help="one argument per parameter: a shape such as 8x64, or int:N, float:X, bool:B")
    explain.add_argument("--seed", type=int, default=0, help="seed for the random tensors (default 0)")
    explain.set_defaults(handler=cmd_explain)

    fuzz = commands.add_parser(
        "fuzz", help="generate random Python programs, trace them and compare with eager (or Dynamo)",
        description="Generate random Python functions over the constructs snaptrace supports (hypothesis),\n"
                    "run each eagerly and through snaptrace (and torch.compile with --against dynamo),\n"
                    "and compare results, exceptions, inputs and globals. Failing programs are shrunk and\n"
                    "written as standalone reproducer scripts; the construct coverage and a summary are\n"
                    "printed at the end. Exit status 1 when any program fails. See docs/fuzzing.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    fuzz.add_argument("--examples", type=int, default=200, help="number of programs (default 200)")
    fuzz.add_argument("--seed", type=int, default=0, help="campaign seed (default 0)")
    fuzz.add_argument("--against", choices=("eager", "dynamo"), default="eager",
                      help="reference: eager only, or eager and torch.compile(backend='eager') (default eager)")
    fuzz.add_argument("--out", metavar="DIR", default="fuzz-failures",
                      help="directory for reproducer scripts (default fuzz-failures)")
    fuzz.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    fuzz.add_argument("--shrink-seconds", type=float, default=60.0,
                      help="time to spend shrinking each failing program (default 60)")
    fuzz.add_argument("--quiet", action="store_true", help="no progress bar")
    fuzz.set_defaults(handler=cmd_fuzz)
    return parser


def _prog_name() -> str:
    base = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "python -m tracer" if base in ("__main__.py", "", "-c") else base


def main(argv=None) -> int:
    parser = build_parser(_prog_name())
    args = parser.parse_args(argv)  # argparse itself exits with status 2 on a usage error
    try:
        return args.handler(args)
    except UsageError as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


__all__ = ["main", "build_parser", "parse_arg", "load_function", "UsageError"]
