"""The invoices page and API: each provider's invoices read from a local fake of its API
(the SDKs pointed at it), the local provider's own receipts, who may see them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from pytest_httpserver import HTTPServer

from billing.models import BillingCustomer
from kernel.permissions import Role
from organizations.mutations import api_key_issue
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
JAN_2026, FEB_2026, MAR_2026 = 1_767_225_600, 1_769_904_000, 1_772_323_200


def stripe_invoice(number: str, created: int, status: str, total: int, **fields: Any) -> dict:
    return {
        "id": f"in_{number}", "object": "invoice", "number": number, "created": created,
        "status": status, "total": total, "currency": "eur",
        "hosted_invoice_url": f"https://invoice.stripe.example/{number}",
        "invoice_pdf": f"https://pay.stripe.example/{number}.pdf", **fields,
    }  # fmt: skip


@pytest.fixture
def stripe_api(httpserver: HTTPServer, providers: Any) -> HTTPServer:
    providers.STRIPE_API_BASE = httpserver.url_for("").rstrip("/")
    return httpserver


@pytest.fixture
def polar_api(httpserver: HTTPServer, providers: Any) -> HTTPServer:
    providers.POLAR_API_BASE = httpserver.url_for("").rstrip("/")
    return httpserver


def stripe_lists(api: HTTPServer, customer: str, *invoices: dict) -> None:
    api.expect_request(
        "/v1/invoices", method="GET", query_string={"customer": customer, "limit": "24"}
    ).respond_with_json(
        {"object": "list", "url": "/v1/invoices", "has_more": False, "data": list(invoices)}
    )


def rows(page: str) -> list[str]:
    return [part.split('"', 1)[0] for part in page.split('data-invoice="')[1:]]


def test_stripe_invoices_are_listed_with_their_links_newest_first(stripe_api, member, org):
    BillingCustomer.objects.create(organization=org, provider="stripe", external_id="cus_acme")
    stripe_lists(
        stripe_api,
        "cus_acme",
        stripe_invoice("ACME-0002", FEB_2026, "open", 1_234_56),
        stripe_invoice("ACME-0001", JAN_2026, "paid", 1_500),
        stripe_invoice("ACME-DRAFT", MAR_2026, "draft", 99),
        stripe_invoice("ACME-0000", JAN_2026 - 1, "void", 1_500, hosted_invoice_url=None),
    )
    owner = client_for(member(Role.OWNER))
    page = owner.get("/billing/invoices/").content.decode()
    assert rows(page) == ["ACME-0002", "ACME-0001", "ACME-0000"]  # no draft
    assert "1,234.56 EUR" in page
    assert "15.00 EUR" in page
    assert 'href="https://invoice.stripe.example/ACME-0001"' in page
    assert 'href="https://pay.stripe.example/ACME-0001.pdf"' in page
    assert 'href="https://invoice.stripe.example/ACME-0000"' not in page
    assert 'data-status="open">Open<' in page
    assert 'data-status="void">Void<' in page
    ((request, _),) = stripe_api.log
    assert request.headers["Authorization"] == "Bearer sk_test_key"

    german = owner.get("/billing/invoices/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "1.234,56 EUR" in german  # the reader's number format
    assert ">1. Februar 2026</time>" in german


def test_the_invoices_api_has_the_same_list(stripe_api, member, org):
    BillingCustomer.objects.create(organization=org, provider="stripe", external_id="cus_acme")
    stripe_lists(stripe_api, "cus_acme", stripe_invoice("ACME-0001", JAN_2026, "paid", 1_500))
    body = client_for(member(Role.ADMIN)).get("/api/v1/billing/invoices").json()
    assert body == {
        "invoices": [
            {
                "provider": "stripe", "number": "ACME-0001", "issued_at": "2026-01-01T00:00:00Z",
                "amount": 1500, "currency": "eur", "status": "paid", "status_label": "Paid",
                "url": "https://invoice.stripe.example/ACME-0001",
                "pdf_url": "https://pay.stripe.example/ACME-0001.pdf",
            }
        ],
        "unavailable": [],
    }  # fmt: skip


def test_polar_orders_are_listed_with_their_invoice_pdfs(polar_api, member, org):
    BillingCustomer.objects.create(organization=org, provider="polar", external_id="polar_cus_1")
    order = {"currency": "usd", "customer_id": "polar_cus_1", "subscription_id": None}
    polar_api.expect_request(
        "/v1/orders/",
        method="GET",
        query_string={"customer_id": "polar_cus_1", "limit": "24", "sorting": "-created_at"},
    ).respond_with_json(
        {
            "items": [
                {
                    **order,
                    "id": "ord_2",
                    "status": "refunded",
                    "total_amount": 39_900,
                    "created_at": "2026-02-01T10:00:00Z",
                    "invoice_number": "POL-2",
                    "is_invoice_generated": True,
                },
                {
                    **order,
                    "id": "ord_1",
                    "status": "paid",
                    "total_amount": 1_500,
                    "created_at": "2026-01-01T10:00:00Z",
                    "invoice_number": None,
                    "is_invoice_generated": False,
                },
                {
                    **order,
                    "id": "ord_0",
                    "status": "draft",
                    "total_amount": 1,
                    "created_at": "2026-01-01T09:00:00Z",
                    "is_invoice_generated": False,
                },
            ],
            "pagination": {"total_count": 3, "max_page": 1},
        }
    )
    polar_api.expect_request("/v1/orders/ord_2/invoice", method="GET").respond_with_json(
        {"url": "https://files.polar.example/POL-2.pdf"}
    )
    page = client_for(member(Role.OWNER)).get("/billing/invoices/").content.decode()
    assert rows(page) == ["POL-2", "ord_1"]
    assert "399.00 USD" in page
    assert 'data-status="refunded">Refunded<' in page
    assert 'href="https://files.polar.example/POL-2.pdf"' in page
    assert [request.path for request, _ in polar_api.log] == [
        "/v1/orders/",
        "/v1/orders/ord_2/invoice",  # only the order whose invoice exists
    ]


def test_local_receipts_for_payments_and_their_refunds(member, org, providers):
    providers.BILLING_PROVIDER = "local"
    owner = client_for(member(Role.OWNER))
    assert "No invoices yet" in owner.get("/billing/invoices/").content.decode()
    owner.post(owner.post("/billing/checkout/", {"plan": "team_monthly"})["Location"])
    page = owner.get("/billing/invoices/").content.decode()
    assert len(rows(page)) == 1
    assert "12.00 USD" in page
    assert 'data-status="paid">Paid<' in page

    from billing.models import Receipt
    from billing.providers.local import LocalProvider

    owner.post("/billing/cancel/", {"when": "now", "confirmed": "yes"})
    owner.post(owner.post("/billing/checkout/", {"plan": "pro_lifetime"})["Location"])
    lifetime = Receipt.objects.for_organization(org.pk).latest("issued_at")
    LocalProvider().refund(lifetime.reference)
    listing = owner.get("/api/v1/billing/invoices").json()["invoices"]
    assert [(i["number"], i["amount"], i["status"]) for i in listing] == [
        (lifetime.number, 39_900, "refunded"),
        (listing[1]["number"], 1_200, "paid"),
    ]
    assert {i["provider"] for i in listing} == {"local"}


@pytest.mark.parametrize(("role", "status"), [(Role.OWNER, 200), (Role.ADMIN, 200),
                                              (Role.MEMBER, 403), (Role.VIEWER, 403)])  # fmt: skip
def test_invoices_need_billing_read(as_role, role, status, stripe_api, org):
    BillingCustomer.objects.create(organization=org, provider="stripe", external_id="cus_acme")
    stripe_lists(stripe_api, "cus_acme", stripe_invoice("ACME-0001", JAN_2026, "paid", 1_500))
    browser = as_role(role)
    assert browser.get("/billing/invoices/").status_code == status
    api = browser.get("/api/v1/billing/invoices")
    assert api.status_code == status
    if status == 403:
        assert api.json()["error"]["code"] == "forbidden"
        assert stripe_api.log == []  # refused before any provider was asked
    else:
        assert "Invoices and receipts" in browser.get("/billing/").content.decode()


def test_another_organizations_invoices_are_never_listed(stripe_api, member, org, other_org):
    BillingCustomer.objects.create(organization=org, provider="stripe", external_id="cus_acme")
    BillingCustomer.objects.create(
        organization=other_org, provider="stripe", external_id="cus_globex"
    )
    stripe_lists(stripe_api, "cus_acme", stripe_invoice("ACME-0001", JAN_2026, "paid", 1_500))
    stripe_lists(stripe_api, "cus_globex", stripe_invoice("GLOBEX-1", JAN_2026, "paid", 900))
    theirs = client_for(member(Role.OWNER, organization=other_org))
    assert rows(theirs.get("/billing/invoices/").content.decode()) == ["GLOBEX-1"]
    creator = member(Role.ADMIN, organization=other_org)
    _key, raw = api_key_issue(organization_id=other_org.pk, name="k", permissions=["billing.read"],
                              created_by_id=creator.user_id)  # fmt: skip
    by_key = Client().get("/api/v1/billing/invoices", headers={"Authorization": f"Bearer {raw}"})
    assert [i["number"] for i in by_key.json()["invoices"]] == ["GLOBEX-1"]
    asked = {request.args["customer"] for request, _ in stripe_api.log}
    assert asked == {"cus_globex"}


def test_a_provider_that_cannot_be_reached_is_named_and_the_rest_still_listed(
    stripe_api, member, org, providers
):
    providers.BILLING_PROVIDER = "local"
    owner = client_for(member(Role.OWNER))
    owner.post(owner.post("/billing/checkout/", {"plan": "pro_monthly"})["Location"])
    BillingCustomer.objects.create(organization=org, provider="stripe", external_id="cus_acme")
    stripe_api.expect_request("/v1/invoices", method="GET").respond_with_json(
        {"error": {"message": "Stripe is having a moment", "type": "api_error"}}, status=500
    )
    response = owner.get("/billing/invoices/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Stripe could not be reached just now" in page
    assert "15.00 USD" in page  # the local receipt is still there
    assert owner.get("/api/v1/billing/invoices").json()["unavailable"] == ["Stripe"]
