"""The profile page in a browser: edit the name, time zone and photo; a wrong file is
refused on the form; the name then shows on the members page. Screenshots at 1280 and
390 px wide under test-artifacts/."""

from __future__ import annotations

import pytest

from accounts.models import User
from kernel.permissions import Role
from tests.accounts.helpers import PASSWORD
from tests.accounts.images import png
from tests.browser import browser_user
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server_process

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_editing_the_profile_in_a_browser(browser, artifacts, tmp_path):
    user = browser_user("ada@example.com")
    org = OrganizationFactory(name="Analytical Engines")
    MembershipFactory(organization=org, user=user, role=Role.OWNER)
    MembershipFactory(organization=org, role=Role.MEMBER, user__display_name="Charles Babbage")
    (tmp_path / "photo.png").write_bytes(png())
    (tmp_path / "drawing.png").write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"/>')

    with app_server_process(MEDIA_ROOT=str(tmp_path / "media")) as (base, _process):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=login]", user.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login" not in url)

        page.goto(f"{base}/account/profile/")
        assert page.locator(".avatar-large").inner_text() == "A"  # initials by default
        page.screenshot(path=str(artifacts / "profile-1280.png"), full_page=True)

        # A file that only claims to be a PNG: refused on the form, what was typed kept.
        page.fill("#id_display_name", "Ada Lovelace")
        page.set_input_files("#id_avatar", str(tmp_path / "drawing.png"))
        page.click("text=Save profile")
        page.wait_for_selector("#id_avatar-error")
        assert "PNG, JPEG or WebP" in page.inner_text("#id_avatar-error")
        assert page.input_value("#id_display_name") == "Ada Lovelace"
        page.screenshot(path=str(artifacts / "profile-refused-1280.png"), full_page=True)
        assert User.objects.get(pk=user.pk).display_name == ""

        page.set_input_files("#id_avatar", str(tmp_path / "photo.png"))
        page.select_option("#id_time_zone", "Europe/London")
        page.click("text=Save profile")
        page.wait_for_selector("text=Profile saved.")
        image = page.locator(".avatar-large img")
        assert image.evaluate("img => img.complete && img.naturalWidth") == 96  # served
        saved = User.objects.get(pk=user.pk)
        assert (saved.display_name, saved.time_zone) == ("Ada Lovelace", "Europe/London")
        page.screenshot(path=str(artifacts / "profile-saved-1280.png"), full_page=True)

        page.goto(f"{base}/account/")
        assert "Ada Lovelace" in page.inner_text("main")
        page.screenshot(path=str(artifacts / "account-overview-1280.png"), full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/account/profile/")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(artifacts / "profile-390.png"), full_page=True)

        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{base}/organization/")
        row = page.locator("tr", has_text="Charles Babbage")
        assert row.count() == 1
        mine = page.locator("tr", has_text="Ada Lovelace")
        assert user.email in mine.inner_text()  # the email under the name
        page.screenshot(path=str(artifacts / "members-names-1280.png"), full_page=True)
        context.close()
