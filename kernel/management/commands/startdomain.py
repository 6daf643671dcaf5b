"""`manage.py startdomain NAME`: a new tenant domain app in the demo's shape.

It writes the app (manifest, model and its migration, schemas, registered queries and
mutations, API router, pages with a live list, admin) and its tests (every role, another
organization, bad input, a stale edit, the plan limit, the live list). Add the app to
INSTALLED_APPS, migrate, and `make test` runs its tests (docs/adding-a-domain.md).
"""

from __future__ import annotations

import keyword
import re
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path
from string import Template
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.migrations.loader import MigrationLoader

TEMPLATES = Path(__file__).resolve().parents[2] / "startdomain"

FILES = {
    "__init__.py": None,
    "apps.py": "apps.py.tpl",
    "domain.py": "domain.py.tpl",
    "models.py": "models.py.tpl",
    "schemas.py": "schemas.py.tpl",
    "queries.py": "queries.py.tpl",
    "mutations.py": "mutations.py.tpl",
    "api.py": "api.py.tpl",
    "views.py": "views.py.tpl",
    "urls.py": "urls.py.tpl",
    "admin.py": "admin.py.tpl",
    "migrations/__init__.py": None,
    "migrations/0001_initial.py": "migration.py.tpl",
    "templates/{app}/list.html": "templates/list.html.tpl",
    "templates/{app}/detail.html": "templates/detail.html.tpl",
    "templates/{app}/delete.html": "templates/delete.html.tpl",
}
TEST_FILES = {"__init__.py": None, "test_{app}.py": "tests/test_domain.py.tpl"}


def names(app: str, model: str | None) -> dict[str, str]:
    words = app.replace("_", " ")
    if model:
        singular = re.sub(r"(?<!^)(?=[A-Z])", "_", model).lower()
    else:
        singular = app[:-1] if app.endswith("s") else app
    model_name = model or "".join(part.title() for part in singular.split("_"))
    return {
        "app": app,
        "label": words,
        "title": words.title(),
        "model": model_name,
        "singular": singular,
        "singular_words": singular.replace("_", " "),
        "a_singular": ("an " if singular[:1] in "aeiou" else "a ") + singular.replace("_", " "),
        "plural": app,
        "plural_words": words,
        "ref": f"{singular}_id",
        "url_prefix": app.replace("_", "-"),
        "perm": app,
        "index": f"{app[:22]}_org_newest",
        "organizations_migration": _latest_migration("organizations"),
    }


def _latest_migration(app_label: str) -> str:
    leaves = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes(app_label)
    return str(leaves[0][1])


class Command(BaseCommand):
    help = "Create a tenant domain app (and its tests) in the demo's shape."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The app's package name, plural: widgets")
        parser.add_argument("--model", help="The model's class name (default: from the name)")

    def handle(self, *args: Any, **options: Any) -> None:
        app: str = options["name"]
        if not re.fullmatch(r"[a-z][a-z0-9_]*", app) or keyword.iskeyword(app):
            raise CommandError("Use a lowercase Python identifier for the name, e.g. widgets.")
        if find_spec(app) is not None or (Path(settings.BASE_DIR) / app).exists():
            raise CommandError(f"{app!r} already exists.")
        values = names(app, options.get("model"))
        base = Path(settings.BASE_DIR)
        written = self.write(base / app, FILES, values)
        written += self.write(base / "tests" / app, TEST_FILES, values)
        self.format(written)
        for path in written:
            self.stdout.write(f"  {path.relative_to(base)}")
        self.stdout.write(
            self.style.SUCCESS(
                f'\nNext: add "{app}" to INSTALLED_APPS in config/settings.py, then run '
                "`python manage.py migrate` and `make test`. docs/adding-a-domain.md goes on."
            )
        )

    def format(self, paths: list[Path]) -> None:
        """Names change line lengths: let ruff (a development tool) lay the code out."""
        ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
        code = [str(path) for path in paths if path.suffix == ".py"]
        if ruff is None:
            self.stdout.write("ruff is not installed: run `make fmt` before `make lint`.")
            return
        subprocess.run([ruff, "format", "--quiet", *code], check=False)  # noqa: S603
        subprocess.run([ruff, "check", "--fix", "--quiet", *code], check=False)  # noqa: S603

    def write(self, root: Path, files: dict[str, str | None], values: dict[str, str]) -> list[Path]:
        written = []
        for relative, template in files.items():
            path = root / relative.format(app=values["app"])
            path.parent.mkdir(parents=True, exist_ok=True)
            text = "" if template is None else Template((TEMPLATES / template).read_text())
            path.write_text(text if isinstance(text, str) else text.substitute(values))
            written.append(path)
        return written
