"""What the demo domain brings (kernel/manifest.py). Deleting the app takes all of it away."""

from django.utils.translation import gettext_lazy

from kernel.actor import Actor
from kernel.exports import Export, ExportTable
from kernel.limits import UNLIMITED, Limit
from kernel.manifest import AuditLabel, Domain, Nav, Step
from kernel.permissions import EDITORS, EVERYONE, MANAGERS, Permission
from workspace_records.models import WorkspaceRecord


def count_records(organization_id: int) -> int:
    return WorkspaceRecord.objects.for_organization(organization_id).count()


def has_records(actor: Actor) -> bool:
    return WorkspaceRecord.objects.for_organization(actor.organization_id).exists()


domain = Domain(
    "workspace_records",
    permissions=[
        Permission("workspace.records.read", gettext_lazy("See workspace records"), EVERYONE),
        Permission("workspace.records.create", gettext_lazy("Create workspace records"), EDITORS),
        Permission("workspace.records.update", gettext_lazy("Edit workspace records"), EDITORS),
        Permission("workspace.records.delete", gettext_lazy("Delete workspace records"), MANAGERS),
    ],
    limits=[
        Limit(
            "workspace.records",
            gettext_lazy("records"),
            free=100,
            raised_by={"feature.pro": 10_000, "feature.team": UNLIMITED},
            count=count_records,
        )
    ],
    audit_labels={
        "record.create": AuditLabel(
            gettext_lazy("created the record “{target}”"), gettext_lazy("create a record")
        ),
        "record.update": AuditLabel(
            gettext_lazy("edited the record “{target}”"), gettext_lazy("edit a record")
        ),
        "record.delete": AuditLabel(
            gettext_lazy("deleted the record “{target}”"), gettext_lazy("delete a record")
        ),
    },
    urls=[("records/", "workspace_records.urls")],
    api="workspace_records.api",
    nav=[
        Nav(gettext_lazy("Records"), "record_list", permission="workspace.records.read", order=10)
    ],
    onboarding=[
        Step(
            gettext_lazy("Create your first record"),
            "record_list",
            done=has_records,
            permission="workspace.records.create",
            order=30,
        )
    ],
    exports=Export(
        tables=[
            ExportTable.of(
                WorkspaceRecord,
                "workspace_records",
                [
                    "id",
                    "title",
                    "status",
                    "body",
                    "created_by__email",
                    "created_at",
                    "updated_at",
                    "version",
                ],
            )
        ]
    ),
)
