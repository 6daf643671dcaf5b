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
        page.wait_for_selector(
            "tbody[data-live-rows][data-live-updated]"
        )  # subscribed, first value in

        MembershipFactory(organization=org, user=browser_user("newcomer@example.com"))  # a shell

        row = page.locator("tr", has_text="newcomer@example.com")
        row.wait_for(timeout=10_000)  # no reload
        assert row.locator("button:text-is('Remove')").count() == 1  # the manager's controls
        page.screenshot(path=str(artifacts / "live-members-owner.png"))
        assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
        context.close()


def test_the_page_says_when_live_updates_pause_and_catches_up_after(browser, artifacts):
    from tests.proxy import tcp_proxy
    from tests.servers import app_server_process, database_address

    address = database_address()
    if address is None:
        pytest.skip("the embedded database is reached through a socket, not TCP")
    org = OrganizationFactory(name="Paused Co")
    MembershipFactory(organization=org, user=browser_user("owner@example.com"), role=Role.OWNER)

    with tcp_proxy(*address) as proxy, app_server_process(database_port=proxy.port) as (server, _):
        context, page = signed_in_page(browser, server, "owner@example.com")
        page.goto(f"{server}/organization/")
        page.wait_for_selector("tbody[data-live-rows][data-live-updated]")
        banner = page.locator("[data-live-status]")
        page.wait_for_selector("[data-live-status][data-state=live]")

        proxy.cut()  # the server loses its database
        page.wait_for_selector("[data-live-status][data-state=unavailable]", timeout=10_000)
        assert banner.inner_text() == "Paused"
        assert "paused" in banner.get_attribute("title")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=str(artifacts / "live-paused-1280.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(artifacts / "live-paused-390.png"))

        MembershipFactory(organization=org, user=browser_user("meanwhile@example.com"))
        proxy.restore()
        page.wait_for_selector("[data-live-status][data-state=live]", timeout=15_000)
        page.locator("tr", has_text="meanwhile@example.com").wait_for(timeout=10_000)
        assert page.evaluate("() => document.documentElement.dataset.live") == "live"
        assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
        context.close()
