"""What each domain contributes to an organization's data export, declared in its manifest.

    domain = Domain(
        "widgets",
        exports=Export(
            tables=[ExportTable.of(Widget, "widgets", ["id", "name", "created_by__email"])],
            excluded={"widgets.WidgetCache": "derived from widgets; rebuilt on demand"},
        ),
    )

An `ExportTable` is one file pair in the ZIP (`<name>.json`, `<name>.csv`): its rows for
one organization, as flat dicts with the declared `fields` as keys. `ExportTable.of`
builds one from a tenant model (its rows of that organization only, through
`for_organization`); `rows=` takes any callable for what a queryset does not say.
Secrets (key hashes, tokens) are never declared. The system check below fails when a
tenant table is neither exported nor excluded with a reason, so a new domain cannot be
left out of its customers' exports by accident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core import checks
from django.db import models

Row = Mapping[str, Any]


@dataclass(frozen=True)
class ExportTable:
    name: str
    """The file name in the ZIP, without extension: "members"."""
    fields: Sequence[str]
    rows: Callable[[int], Iterable[Row]]
    """organization_id → that organization's rows, each with `fields` as keys."""
    covers: Sequence[str] = ()
    """The tenant tables (app_label.Model) whose data this file carries."""

    @classmethod
    def of(
        cls,
        model: type[models.Model],
        name: str,
        fields: Sequence[str],
        *,
        order_by: Sequence[str] = ("pk",),
    ) -> ExportTable:
        """A tenant model's rows of one organization: `fields` may follow relations
        (`created_by__email`) and become the columns as written."""

        def rows(organization_id: int) -> Iterable[Row]:
            manager: Any = model._default_manager
            queryset = manager.for_organization(organization_id).order_by(*order_by)
            found: Iterable[Row] = queryset.values(*fields).iterator(chunk_size=1000)
            return found

        return cls(name, tuple(fields), rows, (model._meta.label,))


@dataclass(frozen=True)
class Export:
    tables: Sequence[ExportTable] = ()
    excluded: Mapping[str, str] = field(default_factory=dict)
    """Tenant tables (app_label.Model) deliberately left out, each with the reason."""


def tenant_models() -> list[type[models.Model]]:
    from kernel.tenancy import TenantModel

    return [m for m in apps.get_models() if issubclass(m, TenantModel)]


def uncovered(exports: Iterable[Export], app_labels: Iterable[str]) -> list[str]:
    """Tenant tables of the apps with a manifest (`app_labels`) that no manifest exports
    or excludes."""
    exports, app_labels = list(exports), set(app_labels)
    covered = {label for export in exports for table in export.tables for label in table.covers}
    covered |= {label for export in exports for label in export.excluded}
    return sorted(
        m._meta.label
        for m in tenant_models()
        if m._meta.app_label in app_labels and m._meta.label not in covered
    )


@checks.register()
def check_exports_cover_tenant_tables(**kwargs: Any) -> list[checks.CheckMessage]:
    from kernel.manifest import DOMAINS

    exports = [d.exports for d in DOMAINS if d.exports is not None]
    return [
        checks.Error(
            f"The tenant table {label} is in no organization export.",
            hint="Add an ExportTable for it to its domain's manifest (exports=Export(...)), "
            "or list it in Export(excluded={...}) with the reason (docs/exports.md).",
            id="kernel.E120",
        )
        for label in uncovered(exports, (d.label for d in DOMAINS))
    ]
