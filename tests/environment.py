"""Loaded by pytest before Django (see addopts): tests run in development mode.

Production mode is covered by tests that start Django in a subprocess with their own
environment (tests/config/test_settings.py).
"""

import os

os.environ.setdefault("DEBUG", "true")
