"""Reads of billing state, permission-checked."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from billing.entitlements import Entitlements, entitlements
from billing.models import LIVE_STATUSES, BillingCustomer, Grant, PlanSubscription
from billing.plans import PLANS, Plan, paid_plans
from billing.usage import usage
from kernel.actor import Actor
from kernel.guard import require_app_permission
from organizations.models import Invitation, Membership, Organization


@dataclass(frozen=True)
class Usage:
    members: int
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
    subscriptions = PlanSubscription.objects.for_actor(actor).order_by("-updated_at")
    live = [s for s in subscriptions if s.is_live]
    members = Membership.objects.for_actor(actor).count()
    return BillingOverview(
        organization=Organization.objects.get(pk=organization_id),
        entitlements=entitlements(organization_id),
        subscription=live[0] if live else subscriptions.first(),
        lifetime=Grant.objects.for_actor(actor)
        .filter(source_type="one_time", revoked_at__isnull=True)
        .first(),
        usage=Usage(
            members=members,
            seats_used=members
            + Invitation.objects.for_actor(actor)
            .filter(
                accepted_at=None, declined_at=None, revoked_at=None, expires_at__gt=timezone.now()
            )
            .count(),
            records=usage("records", organization_id),
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
    subscriptions = [s for s in PlanSubscription.objects.for_actor(actor) if s.is_live]
    return ManageContext(
        organization=Organization.objects.get(pk=actor.organization_id),
        subscription=subscriptions[0] if subscriptions else None,
        customers={c.provider: c.external_id for c in BillingCustomer.objects.for_actor(actor)},
        members=Membership.objects.for_actor(actor).count(),
    )


def seat_state(organization_id: int) -> tuple[PlanSubscription | None, int]:
    """The live per-seat subscription, if any, and the member count it should bill."""
    per_seat = {code for code, plan in PLANS.items() if plan.per_seat}
    subscription = (
        PlanSubscription.objects.for_organization(organization_id)
        .filter(plan__in=per_seat, status__in=LIVE_STATUSES)
        .first()
    )
    return subscription, Membership.objects.for_organization(organization_id).count()
