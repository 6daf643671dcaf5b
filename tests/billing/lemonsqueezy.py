"""Lemon Squeezy's webhooks as it sends them (JSON:API objects under `data`, the
checkout's custom data in `meta`), signed with its scheme: hex HMAC-SHA256 of the body."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

from django.test import Client

from tests.billing.conftest import DAY, LEMONSQUEEZY_WEBHOOK_SECRET
from tests.tasks import run_tasks

VARIANTS = {"pro_monthly": 1001, "pro_yearly": 1002, "pro_lifetime": 1003, "team_monthly": 1004}


def iso(seconds: float) -> str:
    """Lemon Squeezy's times: ISO 8601, microseconds always zero, Z."""
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def lsq_subscription(
    *,
    id: str = "77",
    status: str = "active",
    plan: str = "pro_monthly",
    customer: int = 501,
    quantity: int = 1,
    renews_at: float | None = None,
    ends_at: float | None = None,
    trial_ends_at: float | None = None,
    updated_at: float | None = None,
) -> dict[str, Any]:
    """A subscription object (`data` of subscription_* events and of GET /v1/subscriptions/:id)."""
    now = time.time()
    return {
        "type": "subscriptions",
        "id": id,
        "attributes": {
            "store_id": 4242,
            "customer_id": customer,
            "order_id": 9001,
            "product_id": 300,
            "variant_id": VARIANTS[plan],
            "status": status,
            "status_formatted": status.replace("_", " ").title(),
            "cancelled": status == "cancelled",
            "pause": None,
            "trial_ends_at": iso(trial_ends_at) if trial_ends_at else None,
            "billing_anchor": 3,
            "first_subscription_item": {
                "id": 8800 + int(id) % 100,
                "subscription_id": int(id),
                "price_id": 70,
                "quantity": quantity,
                "is_usage_based": False,
            },
            "urls": {
                "update_payment_method": f"https://acme.lemonsqueezy.test/subscription/{id}/payment",
                "customer_portal": "https://acme.lemonsqueezy.test/billing?signature=abc",
            },
            "renews_at": iso(renews_at or now + 30 * DAY),
            "ends_at": iso(ends_at) if ends_at else None,
            "created_at": iso(now - 3_600),
            "updated_at": iso(updated_at or now),
            "test_mode": True,
        },
    }


def lsq_invoice(
    *, subscription: str = "77", status: str = "paid", updated_at: float | None = None
) -> dict[str, Any]:
    """A subscription invoice (`data` of subscription_payment_* events)."""
    return {
        "type": "subscription-invoices",
        "id": f"inv_{subscription}_{int(updated_at or 0)}",
        "attributes": {
            "store_id": 4242,
            "subscription_id": int(subscription),
            "customer_id": 501,
            "billing_reason": "renewal",
            "currency": "USD",
            "status": status,
            "total": 1500,
            "refunded": False,
            "urls": {"invoice_url": "https://app.lemonsqueezy.test/invoice/1"},
            "created_at": iso(updated_at or time.time()),
            "updated_at": iso(updated_at or time.time()),
        },
    }


def lsq_order(
    *, id: str = "9100", plan: str = "pro_lifetime", status: str = "paid", customer: int = 501
) -> dict[str, Any]:
    return {
        "type": "orders",
        "id": id,
        "attributes": {
            "store_id": 4242,
            "customer_id": customer,
            "status": status,
            "refunded": status == "refunded",
            "total": 39_900,
            "currency": "USD",
            "first_order_item": {"order_id": int(id), "variant_id": VARIANTS[plan]},
            "created_at": iso(time.time() - 60),
            "updated_at": iso(time.time()),
        },
    }


def lsq_event(
    name: str, data: dict[str, Any], organization_id: int | str | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"test_mode": True, "event_name": name, "webhook_id": "wh_1"}
    if organization_id is not None:
        meta["custom_data"] = {"organization_id": str(organization_id), "plan": "pro_monthly"}
    return {"meta": meta, "data": data}


def lsq_signature(body: bytes, secret: str = LEMONSQUEEZY_WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_lemonsqueezy(
    client: Client,
    event: dict[str, Any] | bytes,
    *,
    process: bool = True,
    signature: str | None = None,
) -> Any:
    """Deliver a signed event (or the exact bytes given); then, unless `process` is
    False, run the queue as the worker would."""
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    headers = {"X-Signature": lsq_signature(body) if signature is None else signature}
    if isinstance(event, dict):
        headers["X-Event-Name"] = event["meta"]["event_name"]
    response = client.post(
        "/webhooks/lemonsqueezy", body, content_type="application/json", headers=headers
    )
    if process:
        run_tasks()
    return response
