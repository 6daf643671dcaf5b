"""The import contracts (scripts/import-contracts, run by `make lint`): they hold, and they
catch what they promise to catch."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "kernel", "accounts", "organizations", "billing")
DOMAINS = ("gadgets", "widgets")
"""Two stand-in domain apps (a package with a domain.py), so the test does not depend on
which domains the project holds."""


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
    (tmp_path / "bench").mkdir()
    for module in (ROOT / "bench").glob("*.py"):  # the harness, not the domains' benchmarks
        shutil.copy(module, tmp_path / "bench")
    for domain in DOMAINS:
        (tmp_path / domain).mkdir()
        (tmp_path / domain / "__init__.py").write_text("")
        (tmp_path / domain / "domain.py").write_text("import kernel.manifest  # noqa: F401\n")
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
        ("gadgets/leak.py", "import billing.plans", "Apps are layered"),
        ("billing/leak.py", "import gadgets.domain", "Apps are layered"),
        ("gadgets/leak.py", "import widgets.domain", "Apps are layered"),
        ("gadgets/leak.py", "import config.settings", "Apps are layered"),
        ("accounts/leak.py", "import organizations.models", "Apps are layered"),
        ("organizations/leak.py", "import bench.harness", "Apps are layered"),
    ],
)
def test_a_forbidden_import_breaks_them(copy: Path, module: str, line: str, contract: str):
    assert contracts(copy).returncode == 0  # the copy holds them, before the leak
    (copy / module).write_text(f"{line}  # noqa: F401\n")
    result = contracts(copy)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout
    assert "BROKEN" in result.stdout
