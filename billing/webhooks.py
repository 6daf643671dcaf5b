"""POST /webhooks/<provider>: verify, store, then process once.

1. Verify: the signature with the provider's library and a timestamp tolerance; then the
   envelope (billing/envelope.py). A bad signature, or a body that is not an event we
   can store, is 400 with nothing stored: the provider's dashboard shows why.
2. Store: every event under its provider id (unique). A duplicate delivery of an event
   already applied is acknowledged and not applied again.
3. Process (`process`, by event id): apply it through `billing.apply_event`. An event
   that cannot be applied (CannotApply: an unknown price, an organization that does not
   exist) is kept failed with the reason and acknowledged — retrying would not help, and
   the admin shows it and reprocesses it once the cause is fixed. Any other failure is
   recorded on the event and raised, to be retried. Unknown types are stored and ignored.
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
from billing.events import CannotApply, VerifiedEvent
from billing.models import DONE_STATUSES, EventStatus, WebhookEvent
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
    fields: Mapping[str, list[str]] = field(default_factory=dict)
    """Why a malformed body was refused, per field of the provider's event."""


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
    except Malformed as error:
        logger.warning("billing: %s webhook malformed: %s", provider_name, error)
        return Delivery(400, "malformed", error.fields)
    event_pk = store(provider_name, event)
    if event_pk is None:
        return Delivery(200, "duplicate")
    try:
        return Delivery(200, process(event_pk))
    except Exception:
        return Delivery(500, "failed")  # recorded on the event; the provider retries


def store(provider_name: str, event: VerifiedEvent) -> int | None:
    """Keep the event; its id, to process, or None if an earlier delivery applied it."""
    with transaction.atomic():
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
        return None if stored.status in DONE_STATUSES else stored.pk


def process(event_pk: int) -> str:
    """Apply a stored event once: its outcome (processed, ignored, failed, or the status
    an earlier run left). What cannot be applied is kept failed with its reason; any
    other error is recorded on the event and raised, so whoever runs this retries."""
    try:
        outcome: str = call(apply_event, SYSTEM, EventRef(event_pk=event_pk))
    except CannotApply as error:
        logger.warning("billing: webhook event %s cannot be applied: %s", event_pk, error)
        call(mark_failed, SYSTEM, EventFailure(event_pk=event_pk, error=str(error)))
        return EventStatus.FAILED
    except Exception as error:
        logger.exception("billing: applying webhook event %s failed", event_pk)
        failure = EventFailure(event_pk=event_pk, error=f"{type(error).__name__}: {error}")
        call(mark_failed, SYSTEM, failure)
        raise
    return outcome


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
