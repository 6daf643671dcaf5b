"""Peers for the benchmarks: the same endpoints written the conventional way, so the
project's figures can be read against what a Django team would otherwise ship. Their
dependencies (requirements.txt) are installed by the benchmark that needs them, never
by the project."""
