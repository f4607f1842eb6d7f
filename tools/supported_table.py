"""The opcode table of docs/supported.md, generated from the handler registry.

    python -m tools.supported_table                         # print the Markdown table
    python -m tools.supported_table --write docs/supported.md   # refresh it between the markers

One row per opcode of this interpreter's `dis.opmap` (CPython 3.11), sorted by
name.  An opcode with a handler in `HANDLERS` is `captured` and its note names
the handler; any other opcode is `missing` and its note is the reason from
`UNSUPPORTED`, the text a graph break on it carries.  tests/test_supported_docs.py
checks that the table in the docs equals `render_opcode_table()`.
"""
from __future__ import annotations

import argparse
import dis
import sys

import tracer.ops  # noqa: F401  (registers every handler)
from tracer.registry import HANDLERS, UNSUPPORTED

BEGIN = "<!-- opcodes:begin -->"
END = "<!-- opcodes:end -->"

NO_REASON = "this opcode has no handler"
"""The note for an opcode in neither table (the same words the tracer's break uses)."""


def opcode_rows() -> list:
    """(opname, status, note) for every opcode in dis.opmap, sorted by opname."""
    rows = []
    for name in sorted(dis.opmap):
        handler = HANDLERS.get(name)
        if handler is not None:
            rows.append((name, "captured", f"`{handler.__module__}.{handler.__name__}`"))
        else:
            rows.append((name, "missing", UNSUPPORTED.get(name) or NO_REASON))
    return rows


def _cell(text: str) -> str:
    """Escape the characters Markdown would read as table or emphasis syntax."""
    return text.replace("|", "\\|").replace("*", "\\*")


def render_opcode_table() -> str:
    """The Markdown table of `opcode_rows()`, newline-terminated."""
    lines = ["| opcode | status | notes |", "| --- | --- | --- |"]
    lines += [f"| `{name}` | {status} | {_cell(note)} |" for name, status, note in opcode_rows()]
    return "\n".join(lines) + "\n"


def table_in(text: str) -> str:
    """The text between the opcode markers of a document (without the marker lines)."""
    start = text.index(BEGIN) + len(BEGIN)
    end = text.index(END, start)
    return text[start:end].strip("\n") + "\n"


def replace_table(text: str) -> str:
    """`text` with the part between the opcode markers replaced by a fresh table."""
    start = text.index(BEGIN) + len(BEGIN)
    end = text.index(END, start)
    return text[:start] + "\n" + render_opcode_table() + text[end:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.supported_table",
                                     description="Print the supported-opcode table built from the registry.")
    parser.add_argument("--write", metavar="FILE.md",
                        help=f"replace the table between {BEGIN} and {END} in FILE.md instead of printing")
    args = parser.parse_args(argv)
    if args.write is None:
        sys.stdout.write(render_opcode_table())
        return 0
    with open(args.write, encoding="utf-8") as handle:
        text = handle.read()
    with open(args.write, "w", encoding="utf-8") as handle:
        handle.write(replace_table(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
