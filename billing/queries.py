"""Reads of billing state, permission-checked."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from billing.entitlements import Entitlements, entitlements
from billing.models import LIVE_STATUSES, BillingCustomer, Grant, PlanSubscription
from billing.plans import PLANS, Plan, paid_plans
from billing.usage import usage
from kernel.actor import Actor
from kernel.guard import require_app_permission
from organizations.models import Membership, Organization
from organizations.queries import seats_used


@dataclass(frozen=True)
class Usage:
    seats_used: int
    """Members plus pending invitations: what the member limit counts."""
    records: int


@dataclass(frozen=True)
class BillingOverview:
    organization: Organization
    entitlements: Entitlements
    subscription: PlanSubscription | None
    """The live (or most recent) subscription."""
    lifetime: Grant | None
    usage: Usage
    plans: list[Plan]


def billing_overview(*, actor: Actor) -> BillingOverview:
    require_app_permission(actor, "billing.read")
    organization_id = actor.organization_id
    # The live one, else the most recent (one query for both).
    subscriptions = sorted(
        PlanSubscription.objects.for_actor(actor).order_by("-updated_at"),
        key=lambda s: not s.is_live,
    )
    return BillingOverview(
        organization=Organization.objects.get(pk=organization_id),
        entitlements=entitlements(organization_id),
        subscription=subscriptions[0] if subscriptions else None,
        lifetime=Grant.objects.for_actor(actor)
        .filter(source_type="one_time", revoked_at__isnull=True)
        .first(),
        usage=Usage(
            seats_used=seats_used(organization_id), records=usage("records", organization_id)
        ),
        plans=paid_plans(),
    )


@dataclass(frozen=True)
class ManageContext:
    """What an action needs to call the provider, read after `billing.manage` is checked."""

    organization: Organization
    subscription: PlanSubscription | None
    customers: dict[str, str]
    members: int


def billing_manage_context(*, actor: Actor) -> ManageContext:
    require_app_permission(actor, "billing.manage")
    return ManageContext(
        organization=Organization.objects.get(pk=actor.organization_id),
        subscription=live_subscriptions(actor.organization_id).first(),
        customers={c.provider: c.external_id for c in BillingCustomer.objects.for_actor(actor)},
        members=Membership.objects.for_actor(actor).count(),
    )


def seat_state(organization_id: int) -> tuple[PlanSubscription | None, int]:
    """The live per-seat subscription, if any, and the member count it should bill."""
    per_seat = {code for code, plan in PLANS.items() if plan.per_seat}
    subscription = live_subscriptions(organization_id).filter(plan__in=per_seat).first()
    return subscription, Membership.objects.for_organization(organization_id).count()


def live_subscriptions(organization_id: int) -> QuerySet[PlanSubscription]:
    """Internal: the organization's subscriptions that grant their plan now."""
    return PlanSubscription.objects.for_organization(organization_id).filter(
        status__in=LIVE_STATUSES
    )
