"""A plan change shows its price before it is confirmed: Stripe's invoice preview, an
estimate for Polar (it has no preview), the local provider's own arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from pytest_httpserver import HTTPServer

from billing.models import PlanSubscription
from kernel.door import call
from kernel.permissions import Role
from organizations import mutations as org_mutations
from tests.billing.conftest import (
    polar_event,
    post_polar,
    post_stripe,
    stripe_event,
    stripe_subscription,
)
from tests.billing.test_provider_calls import form
from tests.conftest import actor_for, client_for

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def preview_page(browser: Client, plan: str) -> str:
    return browser.get("/billing/plans/", {"change": plan}, follow=True).content.decode()


@pytest.fixture
def stripe_api(httpserver: HTTPServer, providers: Any) -> HTTPServer:
    providers.STRIPE_API_BASE = httpserver.url_for("").rstrip("/")
    providers.BILLING_PROVIDER = "stripe"
    return httpserver


def test_stripe_previews_the_invoice_of_the_change(stripe_api: HTTPServer, member, org) -> None:
    owner = member(Role.OWNER)
    member(Role.MEMBER)
    call(org_mutations.invitation_create, actor_for(owner), {"email": "soon@example.com"})
    post_stripe(
        Client(), stripe_event("customer.subscription.created", stripe_subscription(org.pk))
    )
    stripe_api.expect_request("/v1/invoices/create_preview", method="POST").respond_with_json(
        {"id": "upcoming_in", "object": "invoice", "amount_due": 840, "currency": "usd"}
    )
    stripe_api.expect_request("/v1/prices/price_team_monthly", method="GET").respond_with_json(
        {"id": "price_team_monthly", "object": "price", "unit_amount": 1200, "currency": "usd"}
    )
    page = preview_page(client_for(owner), "team_monthly")
    assert "You&#x27;ll pay $8.40 now, then $36 per month." in page
    assert "For 3 seats (members and pending invitations)." in page
    asked = form(stripe_api.log[0][0])
    assert asked == {
        "subscription": "sub_123",
        "subscription_details[items][0][id]": "si_1",
        "subscription_details[items][0][price]": "price_team_monthly",
        "subscription_details[items][0][quantity]": "3",
        "subscription_details[proration_behavior]": "always_invoice",
    }
    # Nothing changed yet: the change is made only when the confirmation is posted.
    assert PlanSubscription.objects.for_organization(org.pk).get().plan == "pro_monthly"
    assert [request.path for request, _ in stripe_api.log].count("/v1/subscriptions/sub_123") == 0


def test_the_local_provider_prices_the_rest_of_the_period(providers: Any, member, org) -> None:
    providers.BILLING_PROVIDER = "local"
    membership = member(Role.OWNER)
    owner = client_for(membership)
    with time_machine.travel(NOW, tick=False):
        owner.post(owner.post("/billing/checkout/", {"plan": "pro_monthly"})["Location"])
    # 15 of 30 days left: half of Team's $12 less half of Pro's $15 is nothing due now
    # (a downgrade in price); Pro (yearly) is a new period: $150 less $7.50 unused.
    with time_machine.travel(NOW + timedelta(days=15), tick=False):
        owner = client_for(membership)
        assert "You&#x27;ll pay $0 now, then $12 per month." in preview_page(owner, "team_monthly")
        assert "You&#x27;ll pay $142.50 now, then $150 per year." in preview_page(
            owner, "pro_yearly"
        )
        page = preview_page(owner, "pro_yearly")
        assert "Confirm: switch to Pro (yearly)" in page
        assert "prorated difference" in page  # the local provider's price is exact
        owner.post("/billing/change/", {"plan": "pro_yearly", "confirmed": "yes"})
    assert PlanSubscription.objects.for_organization(org.pk).get().plan == "pro_yearly"


def test_polar_has_no_preview_so_the_price_is_estimated(
    httpserver: HTTPServer, providers: Any, member, org
) -> None:
    providers.POLAR_API_BASE = httpserver.url_for("").rstrip("/")
    providers.BILLING_PROVIDER = "polar"
    subscription = {
        "id": "polar_sub_9", "status": "active", "product_id": "prod_pro_monthly",
        "customer_id": "polar_cus_9", "current_period_end": "2026-12-18T12:00:00Z",
        "cancel_at_period_end": False, "seats": 1, "metadata": {"organization_id": org.pk},
    }  # fmt: skip
    post_polar(Client(), polar_event("subscription.active", subscription))
    httpserver.expect_request("/v1/subscriptions/polar_sub_9", method="GET").respond_with_json(
        subscription
    )
    owner = member(Role.OWNER)
    with time_machine.travel(NOW, tick=False):  # 15 days left
        page = preview_page(client_for(owner), "pro_yearly")
    assert "You&#x27;ll pay $142.50 now, then $150 per year." in page
    assert "An estimate from the listed prices" in page


def test_a_change_without_seeing_the_price_goes_to_the_price_first(providers, member, org):
    providers.BILLING_PROVIDER = "local"
    owner = client_for(member(Role.OWNER))
    owner.post(owner.post("/billing/checkout/", {"plan": "pro_monthly"})["Location"])
    response = owner.post("/billing/change/", {"plan": "team_monthly"})
    assert response["Location"] == "/billing/plans/?change=team_monthly"
    assert PlanSubscription.objects.for_organization(org.pk).get().plan == "pro_monthly"
    assert "Confirm: switch to Team" in owner.get(response["Location"]).content.decode()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER])
def test_only_a_billing_manager_sees_a_preview(stripe_api: HTTPServer, member, org, role):
    member(Role.OWNER)
    post_stripe(
        Client(), stripe_event("customer.subscription.created", stripe_subscription(org.pk))
    )
    browser = client_for(member(role))
    response = browser.get("/billing/plans/", {"change": "team_monthly"}, follow=True)
    assert "data-preview" not in response.content.decode()
    if role == Role.MEMBER:
        assert response.status_code == 403  # not even billing.read
    assert stripe_api.log == []  # the provider was never asked


def test_no_preview_of_another_organizations_subscription(
    stripe_api: HTTPServer, member, org, other_org
) -> None:
    post_stripe(
        Client(), stripe_event("customer.subscription.created", stripe_subscription(other_org.pk))
    )
    owner = client_for(member(Role.OWNER))  # org has no subscription of its own
    page = preview_page(owner, "team_monthly")
    assert "There is no active subscription" in page
    assert "data-preview" not in page
    assert stripe_api.log == []
