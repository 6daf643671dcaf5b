"""Trials as time passes (the periodic `billing.tasks.trials`): the billing managers hear
3 days before a trial ends, and a local trial ends when its time is up.

A trial starts from the plan picker (`billing.start_trial`, billing/actions.py): the
provider's own trial at checkout (Stripe, Polar), or the local provider's, trialing at
once without payment. A provider ends its own trials and tells us by webhook; the local
provider is this very process, so its trials end here."""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from django.utils import timezone

from billing.models import PlanSubscription, SubscriptionStatus
from billing.plans import get_plan
from billing.providers.local import LocalProvider
from billing.queries import TRIAL_WARNING
from kernel.actor import System
from kernel.functions import action, mutation
from kernel.notifications import notify_members
from organizations.models import Organization

TRIAL_ENDING: str = "billing.trial_ending"
"""The notification kind (billing/domain.py), sent once per trial end."""


@action("billing.end_local_trials", internal=True, output=int)
def end_local_trials(*, actor: System) -> int:
    """End every local trial whose time is up (to free, or on to the plan if it was kept):
    an event through the webhook handler, as for any change of a local subscription. How
    many ended."""
    provider = LocalProvider()
    due = PlanSubscription.objects.unscoped().filter(  # every organization's trials
        provider=provider.name, status=SubscriptionStatus.TRIALING, trial_end__lte=timezone.now()
    )
    ended = 0
    for subscription in due:
        provider.end_trial(subscription_id=subscription.external_id)
        ended += 1
    return ended


@mutation(
    "billing.trial_reminders",
    internal=True,
    output=int,
    unaudited="reminders of a trial's end: notifications, nothing changed",
)
def trial_reminders(*, actor: System) -> int:
    """Tell the billing managers of each organization whose trial ends within 3 days
    (once per trial end: the notification's key). How many notifications were created."""
    now = timezone.now()
    soon = PlanSubscription.objects.unscoped().filter(  # every organization's trials
        status=SubscriptionStatus.TRIALING, trial_end__gt=now, trial_end__lte=now + TRIAL_WARNING
    )
    names = dict(
        Organization.objects.filter(pk__in=soon.values("organization_id")).values_list("pk", "name")
    )
    created = 0
    for subscription in soon:
        if subscription.organization_id not in names:
            continue
        created += _remind(subscription, names[subscription.organization_id])
    return created


def _remind(subscription: PlanSubscription, organization: str) -> int:
    plan = get_plan(subscription.plan)
    trial_end: datetime = subscription.trial_end or timezone.now()
    params = {
        "organization": organization,
        "plan": plan.name if plan else subscription.plan,
        "date": trial_end.date().isoformat(),
    }
    key = f"trial:{subscription.pk}:{trial_end.isoformat()}"  # one per trial end
    return _notify(subscription.organization_id, params, key)


def _notify(organization_id: int, params: dict[str, str], key: str) -> int:
    """Those who may act on it: the billing managers (email by their preference)."""
    return notify_members(
        TRIAL_ENDING,
        organization_id=organization_id,
        permission="billing.manage",
        params=params,
        link=reverse("billing:page"),
        key=key,
    )
