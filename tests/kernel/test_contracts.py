"""The import contracts (scripts/import-contracts, run by `make lint`): they hold, and they
catch what they promise to catch."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "config",
    "kernel",
    "accounts",
    "organizations",
    "billing",
    "workspace_records",
    "bench",
)


def contracts(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "scripts" / "import-contracts")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "import-contracts", tmp_path / "scripts")
    return tmp_path


def test_the_project_keeps_its_import_contracts():
    result = contracts(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("kernel/leak.py", "import organizations.models", "The kernel imports no app"),
        ("workspace_records/leak.py", "import billing.plans", "Apps are layered"),
        ("billing/leak.py", "import workspace_records.models", "Apps are layered"),
        ("accounts/leak.py", "import organizations.models", "Apps are layered"),
        ("organizations/leak.py", "import bench.harness", "Apps are layered"),
    ],
)
def test_a_forbidden_import_breaks_them(copy: Path, module: str, line: str, contract: str):
    (copy / module).write_text(f"{line}  # noqa: F401\n")
    result = contracts(copy)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout
    assert "BROKEN" in result.stdout
