"""Lemon Squeezy's invoices, read from a local fake of its API:
the requests sent, what the invoices page lists, and who may see them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from billing.models import BillingCustomer
from kernel.permissions import Role
from tests.billing.lemonsqueezy import (
    VARIANTS,
    iso,
)
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
JAN_2026, FEB_2026, MAR_2026 = 1_767_225_600, 1_769_904_000, 1_772_323_200


@pytest.fixture
def lsq_api(httpserver: HTTPServer, providers: Any) -> HTTPServer:
    providers.LEMONSQUEEZY_API_BASE = httpserver.url_for("").rstrip("/")
    providers.BILLING_PROVIDER = "lemonsqueezy"
    return httpserver


def invoice(id: str, created: int, status: str, total: int) -> dict[str, Any]:
    return {
        "type": "subscription-invoices", "id": id,
        "attributes": {
            "store_id": 4242, "subscription_id": 77, "customer_id": 501, "status": status,
            "total": total, "currency": "EUR", "created_at": iso(created),
            "updated_at": iso(created),
            "urls": {"invoice_url": f"https://app.lemonsqueezy.test/my-orders/{id}/invoice"},
        },
    }  # fmt: skip


def order(id: str, number: int, created: int, plan: str, status: str = "paid") -> dict:
    return {
        "type": "orders", "id": id,
        "attributes": {
            "order_number": number, "status": status, "total": 39_900, "currency": "USD",
            "first_order_item": {"variant_id": VARIANTS[plan]}, "created_at": iso(created),
            "urls": {"receipt": f"https://app.lemonsqueezy.test/my-orders/{id}"},
        },
    }  # fmt: skip


def customer_lists(api: HTTPServer, customer: str, included: list[dict]) -> None:
    api.expect_request(
        f"/v1/customers/{customer}", method="GET",
        query_string={"include": "subscriptions,orders"},
    ).respond_with_json(
        {"data": {"type": "customers", "id": customer, "attributes": {}}, "included": included}
    )  # fmt: skip


def rows(page: str) -> list[str]:
    return [part.split('"', 1)[0] for part in page.split('data-invoice="')[1:]]


def test_subscription_invoices_and_lifetime_orders_are_listed(lsq_api, member, org):
    BillingCustomer.objects.create(organization=org, provider="lemonsqueezy", external_id="501")
    customer_lists(lsq_api, "501", [
        {"type": "subscriptions", "id": "77", "attributes": {}},
        order("9100", 12, MAR_2026, "pro_lifetime", status="refunded"),
        order("9001", 11, JAN_2026, "pro_monthly"),  # the subscription's first order
    ])  # fmt: skip
    lsq_api.expect_request(
        "/v1/subscription-invoices", method="GET",
        query_string={"filter[store_id]": "4242", "filter[subscription_id]": "77",
                      "page[size]": "24"},
    ).respond_with_json({"data": [
        invoice("302", FEB_2026, "pending", 1_234_56),
        invoice("301", JAN_2026, "paid", 1_500),
        invoice("300", JAN_2026 - 1, "void", 1_500),
        invoice("299", JAN_2026 - 2, "unheard_of", 1),
    ]})  # fmt: skip
    owner = client_for(member(Role.OWNER))
    page = owner.get("/billing/invoices/").content.decode()
    assert rows(page) == ["12", "302", "301", "300"]  # newest first, no subscription order
    assert "1,234.56 EUR" in page
    assert "399.00 USD" in page
    assert 'href="https://app.lemonsqueezy.test/my-orders/301/invoice"' in page
    assert 'href="https://app.lemonsqueezy.test/my-orders/9100"' in page
    assert 'data-status="open">Open<' in page
    assert 'data-status="refunded">Refunded<' in page
    (customer_call, _), (invoices_call, _) = lsq_api.log
    assert customer_call.headers["Authorization"] == "Bearer lsq_test_api_key"
    assert invoices_call.headers["Accept"] == "application/vnd.api+json"


def test_each_organization_reads_its_own_customer_only(lsq_api, member, org, other_org):
    BillingCustomer.objects.create(organization=org, provider="lemonsqueezy", external_id="501")
    BillingCustomer.objects.create(
        organization=other_org, provider="lemonsqueezy", external_id="601"
    )
    customer_lists(lsq_api, "601", [order("9200", 20, FEB_2026, "pro_lifetime")])
    body = (
        client_for(member(Role.ADMIN, organization=other_org))
        .get("/api/v1/billing/invoices")
        .json()
    )
    assert [row["number"] for row in body["invoices"]] == ["20"]
    assert [request.path for request, _ in lsq_api.log] == ["/v1/customers/601"]


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_invoices_need_billing_read(lsq_api, member, org, role):
    BillingCustomer.objects.create(organization=org, provider="lemonsqueezy", external_id="501")
    assert client_for(member(role)).get("/billing/invoices/").status_code == 403
    assert lsq_api.log == []


def test_lemonsqueezy_down_is_named_not_a_crash(lsq_api, member, org):
    BillingCustomer.objects.create(organization=org, provider="lemonsqueezy", external_id="501")
    lsq_api.expect_request("/v1/customers/501").respond_with_json({"errors": []}, status=503)
    body = client_for(member(Role.OWNER)).get("/api/v1/billing/invoices").json()
    assert body == {"invoices": [], "unavailable": ["Lemon Squeezy"]}


# --- plan-change previews and trials -------------------------------------------------------


def test_a_plan_change_is_estimated_from_the_subscription_lemonsqueezy_has(lsq_api, member, org):
    import time_machine
    from django.test import Client

    from billing.models import PlanSubscription
    from tests.billing.lemonsqueezy import lsq_event, lsq_subscription, post_lemonsqueezy

    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    owner = member(Role.OWNER)
    renews = now.timestamp() + 15 * 86_400  # 15 of 30 days left
    subscription = lsq_subscription(renews_at=renews, updated_at=now.timestamp() - 60)
    with time_machine.travel(now, tick=False):
        post_lemonsqueezy(Client(), lsq_event("subscription_created", subscription, org.pk))
        lsq_api.expect_request("/v1/subscriptions/77", method="GET").respond_with_json(
            {"data": subscription}
        )
        page = (
            client_for(owner)
            .get("/billing/plans/", {"change": "pro_yearly"}, follow=True)
            .content.decode()
        )
    assert "data-preview" in page
    assert "$142.50" in page
    assert [(r.method, r.path) for r, _ in lsq_api.log] == [("GET", "/v1/subscriptions/77")]
    assert PlanSubscription.objects.for_organization(org.pk).get().plan == "pro_monthly"
