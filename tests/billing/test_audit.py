"""Billing changes in the organization's audit log: a provider's events with the provider
as the actor, once per event; operators' grants with the operator named and linked."""

from __future__ import annotations

from typing import Any

from django.test import Client

from accounts.models import User
from billing.models import Grant
from organizations.models import AuditEvent
from tests.accounts.helpers import operator_client
from tests.billing.conftest import (
    polar_event,
    post_polar,
    post_stripe,
    stripe_event,
    stripe_subscription,
)
from tests.billing.test_webhooks import polar_subscription

EVENT = "billing.provider_event"


def test_a_stripe_event_is_audited_once_with_stripe_as_the_actor(client: Client, org: Any) -> None:
    event = stripe_event("customer.subscription.created", stripe_subscription(org.pk))
    post_stripe(client, event)
    post_stripe(client, event)  # a redelivery changes nothing, and records nothing

    (row,) = AuditEvent.objects.for_organization(org.pk).filter(action=EVENT)
    assert (row.actor, row.actor_label, row.operator) == (None, "Stripe", None)
    assert (row.target, row.target_type, row.target_id) == (
        "customer.subscription.created",
        "billing_event",
        event["id"],
    )
    assert row.detail["plan"] == "Pro"
    assert row.detail["provider"] == "stripe"


def test_a_polar_event_names_polar(client: Client, org: Any) -> None:
    post_polar(client, polar_event("subscription.active", polar_subscription(org.pk)))
    row = AuditEvent.objects.for_organization(org.pk).get(action=EVENT)
    assert row.actor_label == "Polar"


def test_an_event_for_another_organization_stays_in_its_log(
    client: Client, org: Any, other_org: Any
) -> None:
    post_stripe(client, stripe_event("customer.subscription.created", stripe_subscription(org.pk)))
    assert AuditEvent.objects.for_organization(org.pk).filter(action=EVENT).count() == 1
    assert not AuditEvent.objects.for_organization(other_org.pk).filter(action=EVENT).exists()


def test_operators_grants_name_the_operator(org: Any) -> None:
    operator = operator_client("ops@example.com")
    operator.post(
        "/admin/billing/grant/grant-plan/",
        {"organization": org.pk, "plan": "pro_yearly", "expires_at": "", "note": "prize"},
    )
    grant_ids = list(Grant.objects.for_organization(org.pk).values_list("pk", flat=True))
    operator.post("/admin/billing/grant/", {"action": "revoke", "_selected_action": grant_ids})
    staff = User.objects.get(email="ops@example.com")
    rows = AuditEvent.objects.for_organization(org.pk).filter(action__startswith="billing.grant_")
    assert {(r.actor_label, r.operator_id, r.operator_label) for r in rows} == {
        ("operator ops@example.com", staff.pk, "ops@example.com")
    }
    revoked = rows.filter(action="billing.grant_revoke")
    assert sorted(int(r.target_id) for r in revoked) == sorted(grant_ids)
