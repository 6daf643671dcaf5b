"""The security policies page in a real browser, at a desktop and a phone width: an owner
(freshly signed in) requires two-factor, limits invitations and keys, and saves; a member
without two-factor is then sent to set it up. Screenshots go to
test-artifacts/screenshots/ (docs/pages.md)."""

from __future__ import annotations

import pytest

from kernel.permissions import Role
from organizations.models import Organization
from tests.browser import browser_user, sign_in
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, folder, name: str, width: int) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_an_owner_sets_the_policies_and_a_member_is_held_to_them(browser, artifacts, width):
    folder = artifacts / "screenshots"
    folder.mkdir(exist_ok=True)
    org = OrganizationFactory(name="Northwind Traders")
    owner = browser_user(f"owner{width}@example.com")
    MembershipFactory(organization=org, user=owner, role=Role.OWNER)
    member = browser_user(f"member{width}@example.com")
    MembershipFactory(organization=org, user=member, role=Role.MEMBER)

    with app_server() as server:
        context, page = sign_in(
            browser, server, owner.email, "/organization/security/", width=width
        )
        page.check("#id_require_two_factor")
        page.fill("#id_allowed_email_domains", "northwind.example\nnot a domain")
        page.fill("#id_max_api_key_days", "90")
        page.click("main button:text-is('Save policies')")
        assert "Not a domain name: not" in page.locator("main").inner_text()
        shoot(page, folder, "policies-error", width)
        page.fill("#id_allowed_email_domains", "northwind.example")
        page.click("main button:text-is('Save policies')")
        page.wait_for_load_state("networkidle")
        assert "Security policies saved." in page.locator("body").inner_text()
        shoot(page, folder, "policies-saved", width)
        context.close()
        saved = Organization.objects.get(pk=org.pk)
        assert saved.require_two_factor
        assert saved.allowed_email_domains == ["northwind.example"]

        context, page = sign_in(browser, server, member.email, "/organization/", width=width)
        assert page.locator("[data-error=two_factor_required]").count() == 1
        assert page.locator("a:text-is('Set up two-factor authentication')").count() == 1
        shoot(page, folder, "policies-two-factor-required", width)
        context.close()
