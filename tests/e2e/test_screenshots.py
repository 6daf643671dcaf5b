"""Every main page at a desktop and a phone width, full page, into
test-artifacts/screenshots/ (docs/pages.md): CI keeps the folder for a reviewer to look
at. Pages of a domain that is not installed are skipped (found by URL resolution)."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from kernel.door import call
from kernel.errors import AppError
from kernel.permissions import Role
from organizations import mutations
from organizations.models import Invitation, Membership
from tests.accounts.helpers import PASSWORD
from tests.browser import browser_user
from tests.conftest import actor_for
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
WIDTHS = (1280, 390)
SIGNED_OUT = {
    "landing": "landing",
    "sign-in": "account_login",
    "sign-up": "account_signup",
    "password-reset": "account_reset_password",
    "code-sign-in": "account_request_login_code",
}
SIGNED_IN = {
    "dashboard": "dashboard",
    "members": "organization_members",
    "settings": "organization_settings",
    "audit": "organization_audit",
    "api-keys": "api_keys",
    "billing": "billing:page",
    "plans": "billing:plans",
    "account": "account_overview",
    "records": "record_list",
    "profile": "account_profile",
    "email": "account_email",
    "password": "account_change_password",
    "two-factor": "mfa_index",
    "sessions": "usersessions_list",
    "transfer": "organization_transfer",
    "delete-organization": "organization_delete",
}


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}{reverse('account_login')}")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url)


def path_of(url_name: str) -> str | None:
    try:
        return reverse(url_name)
    except NoReverseMatch:  # its domain is not installed
        return None


def shoot(page, folder: Path, name: str, width: int) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


def some_activity(owner: Membership, teammate: Membership) -> None:
    """What a week in an organization leaves in its audit log, a refusal included."""
    actor = actor_for(owner)
    call(mutations.organization_rename, actor, {"name": "Northwind Traders"})
    call(mutations.member_update_role, actor, {"membership_id": teammate.pk, "role": "admin"})
    key, _raw = mutations.api_key_issue(
        organization_id=owner.organization_id,
        name="CI deploys",
        permissions=["organization.read"],
        created_by_id=owner.user_id,
    )
    call(mutations.api_key_revoke, actor, {"key_id": key.pk})
    with contextlib.suppress(AppError):
        call(mutations.member_leave, actor)  # the only owner: refused, and logged with why


def test_every_main_page_at_desktop_and_phone_width(browser, artifacts):
    folder = artifacts / "screenshots"
    folder.mkdir(exist_ok=True)
    org = OrganizationFactory(name="Northwind Traders")
    owner = browser_user("owner@example.com")
    owner.display_name = "Olivia Owner"
    owner.save(update_fields=["display_name"])
    owning = MembershipFactory(organization=org, user=owner, role=Role.OWNER)
    some_activity(owning, MembershipFactory(organization=org, role=Role.MEMBER))
    MembershipFactory(organization=OrganizationFactory(name="Contoso Research"), user=owner)
    newcomer = browser_user("newcomer@example.com")  # in no organization yet
    taken: list[str] = []

    with app_server() as server:
        for width in WIDTHS:
            viewport = {"width": width, "height": 900}
            visitor = browser.new_context(viewport=viewport)
            page = visitor.new_page()
            for name, url_name in SIGNED_OUT.items():
                page.goto(f"{server}{reverse(url_name)}")
                shoot(page, folder, name, width)
                taken.append(f"{name}-{width}")
            visitor.close()

            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            sign_in(page, server, owner.email)
            for name, url_name in SIGNED_IN.items():
                path = path_of(url_name)
                if path is None:
                    continue
                page.goto(f"{server}{path}")
                assert page.locator("h1").count() >= 1, name
                shoot(page, folder, name, width)
                taken.append(f"{name}-{width}")
            # An error page (DEBUG servers show Django's own 404, so: a POST-only page).
            page.goto(f"{server}{reverse('organization_leave')}")
            assert page.locator("[data-error]").count() == 1
            shoot(page, folder, "error", width)
            taken.append(f"error-{width}")
            records = path_of("record_list")
            if records is not None:  # one record, made as a person would, then its page
                page.goto(f"{server}{records}")
                page.fill("main input[name=title]", f"Quarterly plan {width}")
                page.click("main form[method=post] button[type=submit]")
                page.click(f"main a:text-is('Quarterly plan {width}')")
                page.wait_for_url(lambda url: url.rstrip("/").split("/")[-1].isdigit())
                shoot(page, folder, "record", width)
                taken.append(f"record-{width}")
            context.close()

            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            sign_in(page, server, newcomer.email)
            page.goto(f"{server}{reverse('dashboard')}")
            assert page.locator("[data-empty-state]").count() == 1
            shoot(page, folder, "dashboard-no-organization", width)
            taken.append(f"dashboard-no-organization-{width}")
            context.close()

        # Dark mode follows the system: the two pages most people see first.
        dark = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
        page = dark.new_page()
        page.goto(f"{server}/")
        shoot(page, folder, "landing-dark", 1280)
        sign_in(page, server, owner.email)
        shoot(page, folder, "dashboard-dark", 1280)
        taken += ["landing-dark-1280", "dashboard-dark-1280"]
        dark.close()

    assert all((folder / f"{name}.png").stat().st_size > 0 for name in taken)
    assert {f"dashboard-{width}" for width in WIDTHS} <= set(taken)


def test_the_pages_a_step_leads_to(browser, artifacts):
    """Pages that only a step shows: pending invitations (one expired), a new key's secret,
    the no-JavaScript confirmation page, the development mailbox; and dark mode on a phone."""
    folder = artifacts / "screenshots"
    folder.mkdir(exist_ok=True)
    org = OrganizationFactory(name="Northwind Traders")
    owner = browser_user("owner@example.com")
    MembershipFactory(organization=org, user=owner, role=Role.OWNER)
    MembershipFactory(organization=org, role=Role.MEMBER)
    taken: list[str] = []

    with app_server() as server:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(page, server, owner.email)
        for email in ("new.hire@example.com", "late@example.com"):  # invited as a person would
            page.goto(f"{server}{reverse('organization_members')}")
            page.fill("main input[name=email]", email)
            page.click("main button:text-is('Send invitation')")
            page.wait_for_selector(f"main td:text-is('{email}')")
        expired = (
            Invitation.objects.for_organization(org.pk)
            .filter(email="late@example.com")
            .update(expires_at=timezone.now() - timedelta(days=1))
        )
        assert expired == 1
        page.context.close()

        for width, scheme in ((1280, "light"), (390, "light"), (390, "dark")):
            dark = "-dark" if scheme == "dark" else ""
            viewport = {"width": width, "height": 900}
            page = browser.new_context(viewport=viewport, color_scheme=scheme).new_page()
            sign_in(page, server, owner.email)
            page.goto(f"{server}{reverse('organization_members')}")
            shoot(page, folder, f"invitations{dark}", width)
            assert page.locator("main .badge:text-is('Expired')").count() == 1
            page.goto(f"{server}{reverse('api_keys')}")
            page.fill("main input[name=name]", f"CI deploys {width}{dark}")
            page.locator("main input[name=permissions]").first.check()
            page.click("main button:text-is('Create key')")
            page.wait_for_selector("#created-key")
            shoot(page, folder, f"api-key-secret{dark}", width)
            page.goto(f"{server}{reverse('dev_mail')}")
            shoot(page, folder, f"dev-mail{dark}", width)
            page.context.close()
            taken += [
                f"invitations{dark}-{width}",
                f"api-key-secret{dark}-{width}",
                f"dev-mail{dark}-{width}",
            ]

            # Without JavaScript a destructive button leads to a confirmation page.
            context = browser.new_context(
                viewport=viewport, color_scheme=scheme, java_script_enabled=False
            )
            page = context.new_page()
            sign_in(page, server, owner.email)
            page.goto(f"{server}{reverse('api_keys')}")
            page.locator("main button:text-is('Revoke')").first.click()
            page.wait_for_load_state("networkidle")
            assert page.locator("input[name=confirmed]").count() == 1
            shoot(page, folder, f"confirm{dark}", width)
            taken.append(f"confirm{dark}-{width}")
            context.close()

    assert all((folder / f"{name}.png").stat().st_size > 0 for name in taken)
