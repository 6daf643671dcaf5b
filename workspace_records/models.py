"""The demo tenant domain: records an organization's members create and work on.

Read this app as the model for your own tenant domain, then delete it
(docs/removing-workspace-demo.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from kernel.tenancy import TenantModel
from kernel.versions import Versioned


class RecordStatus(models.TextChoices):
    OPEN = "open", gettext_lazy("Open")
    IN_PROGRESS = "in_progress", gettext_lazy("In progress")
    DONE = "done", gettext_lazy("Done")


class WorkspaceRecord(Versioned, TenantModel):
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="workspace_records"
    )
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=RecordStatus.choices, default=RecordStatus.OPEN
    )
    body = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Composite indexes lead with the organization: every query is scoped by it.
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="record_org_newest"),
            models.Index(
                fields=["organization", "status", "-created_at", "-id"], name="record_org_status"
            ),
        ]

    def __str__(self) -> str:
        return self.title
