"""Two members, two browsers, two server processes: a record created in one browser
appears in the other without a reload."""

from __future__ import annotations

import pytest

from kernel.permissions import Role
from tests.browser import browser_user, signed_in_page
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_record_created_by_one_member_appears_for_the_other(browser, artifacts):
    org = OrganizationFactory(name="Live Co")
    for email in ("ada@example.com", "grace@example.com"):
        MembershipFactory(organization=org, user=browser_user(email), role=Role.MEMBER)

    with app_server() as server_a, app_server() as server_b:
        ada_context, ada = signed_in_page(browser, server_a, "ada@example.com", "/records/")
        grace_context, grace = signed_in_page(browser, server_b, "grace@example.com", "/records/")
        grace.wait_for_selector(
            "tbody[data-live-rows][data-live-updated]"
        )  # subscribed, first value in

        ada.fill("#id_title", "Written by Ada")
        ada.click("button:text-is('Create record')")
        ada.wait_for_selector("text=Record created.")

        grace.wait_for_selector("text=Written by Ada", timeout=10_000)  # no reload
        ada.screenshot(path=str(artifacts / "live-records-ada.png"))
        grace.screenshot(path=str(artifacts / "live-records-grace.png"))
        assert grace.evaluate("() => performance.getEntriesByType('navigation').length") == 1
        ada_context.close()
        grace_context.close()
