"""Billing's side effects, run by the task queue after the change that needs them."""

from __future__ import annotations

import logging

from billing import actions, mutations, reconcile
from billing import trials as trial_functions
from billing.events import CannotApply
from billing.models import EventStatus, WebhookEvent
from billing.queries import seat_drift
from billing.schemas import EventFailure, EventRef, OrganizationRef
from kernel.actor import SYSTEM
from kernel.door import call
from kernel.tasks import durable

logger = logging.getLogger(__name__)


@durable(max_attempts=12)
def push_seats(organization_id: int) -> None:
    """Tell the provider how many seats a per-seat subscription has. It reads the count
    when it runs, so a repeat (a retry, a burst of membership changes) pushes the same
    number and changes nothing."""
    call(actions.sync_seats, SYSTEM, OrganizationRef(organization_id=organization_id))


@durable(max_attempts=3)
def sync_seats_everywhere() -> int:
    """Periodic (billing/domain.py): a pending invitation stops counting as a seat when it
    expires, which no change announces. Queues a push for each per-seat subscription
    whose billed seats differ from the seats in use; how many were queued."""
    drifting = seat_drift()
    for organization_id in drifting:
        push_seats.enqueue(organization_id)
    return len(drifting)


@durable(max_attempts=3)
def trials() -> dict[str, int]:
    """Periodic (billing/domain.py): local trials whose time is up end, then those ending
    within 3 days are announced to the billing managers (once each)."""
    ended: int = call(trial_functions.end_local_trials, SYSTEM)
    reminded: int = call(trial_functions.trial_reminders, SYSTEM)
    return {"ended": ended, "reminded": reminded}


@durable(max_attempts=24)
def process_event(event_pk: int) -> str:
    """Apply a stored webhook event (billing/webhooks.py stores it and enqueues this in
    one transaction): its outcome — processed, ignored, or failed. An event that cannot
    be applied is kept failed with its reason and not retried (retrying would not help;
    an operator reprocesses it once the cause is fixed). Any other error is recorded on
    the event and raised, so the queue retries it, for 8 to 15 hours with backoff. An
    event applied already is left alone, so a repeat changes nothing."""
    provider = WebhookEvent.objects.filter(pk=event_pk).values_list("provider", flat=True)
    applier = mutations.provider_actor(provider.first() or "")
    try:
        outcome: str = call(mutations.apply_event, applier, EventRef(event_pk=event_pk))
    except CannotApply as error:
        logger.warning("billing: webhook event %s cannot be applied: %s", event_pk, error)
        call(mutations.mark_failed, SYSTEM, EventFailure(event_pk=event_pk, error=str(error)))
        return str(EventStatus.FAILED)
    except Exception as error:
        failure = EventFailure(event_pk=event_pk, error=f"{type(error).__name__}: {error}")
        call(mutations.mark_failed, SYSTEM, failure)
        raise
    return outcome


@durable(max_attempts=12)
def cancel_subscriptions(pending_ids: list[int]) -> int:
    """Cancel a deleted organization's subscriptions at their providers (enqueued by its
    deletion). Retried until each provider confirms (a few hours of attempts); after
    that, every reconciliation tries again. Confirmed ones are forgotten, so a repeat
    calls nobody."""
    confirmed: int = call(reconcile.cancel_pending, SYSTEM, {"pending_ids": pending_ids})
    return confirmed


@durable(max_attempts=3)
def reconcile_subscriptions() -> dict[str, object]:
    """The periodic reconciliation (billing/domain.py): its report is the task's result."""
    report = call(reconcile.reconcile, SYSTEM)
    if report.failed or report.cancellations_pending:
        logger.error("billing: reconciliation left drift: %s", report.model_dump_json())
    return dict(report.model_dump())
