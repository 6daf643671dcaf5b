"""System checks that keep tenant tables wired correctly."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.core import checks
from django.db import models

from kernel.tenancy import TenantManager, TenantModel

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
