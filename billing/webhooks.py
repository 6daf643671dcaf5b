"""POST /webhooks/<provider>: verify, store, then apply once.

Signature checked with the provider's library and a timestamp tolerance; a bad one is
400 with nothing stored. Every event is stored under its provider id (unique) before it
is applied; a duplicate delivery is acknowledged and not re-applied. A failure while
applying marks the event failed and answers 500, so the provider retries (the admin can
reprocess too). Unknown types are stored and acknowledged."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.models import DONE_STATUSES, WebhookEvent
from billing.mutations import apply_event, mark_failed
from billing.providers import PROVIDER_NAMES, get_provider
from billing.providers.base import WebhookVerificationError
from billing.schemas import EventFailure, EventRef
from kernel.actor import SYSTEM
from kernel.door import call

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    status: int
    outcome: str


def is_configured(provider: str) -> bool:
    if provider == "stripe":
        return bool(settings.STRIPE_WEBHOOK_SECRET)
    if provider == "polar":
        return bool(settings.POLAR_WEBHOOK_SECRET)
    return provider == "local" and settings.BILLING_PROVIDER == "local"


def deliver(provider_name: str, body: bytes, headers: Mapping[str, str]) -> Delivery:
    """The one webhook handler: the views and the local provider both call it."""
    provider = get_provider(provider_name)
    try:
        event = provider.verify(body, headers)
    except WebhookVerificationError as error:
        logger.warning("billing: %s webhook refused: %s", provider_name, error)
        return Delivery(400, "invalid_signature")
    WebhookEvent.objects.bulk_create(
        [
            WebhookEvent(
                provider=provider_name,
                event_id=event.id,
                type=event.type,
                payload=event.payload,
                occurred_at=event.occurred_at,
            )
        ],
        ignore_conflicts=True,  # a duplicate delivery: the first one's row stays
    )
    stored = WebhookEvent.objects.get(provider=provider_name, event_id=event.id)
    if stored.status in DONE_STATUSES:
        return Delivery(200, "duplicate")
    return process(stored.pk)


def process(event_pk: int) -> Delivery:
    try:
        return Delivery(200, call(apply_event, SYSTEM, EventRef(event_pk=event_pk)))
    except Exception as error:
        logger.exception("billing: applying webhook event %s failed", event_pk)
        failure = EventFailure(event_pk=event_pk, error=f"{type(error).__name__}: {error}")
        call(mark_failed, SYSTEM, failure)
        return Delivery(500, "failed")


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, provider: str) -> JsonResponse:
    if provider not in PROVIDER_NAMES or not is_configured(provider):
        return JsonResponse({"error": "unknown_provider"}, status=404)
    delivery = deliver(provider, request.body, request.headers)
    return JsonResponse({"outcome": delivery.outcome}, status=delivery.status)
