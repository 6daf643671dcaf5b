"""Webhooks with real signatures: verification, storage, idempotency, ordering, retries."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from billing import processing, webhooks
from billing.entitlements import entitlements
from billing.events import VerifiedEvent
from billing.models import EventStatus, Grant, PlanSubscription, WebhookEvent
from billing.plans import PLANS
from tests.billing.conftest import (
    DAY,
    POLAR_WEBHOOK_SECRET,
    polar_event,
    polar_headers,
    post_polar,
    post_stripe,
    stripe_event,
    stripe_invoice_paid,
    stripe_signature,
    stripe_subscription,
)
from tests.conftest import limits_of
from tests.factories import OrganizationFactory
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db
PRO_GRANTS = len(PLANS["pro_monthly"].grants())


def test_a_valid_stripe_event_is_stored_answered_and_then_applied_by_the_queue(
    client: Client, org: Any
) -> None:
    response = post_stripe(
        client,
        stripe_event("customer.subscription.created", stripe_subscription(org.pk)),
        process=False,
    )
    assert (response.status_code, response.json()) == (200, {"outcome": "received"})
    received = WebhookEvent.objects.get()
    assert (received.status, received.attempts) == ("received", 0)  # the answer did not wait
    assert not PlanSubscription.objects.unscoped().exists()
    (task,) = DBTaskResult.objects.all()
    assert (task.task_path, task.args_kwargs["args"]) == (
        "billing.tasks.process_event",
        [received.pk],
    )

    assert run_tasks() == 1
    subscription = PlanSubscription.objects.for_organization(org.pk).get()
    assert (subscription.plan, subscription.status) == ("pro_monthly", "active")
    assert limits_of(org.pk)["organization.members"] == 10
    assert "feature.pro" in entitlements(org.pk).capabilities
    event = WebhookEvent.objects.get()
    assert (event.status, event.organization_id, event.attempts) == ("processed", org.pk, 1)


@pytest.mark.parametrize(
    "tamper",
    ["wrong_secret", "one_byte", "too_old", "too_new", "missing_header"],
)
def test_a_bad_signature_is_400_and_stores_nothing(client: Client, org: Any, tamper: str) -> None:
    body = json.dumps(
        stripe_event("customer.subscription.created", stripe_subscription(org.pk))
    ).encode()
    header = {
        "wrong_secret": lambda: stripe_signature(body, secret="whsec_someone_else"),
        "one_byte": lambda: stripe_signature(body),
        "too_old": lambda: stripe_signature(body, timestamp=int(time.time()) - 360),
        "too_new": lambda: stripe_signature(body, timestamp=int(time.time()) + 360),
        "missing_header": lambda: "",
    }[tamper]()
    if tamper == "one_byte":
        body = body.replace(b'"active"', b'"activ3"')
    response = client.post(
        "/webhooks/stripe", body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert not PlanSubscription.objects.unscoped().exists()
    assert not Grant.objects.unscoped().exists()


def test_the_same_event_twice_has_one_effect(client: Client, org: Any) -> None:
    event = stripe_event("customer.subscription.created", stripe_subscription(org.pk))
    assert post_stripe(client, event, process=False).json() == {"outcome": "received"}
    assert post_stripe(client, event, process=False).json() == {"outcome": "duplicate"}
    assert DBTaskResult.objects.count() == 1  # its task is waiting: no second one
    assert run_tasks() == 1
    assert post_stripe(client, event).json() == {"outcome": "duplicate"}
    assert WebhookEvent.objects.get().attempts == 1
    assert Grant.objects.for_organization(org.pk).count() == PRO_GRANTS


def test_an_event_is_stored_if_and_only_if_its_processing_is_enqueued(org: Any) -> None:
    event = VerifiedEvent("evt_rolled_back", "customer.subscription.created", timezone.now(), {})
    seen: list[int] = []

    def store_then_fail() -> None:
        with transaction.atomic():
            assert webhooks.store("stripe", event) is not None
            seen.append(DBTaskResult.objects.count())
            raise RuntimeError("the request failed after storing")

    with pytest.raises(RuntimeError):
        store_then_fail()
    assert seen == [1]
    assert not WebhookEvent.objects.exists()
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_event_ten_times_in_parallel_has_one_effect() -> None:
    org = OrganizationFactory()
    event = stripe_event("customer.subscription.created", stripe_subscription(org.pk))
    statuses: list[int] = []
    start = threading.Barrier(10)

    def deliver() -> None:
        start.wait()
        try:
            statuses.append(post_stripe(Client(), event, process=False).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 10
    assert run_tasks() == 1  # one delivery stored it and enqueued its processing
    stored = WebhookEvent.objects.get()
    assert (stored.status, stored.attempts) == ("processed", 1)
    assert Grant.objects.for_organization(org.pk).count() == PRO_GRANTS


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
        subscription.current_period_end,
        subscription.paid_through,
        subscription.ended_at,
        subscription.cancel_at_period_end,
        grants,
    )


def final_states_in_every_order(
    client: Client, events_for: Callable[[int], list[dict[str, Any]]], plan: str
) -> set[tuple[Any, ...]]:
    """Deliver the events in every order, each order to a fresh organization; the final
    states reached (one, if order does not matter). Each ends on `plan`."""
    finals = set()
    count = len(events_for(0))  # built only to be counted
    for order in itertools.permutations(range(count)):
        org = OrganizationFactory()
        events = events_for(org.pk)
        for index in order:
            assert post_stripe(client, events[index]).status_code == 200
        finals.add(_final_state(org.pk))
        assert entitlements(org.pk).plan.code == plan
    return finals


def test_all_24_orderings_of_the_lifecycle_end_in_the_same_state(client: Client) -> None:
    t0 = int(time.time()) - 3_600
    period_1, period_2 = t0 + 30 * DAY, t0 + 60 * DAY

    def lifecycle(org: int) -> list[dict[str, Any]]:
        sub = f"sub_{org}"
        return [
            stripe_event(
                "customer.subscription.created",
                stripe_subscription(org, id=sub, status="incomplete", period_end=period_1),
                t0,
            ),
            stripe_event(
                "customer.subscription.updated",
                stripe_subscription(org, id=sub, period_end=period_2),
                t0 + 10,
            ),
            stripe_event(
                "invoice.paid",
                stripe_invoice_paid(org, subscription=sub, period_end=period_2),
                t0 + 20,
            ),
            stripe_event(
                "customer.subscription.deleted",
                stripe_subscription(
                    org, id=sub, status="canceled", period_end=period_2, ended_at=t0 + 30
                ),
                t0 + 30,
            ),
        ]

    finals = final_states_in_every_order(client, lifecycle, "free")
    assert len(finals) == 1
    status, plan, period_end, paid_through, ended_at, _, grants = finals.pop()
    assert (status, plan) == ("canceled", "pro_monthly")
    assert paid_through == period_end == datetime.fromtimestamp(period_2, UTC)
    assert ended_at == datetime.fromtimestamp(t0 + 30, UTC)
    assert grants
    assert all(revoked == ended_at for _, _, revoked in grants)


def test_orderings_without_the_end_leave_it_active_until_the_paid_period(client: Client) -> None:
    t0 = int(time.time()) - 3_600
    period_1, period_2 = t0 + 30 * DAY, t0 + 60 * DAY

    def renewal(org: int) -> list[dict[str, Any]]:
        sub = f"sub_{org}"
        return [
            stripe_event(
                "customer.subscription.created",
                stripe_subscription(org, id=sub, status="trialing", period_end=period_1),
                t0,
            ),
            stripe_event(
                "customer.subscription.updated",
                stripe_subscription(org, id=sub, period_end=period_1),
                t0 + 10,
            ),
            stripe_event(
                "invoice.paid",
                stripe_invoice_paid(org, subscription=sub, period_end=period_2),
                t0 + 20,
            ),
        ]

    finals = final_states_in_every_order(client, renewal, "pro_monthly")
    assert len(finals) == 1
    status, _, _, _, _, _, grants = finals.pop()
    assert status == "active"
    # The renewal invoice extended the grants beyond the subscription's own period end.
    assert {expires for _, expires, _ in grants} == {datetime.fromtimestamp(period_2, UTC)}


def test_a_crash_while_applying_is_recorded_and_the_queue_retries_it_once(
    client: Client, org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = processing.apply_change
    calls = {"n": 0}

    def crash_once(change: Any, **key: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the database hiccuped")
        return real(change, **key)

    monkeypatch.setattr(processing, "apply_change", crash_once)
    event = stripe_event("customer.subscription.created", stripe_subscription(org.pk))
    assert post_stripe(client, event).json() == {"outcome": "received"}  # acknowledged
    stored = WebhookEvent.objects.get()
    assert stored.status == EventStatus.FAILED
    assert stored.error == "RuntimeError: the database hiccuped"
    assert not Grant.objects.for_organization(org.pk).exists()  # nothing half-written
    task = DBTaskResult.objects.get()
    assert task.status == "READY"
    assert task.run_after > timezone.now()  # retried with backoff, not at once
    assert run_tasks() == 0

    with time_machine.travel(task.run_after + timedelta(seconds=1), tick=False):
        assert run_tasks() == 1
    stored.refresh_from_db()
    assert (stored.status, stored.error, stored.attempts) == ("processed", "", 2)
    assert post_stripe(client, event).json() == {"outcome": "duplicate"}
    assert Grant.objects.for_organization(org.pk).count() == PRO_GRANTS


def test_unknown_event_types_are_stored_and_acknowledged(client: Client) -> None:
    response = post_stripe(client, stripe_event("customer.tax_id.created", {"id": "txi_1"}))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == EventStatus.IGNORED


def test_an_unconfigured_provider_is_404(client: Client, settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert (
        client.post("/webhooks/stripe", b"{}", content_type="application/json").status_code == 404
    )
    assert (
        client.post("/webhooks/paypal", b"{}", content_type="application/json").status_code == 404
    )
    assert client.get("/webhooks/polar").status_code == 405


# --- Polar (Standard Webhooks) -------------------------------------------------------------------


def polar_subscription(organization_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": "polar_sub_1",
        "status": "active",
        "product_id": "prod_pro_monthly",
        "customer_id": "polar_cus_1",
        "current_period_end": "2099-01-01T00:00:00Z",
        "cancel_at_period_end": False,
        "metadata": {"organization_id": organization_id},
        **fields,
    }


def test_a_valid_polar_event_is_applied(client: Client, org: Any) -> None:
    response = post_polar(client, polar_event("subscription.active", polar_subscription(org.pk)))
    assert response.status_code == 200, response.content
    subscription = PlanSubscription.objects.for_organization(org.pk).get()
    assert (subscription.provider, subscription.status, subscription.plan) == (
        "polar",
        "active",
        "pro_monthly",
    )
    assert entitlements(org.pk).plan.code == "pro_monthly"


@pytest.mark.parametrize(
    "tamper", ["wrong_secret", "one_byte", "too_old", "too_new", "missing_header"]
)
def test_a_bad_polar_signature_is_400_and_stores_nothing(
    client: Client, org: Any, tamper: str
) -> None:
    body = json.dumps(polar_event("subscription.active", polar_subscription(org.pk))).encode()
    now = int(time.time())
    headers = {
        "wrong_secret": lambda: polar_headers(body, secret="polar_whs_other"),
        "one_byte": lambda: polar_headers(body),
        "too_old": lambda: polar_headers(body, timestamp=now - 360),
        "too_new": lambda: polar_headers(body, timestamp=now + 360),
        "missing_header": lambda: {
            k: v for k, v in polar_headers(body).items() if k != "webhook-signature"
        },
    }[tamper]()
    if tamper == "one_byte":
        body = body.replace(b'"active"', b'"activ3"', 1)
    assert (
        client.post(
            "/webhooks/polar", body, content_type="application/json", headers=headers
        ).status_code
        == 400
    )
    assert not WebhookEvent.objects.exists()
    assert POLAR_WEBHOOK_SECRET  # the right one was configured all along


def test_polar_revocation_ends_the_grants(client: Client, org: Any) -> None:
    post_polar(client, polar_event("subscription.active", polar_subscription(org.pk)))
    post_polar(
        client, polar_event("subscription.revoked", polar_subscription(org.pk, status="canceled"))
    )
    assert entitlements(org.pk).plan.code == "free"
    assert PlanSubscription.objects.for_organization(org.pk).get().status == "canceled"
