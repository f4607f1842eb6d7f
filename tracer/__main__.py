"""`python -m tracer ...`: the command line lives in tools/cli.py."""
from tools.cli import main

raise SystemExit(main())
