"""Lemon Squeezy's webhooks with real signatures: verification (bad, missing, stale),
storage, duplicates, every ordering of a subscription's events, and whose it is."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core import checks
from django.test import Client
from django_tasks_db.models import DBTaskResult

from billing.entitlements import entitlements
from billing.models import BillingCustomer, EventStatus, Grant, PlanSubscription, WebhookEvent
from billing.plans import PLANS
from tests.billing.conftest import DAY
from tests.billing.lemonsqueezy import (
    iso,
    lsq_event,
    lsq_invoice,
    lsq_order,
    lsq_signature,
    lsq_subscription,
    post_lemonsqueezy,
)
from tests.factories import OrganizationFactory
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db
PRO_GRANTS = len(PLANS["pro_monthly"].grants())


def nothing_stored() -> bool:
    return not (
        WebhookEvent.objects.exists()
        or PlanSubscription.objects.unscoped().exists()
        or Grant.objects.unscoped().exists()
        or DBTaskResult.objects.exists()
    )


def test_a_signed_event_is_stored_answered_then_applied(client: Client, org: Any) -> None:
    event = lsq_event("subscription_created", lsq_subscription(quantity=1), org.pk)
    response = post_lemonsqueezy(client, event, process=False)
    assert (response.status_code, response.json()) == (200, {"outcome": "received"})
    stored = WebhookEvent.objects.get()
    assert (stored.provider, stored.type, stored.status) == (
        "lemonsqueezy",
        "subscription_created",
        "received",
    )
    body = json.dumps(event).encode()
    assert stored.event_id == "lsq_" + hashlib.sha256(body).hexdigest()[:48]  # by its body
    assert stored.occurred_at == datetime.fromisoformat(
        event["data"]["attributes"]["updated_at"].replace("Z", "+00:00")
    )
    assert not PlanSubscription.objects.unscoped().exists()  # the answer did not wait

    assert run_tasks() == 1
    subscription = PlanSubscription.objects.for_organization(org.pk).get()
    assert (subscription.provider, subscription.external_id, subscription.plan) == (
        "lemonsqueezy",
        "77",
        "pro_monthly",
    )
    assert (subscription.status, subscription.seats, subscription.item_id) == ("active", 1, "8877")
    assert entitlements(org.pk).plan.code == "pro_monthly"
    assert BillingCustomer.objects.for_organization(org.pk).get().external_id == "501"


@pytest.mark.parametrize(
    "tamper",
    ["wrong_secret", "one_byte", "missing_header", "empty_header", "not_hex", "stale", "future"],
)
def test_a_bad_missing_or_stale_signature_is_400_and_stores_nothing(
    client: Client, org: Any, tamper: str
) -> None:
    now = time.time()
    updated = {"stale": now - 73 * 3600, "future": now + 600}.get(tamper, now)
    body = json.dumps(
        lsq_event("subscription_created", lsq_subscription(updated_at=updated), org.pk)
    ).encode()
    signature = {
        "wrong_secret": lsq_signature(body, secret="someone_elses_secret"),
        "one_byte": lsq_signature(body),
        "empty_header": "",
        "not_hex": "ż" * 64,
    }.get(tamper, lsq_signature(body))
    if tamper == "one_byte":
        body = body.replace(b'"active"', b'"activ3"', 1)
    headers = {} if tamper == "missing_header" else {"X-Signature": signature}
    response = client.post(
        "/webhooks/lemonsqueezy", body, content_type="application/json", headers=headers
    )
    assert (response.status_code, response.json()) == (400, {"outcome": "invalid_signature"})
    assert nothing_stored()


def test_within_the_age_limit_an_old_event_is_accepted(
    client: Client, org: Any, settings: Any
) -> None:
    """The limit is LEMONSQUEEZY_WEBHOOK_MAX_AGE_HOURS (72): a resend from the dashboard
    two days later is still applied."""
    event = lsq_event(
        "subscription_created", lsq_subscription(updated_at=time.time() - 48 * 3600), org.pk
    )
    assert post_lemonsqueezy(client, event).status_code == 200
    assert entitlements(org.pk).plan.code == "pro_monthly"
    settings.LEMONSQUEEZY_WEBHOOK_MAX_AGE_HOURS = 24
    later = lsq_event(
        "subscription_updated", lsq_subscription(updated_at=time.time() - 25 * 3600), org.pk
    )
    assert post_lemonsqueezy(client, later).status_code == 400


def test_the_age_limit_must_stay_below_the_retention_of_events(settings: Any) -> None:
    from billing.checks import check_billing_providers

    assert check_billing_providers() == []
    settings.LEMONSQUEEZY_WEBHOOK_MAX_AGE_HOURS = settings.WEBHOOK_EVENT_RETENTION_DAYS * 24
    (error,) = check_billing_providers()
    assert (error.id, error.level) == ("billing.E002", checks.ERROR)


def test_half_configured_is_a_check_error(settings: Any) -> None:
    from billing.checks import check_billing_providers

    settings.LEMONSQUEEZY_STORE_ID = ""
    (error,) = check_billing_providers()
    assert error.id == "billing.E001"
    assert "Lemon Squeezy" in error.msg
    assert "LEMONSQUEEZY_STORE_ID" in error.msg


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"meta": {}, "data": {"type": "subscriptions", "id": "1", "attributes": {}}}, "meta.event_name"),
        ({"meta": {"event_name": "subscription_created"}, "data": {"type": "subscriptions"}}, "data.attributes.updated_at"),
        ({"meta": {"event_name": "order_created"}, "data": "nope"}, "data"),
    ],
)  # fmt: skip
def test_signed_but_not_an_event_is_400_malformed(
    client: Client, body: dict[str, Any], field: str
) -> None:
    response = post_lemonsqueezy(client, json.dumps(body).encode())
    assert response.status_code == 400
    assert response.json()["outcome"] == "malformed"
    assert field in response.json()["fields"]
    assert nothing_stored()


def test_the_same_event_twice_has_one_effect(client: Client, org: Any) -> None:
    event = lsq_event("subscription_created", lsq_subscription(), org.pk)
    assert post_lemonsqueezy(client, event, process=False).json() == {"outcome": "received"}
    assert post_lemonsqueezy(client, event, process=False).json() == {"outcome": "duplicate"}
    assert DBTaskResult.objects.count() == 1
    post_lemonsqueezy(client, event)
    assert post_lemonsqueezy(client, event).json() == {"outcome": "duplicate"}
    assert WebhookEvent.objects.get().attempts == 1
    assert Grant.objects.for_organization(org.pk).count() == PRO_GRANTS


def test_an_unconfigured_lemonsqueezy_is_404(client: Client, settings: Any) -> None:
    settings.LEMONSQUEEZY_WEBHOOK_SECRET = ""
    response = client.post("/webhooks/lemonsqueezy", b"{}", content_type="application/json")
    assert response.status_code == 404


# --- every ordering ---------------------------------------------------------------------------


def _final_state(organization_id: int) -> tuple[Any, ...]:
    subscription = PlanSubscription.objects.for_organization(organization_id).get()
    grants = tuple(
        sorted(
            (g.capability, g.expires_at, g.revoked_at)
            for g in Grant.objects.for_organization(organization_id)
        )
    )
    return (
        subscription.status,
        subscription.plan,
        subscription.seats,
        subscription.current_period_end,
        subscription.ended_at,
        subscription.cancel_at_period_end,
        grants,
    )


def final_states_in_every_order(
    client: Client, events_for: Callable[[int], list[dict[str, Any]]], plan: str
) -> set[tuple[Any, ...]]:
    finals = set()
    for order in itertools.permutations(range(len(events_for(0)))):
        org = OrganizationFactory()
        events = events_for(org.pk)
        for index in order:
            assert post_lemonsqueezy(client, events[index]).status_code == 200
        finals.add(_final_state(org.pk))
        assert entitlements(org.pk).plan.code == plan, order
    return finals


def test_every_ordering_of_a_lifecycle_to_expiry_ends_in_the_same_state(client: Client) -> None:
    t0 = time.time() - 3_600
    period_1, period_2 = t0 + 30 * DAY, t0 + 60 * DAY

    def lifecycle(org: int) -> list[dict[str, Any]]:
        sub = str(1000 + org)
        return [
            lsq_event("subscription_created",
                      lsq_subscription(id=sub, customer=org, status="on_trial", plan="team_monthly",
                                       renews_at=period_1, trial_ends_at=period_1,
                                       updated_at=t0), org),
            lsq_event("subscription_updated",
                      lsq_subscription(id=sub, customer=org, plan="team_monthly", quantity=3,
                                       renews_at=period_2, updated_at=t0 + 10), org),
            lsq_event("subscription_cancelled",
                      lsq_subscription(id=sub, customer=org, status="cancelled", plan="team_monthly", quantity=3,
                                       renews_at=period_2, ends_at=period_2, updated_at=t0 + 20), org),
            lsq_event("subscription_expired",
                      lsq_subscription(id=sub, customer=org, status="expired", plan="team_monthly", quantity=3,
                                       renews_at=period_2, ends_at=t0 + 30, updated_at=t0 + 30), org),
        ]  # fmt: skip

    finals = final_states_in_every_order(client, lifecycle, "free")
    assert len(finals) == 1  # 24 orderings, one outcome
    status, plan, seats, _period_end, ended_at, _, grants = finals.pop()
    assert (status, plan, seats) == ("canceled", "team_monthly", 3)
    assert ended_at == datetime.fromtimestamp(int(t0 + 30), UTC)
    assert grants
    assert all(revoked == ended_at for _, _, revoked in grants)


def test_every_ordering_of_cancel_then_resume_leaves_it_renewing(client: Client) -> None:
    t0 = time.time() - 3_600
    period_1 = t0 + 30 * DAY

    def events(org: int) -> list[dict[str, Any]]:
        sub = str(2000 + org)
        return [
            lsq_event("subscription_created", lsq_subscription(id=sub, customer=org, renews_at=period_1, updated_at=t0), org),
            lsq_event("subscription_cancelled",
                      lsq_subscription(id=sub, customer=org, status="cancelled", renews_at=period_1,
                                       ends_at=period_1, updated_at=t0 + 10), org),
            lsq_event("subscription_resumed", lsq_subscription(id=sub, customer=org, renews_at=period_1, updated_at=t0 + 20), org),
            lsq_event("subscription_payment_success", lsq_invoice(subscription=sub, updated_at=t0 + 1), org),
        ]  # fmt: skip

    finals = final_states_in_every_order(client, events, "pro_monthly")
    assert len(finals) == 1
    status, _, _, _period_end, _, cancelling, grants = finals.pop()
    assert (status, cancelling) == ("active", False)
    assert {expires for _, expires, _ in grants} == {datetime.fromtimestamp(int(period_1), UTC)}


def test_a_cancelled_subscription_keeps_its_plan_until_it_ends(client: Client, org: Any) -> None:
    ends = time.time() + 10 * DAY
    post_lemonsqueezy(
        client,
        lsq_event("subscription_cancelled",
                  lsq_subscription(status="cancelled", renews_at=ends + DAY, ends_at=ends), org.pk),
    )  # fmt: skip
    subscription = PlanSubscription.objects.for_organization(org.pk).get()
    assert (subscription.status, subscription.cancel_at_period_end) == ("active", True)
    assert subscription.current_period_end == datetime.fromtimestamp(int(ends), UTC)
    assert entitlements(org.pk).plan.code == "pro_monthly"


@pytest.mark.parametrize("status", ["paused", "unpaid"])
def test_a_paused_or_unpaid_subscription_grants_nothing(
    client: Client, org: Any, status: str
) -> None:
    post_lemonsqueezy(client, lsq_event("subscription_created", lsq_subscription(), org.pk))
    later = lsq_subscription(status=status, updated_at=time.time() + 1)
    post_lemonsqueezy(client, lsq_event("subscription_paused", later, org.pk))
    assert PlanSubscription.objects.for_organization(org.pk).get().status == "unpaid"
    assert entitlements(org.pk).plan.code == "free"


# --- one-time purchases -------------------------------------------------------------------------


def test_a_lifetime_order_grants_and_its_refund_revokes(client: Client, org: Any) -> None:
    post_lemonsqueezy(client, lsq_event("order_created", lsq_order(), org.pk))
    assert entitlements(org.pk).plan.code == "pro_lifetime"
    partly = lsq_order(status="partial_refund")
    post_lemonsqueezy(client, lsq_event("order_refunded", partly, org.pk))
    assert entitlements(org.pk).plan.code == "pro_lifetime"  # a partial refund keeps it
    post_lemonsqueezy(client, lsq_event("order_refunded", lsq_order(status="refunded"), org.pk))
    assert entitlements(org.pk).plan.code == "free"


def test_a_subscriptions_first_order_and_its_payments_grant_nothing(
    client: Client, org: Any
) -> None:
    """A subscription's order is left to its subscription's events; its payments are
    receipts to tell about (processed), never grants."""
    events = [
        ("order_created", lsq_order(plan="pro_monthly"), EventStatus.IGNORED),
        ("subscription_payment_success", lsq_invoice(), EventStatus.PROCESSED),
        ("subscription_payment_failed", lsq_invoice(status="pending"), EventStatus.IGNORED),
        ("license_key_created",
         {"type": "license-keys", "id": "5", "attributes": {"updated_at": iso(time.time())}},
         EventStatus.IGNORED),
    ]  # fmt: skip
    for name, data, _ in events:
        assert post_lemonsqueezy(client, lsq_event(name, data, org.pk)).status_code == 200
    assert list(WebhookEvent.objects.order_by("pk").values_list("status", flat=True)) == [
        status for _, _, status in events
    ]
    assert not Grant.objects.for_organization(org.pk).exists()


# --- whose it is --------------------------------------------------------------------------------


def test_custom_data_naming_another_organization_for_our_customer_is_not_applied(
    client: Client, org: Any, other_org: Any
) -> None:
    """Lemon Squeezy customer 501 is `org`'s; an event for the same customer that names
    `other_org` in its custom data (a checkout link passed around, or forged custom
    data) is kept failed and grants nothing to either."""
    post_lemonsqueezy(client, lsq_event("subscription_created", lsq_subscription(), org.pk))
    theirs = lsq_subscription(id="78", plan="team_monthly", customer=501)
    post_lemonsqueezy(client, lsq_event("subscription_created", theirs, other_org.pk))
    failed = WebhookEvent.objects.get(status=EventStatus.FAILED)
    assert "organization" in failed.error
    assert str(other_org.pk) in failed.error
    assert not PlanSubscription.objects.for_organization(other_org.pk).exists()
    assert entitlements(other_org.pk).plan.code == "free"
    assert entitlements(org.pk).plan.code == "pro_monthly"  # and ours is untouched


def test_without_custom_data_the_customer_says_whose_it_is(
    client: Client, org: Any, other_org: Any
) -> None:
    post_lemonsqueezy(client, lsq_event("subscription_created", lsq_subscription(), org.pk))
    renewal = lsq_subscription(renews_at=time.time() + 40 * DAY, updated_at=time.time() + 1)
    post_lemonsqueezy(client, lsq_event("subscription_updated", renewal))  # no custom data
    assert WebhookEvent.objects.filter(status=EventStatus.PROCESSED).count() == 2
    stranger = lsq_subscription(id="90", customer=999)
    post_lemonsqueezy(client, lsq_event("subscription_created", stranger))
    assert "does not say which organization" in WebhookEvent.objects.get(status="failed").error
    assert not PlanSubscription.objects.for_organization(other_org.pk).exists()


@pytest.mark.parametrize(
    ("organization_id", "why"),
    [("٣", "ASCII digits"), ("999999999", "does not exist"), ("1; DROP", "ASCII digits")],
)
def test_custom_data_that_is_not_an_organization_fails_the_event(
    client: Client, organization_id: str, why: str
) -> None:
    event = lsq_event("subscription_created", lsq_subscription(), organization_id)
    assert post_lemonsqueezy(client, event).status_code == 200  # acknowledged, kept failed
    assert why in WebhookEvent.objects.get(status=EventStatus.FAILED).error
    assert not PlanSubscription.objects.unscoped().exists()


def test_an_unknown_variant_fails_the_event(client: Client, org: Any) -> None:
    data = lsq_subscription()
    data["attributes"]["variant_id"] = 5555
    post_lemonsqueezy(client, lsq_event("subscription_created", data, org.pk))
    assert "5555" in WebhookEvent.objects.get(status=EventStatus.FAILED).error
