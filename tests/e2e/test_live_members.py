"""The members page is live: a member added anywhere appears without a reload, with the
controls the viewer may use (rows rendered again by the server)."""

from __future__ import annotations

import pytest

from kernel.permissions import Role
from tests.browser import browser_user, signed_in_page
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_managers_members_table_updates_in_place_with_its_forms(browser, artifacts):
    org = OrganizationFactory(name="Live Members Co")
    MembershipFactory(organization=org, user=browser_user("owner@example.com"), role=Role.OWNER)

    with app_server() as server:
        context, page = signed_in_page(browser, server, "owner@example.com")
        page.goto(f"{server}/organization/")
        page.wait_for_selector("table[data-live-updated]")  # subscribed, first value in

        MembershipFactory(organization=org, user=browser_user("newcomer@example.com"))  # a shell

        row = page.locator("tr", has_text="newcomer@example.com")
        row.wait_for(timeout=10_000)  # no reload
        assert row.locator("button:text-is('Remove')").count() == 1  # the manager's controls
        page.screenshot(path=str(artifacts / "live-members-owner.png"))
        assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
        context.close()
