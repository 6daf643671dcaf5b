"""`pip install .`: the wheel holds every app with its templates, static files and
migrations (and nothing of tests/ or bench/), and the installed project starts from a
directory outside the checkout.

Nothing is downloaded: the wheel is built without build isolation (setuptools is a dev
dependency) and installed with --no-deps --no-index into a fresh venv that sees this
venv's site-packages, where the dependencies are, through a .pth file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = tuple(
    sorted(
        {
            name.split(".")[0]
            for name in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
                "packages"
            ]
        }
    )
)
"""The project's top-level packages, as pyproject.toml lists them (the demo may be gone)."""
APP_TEMPLATE = next(
    (
        (app, str(path.relative_to(ROOT / app / "templates")))
        for app in APPS
        for path in sorted((ROOT / app / "templates").rglob("*.html"))
    ),
    None,
)
"""A template an app carries in its own folder (the wheel must ship those too)."""
SITE_FILES = {
    "templates": "config/site/templates",
    "static": "config/site/static",
    "locale": "config/site/locale",
}
"""The checkout's root folders the wheel carries inside the config package."""

NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", ".data", "build", "*.egg-info", "__pycache__", "*.pyc", "test-artifacts",
    "staticfiles", "media", ".mypy_cache", ".ruff_cache", ".pytest_cache",
)  # fmt: skip


def _files(folder: Path) -> set[str]:
    return {
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy: setuptools leaves build/ and *.egg-info beside the sources.
    source = tmp_path_factory.mktemp("checkout") / "saas-starter"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "--wheel-dir", str(out), str(source)],
        check=True, timeout=120,
    )  # fmt: skip
    [built] = out.glob("saas_starter-*.whl")
    return built


def test_the_wheel_holds_every_app_file_and_nothing_else(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())

    expected = {f"{app}/{name}" for app in APPS for name in _files(ROOT / app)}
    for folder, packaged in SITE_FILES.items():
        expected |= {f"{packaged}/{name}" for name in _files(ROOT / folder)}
    assert sorted(expected - names) == []
    assert any(name.startswith("kernel/migrations/0001") for name in names)
    assert "config/site/templates/base.html" in names
    assert "kernel/startdomain/models.py.tpl" in names

    top_level = {name.split("/")[0] for name in names}
    assert top_level == {*APPS, wheel.name.split("-py3")[0] + ".dist-info"}
    assert wheel.name.startswith("saas_starter-")
    metadata = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-py3')[0]}.dist-info/METADATA")
    assert b"License-Expression: MIT" in metadata
    assert b"Provides-Extra: embedded" in metadata


STARTUP = """
import importlib, json, sys
import django
from django.core.management import call_command

django.setup()
call_command("check", fail_level="WARNING")

from django.contrib.staticfiles import finders
from django.db.migrations.loader import MigrationLoader
from django.template.loader import get_template
from django.utils import translation

apps = sys.argv[1].split(",")
print(json.dumps({
    "modules": {app: importlib.import_module(app).__file__ for app in apps},
    "base": get_template("base.html").origin.name,
    "allauth_override": get_template("account/login.html").origin.name,
    "app_template": get_template(sys.argv[2]).origin.name if sys.argv[2] else "",
    "static": finders.find("css/app.css"),
    "german": translation.override("de")(lambda: translation.gettext("Skip to content"))(),
    "migrations": sorted(
        f"{app}.{name}" for app, name in MigrationLoader(None).disk_migrations if app in apps
    ),
}))
"""


def test_the_installed_project_starts_outside_the_checkout(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # The dependencies: this venv's site-packages, which does not hold the project.
    (Path(purelib) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)],
        check=True, timeout=120,
    )  # fmt: skip

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DEBUG": "true",
        "DATA_DIR": str(tmp_path / "data"),
        # Settings and checks need no connection: nothing starts the embedded server.
        "DATABASE_URL": "postgres://unused@localhost/unused",
    }
    # What README says: django-admin (python -m django) with the installed settings.
    check = subprocess.run(
        [python, "-m", "django", "check", "--settings", "config.settings"],
        cwd=elsewhere, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert "System check identified no issues" in check.stdout

    result = subprocess.run(
        [python, "-c", STARTUP, ",".join(APPS), APP_TEMPLATE[1] if APP_TEMPLATE else ""],
        cwd=elsewhere, env={**environment, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])

    installed = Path(purelib)
    for app, module in report["modules"].items():
        assert Path(module) == installed / app / "__init__.py"
    site = installed / "config" / "site"
    assert report["base"] == str(site / "templates" / "base.html")
    assert report["allauth_override"] == str(site / "templates" / "account" / "login.html")
    if APP_TEMPLATE:
        app, template = APP_TEMPLATE
        assert report["app_template"] == str(installed / app / "templates" / template)
    assert report["static"] == str(site / "static" / "css" / "app.css")
    assert report["german"] == "Zum Inhalt springen"  # the compiled catalogue came along
    in_checkout = sorted(
        f"{app}.{path.stem}"
        for app in APPS
        for path in (ROOT / app / "migrations").glob("[0-9]*.py")
    )
    assert in_checkout
    assert report["migrations"] == in_checkout
