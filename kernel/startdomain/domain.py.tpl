"""What the ${label} domain brings (kernel/manifest.py): its permissions, its plan
limit, its audit actions in words, its pages, its API, its link in the header and its tables
in the organization's data export (kernel/exports.py: add each new tenant table there, or
exclude it with why)."""

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
        Permission("${app}.read", "See ${plural_words}", EVERYONE),
        Permission("${app}.create", "Create ${plural_words}", EDITORS),
        Permission("${app}.update", "Edit ${plural_words}", EDITORS),
        Permission("${app}.delete", "Delete ${plural_words}", MANAGERS),
    ],
    limits=[
        Limit(
            "${app}",
            "${plural_words}",
            free=100,
            raised_by={"feature.pro": 10_000, "feature.team": UNLIMITED},
            count=count_${plural},
        )
    ],
    audit_labels={
        "${singular}.create": AuditLabel(
            "created the ${singular_words} “{target}”", "create ${a_singular}"
        ),
        "${singular}.update": AuditLabel(
            "edited the ${singular_words} “{target}”", "edit ${a_singular}"
        ),
        "${singular}.delete": AuditLabel(
            "deleted the ${singular_words} “{target}”", "delete ${a_singular}"
        ),
    },
    urls=[("${url_prefix}/", "${app}.urls")],
    api="${app}.api",
    nav=[Nav("${title}", "${app}_list", permission="${app}.read", order=50)],
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
