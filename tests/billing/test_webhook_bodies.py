"""Correctly signed bodies that are not events we can store: 400, with why, nothing kept.

Each case is signed with the provider's real scheme, so only the envelope can refuse it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from billing.models import Grant, PlanSubscription, WebhookEvent
from tests.billing.conftest import (
    DAY,
    polar_event,
    polar_headers,
    stripe_event,
    stripe_signature,
    stripe_subscription,
)
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db

Body = Callable[[dict[str, Any]], bytes]


def dumps(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def changed(**fields: Any) -> Body:
    return lambda event: dumps({**event, **fields})


def without(key: str) -> Body:
    return lambda event: dumps({k: v for k, v in event.items() if k != key})


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def with_metadata(value: Any) -> Body:
    def body(event: dict[str, Any]) -> bytes:
        event["data"]["object"]["metadata"]["note"] = value
        return dumps(event)

    return body


STRIPE_BODIES: dict[str, tuple[Body, str]] = {
    "invalid_utf8": (lambda e: dumps(e).replace(b'"active"', b'"\xffactive"'), "__all__"),
    "nul_in_the_id": (changed(id="evt_\x00abc"), "id"),
    "created_1e20": (changed(created=10**20), "created"),
    "created_tomorrow_and_then_some": (changed(created=int(time.time()) + 2 * DAY), "created"),
    "created_before_2000": (changed(created=1), "created"),
    "created_as_words": (changed(created="yesterday"), "created"),
    "created_as_true": (changed(created=True), "created"),
    "created_missing": (without("created"), "created"),
    "data_a_list": (changed(data=[1, 2]), "data"),
    "data_a_string": (changed(data="subscription"), "data"),
    "data_null": (changed(data=None), "data"),
    "data_object_a_list": (changed(data={"object": ["sub_123"]}), "data"),
    "data_without_object": (changed(data={}), "data"),
    "id_too_long": (changed(id="evt_" + "x" * 200), "id"),
    "id_a_number": (changed(id=12345), "id"),
    "id_with_a_space": (changed(id="evt 1"), "id"),
    "id_empty": (changed(id=""), "id"),
    "type_missing": (without("type"), "type"),
    "type_a_number": (changed(type=7), "type"),
    "type_too_long": (changed(type="x" * 101), "type"),
    "body_a_list": (lambda e: b"[]", "__all__"),
    "body_a_string": (lambda e: b'"evt_1"', "__all__"),
    "body_not_json": (lambda e: b"{not json", "__all__"),
    "body_empty": (lambda e: b"", "__all__"),
    "nan": (with_metadata(float("nan")), "__all__"),
    "infinite_number": (lambda e: dumps(e).replace(b'"object": "event"', b'"n": 1e400'), "__all__"),
    "nul_in_the_payload": (with_metadata("a\x00b"), "payload"),
    "nul_in_a_key": (lambda e: dumps({**e, "k\x00": 1}), "payload"),
    "lone_surrogate": (with_metadata("\ud800"), "payload"),
    "nested_too_deep": (changed(extra=nested(40)), "__all__"),
    "nested_past_the_parser": (lambda e: b"[" * 100_000 + b"]" * 100_000, "__all__"),
}


def assert_nothing_stored() -> None:
    assert not WebhookEvent.objects.exists()
    assert not PlanSubscription.objects.unscoped().exists()
    assert not Grant.objects.unscoped().exists()


@pytest.mark.parametrize("case", STRIPE_BODIES)
def test_a_signed_but_malformed_stripe_body_is_400_and_stores_nothing(
    client: Client, org: Any, case: str
) -> None:
    make, field = STRIPE_BODIES[case]
    body = make(stripe_event("customer.subscription.created", stripe_subscription(org.pk)))
    response = client.post(
        "/webhooks/stripe",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(body),
    )
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["outcome"] == "malformed"
    assert field in answer["fields"], answer
    assert_nothing_stored()


def test_the_refusal_says_what_is_wrong_in_the_providers_words(client: Client, org: Any) -> None:
    event = stripe_event("customer.subscription.created", stripe_subscription(org.pk))
    body = dumps({**event, "created": 10**20})
    response = client.post(
        "/webhooks/stripe",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(body),
    )
    assert response.json() == {
        "outcome": "malformed",
        "fields": {"created": ["Enter Unix seconds of a date since 2000."]},
    }


def polar_subscription_event(organization_id: int) -> dict[str, Any]:
    return polar_event(
        "subscription.active",
        {
            "id": "polar_sub_1",
            "status": "active",
            "product_id": "prod_pro_monthly",
            "customer_id": "polar_cus_1",
            "metadata": {"organization_id": organization_id},
        },
    )


POLAR_BODIES: dict[str, tuple[Body, str]] = {
    "invalid_utf8": (lambda e: dumps(e).replace(b'"active"', b'"\xffactive"'), "__all__"),
    "body_a_list": (lambda e: b"[]", "__all__"),
    "body_not_json": (lambda e: b"{not json", "__all__"),
    "data_a_list": (changed(data=["polar_sub_1"]), "data"),
    "data_missing": (without("data"), "data"),
    "timestamp_without_a_zone": (changed(timestamp="2026-01-01T00:00:00"), "timestamp"),
    "timestamp_in_year_2999": (changed(timestamp="2999-01-01T00:00:00Z"), "timestamp"),
    "timestamp_missing": (without("timestamp"), "timestamp"),
    "timestamp_not_a_time": (changed(timestamp="soon"), "timestamp"),
    "type_a_number": (changed(type=7), "type"),
    "type_missing": (without("type"), "type"),
    "nul_in_the_payload": (changed(note="a\x00b"), "payload"),
    "nan": (changed(note=float("nan")), "__all__"),
}


@pytest.mark.parametrize("case", POLAR_BODIES)
def test_a_signed_but_malformed_polar_body_is_400_and_stores_nothing(
    client: Client, org: Any, case: str
) -> None:
    make, field = POLAR_BODIES[case]
    body = make(polar_subscription_event(org.pk))
    response = client.post(
        "/webhooks/polar", body, content_type="application/json", headers=polar_headers(body)
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"], response.json()
    assert_nothing_stored()


@pytest.mark.parametrize("message_id", ["msg_" + "x" * 200, "msg one", "msg_é"])
def test_a_polar_message_id_we_cannot_keep_is_400(
    client: Client, org: Any, message_id: str
) -> None:
    body = dumps(polar_subscription_event(org.pk))
    headers = polar_headers(body, message_id=message_id)
    response = client.post(
        "/webhooks/polar", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 400, response.content
    assert "webhook-id" in response.json()["fields"]
    assert_nothing_stored()


def test_a_well_formed_event_next_to_them_is_stored(client: Client, org: Any) -> None:
    """The envelope refuses what is wrong, not what is merely unusual."""
    event = stripe_event("customer.subscription.created", stripe_subscription(org.pk))
    event["data"]["object"]["metadata"]["note"] = "émoji 🎉, \u202e and 1e300: " + "x" * 5_000
    event["amount"] = 1e300
    event["big"] = 10**30
    body = dumps(event)
    response = client.post(
        "/webhooks/stripe",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(body),
    )
    assert response.json() == {"outcome": "received"}
    run_tasks()
    stored = WebhookEvent.objects.get()
    assert (stored.status, stored.payload["big"]) == ("processed", 10**30)
