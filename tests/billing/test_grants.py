"""Grants over time: lifetime purchases, refunds, cancellation at period end, grace,
and the seat limit they lift or restore."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from billing.entitlements import entitlements
from billing.models import Grant
from billing.plans import FREE, PLANS
from kernel import errors
from kernel.actor import System
from kernel.door import call
from kernel.permissions import Role
from organizations import mutations as org_mutations
from tests.billing.conftest import DAY, post_stripe, stripe_event, stripe_subscription
from tests.conftest import actor_for, limits_of

SEATS = "organization.members"
FREE_SEATS = 5

pytestmark = pytest.mark.django_db


def lifetime_purchase(organization_id: int) -> dict[str, Any]:
    return stripe_event(
        "checkout.session.completed",
        {
            "id": "cs_1",
            "object": "checkout.session",
            "mode": "payment",
            "payment_status": "paid",
            "payment_intent": "pi_1",
            "customer": f"cus_{organization_id}",
            "client_reference_id": str(organization_id),
            "metadata": {"organization_id": str(organization_id), "plan": "pro_lifetime"},
        },
    )


def test_a_lifetime_purchase_never_expires_and_a_refund_revokes_it(
    client: Client, org: Any
) -> None:
    post_stripe(client, lifetime_purchase(org.pk))
    grants = Grant.objects.for_organization(org.pk)
    assert grants.count() == len(PLANS["pro_lifetime"].grants())
    assert {(g.source, g.source_type, g.expires_at) for g in grants} == {
        ("stripe:payment:pi_1", "one_time", None)
    }
    with time_machine.travel(timezone.now() + timedelta(days=365 * 30)):
        assert entitlements(org.pk).plan.code == "pro_lifetime"

    post_stripe(
        client,
        stripe_event(
            "charge.refunded",
            {"id": "ch_1", "object": "charge", "refunded": True, "payment_intent": "pi_1"},
        ),
    )
    assert entitlements(org.pk).plan == FREE
    assert all(g.revoked_at is not None for g in Grant.objects.for_organization(org.pk))


def test_cancelled_at_period_end_keeps_capabilities_until_then_and_not_after(
    client: Client, org: Any
) -> None:
    period_end = int(time.time()) + 10 * DAY
    post_stripe(
        client,
        stripe_event(
            "customer.subscription.updated",
            stripe_subscription(org.pk, period_end=period_end, cancel_at_period_end=True),
        ),
    )
    assert entitlements(org.pk).plan.code == "pro_monthly"
    with time_machine.travel(timezone.now() + timedelta(days=9)):
        assert "feature.pro" in entitlements(org.pk).capabilities
    with time_machine.travel(timezone.now() + timedelta(days=11)):
        assert "feature.pro" not in entitlements(org.pk).capabilities
        assert limits_of(org.pk)[SEATS] == FREE_SEATS


def test_past_due_keeps_the_plan_for_the_grace_period(
    client: Client, org: Any, settings: Any
) -> None:
    settings.BILLING_GRACE_DAYS = 7
    period_end = int(time.time()) + DAY
    post_stripe(
        client,
        stripe_event(
            "customer.subscription.updated",
            stripe_subscription(org.pk, status="past_due", period_end=period_end),
        ),
    )
    with time_machine.travel(timezone.now() + timedelta(days=7)):
        assert entitlements(org.pk).plan.code == "pro_monthly"
    with time_machine.travel(timezone.now() + timedelta(days=9)):
        assert entitlements(org.pk).plan == FREE


def test_the_seat_limit_blocks_invitations_beyond_it_until_an_upgrade(
    client: Client, org: Any, member: Any
) -> None:
    owner = member(Role.OWNER)
    for n in range(FREE_SEATS - 1):
        call(org_mutations.invitation_create, actor_for(owner), {"email": f"p{n}@example.com"})
    with pytest.raises(errors.AppError) as refused:
        call(org_mutations.invitation_create, actor_for(owner), {"email": "six@example.com"})
    assert refused.value.code == "plan_limit"
    assert refused.value.message == (
        "The Free plan allows up to 5 seats (members and pending invitations). "
        "Upgrade to Pro for more."
    )

    post_stripe(client, stripe_event("customer.subscription.created", stripe_subscription(org.pk)))
    assert limits_of(org.pk)[SEATS] == 10
    call(org_mutations.invitation_create, actor_for(owner), {"email": "six@example.com"})


def test_manual_grants_are_audited_and_revocable(org: Any) -> None:
    from billing import mutations
    from organizations.models import AuditEvent

    operator = System("operator ops@example.com")
    grant = {"organization_id": org.pk, "plan_code": "team_monthly", "note": "partner deal"}
    call(mutations.manual_grant_create, operator, grant)
    grants = list(Grant.objects.for_organization(org.pk))
    assert entitlements(org.pk).plan.code == "team_monthly"
    assert limits_of(org.pk)[SEATS] is None
    for grant_row in grants:
        assert call(mutations.grant_revoke, operator, {"grant_id": grant_row.pk}) is True
    assert call(mutations.grant_revoke, operator, {"grant_id": grants[0].pk}) is False
    assert entitlements(org.pk).plan == FREE
    actions = list(AuditEvent.objects.for_organization(org.pk).values_list("action", flat=True))
    assert actions.count("billing.grant_create") == 1
    assert actions.count("billing.grant_revoke") == len(grants)
