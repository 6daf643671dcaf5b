"""Billing reacts to organizations: seats follow the seat rule on per-seat plans —
members plus pending invitations (`organizations.queries.seats_used`) — through a task
queued with each change of either (an invitation's expiry, which no change marks, is
caught by the periodic `billing.tasks.sync_seats_everywhere`); and an organization
scheduled for deletion (or deleted) has its subscriptions cancelled at the provider at
once, not at the end of the grace period.

The cancellation is owed from the moment the scheduling (or the deletion) commits, so it
is written down in that very transaction (`PendingCancellation`), with the task that
performs it, and forgotten only when the provider confirms (billing/reconcile.py): a
failed call, a crash or a provider outage leave it pending, retried, and reconciled until
it is done. Restoring the organization does not resume them: its owners choose a plan
again."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from billing.models import PendingCancellation, PlanSubscription, SubscriptionStatus
from billing.queries import live_subscriptions, per_seat_plans
from billing.tasks import cancel_subscriptions, push_seats
from organizations.models import Invitation, Membership, Organization
from organizations.signals import organization_deletion_scheduled


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def membership_changed(sender: type[Membership], instance: Membership, **kwargs: Any) -> None:
    if kwargs.get("created", True):  # a member added (post_save) or removed (post_delete)
        _push_seats(instance.organization_id)


@receiver(post_save, sender=Invitation)
@receiver(post_delete, sender=Invitation)
def invitation_changed(sender: type[Invitation], instance: Invitation, **kwargs: Any) -> None:
    """Created, accepted, declined, revoked, resent (a fresh expiry) or deleted: each may
    change the seats in use. The push reads the count when it runs, so a repeat with an
    unchanged count calls no provider."""
    _push_seats(instance.organization_id)


def _push_seats(organization_id: int) -> None:
    """Queue the push in the change's transaction, for a per-seat subscription only (an
    organization that buys one later has its seats checked when the provider's event
    arrives, billing/processing.py)."""
    if live_subscriptions(organization_id).filter(plan__in=per_seat_plans()).exists():
        push_seats.enqueue(organization_id)


@receiver(pre_delete, sender=Organization)
def organization_deleting(
    sender: type[Organization], instance: Organization, **kwargs: Any
) -> None:
    """Inside the deletion's transaction: what the provider must still cancel (normally
    nothing: scheduling the deletion cancelled it). The local provider keeps its
    subscriptions in the rows being deleted: nothing is owed there."""
    _owe_cancellations(instance.pk, include_local=False)


@receiver(organization_deletion_scheduled)
def organization_deletion_scheduled_cancel(
    sender: type[Organization], organization_id: int, **kwargs: Any
) -> None:
    """Inside the scheduling's transaction: every subscription still running is cancelled
    now (the local provider's too: its cancellation is an event like any provider's)."""
    _owe_cancellations(organization_id, include_local=True)


def _owe_cancellations(organization_id: int, *, include_local: bool) -> None:
    owed = PlanSubscription.objects.for_organization(organization_id).exclude(
        status=SubscriptionStatus.CANCELED
    )
    if not include_local:
        owed = owed.exclude(provider="local")
    pending = [
        PendingCancellation.objects.get_or_create(
            provider=subscription.provider,
            external_id=subscription.external_id,
            defaults={"organization_id": organization_id},
        )[0].pk
        for subscription in owed
    ]
    if pending:
        cancel_subscriptions.enqueue(pending)
