"""Signed provider events, computed here with each provider's scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from django.test import Client

from tests.tasks import run_tasks

STRIPE_WEBHOOK_SECRET = "whsec_test_0123456789"
POLAR_WEBHOOK_SECRET = "polar_whs_test_0123456789"
LEMONSQUEEZY_WEBHOOK_SECRET = "lsq_signing_secret_0123456789"
PRICES = {
    "STRIPE_PRICE_PRO_MONTHLY": "price_pro_monthly",
    "STRIPE_PRICE_PRO_YEARLY": "price_pro_yearly",
    "STRIPE_PRICE_PRO_LIFETIME": "price_pro_lifetime",
    "STRIPE_PRICE_TEAM_MONTHLY": "price_team_monthly",
    "POLAR_PRODUCT_PRO_MONTHLY": "prod_pro_monthly",
    "POLAR_PRODUCT_PRO_YEARLY": "prod_pro_yearly",
    "POLAR_PRODUCT_PRO_LIFETIME": "prod_pro_lifetime",
    "POLAR_PRODUCT_TEAM_MONTHLY": "prod_team_monthly",
    "LEMONSQUEEZY_VARIANT_PRO_MONTHLY": "1001",
    "LEMONSQUEEZY_VARIANT_PRO_YEARLY": "1002",
    "LEMONSQUEEZY_VARIANT_PRO_LIFETIME": "1003",
    "LEMONSQUEEZY_VARIANT_TEAM_MONTHLY": "1004",
}
DAY = 86_400


@pytest.fixture(autouse=True)
def providers(settings: Any) -> Any:
    settings.STRIPE_SECRET_KEY = "sk_test_key"
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
    settings.POLAR_ACCESS_TOKEN = "polar_oat_test"
    settings.POLAR_WEBHOOK_SECRET = POLAR_WEBHOOK_SECRET
    settings.LEMONSQUEEZY_API_KEY = "lsq_test_api_key"
    settings.LEMONSQUEEZY_STORE_ID = "4242"
    settings.LEMONSQUEEZY_WEBHOOK_SECRET = LEMONSQUEEZY_WEBHOOK_SECRET
    settings.BILLING_PRICE_IDS = PRICES
    return settings


# --- Stripe ---------------------------------------------------------------------------------


def stripe_event(
    kind: str, obj: dict[str, Any], created: int | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": extra.pop("id", f"evt_{uuid.uuid4().hex[:16]}"),
        "object": "event",
        "type": kind,
        "created": created or int(time.time()),
        "data": {"object": obj},
        **extra,
    }


def stripe_subscription(
    organization_id: int,
    *,
    id: str = "sub_123",
    status: str = "active",
    price: str = "price_pro_monthly",
    period_end: int | None = None,
    quantity: int = 1,
    cancel_at_period_end: bool = False,
    ended_at: int | None = None,
) -> dict[str, Any]:
    end = period_end or int(time.time()) + 30 * DAY
    return {
        "id": id,
        "object": "subscription",
        "customer": f"cus_{organization_id}",
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "ended_at": ended_at,
        "metadata": {"organization_id": str(organization_id)},
        "items": {
            "data": [
                {
                    "id": "si_1",
                    "price": {"id": price},
                    "quantity": quantity,
                    "current_period_end": end,
                }
            ]
        },
    }


def stripe_invoice_paid(
    organization_id: int,
    *,
    subscription: str = "sub_123",
    period_end: int,
    price: str = "price_pro_monthly",
) -> dict[str, Any]:
    return {
        "id": f"in_{uuid.uuid4().hex[:10]}",
        "object": "invoice",
        "parent": {
            "subscription_details": {
                "subscription": subscription,
                "metadata": {"organization_id": str(organization_id)},
            }
        },
        "lines": {
            "data": [
                {"period": {"end": period_end}, "pricing": {"price_details": {"price": price}}}
            ]
        },
    }


def stripe_signature(
    body: bytes, secret: str = STRIPE_WEBHOOK_SECRET, timestamp: int | None = None
) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def post_stripe(
    client: Client, event: dict[str, Any], *, process: bool = True, **signing: Any
) -> Any:
    """Deliver a signed event; then, unless `process` is False, run the queue as the
    worker would (the answer never waits for processing)."""
    body = json.dumps(event).encode()
    response = client.post(
        "/webhooks/stripe",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(body, **signing),
    )
    if process:
        run_tasks()
    return response


# --- Polar (Standard Webhooks) ------------------------------------------------------------------


def polar_headers(
    body: bytes,
    secret: str = POLAR_WEBHOOK_SECRET,
    timestamp: int | None = None,
    message_id: str | None = None,
) -> dict[str, str]:
    t = int(time.time()) if timestamp is None else timestamp
    mid = message_id or f"msg_{uuid.uuid4().hex[:16]}"
    signed = f"{mid}.{t}.".encode() + body
    signature = base64.b64encode(
        hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    ).decode()
    return {"webhook-id": mid, "webhook-timestamp": str(t), "webhook-signature": f"v1,{signature}"}


def polar_event(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"type": kind, "timestamp": now, "api_version": "2026-10", "data": data}


def post_polar(
    client: Client, event: dict[str, Any], *, process: bool = True, **signing: Any
) -> Any:
    body = json.dumps(event).encode()
    response = client.post(
        "/webhooks/polar",
        body,
        content_type="application/json",
        headers=polar_headers(body, **signing),
    )
    if process:
        run_tasks()
    return response
