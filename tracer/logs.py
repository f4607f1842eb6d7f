"""What snaptrace does, as logs: the `snaptrace` logger hierarchy, one stream per subject.

    SNAPTRACE_LOGS=graphs,guards,breaks,recaptures python train.py

works in the spirit of `TORCH_LOGS`: each named stream (or `all`) is turned on at INFO level and
printed to stderr, prefixed with its logger's name.  The streams are ordinary `logging` loggers,
so `logging.getLogger("snaptrace.recaptures").setLevel(logging.INFO)` (with a handler of your own)
works as well, and `configure("recaptures")` does what the variable does, from Python.

* `snaptrace.graphs`: the code of every graph captured;
* `snaptrace.guards`: the guards of every capture;
* `snaptrace.breaks`: every graph break, with its reason and place;
* `snaptrace.recaptures`: every recapture, with the guard that failed for each earlier capture
  and the value that made it fail.

Nothing is formatted unless its stream is enabled (`enabled(logger)`), so logs cost nothing on the
hot path.
"""
from __future__ import annotations

import logging
import os
import sys

STREAMS = ("graphs", "guards", "breaks", "recaptures")

ROOT = logging.getLogger("snaptrace")
graphs = logging.getLogger("snaptrace.graphs")
guards = logging.getLogger("snaptrace.guards")
breaks = logging.getLogger("snaptrace.breaks")
recaptures = logging.getLogger("snaptrace.recaptures")

_HANDLER_MARK = "_snaptrace_handler"


def configure(spec: str) -> None:
    """Turn on the streams named in `spec` ("graphs,recaptures", "all"), printing to stderr.

    Unknown names raise ValueError listing the valid ones."""
    names = [name.strip().lstrip("+") for name in spec.split(",") if name.strip()]
    if "all" in names:
        names = list(STREAMS)
    unknown = [name for name in names if name not in STREAMS]
    if unknown:
        raise ValueError(f"SNAPTRACE_LOGS: unknown stream(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(STREAMS)} or all")
    if names and not any(getattr(h, _HANDLER_MARK, False) for h in ROOT.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
        setattr(handler, _HANDLER_MARK, True)
        ROOT.addHandler(handler)
    for name in names:
        logging.getLogger(f"snaptrace.{name}").setLevel(logging.INFO)


def enabled(logger) -> bool:
    return logger.isEnabledFor(logging.INFO)


configure(os.environ.get("SNAPTRACE_LOGS", ""))
