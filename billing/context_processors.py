"""The past-due and trial-ending banner, on every page of the organization's members."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from django.http import HttpRequest
from django.utils import timezone

from billing.models import PlanSubscription, SubscriptionStatus

TRIAL_WARNING: Final = timedelta(days=3)


def billing_banner(request: HttpRequest) -> dict[str, Any]:
    actor = getattr(request, "_kernel_actor", None)  # resolved by the page already, if any
    if actor is None:
        return {}
    subscription = (
        PlanSubscription.objects.for_actor(actor)
        .filter(status__in=[SubscriptionStatus.PAST_DUE, SubscriptionStatus.TRIALING])
        .first()
    )
    if subscription is None:
        return {}
    if subscription.status == SubscriptionStatus.PAST_DUE:
        return {
            "billing_banner": "The last payment failed: update the payment method to keep "
            "the plan's features."
        }
    if subscription.trial_end and subscription.trial_end - timezone.now() < TRIAL_WARNING:
        return {
            "billing_banner": f"The trial ends on {subscription.trial_end:%d %b %Y}. "
            "Add a payment method to keep the plan."
        }
    return {}
