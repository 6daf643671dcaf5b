from django.conf import settings
from django.db import models

from kernel.tenancy import TenantModel
from kernel.versions import Versioned


class Note(Versioned, TenantModel):
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="test_notes"
    )
    title = models.CharField(max_length=80)
    body = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-id"], name="test_note_org")]

    def __str__(self) -> str:
        return self.title
