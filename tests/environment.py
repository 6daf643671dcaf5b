"""Loaded by pytest before Django (see addopts): tests run in development mode, with the
test-only tenant app installed.

Production mode is covered by tests that start Django in a subprocess with their own
environment (tests/config/test_settings.py).
"""

import os

os.environ.setdefault("DEBUG", "true")
# The kernel's own tests use a tenant domain of their own (tests/tenant_app), so they
# need no demo; server processes started by tests inherit it.
os.environ.setdefault("EXTRA_INSTALLED_APPS", "tests.tenant_app")
