"""Run every reproducer in this directory: `python bench/cpython_repros/run_all.py`."""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
for name in sorted(os.listdir(here)):
    if name.endswith(".py") and not name.startswith("_") and name != "run_all.py":
        print(f"=== {name}", flush=True)
        subprocess.run([sys.executable, os.path.join(here, name)], check=False)
