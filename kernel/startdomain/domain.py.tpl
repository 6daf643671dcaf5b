"""What the ${label} domain brings (kernel/manifest.py): its permissions, its plan
limit, its audit actions in words, its pages, its API, its link in the header and its tables
in the organization's data export (kernel/exports.py: add each new tenant table there, or
exclude it with why)."""

from django.utils.translation import gettext_lazy

from kernel.exports import Export, ExportTable
from kernel.limits import UNLIMITED, Limit
from kernel.manifest import AuditLabel, Domain, Nav
from kernel.permissions import EDITORS, EVERYONE, MANAGERS, Permission
from ${app}.models import ${model}


def count_${plural}(organization_id: int) -> int:
    return ${model}.objects.for_organization(organization_id).count()


domain = Domain(
    "${app}",
    permissions=[
        Permission("${app}.read", gettext_lazy("See ${plural_words}"), EVERYONE),
        Permission("${app}.create", gettext_lazy("Create ${plural_words}"), EDITORS),
        Permission("${app}.update", gettext_lazy("Edit ${plural_words}"), EDITORS),
        Permission("${app}.delete", gettext_lazy("Delete ${plural_words}"), MANAGERS),
    ],
    limits=[
        Limit(
            "${app}",
            gettext_lazy("${plural_words}"),
            free=100,
            raised_by={"feature.pro": 10_000, "feature.team": UNLIMITED},
            count=count_${plural},
        )
    ],
    audit_labels={
        "${singular}.create": AuditLabel(
            gettext_lazy("created the ${singular_words} “{target}”"),
            gettext_lazy("create ${a_singular}"),
        ),
        "${singular}.update": AuditLabel(
            gettext_lazy("edited the ${singular_words} “{target}”"),
            gettext_lazy("edit ${a_singular}"),
        ),
        "${singular}.delete": AuditLabel(
            gettext_lazy("deleted the ${singular_words} “{target}”"),
            gettext_lazy("delete ${a_singular}"),
        ),
    },
    urls=[("${url_prefix}/", "${app}.urls")],
    api="${app}.api",
    nav=[Nav(gettext_lazy("${title}"), "${app}_list", permission="${app}.read", order=50)],
    exports=Export(
        tables=[
            ExportTable.of(
                ${model},
                "${app}",
                ["id", "name", "notes", "created_by__email", "created_at", "version"],
            )
        ]
    ),
)
