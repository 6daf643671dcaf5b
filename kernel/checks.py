"""System checks: tenant tables wired correctly, every registered function reachable only
through a permission, every route and live table naming a registered public function."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.apps import AppConfig, apps
from django.core import checks
from django.db import models

from kernel.tenancy import TenantManager, TenantModel

if TYPE_CHECKING:
    from kernel.functions import Function

ORGANIZATION_MODEL = "organizations.Organization"


def tenant_model_errors(all_models: Iterable[type[models.Model]]) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []
    for model in all_models:
        if model._meta.abstract or model._meta.proxy:
            continue
        label = model._meta.label
        if issubclass(model, TenantModel):
            manager: object = model._default_manager  # a subclass may have replaced it
            if not isinstance(manager, TenantManager):
                found.append(
                    checks.Error(
                        f"{label} is a tenant model but its default manager is "
                        f"{type(manager).__name__}, which does not fail closed.",
                        hint="Declare `objects = TenantManager()` first on the model (or do not "
                        "override `objects`).",
                        obj=model,
                        id="kernel.E001",
                    )
                )
        elif _points_at_organization(model) and not getattr(model, "tenant_exempt", ""):
            found.append(
                checks.Error(
                    f"{label} has a foreign key to {ORGANIZATION_MODEL} but is not a "
                    "TenantModel, so its queries are not scoped.",
                    hint="Subclass kernel.tenancy.TenantModel, or set a class attribute "
                    "`tenant_exempt = '<why>'` if the table is deliberately cross-tenant.",
                    obj=model,
                    id="kernel.E002",
                )
            )
    return found


def _points_at_organization(model: type[models.Model]) -> bool:
    return any(
        field.is_relation
        and field.many_to_one
        and field.related_model is not None
        and not isinstance(field.related_model, str)
        and field.related_model._meta.label == ORGANIZATION_MODEL
        for field in model._meta.get_fields()
    )


@checks.register(checks.Tags.models)
def check_tenant_models(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    configs = app_configs or list(apps.get_app_configs())
    return tenant_model_errors(m for config in configs for m in config.get_models())


def function_errors(functions: Iterable[Function] | None = None) -> list[checks.CheckMessage]:
    from kernel.functions import FUNCTIONS
    from kernel.permissions import CATALOGUE
    from kernel.sensitive import SENSITIVE_ACTIONS

    found: list[checks.CheckMessage] = []
    for function in FUNCTIONS.values() if functions is None else functions:
        name = function.name
        if function.public and not function.personal and function.permission is None:
            found.append(
                checks.Error(
                    f"The public function {name} has no permission.",
                    hint="Pass permission='<catalogue name>', personal=True (a person acting "
                    "for themselves) or internal=True (never routed to clients).",
                    obj=name,
                    id="kernel.E010",
                )
            )
        if function.permission is not None and function.permission not in CATALOGUE:
            found.append(
                checks.Error(
                    f"{name} needs the permission {function.permission!r}, which no domain "
                    "manifest declares.",
                    hint="Declare it in its app's domain.py, or fix the name.",
                    obj=name,
                    id="kernel.E011",
                )
            )
        if function.step_up is not None and function.step_up not in SENSITIVE_ACTIONS:
            found.append(
                checks.Error(
                    f"{name} steps up for {function.step_up!r}, which is not a declared "
                    "sensitive action.",
                    hint="Declare SensitiveAction(...) in its app's domain.py.",
                    obj=name,
                    id="kernel.E012",
                )
            )
        found += _audit_errors(function)
        if function.live and function.kind != "query":
            found.append(
                checks.Error(
                    f"{name} is live but is not a query.",
                    hint="Only queries can be subscribed to: @query(..., live=True).",
                    obj=name,
                    id="kernel.E013",
                )
            )
    return found


def _audit_errors(function: Function) -> list[checks.CheckMessage]:
    """A mutation declares its audit action, or why it writes no row: a change to an
    organization's data is never silently missing from its log."""
    from kernel.manifest import audit_label

    name = function.name
    if function.kind != "mutation":
        return []
    if (function.audit is None) == (not function.unaudited):
        return [
            checks.Error(
                f"The mutation {name} declares "
                + ("both audit= and unaudited=." if function.audit else "no audit action."),
                hint="Pass audit='<entity>.<verb>' (and call kernel.audit.describe in its "
                "body), or unaudited='<why it changes no organization's data>'.",
                obj=name,
                id="kernel.E014",
            )
        ]
    if function.audit is not None and audit_label(function.audit) is None:
        return [
            checks.Error(
                f"{name} is audited as {function.audit!r}, which no domain manifest names.",
                hint="Add an AuditLabel to audit_labels in its app's domain.py.",
                obj=name,
                id="kernel.E015",
            )
        ]
    return []


def route_errors() -> list[checks.CheckMessage]:
    """Every API operation of the manifests' routers was built by kernel.api.route from a
    registered public function; nothing else answers under /api/v1/."""
    from importlib import import_module

    from kernel.manifest import api_modules

    return [
        error
        for module in api_modules()
        for error in router_errors(module, import_module(module).router)
    ]


def router_errors(module: str, router: Any) -> list[checks.CheckMessage]:
    from kernel.functions import FUNCTIONS

    found: list[checks.CheckMessage] = []
    for path, path_view in router.path_operations.items():
        for operation in path_view.operations:
            function = getattr(operation.view_func, "kernel_function", None)
            name = getattr(function, "name", None)
            registered = function is not None and FUNCTIONS.get(str(name)) is function
            if not registered or getattr(function, "internal", True):
                found.append(
                    checks.Error(
                        f"{module}: {' '.join(operation.methods)} {path} does not call a "
                        "registered public function.",
                        hint="Build every operation with kernel.api.route(router, "
                        "'METHOD /path', function).",
                        obj=module,
                        id="kernel.E020",
                    )
                )
    return found


LIVE_TABLE = re.compile(r'data-live-query="([^"{}]+)"')


def live_template_errors(template_dirs: Iterable[Path]) -> list[checks.CheckMessage]:
    """Pages subscribe by name (`data-live-query="records.list"`): each name must be a
    registered public live query."""
    from kernel.functions import FUNCTIONS

    found: list[checks.CheckMessage] = []
    for directory in template_dirs:
        for template in sorted(directory.rglob("*.html")):
            for name in LIVE_TABLE.findall(template.read_text(encoding="utf-8")):
                function = FUNCTIONS.get(name)
                if function is None or function.internal or not function.live:
                    found.append(
                        checks.Error(
                            f"{template} subscribes to {name!r}, which is not a registered "
                            "public live query.",
                            obj=str(template),
                            id="kernel.E021",
                        )
                    )
    return found


def _template_dirs() -> list[Path]:
    from django.conf import settings

    templates: list[dict[str, Any]] = settings.TEMPLATES
    dirs = [Path(d) for config in templates for d in config.get("DIRS", [])]
    dirs += [Path(config.path) / "templates" for config in apps.get_app_configs()]
    base = Path(settings.BASE_DIR)
    return [d for d in dirs if d.is_dir() and base in d.resolve().parents]


@checks.register()
def check_registry(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    from kernel.sources import SOURCES

    found = function_errors() + route_errors() + live_template_errors(_template_dirs())
    if SOURCES.directory is None:
        found.append(
            checks.Error(
                "No installed app registers a directory (who belongs to which organization).",
                hint="Install the organizations app (its domain.py registers it).",
                id="kernel.E030",
            )
        )
    return found
