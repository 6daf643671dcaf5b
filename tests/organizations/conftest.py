"""Shared fixtures live in tests/conftest.py."""
