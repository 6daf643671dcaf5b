from __future__ import annotations

from django.db import models
from django.db.models.functions import Now

from kernel.tenancy import TenantModel


class IdempotencyRecord(TenantModel):
    change_capture_exempt = True  # bookkeeping of the API layer; no query reads it

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


class CurrentTransactionId(models.Func):
    """The writing transaction's id, as a bigint (xid8 has no Django type)."""

    template = "(pg_current_xact_id()::text::bigint)"
    output_field = models.BigIntegerField()


class Change(models.Model):
    """One organization's rows of one table changed in a committed transaction
    (written by the triggers of kernel/change_capture.py, pruned by the listener)."""

    tenant_exempt = "written by database triggers for every organization; read by the listener"

    id = models.BigAutoField(primary_key=True)
    table_name = models.CharField(max_length=128)
    organization_id = models.BigIntegerField()
    created_at = models.DateTimeField(db_default=Now())
    xid = models.BigIntegerField(db_default=CurrentTransactionId())
    """The writing transaction: a poller knows every transaction below the oldest one
    still running has committed (or not) for good (kernel/live/hub.py)."""

    class Meta:
        db_table = "kernel_change"
        indexes = [
            models.Index(fields=["created_at"], name="kernel_change_created"),
            models.Index(fields=["xid"], name="kernel_change_xid"),
        ]

    def __str__(self) -> str:
        return f"{self.table_name}:{self.organization_id}"
