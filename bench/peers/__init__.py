"""Peers for the benchmarks: the same endpoints written the conventional way, so the
project's figures can be read against what a Django team would otherwise ship. Each
benchmark keeps its peer beside itself (the demo's records API: its drf_peer.py); their
dependencies (requirements.txt here) are installed by the benchmark that needs them,
never by the project."""
