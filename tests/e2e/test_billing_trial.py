"""A customer's billing, in a browser against a live server on the local provider: a
Team trial started from the plan picker bills the seats in use (members and a pending
invitation), and a plan change shows its price before it is confirmed. Screenshots at
1280 and 390 px."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kernel.permissions import Role
from organizations.models import Invitation
from tests.browser import browser_user, signed_in_page
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shots(page, artifacts, name: str) -> None:
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts / f"{name}-{width}.png"), full_page=True)


def test_a_team_trial_bills_the_seats_in_use_and_a_change_shows_its_price(browser, artifacts):
    org = OrganizationFactory(name="Trial Co")
    MembershipFactory(organization=org, user=browser_user("owner@example.com"), role=Role.OWNER)
    MembershipFactory(organization=org, role=Role.MEMBER)
    Invitation.objects.create(
        organization=org,
        email="pending@example.com",
        role=Role.MEMBER,
        token_hash="e2e-trial-pending",
        expires_at=timezone.now() + timedelta(days=7),
        last_sent_at=timezone.now(),
    )

    with app_server() as server:
        context, page = signed_in_page(browser, server, "owner@example.com")
        page.goto(f"{server}/billing/plans/")
        page.set_viewport_size({"width": 1280, "height": 900})
        team = page.locator(".plan", has_text="Per seat")
        team.locator("button:text-is('Start a 14-day free trial')").click()
        page.wait_for_selector("text=The free trial has started")
        assert page.inner_text("[data-status]") == "Trialing"
        assert page.get_attribute("[data-seats-billed]", "data-seats-billed") == "3"
        assert "3 seats billed" in page.inner_text("main")
        shots(page, artifacts, "billing-trial")

        page.goto(f"{server}/billing/plans/")
        page.locator(".plan", has_text="Pro (yearly)").locator("button", has_text="Switch").click()
        page.wait_for_selector("[data-preview]")
        assert "You'll pay $0 now, then $150 per year." in page.inner_text("[data-preview]")
        shots(page, artifacts, "plans-change-preview")
        page.click("button:text-is('Confirm: switch to Pro (yearly)')")
        page.wait_for_selector("h2:text-is('Plan: Pro (yearly)')")
        shots(page, artifacts, "billing-after-change")
        context.close()
