"""`make bench`: run each benchmark package under bench/ that can be run (`python -m
bench.<package>`; the demo's compares the records API with a raw-cursor baseline)."""

import runpy
from pathlib import Path

for package in sorted(Path(__file__).parent.iterdir()):
    if (package / "__main__.py").exists():
        runpy.run_module(f"bench.{package.name}", run_name="__main__")
