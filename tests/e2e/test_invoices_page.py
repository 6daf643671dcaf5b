"""The invoices page in a browser: a table of Stripe's invoices (from a local fake of its
API) and the local provider's receipts at 1280 px, stacked rows on a phone,
PDF links where the provider has them. Screenshots under test-artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from billing.models import BillingCustomer, Receipt
from kernel.permissions import Role
from tests.browser import browser_user, sign_in
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server_process

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_invoices_read_as_a_table_and_stack_on_a_phone(browser, artifacts, httpserver: HTTPServer):
    owner = browser_user("owner@example.com")
    org = OrganizationFactory(name="Invoice Co")
    MembershipFactory(organization=org, user=owner, role=Role.OWNER)
    BillingCustomer.objects.create(organization=org, provider="stripe", external_id="cus_inv")
    BillingCustomer.objects.create(organization=org, provider="local", external_id="cus_local")
    for day, amount, refunded in ((3, 39_900, True), (1, 1_500, False)):
        issued = datetime(2026, 11, day, 9, tzinfo=UTC)
        Receipt.objects.create(
            organization=org, reference=f"pay_{day}", amount=amount, currency="usd",
            issued_at=issued, refunded_at=issued if refunded else None,
        )  # fmt: skip
    invoice = {
        "object": "invoice", "currency": "usd", "status": "paid", "total": 123_456,
        "hosted_invoice_url": "https://invoice.stripe.example/1",
        "invoice_pdf": "https://pay.stripe.example/1.pdf",
    }  # fmt: skip
    httpserver.expect_request("/v1/invoices", method="GET").respond_with_json(
        {
            "object": "list",
            "url": "/v1/invoices",
            "has_more": False,
            "data": [
                {**invoice, "id": "in_2", "number": "INV-2026-0012", "created": 1_795_132_800},
                {
                    **invoice,
                    "id": "in_1",
                    "number": "INV-2026-0011",
                    "created": 1_792_454_400,
                    "status": "open",
                    "total": 1_200,
                },
            ],
        }
    )
    with app_server_process(
        STRIPE_SECRET_KEY="sk_test_key",
        STRIPE_WEBHOOK_SECRET="whsec_test",
        STRIPE_API_BASE=httpserver.url_for("").rstrip("/"),
        BILLING_PROVIDER="local",
    ) as (base, _process):
        context, page = sign_in(browser, base, owner.email, "/billing/")
        page.screenshot(path=str(artifacts / "billing-invoices-link-1280.png"), full_page=True)
        page.click("a[data-invoices-link]")
        page.wait_for_selector("table.invoices")
        receipts = {r.reference: r.number for r in Receipt.objects.for_organization(org.pk)}
        numbers = page.locator("tr[data-invoice] td:first-child").all_inner_texts()
        assert numbers == ["INV-2026-0012", receipts["pay_3"], receipts["pay_1"], "INV-2026-0011"]
        assert "1,234.56 USD" in page.inner_text("table.invoices")
        page.screenshot(path=str(artifacts / "invoices-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        first, second = (page.locator("tr[data-invoice]").nth(n).bounding_box() for n in (0, 1))
        assert first
        assert second
        assert first["width"] <= 390
        assert second["y"] > first["y"] + 40
        page.screenshot(path=str(artifacts / "invoices-390.png"), full_page=True)
        context.close()
