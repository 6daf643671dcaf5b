"""Two members, two browsers, two server processes: a record created in one browser
appears in the other without a reload."""

from __future__ import annotations

import pytest

from kernel.permissions import Role
from tests.accounts.helpers import PASSWORD
from tests.e2e.conftest import browser_user
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def signed_in_page(browser, base: str, email: str):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url)
    page.goto(f"{base}/records/")
    page.wait_for_function("() => window.live !== undefined")
    return context, page


def test_a_record_created_by_one_member_appears_for_the_other(browser, artifacts):
    org = OrganizationFactory(name="Live Co")
    for email in ("ada@example.com", "grace@example.com"):
        MembershipFactory(organization=org, user=browser_user(email), role=Role.MEMBER)

    with app_server() as server_a, app_server() as server_b:
        ada_context, ada = signed_in_page(browser, server_a, "ada@example.com")
        grace_context, grace = signed_in_page(browser, server_b, "grace@example.com")
        grace.wait_for_selector("table[data-live-updated]")  # subscribed, first value in

        ada.fill("#id_title", "Written by Ada")
        ada.click("button:text-is('Create')")
        ada.wait_for_selector("text=Record created.")

        grace.wait_for_selector("text=Written by Ada", timeout=10_000)  # no reload
        ada.screenshot(path=str(artifacts / "live-records-ada.png"))
        grace.screenshot(path=str(artifacts / "live-records-grace.png"))
        assert grace.evaluate("() => performance.getEntriesByType('navigation').length") == 1
        ada_context.close()
        grace_context.close()


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
