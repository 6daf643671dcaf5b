"""Billing reacts to organizations: seats follow membership on per-seat plans (a task
queued with the change), and a deleted organization's subscriptions are cancelled at the
provider.

The cancellation is owed from the moment the deletion commits, so it is written down in
the deletion's own transaction (`PendingCancellation`), with the task that performs it,
and forgotten only when the provider confirms (billing/reconcile.py): a failed call, a
crash or a provider outage leave it pending, retried, and reconciled until it is done."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from billing.models import PendingCancellation, PlanSubscription, SubscriptionStatus
from billing.tasks import cancel_subscriptions, push_seats
from organizations.models import Membership, Organization


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def membership_changed(sender: type[Membership], instance: Membership, **kwargs: Any) -> None:
    if kwargs.get("created", True):  # a member added (post_save) or removed (post_delete)
        push_seats.enqueue(instance.organization_id)  # in the membership's transaction


@receiver(pre_delete, sender=Organization)
def organization_deleting(
    sender: type[Organization], instance: Organization, **kwargs: Any
) -> None:
    """Inside the deletion's transaction: what the provider must still cancel. The local
    provider keeps its subscriptions in the rows being deleted: nothing is owed there."""
    owed = (
        PlanSubscription.objects.for_organization(instance.pk)
        .exclude(status=SubscriptionStatus.CANCELED)
        .exclude(provider="local")
    )
    pending = [
        PendingCancellation.objects.get_or_create(
            provider=subscription.provider,
            external_id=subscription.external_id,
            defaults={"organization_id": instance.pk},
        )[0].pk
        for subscription in owed
    ]
    if pending:
        cancel_subscriptions.enqueue(pending)
