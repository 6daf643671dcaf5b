"""The README's promise, in a browser against a live server with no provider keys: an
owner upgrades through the local provider, sees the limits lift, cancels, and is back
on the free plan."""

from __future__ import annotations

import pytest

from kernel.permissions import Role
from tests.browser import browser_user, signed_in_page
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SEATS = "[data-limit='organization.members']"


def test_an_owner_upgrades_sees_limits_lift_and_cancels_back_to_free(browser, artifacts):
    org = OrganizationFactory(name="Billing Co")
    MembershipFactory(organization=org, user=browser_user("payer@example.com"), role=Role.OWNER)

    with app_server() as server:
        context, page = signed_in_page(browser, server, "payer@example.com")
        page.goto(f"{server}/billing/")
        page.wait_for_selector("h2:text-is('Plan: Free')")
        assert page.inner_text(SEATS) == "5"

        page.click("text=Upgrade")
        page.click("button:text-is('Choose Pro')")
        page.wait_for_selector("text=local billing provider")
        page.screenshot(path=str(artifacts / "billing-local-checkout.png"))
        page.click("button:text-is('Pay (test)')")

        page.wait_for_selector("h2:text-is('Plan: Pro')")
        assert page.inner_text(SEATS) == "10"
        assert page.inner_text("[data-status]") == "Active"
        page.screenshot(path=str(artifacts / "billing-pro.png"))

        page.click("button:text-is('Cancel now')")
        # Asked first (the dialog, or the confirmation page without confirm.js): confirm.
        page.locator("button:text-is('Cancel now')").last.click()
        page.wait_for_selector("h2:text-is('Plan: Free')")
        assert page.inner_text(SEATS) == "5"
        page.screenshot(path=str(artifacts / "billing-back-to-free.png"))
        context.close()
