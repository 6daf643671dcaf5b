"""Billing writes: internal mutations, never routed to clients — applying provider events
(the webhook task, billing/tasks.py), customers, operators' manual grants."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from billing import processing
from billing.events import CannotApply, Change, VerifiedEvent
from billing.grants import active_grants, current_plan
from billing.models import (
    DONE_STATUSES,
    BillingCustomer,
    EventStatus,
    Grant,
    SourceType,
    WebhookEvent,
)
from billing.plans import PLANS
from billing.providers import PROVIDER_LABELS, get_provider
from billing.schemas import CustomerRecord, EventFailure, EventRef, GrantRef, ManualGrant
from kernel import audit, errors
from kernel.actor import System
from kernel.functions import mutation
from organizations.audit import AuditAction


@mutation("billing.apply_event", internal=True, output=str, audit=AuditAction.PROVIDER_EVENT)
def apply_event(*, actor: System, args: EventRef) -> str:
    """Apply a stored event once: a second delivery, or a parallel one, finds it done.
    The organization's log records it, the provider as the actor (`provider_actor`), with
    the plan the organization is on afterwards."""
    event = WebhookEvent.objects.select_for_update().get(pk=args.event_pk)
    if event.status in DONE_STATUSES:
        audit.unchanged()
        return event.status
    verified = VerifiedEvent(event.event_id, event.type, event.occurred_at, event.payload)
    changes = _changes(event.provider, verified)
    key = f"{event.provider}:{event.event_id}"
    organizations = [processing.apply_change(change, key=key) for change in changes]
    event.organization_id = next((o for o in organizations if o is not None), None)
    event.status = EventStatus.PROCESSED if event.organization_id else EventStatus.IGNORED
    event.attempts += 1
    event.error = ""
    event.processed_at = timezone.now()
    event.save()
    if event.organization_id is None:
        audit.unchanged()  # about an organization that is gone: nothing changed
    else:
        audit.describe(
            target=event.type,
            target_type="billing_event",
            target_id=event.event_id,
            organization_id=event.organization_id,
            provider=event.provider,
            plan=PLANS[current_plan(active_grants(event.organization_id))].name,
        )
    return event.status


def provider_actor(provider: str) -> System:
    """Who applies a provider's events and state, as the audit log names them."""
    return System(PROVIDER_LABELS.get(provider, provider))


def _changes(provider: str, event: VerifiedEvent) -> list[Change]:
    """What the event means. Reading it touches no state, so whatever fails here fails
    every time: the event cannot be applied as it stands."""
    try:
        return get_provider(provider).changes(event)
    except CannotApply:
        raise
    except (LookupError, TypeError, ValueError, AttributeError, OverflowError) as error:
        raise CannotApply(
            f"The event's data is not what {provider} sends: {type(error).__name__}: {error}"
        ) from error


@mutation(
    "billing.mark_failed",
    internal=True,
    unaudited="the webhook event's own processing state, for operators: nothing changed",
)
def mark_failed(*, actor: System, args: EventFailure) -> None:
    """Record a failed attempt and why; the event stays reprocessable (the queue's retry,
    the admin's "Reprocess", the provider's resend). An applied event is left alone."""
    event = WebhookEvent.objects.select_for_update().get(pk=args.event_pk)
    if event.status not in DONE_STATUSES:
        event.status = EventStatus.FAILED
        event.attempts += 1
        event.error = args.error[:5000]
        event.save(update_fields=["status", "attempts", "error"])


@mutation(
    "billing.customer_record",
    internal=True,
    unaudited="bookkeeping of the provider's customer id at checkout; what the organization "
    "then pays for arrives as an audited provider event",
)
def customer_record(*, actor: System, args: CustomerRecord) -> None:
    BillingCustomer.objects.for_organization(args.organization_id).get_or_create(
        organization_id=args.organization_id,
        provider=args.provider,
        defaults={"external_id": args.customer_id},
    )


@mutation("billing.grant_plan", internal=True, audit=AuditAction.GRANT_CREATE)
def manual_grant_create(*, actor: System, args: ManualGrant) -> None:
    """An operator grants a plan's capabilities by hand (support, partners, trials)."""
    plan = PLANS.get(args.plan_code)
    if plan is None or plan.is_free:
        raise errors.invalid_input(fields={"plan": ["Choose a paid plan."]})
    source = f"manual:{timezone.now().strftime('%Y%m%d%H%M%S%f')}"
    for capability in sorted(plan.grants()):
        Grant.objects.create(
            organization_id=args.organization_id,
            capability=capability,
            plan=plan.code,
            source=source,
            source_type=SourceType.MANUAL,
            expires_at=args.expires_at,
            note=args.note,
        )
    audit.describe(
        target=plan.name,
        target_type="plan",
        target_id=plan.code,
        organization_id=args.organization_id,
        source=source,
        note=args.note,
    )


@mutation("billing.grant_revoke", internal=True, output=bool, audit=AuditAction.GRANT_REVOKE)
def grant_revoke(*, actor: System, args: GrantRef) -> bool:
    """An operator revokes one grant (the admin's action calls this once per grant, so
    each has its row in its organization's log). False if it was revoked already."""
    grant = Grant.objects.unscoped().filter(pk=args.grant_id).first()  # operators: any org's
    if grant is None:
        raise errors.not_found(_("There is no such grant."))
    if grant.revoked_at is not None:
        audit.unchanged()
        return False
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at", "updated_at"])
    audit.describe(
        target=grant.capability,
        target_type="grant",
        target_id=grant.pk,
        organization_id=grant.organization_id,
        source=grant.source,
    )
    return True
