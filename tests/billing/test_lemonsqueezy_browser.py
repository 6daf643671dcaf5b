"""The billing page of a Lemon Squeezy subscriber in a real browser, at a desktop and a
phone width: it names the provider, offers cancelling at the period's end only (its API
has no "now"), and after Lemon Squeezy confirms, offers to keep the subscription.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from pytest_httpserver import HTTPServer

from kernel.permissions import Role
from tests.billing.conftest import (
    DAY,
    LEMONSQUEEZY_WEBHOOK_SECRET,
    PRICES,
)
from tests.billing.lemonsqueezy import lsq_event, lsq_subscription, post_lemonsqueezy
from tests.browser import browser_user, sign_in
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, folder, name: str, width: int) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_a_lemonsqueezy_subscriber_cancels_at_the_period_end_and_keeps_it(
    browser, artifacts, httpserver: HTTPServer, monkeypatch, width
):
    folder = artifacts / "screenshots"
    folder.mkdir(exist_ok=True)
    org = OrganizationFactory(name="Northwind Traders")
    owner = browser_user(f"owner{width}@example.com")
    MembershipFactory(organization=org, user=owner, role=Role.OWNER)
    post_lemonsqueezy(Client(), lsq_event("subscription_created", lsq_subscription(), org.pk))
    httpserver.expect_request("/v1/subscriptions/77", method="DELETE").respond_with_json(
        {"data": lsq_subscription(status="cancelled")}
    )
    environment = {
        "LEMONSQUEEZY_API_KEY": "lsq_test_api_key",
        "LEMONSQUEEZY_STORE_ID": "4242",
        "LEMONSQUEEZY_WEBHOOK_SECRET": LEMONSQUEEZY_WEBHOOK_SECRET,
        "LEMONSQUEEZY_API_BASE": httpserver.url_for("").rstrip("/"),
        **{name: value for name, value in PRICES.items() if name.startswith("LEMONSQUEEZY_")},
    }

    for name, value in environment.items():  # the server process inherits them
        monkeypatch.setenv(name, value)
    with app_server() as server:
        context, page = sign_in(browser, server, owner.email, "/billing/", width=width)
        main = page.locator("main")
        assert "via Lemon Squeezy" in main.inner_text()
        assert page.locator("button:text-is('Cancel now')").count() == 0
        shoot(page, folder, "billing-lemonsqueezy", width)

        page.click("main button:text-is('Cancel at period end')")
        page.wait_for_load_state("networkidle")
        # (The server's worker may also have reconciled: GET, answered 500 here.)
        writes = [(r.method, r.path) for r, _ in httpserver.log if r.method != "GET"]
        assert writes == [("DELETE", "/v1/subscriptions/77")]
        # Lemon Squeezy confirms by webhook: the plan lasts until ends_at.
        ends = time.time() + 20 * DAY
        cancelled = lsq_subscription(status="cancelled", ends_at=ends, updated_at=time.time() + 1)
        post_lemonsqueezy(Client(), lsq_event("subscription_cancelled", cancelled, org.pk))
        page.goto(f"{server}/billing/")
        assert " ends " in main.inner_text()
        assert page.locator("button:text-is('Keep the subscription')").count() == 1
        shoot(page, folder, "billing-lemonsqueezy-cancelling", width)
        context.close()
