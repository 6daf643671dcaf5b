"""German in a real browser, against a real server: a German browser gets the German
landing and sign-in pages; a person whose profile says German gets German pages, the
live client's German (the confirm dialog), nine more pages that fit a phone, and switches back
to English in the footer.
Screenshots at 1280 and 390 px under test-artifacts/ (i18n-*.png)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import NoReverseMatch, reverse

from accounts.models import User
from kernel.permissions import Role
from tests.browser import browser_user
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server_process

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 390)
PAGES = (
    "/dashboard/",
    "/organization/audit/",
    "/organization/api-keys/",
    "/organization/security/",
    "/organization/settings/",
    "/account/",
    "/account/profile/",
    "/account/notifications/",
)


def pages() -> tuple[str, ...]:
    """PAGES, and the demo's records page while the demo is installed (it is removable)."""
    try:
        return (*PAGES, reverse("record_list"))
    except NoReverseMatch:
        return PAGES


def shoot(page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"i18n-{name}.png"), full_page=True)


def no_horizontal_overflow(page) -> None:
    """Longer German words wrap: the page scrolls no wider than the viewport (the
    visible elements that stick out are named when it does)."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        wide = page.evaluate(
            """() => [...document.querySelectorAll("body *")]
                .filter((el) => el.checkVisibility() && el.getBoundingClientRect().right
                    > document.documentElement.clientWidth + 1)
                .slice(0, 5).map((el) => `${el.tagName}.${el.className}: ${el.textContent.trim().slice(0, 40)}`)"""
        )
        raise AssertionError(f"the page is {overflow}px wider than the viewport: {wide}")


def test_a_german_browser_and_a_german_profile(browser, artifacts):
    ada = browser_user("ada@example.com")
    ada.language = "de"
    ada.display_name = "Ada Lovelace"
    ada.save(update_fields=["language", "display_name"])
    org = OrganizationFactory(name="Analytische Maschinen GmbH")
    MembershipFactory(organization=org, user=ada, role=Role.OWNER)
    MembershipFactory(organization=org, role=Role.MEMBER, user__display_name="Charles Babbage")

    with app_server_process() as (base, _process):
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900}, locale="de-DE")
            page = context.new_page()
            page.goto(f"{base}/")
            assert page.locator("h1").inner_text() == "Ein Arbeitsbereich für Ihr ganzes Team."
            assert page.locator("html").get_attribute("lang") == "de"
            no_horizontal_overflow(page)
            shoot(page, artifacts, f"landing-{width}")
            page.goto(f"{base}/accounts/login/")
            assert page.locator("h1").inner_text() == "Anmelden"
            assert page.locator("label:text-is('Angemeldet bleiben')").count() == 1  # allauth's
            no_horizontal_overflow(page)
            shoot(page, artifacts, f"login-{width}")
            context.close()

        # Signed in: the profile's German, whatever the browser asks for.
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
            page = context.new_page()
            page.goto(f"{base}/accounts/login/")
            page.fill("input[name=login]", ada.email)
            page.fill("input[name=password]", "a-Long-and-Unusual-passphrase-42")
            page.click("main button[type=submit]")
            page.wait_for_url(lambda url: "/accounts/login" not in url)
            page.goto(f"{base}/organization/")
            page.wait_for_function("() => window.live !== undefined")
            assert page.locator("h1").inner_text() == "Mitglieder von Analytische Maschinen GmbH"
            no_horizontal_overflow(page)
            shoot(page, artifacts, f"members-{width}")
            # The other pages an owner works on: German's longer words wrap on a phone too.
            for path in pages():
                page.goto(f"{base}{path}")
                assert page.locator("html").get_attribute("lang") == "de"
                no_horizontal_overflow(page)
                if width == 390:
                    shoot(page, artifacts, f"{path.strip('/').replace('/', '-')}-390")
            page.goto(f"{base}/organization/")
            if width == 1280:
                # The live client's texts: the confirm dialog, from the JavaScript catalogue.
                page.click("tr:has-text('Charles Babbage') button:text-is('Entfernen')")
                dialog = page.locator("dialog.confirm-dialog")
                dialog.wait_for(state="visible")
                assert dialog.locator("h2").inner_text() == "Sind Sie sicher?"
                assert dialog.locator("[data-confirm-cancel]").inner_text() == "Abbrechen"
                shoot(page, artifacts, "confirm-1280")
                dialog.locator("[data-confirm-cancel]").click()
                page.goto(f"{base}/dashboard/")
                assert page.locator("h2:text-is('Letzte Aktivitäten')").count() == 1
                no_horizontal_overflow(page)
                shoot(page, artifacts, "dashboard-1280")
            context.close()

        # The footer's switcher: back to English, saved on the profile.
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=login]", ada.email)
        page.fill("input[name=password]", "a-Long-and-Unusual-passphrase-42")
        page.click("main button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login" not in url)
        page.goto(f"{base}/account/profile/")
        assert page.locator("h1").inner_text() == "Profil"
        page.click("footer button:text-is('English')")
        page.wait_for_selector("h1:text-is('Profile')")
        assert page.url.endswith("/account/profile/")
        assert User.objects.get(pk=ada.pk).language == "en"
        context.close()
