"""`python -m bench.workspace_records`: the records API against a raw-cursor baseline."""

from bench.workspace_records.records import main

main()
