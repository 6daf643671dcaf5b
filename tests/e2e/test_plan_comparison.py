"""The plans page is a comparison: cards side by side on a wide screen with the same
rows, the current plan marked, numbers with separators; stacked on a phone."""

from __future__ import annotations

import pytest

from kernel.permissions import Role
from tests.browser import browser_user, signed_in_page
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_plans_sit_side_by_side_with_the_current_one_marked(browser, artifacts):
    org = OrganizationFactory(name="Compare Co")
    MembershipFactory(organization=org, user=browser_user("owner@example.com"), role=Role.OWNER)

    with app_server() as server:
        context, page = signed_in_page(browser, server, "owner@example.com")
        page.goto(f"{server}/billing/plans/")
        page.set_viewport_size({"width": 1280, "height": 900})
        cards = page.locator(".plan")
        tops = {round(cards.nth(n).bounding_box()["y"]) for n in range(cards.count())}
        page.screenshot(path=str(artifacts / "plans-1280.png"), full_page=True)
        assert len(tops) == 1, "one row of cards at 1280 px"
        rows = [cards.nth(n).locator(".plan-rows > div").count() for n in range(cards.count())]
        assert len(set(rows)) == 1  # the same rows in every card
        current = page.locator(".plan-current")
        assert current.count() == 1
        assert "Current plan" in current.inner_text()
        assert "Free" in current.locator("h2").inner_text()
        assert "10,000" in page.locator(".plan", has_text="Pro (yearly)").inner_text()
        page.screenshot(path=str(artifacts / "plans-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(artifacts / "plans-390.png"), full_page=True)

        page.goto(f"{server}/billing/")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=str(artifacts / "billing-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(artifacts / "billing-390.png"), full_page=True)
        context.close()
