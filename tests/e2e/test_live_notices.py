"""What a live page says about itself: a small Live / Reconnecting… / Offline indicator,
and a notice instead of a stale page when the session ends (signed out in another tab)
or the viewer is removed from the organization (by an owner, in another session)."""

from __future__ import annotations

import pytest

from kernel.permissions import Role
from tests.browser import browser_user, sign_out, signed_in_page
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server, app_server_process

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SUBSCRIBED = "tbody[data-live-rows][data-live-updated]"
INDICATOR = "[data-live-status]"


def shoot(page, artifacts, name: str) -> None:
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts / f"{name}-{width}.png"))


def test_the_indicator_says_live_then_reconnecting_when_the_server_goes(browser, artifacts):
    org = OrganizationFactory(name="Indicator Co")
    MembershipFactory(organization=org, user=browser_user("owner@example.com"), role=Role.OWNER)

    with app_server_process() as (server, process):
        context, page = signed_in_page(browser, server, "owner@example.com")
        page.wait_for_selector(SUBSCRIBED)
        indicator = page.locator(INDICATOR)
        indicator.wait_for(state="visible")
        assert indicator.inner_text() == "Live"
        shoot(page, artifacts, "live-indicator")

        process.terminate()  # the server goes away: the socket closes
        page.wait_for_selector(f"{INDICATOR}[data-state=offline]", timeout=10_000)
        assert indicator.inner_text() in ("Reconnecting…", "Offline")
        shoot(page, artifacts, "live-reconnecting")
        context.set_offline(True)
        page.evaluate("() => window.dispatchEvent(new Event('offline'))")
        page.wait_for_function(
            "() => document.querySelector('[data-live-status]').textContent === 'Offline'"
        )
        context.close()


def test_signing_out_in_another_tab_says_the_session_ended(browser, artifacts):
    org = OrganizationFactory(name="Session Co")
    MembershipFactory(organization=org, user=browser_user("owner@example.com"), role=Role.OWNER)

    with app_server() as server:
        context, page = signed_in_page(browser, server, "owner@example.com")
        page.wait_for_selector(SUBSCRIBED)
        other = context.new_page()  # the same session, another tab
        other.goto(f"{server}/organization/")
        sign_out(other)
        other.wait_for_url(lambda url: "/organization/" not in url)

        notice = page.locator("[data-live-notice=signed-out]")
        notice.wait_for(timeout=10_000)
        assert "Your session ended." in notice.inner_text()
        link = notice.locator("a", has_text="Sign in again")
        assert link.get_attribute("href") == "/accounts/login/?next=%2Forganization%2F"
        assert page.locator(INDICATOR).is_hidden()
        assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
        shoot(page, artifacts, "notice-session-ended")

        link.click()  # and back where they were after signing in
        page.wait_for_url("**/accounts/login/?next=%2Forganization%2F")
        context.close()


def test_a_member_removed_while_on_the_members_page_is_told(browser, artifacts):
    org = OrganizationFactory(name="Removal Co")
    MembershipFactory(organization=org, user=browser_user("owner@example.com"), role=Role.OWNER)
    MembershipFactory(organization=org, user=browser_user("gone@example.com"), role=Role.MEMBER)

    with app_server() as server:
        gone_context, gone = signed_in_page(browser, server, "gone@example.com")
        gone.wait_for_selector(SUBSCRIBED)
        owner_context, owner = signed_in_page(browser, server, "owner@example.com")
        remove_member(owner, "gone@example.com")

        notice = gone.locator("[data-live-notice=forbidden]")
        notice.wait_for(timeout=10_000)
        assert "You no longer have access to this organization." in notice.inner_text()
        assert gone.locator("tr", has_text="gone@example.com").count() == 1  # not refetched
        shoot(gone, artifacts, "notice-removed-members")
        gone_context.close()
        owner_context.close()


def remove_member(owner, email: str) -> None:
    """The owner removes `email` on the members page, without JavaScript's dialog: the
    row's form is submitted as is, then a confirmation page's form if one is shown."""
    owner.goto(owner.url.split("/organization/")[0] + "/organization/")
    form = owner.locator("tr", has_text=email).locator("form[action$='/remove/']")
    with owner.expect_navigation():
        form.evaluate("(form) => form.submit()")  # submit(): no submit event, no dialog
    confirm = owner.locator("main form:has(input[name=confirmed])")
    if confirm.count():
        with owner.expect_navigation():
            confirm.evaluate("(form) => form.submit()")
