"""POST /webhooks/<provider>: verify, store, and leave the rest to the task queue.

1. Verify: the signature with the provider's library and a timestamp tolerance; then the
   envelope (billing/envelope.py). A bad signature, or a body that is not an event we
   can store, is 400 with nothing stored: the provider's dashboard shows why.
2. Store, and in the same transaction enqueue its processing (`billing.tasks.
   process_event`): committed ⇔ enqueued, so an acknowledged event cannot be lost. The
   answer is 200 at once; it never waits for processing. A duplicate delivery finds
   the first one's row and is not processed again, unless that one failed.
3. The task applies it through `billing.apply_event`, once. An event that cannot be
   applied (an unknown price, an organization that does not exist) is kept failed with
   the reason for an operator, who reprocesses it from the admin once the cause is
   fixed; other failures are retried by the queue with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.envelope import Malformed
from billing.events import VerifiedEvent
from billing.models import EventStatus, WebhookEvent
from billing.providers import PROVIDER_NAMES, get_provider
from billing.providers.base import WebhookVerificationError
from billing.tasks import process_event

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    status: int
    outcome: str
    fields: Mapping[str, list[str]] = field(default_factory=dict)
    """Why a malformed body was refused, per field of the provider's event."""
    enqueued: int | None = None
    """The stored event whose processing this delivery enqueued."""


def is_configured(provider: str) -> bool:
    if provider == "stripe":
        return bool(settings.STRIPE_WEBHOOK_SECRET)
    if provider == "polar":
        return bool(settings.POLAR_WEBHOOK_SECRET)
    if provider == "lemonsqueezy":
        return bool(settings.LEMONSQUEEZY_WEBHOOK_SECRET)
    return provider == "local" and settings.BILLING_PROVIDER == "local"


def deliver(provider_name: str, body: bytes, headers: Mapping[str, str]) -> Delivery:
    """The one webhook handler: the views and the local provider both call it."""
    provider = get_provider(provider_name)
    try:
        event = provider.verify(body, headers)
    except WebhookVerificationError as error:
        logger.warning("billing: %s webhook refused: %s", provider_name, error)
        return Delivery(400, "invalid_signature")
    except Malformed as error:
        logger.warning("billing: %s webhook malformed: %s", provider_name, error)
        return Delivery(400, "malformed", error.fields)
    event_pk = store(provider_name, event)
    if event_pk is None:
        return Delivery(200, "duplicate")
    return Delivery(200, "received", enqueued=event_pk)


def store(provider_name: str, event: VerifiedEvent) -> int | None:
    """Keep the event and enqueue its processing: the event's id, or None if an earlier
    delivery's row is there and needs nothing (applied, or waiting for its task)."""
    with transaction.atomic():
        stored, created = WebhookEvent.objects.get_or_create(
            provider=provider_name,
            event_id=event.id,
            defaults={
                "type": event.type,
                "payload": event.payload,
                "occurred_at": event.occurred_at,
            },
        )
        if not created and stored.status != EventStatus.FAILED:
            return None
        process_event.enqueue(stored.pk)  # a failed one: the provider sent it again
        return stored.pk


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, provider: str) -> JsonResponse:
    if provider not in PROVIDER_NAMES or not is_configured(provider):
        return JsonResponse({"error": "unknown_provider"}, status=404)
    delivery = deliver(provider, request.body, request.headers)
    body: dict[str, object] = {"outcome": delivery.outcome}
    if delivery.fields:
        body["fields"] = delivery.fields
    return JsonResponse(body, status=delivery.status)
