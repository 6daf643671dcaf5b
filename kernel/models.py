from __future__ import annotations

from django.db import models

from kernel.tenancy import TenantModel


class IdempotencyRecord(TenantModel):
    """The first response to an unsafe API call made with an `Idempotency-Key` header,
    replayed for 24 hours to a repeat of the same call (kernel/idempotency.py)."""

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)  # None while in progress
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code})"
