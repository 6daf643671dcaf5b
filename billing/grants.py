"""Grants: write them from subscription state and purchases; read what is active.

A subscription's grants are derived from our copy of it alone (billing/models.py
PlanSubscription), a one-time purchase's from its Purchase row, never from the event at
hand, so applying the same events in any order ends in the same grants."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from billing.models import Grant, PlanSubscription, Purchase, SourceType, SubscriptionStatus
from billing.plans import FREE, PLANS


def subscription_window(subscription: PlanSubscription) -> tuple[datetime | None, datetime | None]:
    """(expires_at, revoked_at) for the subscription's grants."""
    ends = [d for d in (subscription.current_period_end, subscription.paid_through) if d]
    if subscription.status in {SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING}:
        # Renewals extend; cancel_at_period_end simply stops renewals coming.
        return (max(ends) if ends else None), None
    if subscription.status == SubscriptionStatus.PAST_DUE:
        grace = timedelta(days=settings.BILLING_GRACE_DAYS)
        return (max(ends) + grace if ends else None), None
    if subscription.status == SubscriptionStatus.CANCELED:
        ended = subscription.ended_at or subscription.state_as_of or timezone.now()
        return ended, ended
    # incomplete / unpaid: nothing granted (yet).
    ended = subscription.state_as_of or timezone.now()
    return ended, ended


def sync_subscription_grants(subscription: PlanSubscription) -> None:
    plan = PLANS.get(subscription.plan)
    wanted = plan.grants() if plan is not None and not plan.is_free else set()
    expires_at, revoked_at = subscription_window(subscription)
    existing = {
        grant.capability: grant
        for grant in Grant.objects.for_organization(subscription.organization_id).filter(
            source=subscription.source
        )
    }
    for capability in wanted:
        grant = existing.pop(capability, None) or Grant(
            organization_id=subscription.organization_id,
            capability=capability,
            source=subscription.source,
            source_type=SourceType.SUBSCRIPTION,
        )
        grant.plan, grant.expires_at, grant.revoked_at = subscription.plan, expires_at, revoked_at
        grant.save()
    for grant in existing.values():  # the plan or seats changed: what it no longer grants
        if grant.revoked_at is None:
            grant.revoked_at = subscription.state_as_of or timezone.now()
            grant.save(update_fields=["revoked_at", "updated_at"])


def sync_purchase_grants(purchase: Purchase) -> None:
    """A one-time purchase's grants from our copy of it: never expiring once paid,
    revoked when it was refunded (at the refund's time), nothing before it arrives."""
    plan = PLANS.get(purchase.plan)
    if plan is None or purchase.paid_at is None:
        return  # a refund that came first: the purchase will find it here
    for capability in plan.grants():
        Grant.objects.for_organization(purchase.organization_id).update_or_create(
            organization_id=purchase.organization_id,
            source=purchase.source,
            capability=capability,
            defaults={
                "plan": plan.code,
                "source_type": SourceType.ONE_TIME,
                "expires_at": None,
                "revoked_at": purchase.refunded_at,
            },
        )


def active_grants(organization_id: int) -> list[Grant]:
    return list(
        Grant.objects.for_organization(organization_id).filter(Grant.active(timezone.now()))
    )


def current_plan(grants: list[Grant]) -> str:
    return best_plan(g.plan for g in grants)


def best_plan(codes: Iterable[str]) -> str:
    """The highest-ranked plan among the codes active grants came with (Free if none)."""
    ranked = [PLANS[code] for code in codes if code in PLANS]
    return max(ranked, key=lambda plan: plan.rank).code if ranked else FREE.code
