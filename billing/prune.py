"""Billing's pruner (kernel/prune.py): provider events kept for a documented while.

An applied or ignored event goes WEBHOOK_EVENT_RETENTION_DAYS after it was processed;
a failed one stays WEBHOOK_FAILED_EVENT_RETENTION_DAYS after it arrived, unless
reprocessed (then it is processed, and the first rule applies from then). An event not
processed yet is never deleted."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from billing.models import DONE_STATUSES, EventStatus, WebhookEvent
from kernel.prune import delete_in_batches, pruner


@pruner("webhook events")
def prune_webhook_events(batch: int) -> int:
    now = timezone.now()
    cutoff = now - timedelta(days=settings.WEBHOOK_EVENT_RETENTION_DAYS)
    # Received before it was processed: the (status, received_at) index narrows the scan.
    done = WebhookEvent.objects.filter(
        status__in=DONE_STATUSES, received_at__lte=cutoff, processed_at__lte=cutoff
    )
    failed = WebhookEvent.objects.filter(
        status=EventStatus.FAILED,
        received_at__lte=now - timedelta(days=settings.WEBHOOK_FAILED_EVENT_RETENTION_DAYS),
    )
    return delete_in_batches(done, batch) + delete_in_batches(failed, batch)
