"""Reconciliation: our copy of each subscription against its provider's, and the
cancellations that deleted organizations still owe.

    call(reconcile, SYSTEM)        # `manage.py billing_reconcile`, and the periodic task
    call(cancel_pending, SYSTEM, {"pending_ids": [...]})   # after an organization's deletion

Webhooks keep our copy current; reconciliation repairs what they missed (an event lost
for good, a seat push that failed). Which side is the truth, field by field
(docs/billing.md):

  * status, plan, period end, cancel-at-period-end, trial end, end and Stripe's item: the
    provider's — it is the one that bills. Ours is updated, and the grants follow.
  * seats on a per-seat plan: ours, by the seat rule (`seats_used`: members plus pending
    invitations). A provider's quantity that differs is set to it, and once the provider
    accepts it, ours says the same.
  * seats on other plans: the provider's.

Only subscriptions that have not ended (any status but canceled) are compared: an
organization without one costs no call. The provider's state is applied as of the moment
it was asked (to the second, as providers stamp events), so an event that happened after
it still wins, and one from before never undoes it.
"""

from __future__ import annotations

import dataclasses
import logging

from django.utils import timezone

from billing import processing
from billing.events import SubscriptionState
from billing.grants import active_grants, current_plan
from billing.models import PendingCancellation, PlanSubscription, SubscriptionStatus
from billing.mutations import provider_actor
from billing.plans import PLANS, get_plan
from billing.providers import get_provider
from billing.schemas import (
    PendingCancellationFailure,
    PendingCancellationIds,
    ReconciledState,
    ReconcileReport,
)
from kernel import audit
from kernel.actor import SYSTEM, System
from kernel.door import call
from kernel.functions import action, mutation
from organizations.audit import AuditAction
from organizations.queries import seats_used

logger = logging.getLogger(__name__)

COMPARED = (
    "plan",
    "status",
    "seats",
    "current_period_end",
    "cancel_at_period_end",
    "trial_end",
    "ended_at",
    "item_id",
)
"""Our subscription's fields that mirror the provider's (`seats`: see the module doc)."""


class StillPending(Exception):
    """A provider has not confirmed a cancellation yet: the task is tried again."""


# --- a deleted organization's subscriptions ---------------------------------------------------


@action("billing.cancel_pending", internal=True, output=int)
def cancel_pending(*, actor: System, args: PendingCancellationIds) -> int:
    """Cancel now, at their providers, deleted organizations' subscriptions (those listed,
    or every pending one); forget each the provider confirms. Returns how many it
    confirmed; raises StillPending if any is not, so the task retries it."""
    pending = PendingCancellation.objects.order_by("pk")
    if args.pending_ids is not None:
        pending = pending.filter(pk__in=args.pending_ids)
    confirmed, left = _cancel_each(list(pending))
    if left:
        raise StillPending(f"{left} cancellation(s) not confirmed by the provider yet")
    return confirmed


def _cancel_each(pending: list[PendingCancellation]) -> tuple[int, int]:
    confirmed = 0
    for cancellation in pending:
        if _cancel(cancellation):
            call(cancellation_confirmed, SYSTEM, {"pending_ids": [cancellation.pk]})
            confirmed += 1
    return confirmed, len(pending) - confirmed


def _cancel(cancellation: PendingCancellation) -> bool:
    """True once the provider says the subscription is cancelled: its answer to the
    cancel, or (an earlier cancel went through, its answer lost) its current state."""
    subscription_id = cancellation.external_id
    try:
        provider = get_provider(cancellation.provider)
        provider.cancel(subscription_id=subscription_id, at_period_end=False)
        return True
    except Exception as error:
        try:
            state = get_provider(cancellation.provider).fetch_subscription(
                subscription_id=subscription_id
            )
            if state.status == SubscriptionStatus.CANCELED:
                return True
        except Exception:
            logger.warning("billing: reading %s for its cancellation failed", cancellation)
        logger.warning("billing: cancelling %s failed: %s", cancellation, error)
        call(
            cancellation_failed,
            SYSTEM,
            {"pending_id": cancellation.pk, "error": f"{type(error).__name__}: {error}"},
        )
        return False


@mutation(
    "billing.cancellation_confirmed",
    internal=True,
    unaudited="a deleted organization's cancellation: there is no log left to write to",
)
def cancellation_confirmed(*, actor: System, args: PendingCancellationIds) -> None:
    PendingCancellation.objects.filter(pk__in=args.pending_ids or []).delete()


@mutation(
    "billing.cancellation_failed",
    internal=True,
    unaudited="a deleted organization's cancellation: there is no log left to write to",
)
def cancellation_failed(*, actor: System, args: PendingCancellationFailure) -> None:
    for cancellation in PendingCancellation.objects.select_for_update().filter(pk=args.pending_id):
        cancellation.attempts += 1
        cancellation.last_attempt_at = timezone.now()
        cancellation.last_error = args.error[:5000]
        cancellation.save(update_fields=["attempts", "last_attempt_at", "last_error"])


# --- subscriptions against their provider ------------------------------------------------------


@action("billing.reconcile", internal=True, output=ReconcileReport)
def reconcile(*, actor: System) -> ReconcileReport:
    """Repair drift between every subscription that has not ended and its provider, and
    retry deleted organizations' cancellations. One subscription failing (a provider
    down) is reported and does not stop the others."""
    report = ReconcileReport()
    pending = list(PendingCancellation.objects.order_by("pk"))
    report.cancellations_confirmed, report.cancellations_pending = _cancel_each(pending)
    subscriptions = (
        PlanSubscription.objects.unscoped()  # every organization's: an operator's job
        .exclude(status=SubscriptionStatus.CANCELED)
        .order_by("pk")
    )
    for subscription in subscriptions:
        report.checked += 1
        try:
            _reconcile(subscription, report)
        except Exception as error:
            logger.warning("billing: reconciling %s failed: %s", subscription.source, error)
            report.failed.append(f"{subscription.source}: {type(error).__name__}: {error}")
    return report


def _reconcile(subscription: PlanSubscription, report: ReconcileReport) -> None:
    provider = get_provider(subscription.provider)
    theirs = provider.fetch_subscription(subscription_id=subscription.external_id)
    if theirs.plan.per_seat and theirs.status in {
        SubscriptionStatus.TRIALING,
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE,
    }:
        seats = seats_used(subscription.organization_id)
        if theirs.seats != seats:
            provider.set_seats(
                subscription_id=subscription.external_id,
                item_id=theirs.item_id or subscription.item_id,
                seats=seats,
            )
            report.seats_pushed.append(f"{subscription.source}: {theirs.seats} → {seats}")
            theirs = dataclasses.replace(theirs, seats=seats)
            subscription.refresh_from_db()  # the local provider applies it at once
    drifted = _drift(subscription, theirs)
    if drifted:
        call(
            subscription_reconciled,
            provider_actor(subscription.provider),
            _reconciled(theirs, subscription.organization_id),
        )
        report.repaired.append(f"{subscription.source}: {', '.join(drifted)}")


def _drift(subscription: PlanSubscription, theirs: SubscriptionState) -> list[str]:
    ours = {name: getattr(subscription, name) for name in COMPARED}
    provider = {name: getattr(theirs, name) for name in COMPARED if name != "plan"}
    provider["plan"] = theirs.plan.code
    if not theirs.item_id:  # Polar has no items
        provider["item_id"] = subscription.item_id
    return [name for name in COMPARED if ours[name] != provider[name]]


def _reconciled(state: SubscriptionState, organization_id: int) -> ReconciledState:
    """Our row says which organization it is: the provider's metadata may say nothing.
    The same fields as the state (the input refuses any other), the plan by its code."""
    fields = {field.name: getattr(state, field.name) for field in dataclasses.fields(state)}
    return ReconciledState(
        **{**fields, "organization_id": organization_id, "plan": state.plan.code}
    )


@mutation(
    "billing.subscription_reconciled",
    internal=True,
    audit=AuditAction.SUBSCRIPTION_RECONCILE,
)
def subscription_reconciled(*, actor: System, args: ReconciledState) -> None:
    """Apply the provider's state as a webhook's would be (billing/processing.py): newer
    than ours only, grants synced. Audited with the provider as the actor."""
    plan = get_plan(args.plan)
    if plan is None:
        raise LookupError(f"Unknown plan {args.plan!r}")
    fields = args.model_dump(exclude={"plan"})
    organization_id = processing.apply_change(
        SubscriptionState(plan=plan, **fields),
        key=f"{args.provider}:reconciled:{args.external_id}:{args.as_of.isoformat()}",
    )
    if organization_id is None:
        audit.unchanged()  # the organization is gone
        return
    audit.describe(
        target=args.external_id,
        target_type="subscription",
        target_id=args.external_id,
        organization_id=organization_id,
        provider=args.provider,
        status=str(args.status),
        plan=PLANS[current_plan(active_grants(organization_id))].name,
    )
