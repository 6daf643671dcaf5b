"""Billing's pruner (billing/prune.py): provider events kept for their retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import EventStatus, WebhookEvent
from billing.prune import prune_webhook_events

pytestmark = pytest.mark.django_db


def event(name: str, status: str, *, received: float, processed: float | None = None) -> None:
    """An event received `received` days ago, processed `processed` days ago."""
    now = timezone.now()
    made = WebhookEvent.objects.create(
        provider="stripe",
        event_id=name,
        type="customer.subscription.updated",
        payload={},
        occurred_at=now - timedelta(days=received),
        status=status,
    )
    WebhookEvent.objects.filter(pk=made.pk).update(
        received_at=now - timedelta(days=received),
        processed_at=None if processed is None else now - timedelta(days=processed),
    )


def test_processed_events_go_after_their_retention_failed_ones_later(settings):
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 90
    settings.WEBHOOK_FAILED_EVENT_RETENTION_DAYS = 365
    event("processed-old", EventStatus.PROCESSED, received=91, processed=90.01)
    event("ignored-old", EventStatus.IGNORED, received=100, processed=100)
    event("failed-old", EventStatus.FAILED, received=365.01)
    event("processed-inside", EventStatus.PROCESSED, received=89.9, processed=89.9)
    # Received long ago, reprocessed lately: the retention counts from its processing.
    event("reprocessed", EventStatus.PROCESSED, received=200, processed=10)
    event("failed-inside", EventStatus.FAILED, received=364.9)
    event("never-processed", EventStatus.RECEIVED, received=1000)  # waiting for its task

    assert prune_webhook_events(2) == 3

    assert set(WebhookEvent.objects.values_list("event_id", flat=True)) == {
        "processed-inside",
        "reprocessed",
        "failed-inside",
        "never-processed",
    }
