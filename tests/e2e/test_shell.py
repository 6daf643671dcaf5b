"""The shell in a real browser on a real server: signing up lands on the dashboard whose
checklist ticks itself off, the organization switcher, and the phone menu."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.urls import reverse

from kernel.permissions import Role
from tests.accounts.helpers import PASSWORD
from tests.browser import browser_user
from tests.e2e.test_screenshots import sign_in
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CHECKLIST = "[data-checklist]"


def step(page, label: str):
    return page.locator(f"{CHECKLIST} a:has(.step-label:text-is('{label}'))")


def test_sign_up_lands_on_the_dashboard_and_the_checklist_ticks(browser, artifacts):
    email = "new-founder@example.com"
    with app_server() as server:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{server}{reverse('account_signup')}")
        page.fill("input[name=email]", email)
        page.fill("input[name=password1]", PASSWORD)
        page.fill("input[name=password2]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/signup" not in url)

        # The emailed link (allauth's HMAC key: the server and this process share the key).
        address = EmailAddress.objects.get(email=email)
        page.goto(
            f"{server}{reverse('account_confirm_email', args=[EmailConfirmationHMAC(address).key])}"
        )
        page.click("main button[type=submit]")
        page.wait_for_url(f"{server}{reverse('dashboard')}")

        assert step(page, "Verify your email address").get_attribute("data-done") == "true"
        invite = step(page, "Invite a teammate")
        assert invite.get_attribute("data-done") == "false"
        page.screenshot(path=str(artifacts / "dashboard-new-organization.png"), full_page=True)

        invite.click()
        page.fill("input[name=email]", "teammate@example.com")
        page.click("button:text-is('Send invitation')")
        page.wait_for_selector("text=teammate@example.com")
        page.click(".nav-links a:text-is('Dashboard')")
        assert step(page, "Invite a teammate").get_attribute("data-done") == "true"
        assert step(page, "Verify your email address").get_attribute("data-done") == "true"
        context.close()


def test_the_organization_switcher_marks_the_active_one_and_switches(browser, artifacts):
    owner = browser_user("two-hats@example.com")
    first = OrganizationFactory(name="Alpha Aviation")
    second = OrganizationFactory(name="Beta Bakery with a remarkably long organization name")
    MembershipFactory(organization=first, user=owner, role=Role.OWNER)
    MembershipFactory(organization=second, user=owner, role=Role.MEMBER)
    MembershipFactory(organization=OrganizationFactory(name="Gamma Not Mine"), role=Role.OWNER)

    with app_server() as server:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        sign_in(page, server, owner.email)
        page.goto(f"{server}{reverse('dashboard')}")
        switcher = page.locator("[data-org-switcher]")
        active = switcher.locator("summary .truncate").inner_text()
        other = second.name if active.startswith("Alpha") else first.name

        assert not switcher.locator(".menu-panel").is_visible()
        switcher.locator("summary").click()
        items = switcher.locator("button.menu-item")
        assert items.count() == 2  # only the person's own organizations
        assert "Gamma" not in switcher.inner_text()
        assert switcher.locator("button[aria-current=true]").inner_text().startswith(active)
        assert switcher.locator("a:text-is('+ New organization')").is_visible()
        page.screenshot(path=str(artifacts / "organization-switcher-open.png"))

        switcher.locator(f"button.menu-item:has-text('{other}')").click()
        page.wait_for_url(f"{server}{reverse('dashboard')}")
        assert page.locator("[data-org-switcher] summary .truncate").inner_text() == other
        assert other in page.locator("main").inner_text()
        page.locator("[data-org-switcher] summary").click()
        assert (
            page.locator("[data-org-switcher] button[aria-current=true]")
            .inner_text()
            .startswith(other)
        )

        # A long name is cut with an ellipsis in the header, not wrapped.
        name = page.locator("[data-org-switcher] summary .truncate")
        if other == second.name:
            assert name.evaluate("e => e.scrollWidth > e.clientWidth")
            assert name.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis"
        context.close()


def test_on_a_phone_a_menu_button_holds_the_sections(browser, artifacts):
    owner = browser_user("phone@example.com")
    MembershipFactory(
        organization=OrganizationFactory(name="Pocket Co"), user=owner, role=Role.OWNER
    )

    with app_server() as server:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        sign_in(page, server, owner.email)
        page.goto(f"{server}{reverse('dashboard')}")

        menu = page.locator("[data-mobile-menu]")
        assert menu.locator("summary").is_visible()
        assert not page.locator(".nav-links").is_visible()  # the wide header's row
        members = menu.locator("a:text-is('Members')")
        assert not members.is_visible()
        header_height = page.locator(".site-header").bounding_box()["height"]
        assert header_height < 80  # one row, not three stacked ones

        menu.locator("summary").click()
        assert members.is_visible()
        assert menu.locator("a[aria-current=page]").inner_text() == "Dashboard"
        page.screenshot(path=str(artifacts / "mobile-menu-open.png"))
        members.click()
        page.wait_for_url(f"{server}{reverse('organization_members')}")
        page.locator("[data-mobile-menu] summary").click()
        assert page.locator("[data-mobile-menu] a[aria-current=page]").inner_text() == "Members"

        # The user menu: who is signed in, and the account's pages.
        page.locator("[data-user-menu] summary").click()
        for label in ("Profile", "Account security", "Sessions"):
            assert page.locator(f"[data-user-menu] a:text-is('{label}')").is_visible()
        assert page.locator("[data-user-menu] button:text-is('Sign out')").is_visible()
        context.close()
