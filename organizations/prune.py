"""The audit log's retention (kernel/prune.py): events older than AUDIT_RETENTION_DAYS
go, in batches, with the periodic prune; 0 keeps them for ever. A deleted organization's
events went with it already."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from kernel.prune import delete_in_batches, pruner
from organizations.models import AuditEvent


@pruner("audit events")
def prune_audit_events(batch: int) -> int:
    days = settings.AUDIT_RETENTION_DAYS
    if not days:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    # Every organization's, by the (organization, created_at) index: the pruner is internal.
    expired = AuditEvent.objects.unscoped().filter(created_at__lt=cutoff)
    return delete_in_batches(expired, batch)
