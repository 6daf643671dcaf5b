"""Refunds and cancellations that arrive before what they refer to: kept, and applied
when it arrives, so every order of delivery (duplicates included) ends the same."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from billing.entitlements import entitlements
from billing.models import BillingCustomer, Grant, PlanSubscription, Purchase, WebhookEvent
from tests.billing.conftest import (
    polar_event,
    post_polar,
    post_stripe,
    stripe_event,
    stripe_subscription,
)
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db
T0 = int(time.time()) - 3_600


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def iso(seconds: int) -> str:
    return at(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def every_order(
    events_for: Callable[[int], list[dict[str, Any]]],
    post: Callable[[Client, dict[str, Any]], Any],
    state: Callable[[int], tuple[Any, ...]],
    *,
    prepare: Callable[[int], None] = lambda org: None,
) -> set[tuple[Any, ...]]:
    """Deliver the events in every order, each order to a fresh organization: the final
    states reached (one, if the order does not matter)."""
    finals = set()
    count = len(events_for(0))
    for order in itertools.permutations(range(count)):
        org = OrganizationFactory()
        prepare(org.pk)
        events = events_for(org.pk)
        for index in order:
            assert post(Client(), events[index]).status_code == 200
        assert not WebhookEvent.objects.filter(status="failed").exists(), order
        finals.add((state(org.pk), entitlements(org.pk).plan.code))
    return finals


def purchase_state(organization_id: int) -> tuple[Any, ...]:
    purchase = Purchase.objects.for_organization(organization_id).get()
    grants = sorted(
        (g.capability, g.expires_at, g.revoked_at)
        for g in Grant.objects.for_organization(organization_id)
    )
    return purchase.plan, purchase.paid_at, purchase.refunded_at, tuple(grants)


# --- one-time purchases -------------------------------------------------------------------


def stripe_lifetime_events(org: int) -> list[dict[str, Any]]:
    checkout = {
        "id": f"cs_{org}", "object": "checkout.session", "mode": "payment",
        "payment_status": "paid", "payment_intent": f"pi_{org}", "customer": f"cus_{org}",
        "client_reference_id": str(org), "amount_total": 39_900, "currency": "usd",
        "metadata": {"organization_id": str(org), "plan": "pro_lifetime"},
    }  # fmt: skip
    charge = {
        "id": f"ch_{org}", "object": "charge", "refunded": True, "payment_intent": f"pi_{org}",
        "customer": f"cus_{org}", "metadata": {},
    }  # fmt: skip
    refund = stripe_event("charge.refunded", charge, T0 + 60, id=f"evt_refund_{org}")
    return [
        stripe_event("checkout.session.completed", checkout, T0),
        refund,
        dict(refund),  # the same event delivered again
        stripe_event("charge.refunded", charge, T0 + 120),  # a later refund of the rest
    ]


def stripe_customer(org: int) -> None:
    # Recorded when the checkout started (billing/actions.py), before any event.
    BillingCustomer.objects.create(organization_id=org, provider="stripe", external_id=f"cus_{org}")


def test_a_stripe_refund_before_its_purchase_in_all_24_orders_revokes_the_lifetime_plan() -> None:
    finals = every_order(
        stripe_lifetime_events, post_stripe, purchase_state, prepare=stripe_customer
    )
    assert len(finals) == 1
    (plan, paid_at, refunded_at, grants), current = finals.pop()
    assert (plan, paid_at, refunded_at) == ("pro_lifetime", at(T0), at(T0 + 60))
    assert grants
    assert all(revoked == at(T0 + 60) for _, _, revoked in grants)
    assert current == "free"


def test_without_its_refund_a_lifetime_purchase_grants_for_ever(client: Client) -> None:
    org = OrganizationFactory()
    stripe_customer(org.pk)
    post_stripe(client, stripe_lifetime_events(org.pk)[0])
    assert purchase_state(org.pk)[2] is None
    assert entitlements(org.pk).plan.code == "pro_lifetime"
    assert all(g.expires_at is None for g in Grant.objects.for_organization(org.pk))


def polar_order(org: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"ord_{org}", "status": "paid", "product_id": "prod_pro_lifetime",
        "customer_id": f"polar_cus_{org}", "subscription_id": None, "total_amount": 39_900,
        "currency": "usd", "metadata": {"organization_id": org}, **fields,
    }  # fmt: skip


def polar_at(kind: str, data: dict[str, Any], seconds: int) -> dict[str, Any]:
    return {**polar_event(kind, data), "timestamp": iso(seconds)}


def post_polar_as(client: Client, event: dict[str, Any]) -> Any:
    """Polar's event id is its message id, a header: a redelivery carries the same."""
    body = {key: value for key, value in event.items() if key != "message_id"}
    return post_polar(client, body, message_id=event.get("message_id"))


def polar_lifetime_events(org: int) -> list[dict[str, Any]]:
    refund = polar_at("order.refunded", polar_order(org, status="refunded"), T0 + 60)
    refund["message_id"] = f"msg_refund_{org}"
    return [polar_at("order.paid", polar_order(org), T0), refund, dict(refund)]


def test_a_polar_refund_before_its_order_in_all_orders_revokes_the_lifetime_plan() -> None:
    finals = every_order(polar_lifetime_events, post_polar_as, purchase_state)
    assert len(finals) == 1
    (plan, paid_at, refunded_at, grants), current = finals.pop()
    assert (plan, paid_at, refunded_at) == ("pro_lifetime", at(T0), at(T0 + 60))
    assert grants
    assert all(revoked == at(T0 + 60) for _, _, revoked in grants)
    assert current == "free"


def test_a_polar_redelivery_of_the_refund_is_a_duplicate(client: Client) -> None:
    org = OrganizationFactory()
    paid, refund, _ = polar_lifetime_events(org.pk)
    assert post_polar_as(client, refund).json() == {"outcome": "received"}
    assert post_polar_as(client, refund).json() == {"outcome": "duplicate"}
    assert entitlements(org.pk).plan.code == "free"  # held: nothing to revoke yet
    post_polar_as(client, paid)
    assert entitlements(org.pk).plan.code == "free"
    assert Purchase.objects.for_organization(org.pk).get().refunded_at == at(T0 + 60)


def test_a_refund_naming_another_organizations_payment_is_not_applied(client: Client) -> None:
    ours, theirs = OrganizationFactory(), OrganizationFactory()
    stripe_customer(ours.pk)
    stripe_customer(theirs.pk)
    purchase, refund, *_ = stripe_lifetime_events(ours.pk)
    post_stripe(client, purchase)
    refund["data"]["object"]["customer"] = f"cus_{theirs.pk}"
    refund["data"]["object"]["payment_intent"] = "pi_elsewhere"
    post_stripe(client, refund)  # held for their organization: ours is untouched
    assert entitlements(ours.pk).plan.code == "pro_lifetime"
    forged = stripe_lifetime_events(theirs.pk)[0]
    forged["data"]["object"]["payment_intent"] = "pi_elsewhere"
    forged["data"]["object"]["metadata"]["organization_id"] = str(ours.pk)
    forged["data"]["object"]["client_reference_id"] = str(ours.pk)
    forged["data"]["object"]["customer"] = f"cus_{ours.pk}"
    post_stripe(client, forged)  # a purchase of that payment for us: not theirs to move
    failed = WebhookEvent.objects.get(type="checkout.session.completed", status="failed")
    assert "is organization" in failed.error
    assert entitlements(theirs.pk).plan.code == "free"


def test_a_refund_for_an_organization_that_is_gone_is_ignored(client: Client) -> None:
    org = OrganizationFactory()
    _, refund, *_ = polar_lifetime_events(org.pk)
    org.delete()
    post_polar_as(client, refund)
    assert WebhookEvent.objects.get().status == "ignored"
    assert not Purchase.objects.unscoped().exists()


# --- subscriptions: a cancellation stamped the second the subscription was created ------


def subscription_state(organization_id: int) -> tuple[Any, ...]:
    subscription = PlanSubscription.objects.for_organization(organization_id).get()
    grants = sorted(
        (g.capability, g.expires_at, g.revoked_at)
        for g in Grant.objects.for_organization(organization_id)
    )
    return (
        subscription.status,
        subscription.cancel_at_period_end,
        subscription.ended_at,
        tuple(grants),
    )


def stripe_cancel_events(org: int, *, ended: bool) -> list[dict[str, Any]]:
    sub, end = f"sub_{org}", T0 + 30 * 86_400
    events = [
        stripe_event(
            "customer.subscription.created", stripe_subscription(org, id=sub, period_end=end), T0
        ),
        stripe_event(
            "customer.subscription.updated",
            stripe_subscription(org, id=sub, period_end=end, cancel_at_period_end=True),
            T0,  # the same second: the customer cancelled at once
        ),
    ]
    if ended:
        deleted = stripe_subscription(
            org, id=sub, status="canceled", period_end=end, ended_at=T0, cancel_at_period_end=True
        )
        events.append(stripe_event("customer.subscription.deleted", deleted, T0))
        events.append(dict(events[-1]))  # delivered twice
    return events


def test_a_stripe_cancellation_at_period_end_before_the_creation_is_kept() -> None:
    finals = every_order(lambda org: stripe_cancel_events(org, ended=False), post_stripe,
                         subscription_state)  # fmt: skip
    assert len(finals) == 1
    (status, cancel_at_period_end, _, grants), current = finals.pop()
    assert (status, cancel_at_period_end, current) == ("active", True, "pro_monthly")
    assert grants
    assert all(revoked is None for _, _, revoked in grants)


def test_a_stripe_end_before_the_creation_in_all_24_orders_ends_it() -> None:
    finals = every_order(lambda org: stripe_cancel_events(org, ended=True), post_stripe,
                         subscription_state)  # fmt: skip
    assert len(finals) == 1
    (status, _, ended_at, grants), current = finals.pop()
    assert (status, ended_at, current) == ("canceled", at(T0), "free")
    assert grants
    assert all(revoked == at(T0) for _, _, revoked in grants)


def polar_cancel_events(org: int) -> list[dict[str, Any]]:
    subscription = {
        "id": f"polar_sub_{org}", "status": "active", "product_id": "prod_pro_monthly",
        "customer_id": f"polar_cus_{org}", "current_period_end": iso(T0 + 30 * 86_400),
        "cancel_at_period_end": False, "metadata": {"organization_id": org},
    }  # fmt: skip
    cancelled = {**subscription, "cancel_at_period_end": True}
    revoked = {**cancelled, "status": "canceled", "ended_at": iso(T0 + 5)}
    return [
        polar_at("subscription.created", subscription, T0),
        polar_at("subscription.canceled", cancelled, T0),
        polar_at("subscription.revoked", revoked, T0 + 5),
    ]


def test_a_polar_cancellation_before_the_creation_in_all_orders() -> None:
    def without_the_end(org: int) -> list[dict[str, Any]]:
        return polar_cancel_events(org)[:2]

    finals = every_order(without_the_end, post_polar, subscription_state)
    assert len(finals) == 1
    (status, cancel_at_period_end, _, _), current = finals.pop()
    assert (status, cancel_at_period_end, current) == ("active", True, "pro_monthly")

    finals = every_order(polar_cancel_events, post_polar, subscription_state)
    assert len(finals) == 1
    (status, _, ended_at, grants), current = finals.pop()
    assert (status, ended_at, current) == ("canceled", at(T0 + 5), "free")
    assert grants
    assert all(revoked == at(T0 + 5) for _, _, revoked in grants)


def test_operators_see_a_refund_waiting_for_its_purchase(client: Client) -> None:
    from tests.accounts.helpers import operator_client

    org = OrganizationFactory()
    _, refund, *_ = polar_lifetime_events(org.pk)
    post_polar_as(client, refund)
    listing = operator_client().get("/admin/billing/purchase/").content.decode()
    assert f"ord_{org.pk}" in listing
    assert WebhookEvent.objects.get().status == "processed"
