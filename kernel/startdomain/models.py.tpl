"""The ${label} domain's tenant table."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from kernel.tenancy import TenantModel
from kernel.versions import Versioned


class ${model}(Versioned, TenantModel):
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="${app}"
    )
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Composite indexes lead with the organization: every query is scoped by it.
        indexes = [models.Index(fields=["organization", "-id"], name="${index}")]

    def __str__(self) -> str:
        return self.name
