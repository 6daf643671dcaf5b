"""Billing reacts to organizations: seats follow membership on per-seat plans (a task
queued with the change), and a deleted organization's subscriptions are cancelled at the
provider."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from billing.actions import cancel_for_deleted_organization
from billing.queries import live_subscriptions
from billing.schemas import ProviderSubscriptions
from billing.tasks import push_seats
from kernel.actor import SYSTEM
from kernel.door import call
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
    live = list(live_subscriptions(instance.pk).values_list("provider", "external_id"))
    if live:
        subscriptions = ProviderSubscriptions(subscriptions=live)
        transaction.on_commit(lambda: call(cancel_for_deleted_organization, SYSTEM, subscriptions))
