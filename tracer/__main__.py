"""`python -m tracer ...`: see tracer/cli.py."""
from tracer.cli import main

raise SystemExit(main())
