from __future__ import annotations

from django.db import models
from django.db.models.functions import Now


class IdempotencyRecord(models.Model):
    """The result of a mutation called with an idempotency key (the API's
    `Idempotency-Key` header, a socket mutation's id), replayed for 24 hours to a repeat
    by the same principal (kernel/idempotency.py). Written in the mutation's transaction."""

    tenant_exempt = "keyed by principal, and by organization where there is one; pruned daily"

    principal = models.CharField(max_length=64, help_text="user:7, key:3")
    organization_id = models.BigIntegerField(null=True, blank=True)
    function = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    result = models.BinaryField(help_text="The output, as JSON")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["principal", "organization_id", "function", "key"],
                name="idempotency_unique_key",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.function} {self.key} ({self.principal})"


class CurrentTransactionId(models.Func):
    """The writing transaction's id, as a bigint (xid8 has no Django type)."""

    template = "(pg_current_xact_id()::text::bigint)"
    output_field = models.BigIntegerField()


class Change(models.Model):
    """One organization's rows of one table (or, for tables captured by row, one row)
    changed in a committed transaction (written by the triggers of
    kernel/change_capture.py, pruned by the listener)."""

    tenant_exempt = "written by database triggers for every organization; read by the listener"

    id = models.BigAutoField(primary_key=True)
    table_name = models.CharField(max_length=128)
    organization_id = models.BigIntegerField(null=True)
    row_key = models.CharField(max_length=128, null=True)  # noqa: DJ001  (triggers write NULL)
    """Tables captured by row: the changed row's key (a session's as its SHA-256)."""
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
        if self.row_key is not None:
            return f"{self.table_name}:={self.row_key}"
        return f"{self.table_name}:{self.organization_id}"


class PeriodicTurn(models.Model):
    """When a periodic task (a manifest's `Periodic`) is next due. The worker that moves
    `due_at` forward enqueues the task, so N workers run it once (kernel/worker.py)."""

    tenant_exempt = "one row per periodic task, not per organization"

    name = models.CharField(max_length=200, primary_key=True, help_text="The task's path")
    due_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
